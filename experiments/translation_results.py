#!/usr/bin/env python3
"""Train the translation entries with their defaults on one data spec; score by source length.

    python experiments/translation_results.py --data builtin:dates \
        --out experiments/results/translation_dates.json

Each entry is trained ``--seeds`` times with nothing but the defaults (what ``zoo train
NAME --data SPEC`` gives a user). Test BLEU, chrF and exact match come from free-running
greedy decoding; exact match is also reported per bin of source length (in tokens), which
is where an encoder-decoder without attention falls behind: its one state vector has to
carry the whole source.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import sweep

BINS = ((1, 5), (6, 9), (10, 13), (14, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:dates")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every translation entry")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None,
                        help="cap on training epochs (default: the task's, with early stopping on val_bleu)")
    parser.add_argument("--patience", type=int, default=None,
                        help="epochs without a better val_bleu before stopping (default: the task's, 5)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the task's (64)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a hyperparameter, as 'zoo train --set' (default: none)")
    parser.add_argument("--out", required=True, help="JSON file for the results")
    args = parser.parse_args()

    import zoo
    from zoo.hparams import parse_assignments
    from zoo.tasks.translation import normalize, translate_texts, translation_scores

    entries = args.entries or zoo.list_models(task="translation")
    splits = zoo.get(entries[0]).task.load_data(args.data)
    test_examples = splits.test

    def by_source_length(run) -> dict:
        """Exact match per bin of source length, a few sample translations, and the run's curve."""
        sources = [s for s, _ in test_examples]
        hypotheses = translate_texts(run.model, run.preprocessor, sources, 256)
        lengths = run.preprocessor.source.lengths(sources)
        by_length = {}
        for low, high in BINS:
            rows = [i for i, n in enumerate(lengths) if low <= n <= high]
            if rows:
                exact = statistics.mean(hypotheses[i] == " ".join(test_examples[i][1].split()) for i in rows)
                by_length[f"{low}-{high}"] = {"examples": len(rows), "exact_match": exact}
        return {"problem": run.preprocessor.problem(), "by_source_length": by_length,
                "history": {k: v for k, v in run.history.items() if isinstance(v, list)},
                "seconds_per_epoch": run.metrics["train_seconds"] / max(1, run.metrics["epochs_trained"]),
                "parameters": run.model.count_params(),
                "samples": [{"source": s, "reference": t, "translation": h} for (s, t), h
                            in zip(test_examples[:10], hypotheses[:10], strict=True)]}

    # The trivial baseline: the English source as its own "translation" (the languages share tokens).
    copy = translation_scores([normalize(s) for s, _ in splits.test], [normalize(t) for _, t in splits.test])
    sizes = {split: len(getattr(splits, split)) for split in ("train", "validation", "test")}
    header = {"epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size,
              "pairs": sizes, "test_examples": len(test_examples), "copy_source_baseline": copy}
    results = sweep(entries, args.data, args.seeds, args.out, keys=("bleu", "chrf", "exact_match"),
                    overrides=parse_assignments(args.set), extra=by_source_length, header=header,
                    train={"epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size})
    bins = [f"{low}-{high}" for low, high in BINS]
    print(f"copy-the-source baseline: BLEU {copy['bleu']:.2f}, chrF {copy['chrf']:.2f}, "
          f"exact match {copy['exact_match']:.4f}")
    print("| entry | BLEU | chrF | exact match | " + " | ".join(f"exact, {b} tokens" for b in bins) + " | train s |")
    print("|---|---:|---:|---:|" + "---:|" * len(bins) + "---:|")
    for r in results:
        per_bin = r["trials"][0]["by_source_length"]
        cells = " | ".join(f"{per_bin[b]['exact_match']:.3f}" if b in per_bin else "" for b in bins)
        print(f"| `{r['entry']}` | {r['median_bleu']:.2f} | {r['median_chrf']:.2f} | {r['median_exact_match']:.4f} "
              f"| {cells} | {r['median_seconds']:.0f} |")


if __name__ == "__main__":
    main()
