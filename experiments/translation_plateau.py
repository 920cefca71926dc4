#!/usr/bin/env python3
"""Watch a translation entry's first epochs against the unigram baseline, with or without length groups.

    python experiments/translation_plateau.py --data tsv:data/quran_en_fr_30.tsv --batches grouped --epochs 4
    python experiments/translation_plateau.py --data tsv:data/quran_en_fr_30.tsv --batches mixed --epochs 4

Builds the entry with its defaults exactly as ``zoo train`` does, then prints what a flat
training loss can come from: the share of ``[UNK]`` and truncated sources, the targets'
unigram entropy (the loss of predicting every token by its training frequency: a decoder
stuck there uses neither the source nor the previous token), the per-epoch losses, and a few
greedy translations. ``--batches grouped`` feeds the task's own length-grouped batches;
``mixed`` pads every batch to the longest pair, the batching that fixed captioning.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--entry", default="translation/gru_attention")
    parser.add_argument("--batches", choices=("grouped", "mixed"), default="grouped")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the task's")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a hyperparameter, as 'zoo train --set' (default: none)")
    args = parser.parse_args()

    import keras
    import numpy as np

    import zoo
    from zoo import hparams
    from zoo.batching import length_batched
    from zoo.hparams import parse_assignments
    from zoo.tasks.translation import normalize, translate_texts, translation_scores
    from zoo.training import resolve_preprocessing, split_overrides

    spec = zoo.get(args.entry)
    task = spec.task
    batch_size = args.batch_size or task.default_batch_size
    model_values, prep_values, _ = split_overrides(spec, parse_assignments(args.set))
    hp = hparams.resolve(args.entry, spec.space(), model_values)
    splits = task.load_data(args.data)
    keras.utils.set_random_seed(0)
    preprocessor = task.fit_preprocessor(splits, resolve_preprocessing(spec, prep_values))
    x, y, weights = task._arrays(preprocessor, splits.train)
    sources = x["source_ids"]
    counts = collections.Counter(y[weights > 0].tolist())
    total = sum(counts.values())
    print(f"problem {preprocessor.problem()}")
    print(f"[UNK] share: sources {(sources == 1).sum() / (sources != 0).sum():.4f}, targets "
          f"{((y == 1) & (weights > 0)).sum() / weights.sum():.4f}; sources truncated "
          f"{((sources != 0).sum(axis=1) == sources.shape[1]).mean():.4f}")
    print(f"target unigram entropy {-sum(n / total * math.log(n / total) for n in counts.values()):.3f} nats; "
          f"most frequent target token {counts.most_common(1)[0][1] / total:.3f} of the tokens")

    def batches(examples, training):
        if args.batches == "grouped":
            return task.fit_data(preprocessor, examples, args.data, batch_size=batch_size, training=training).x
        xs, ys, ws = task._arrays(preprocessor, examples)
        padded = (preprocessor.source_length, preprocessor.target_length)
        return length_batched(xs, ys, np.tile(padded, (len(ys), 1)), sample_weight=ws, batch_size=batch_size,
                              padded_length=padded, training=training).x

    model = spec.builder(hp, preprocessor.problem())
    start = time.time()
    model.fit(batches(splits.train, True), validation_data=batches(splits.validation, False), epochs=args.epochs,
              verbose=2)
    print(f"{time.time() - start:.0f} s, load average {os.getloadavg()}")
    sample = splits.validation[:200]
    hypotheses = translate_texts(model, preprocessor, [s for s, _ in sample], batch_size)
    print("validation (200):", translation_scores(hypotheses, [normalize(t) for _, t in sample]))
    for (source, _), hypothesis in list(zip(sample, hypotheses, strict=True))[:5]:
        print(f"  {source[:70]!r} -> {hypothesis[:70]!r}")


if __name__ == "__main__":
    main()
