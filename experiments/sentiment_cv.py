#!/usr/bin/env python3
"""K-fold cross-validation of the sentiment entries and the TF-IDF baseline on one labelled file.

    python experiments/sentiment_cv.py --data data/uci_sentences.csv --folds 10 \\
        --out experiments/results/sentiment_cv_uci_sentences.json

The test splits of the small real sets hold 290 and 428 sentences, so one test accuracy moves by
0.23-0.34 points a sentence and a comparison of two models on them carries a standard error of about
2 points. Cross-validation (the protocol of the movie-review literature, e.g. Kim 2014) tests every
sentence once. Each text goes to fold ``sha256(text) % K`` (duplicates share a fold). For fold k the
test part is fold k, the validation part (early stopping; the TF-IDF model's C) is fold k+1, and the
rest is the training part. Every entry trains with its defaults, one seed per fold (``--seed``).

The record has each fold's accuracy per model, their mean and standard error, and the paired
differences (entry minus TF-IDF, entry minus the control) with the standard error of the mean
difference across folds: the question "is this entry better by 2 points?" asked of the folds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CONTROL = "sentiment/bag_of_embeddings"
TFIDF = "tfidf_logistic_regression"


def fold_of(text: str, folds: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % folds


def write_csv(path: str, rows) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def mean_sem(values) -> dict:
    values = list(values)
    sem = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return {"mean": statistics.fmean(values), "sem": sem}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a CSV file with text and label columns")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--entries", nargs="*", default=None, help="default: every sentiment entry")
    parser.add_argument("--out", required=True, help="JSON file for the results")
    args = parser.parse_args()
    if args.folds < 3:
        parser.error("--folds must be 3 or more (a test, a validation and a training fold)")

    import keras
    from sentiment_results import tfidf_baseline

    import zoo
    from zoo.folders import write_json

    entries = args.entries or zoo.list_models(task="sentiment")
    task = zoo.get(entries[0]).task
    splits = task.load_data(f"csv:{args.data}")
    examples = splits.train + splits.validation + splits.test
    parts = [[ex for ex in examples if fold_of(ex[0], args.folds) == k] for k in range(args.folds)]
    accuracy: dict[str, list[float]] = {name: [] for name in [*entries, TFIDF]}
    seconds: dict[str, list[float]] = {name: [] for name in entries}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.folds):
            v = (k + 1) % args.folds
            train = [ex for j, part in enumerate(parts) if j not in (k, v) for ex in part]
            spec = "csv:" + ",".join(f"{name}={write_csv(os.path.join(tmp, f'{name}.csv'), rows)}"
                                     for name, rows in (("train", train), ("validation", parts[v]),
                                                        ("test", parts[k])))
            for name in entries:
                started = time.perf_counter()
                run = zoo.train(name, spec, seed=args.seed, verbose=0)
                accuracy[name].append(run.metrics["test"]["accuracy"])
                seconds[name].append(time.perf_counter() - started)
            accuracy[TFIDF].append(tfidf_baseline(spec)["accuracy"])
            print(f"fold {k}: " + ", ".join(f"{n.split('/')[-1]} {a[-1]:.3f}" for n, a in accuracy.items()),
                  file=sys.stderr, flush=True)
    summary = {name: mean_sem(values) for name, values in accuracy.items()}
    paired = {name: {"minus_tfidf": mean_sem(a - b for a, b in zip(accuracy[name], accuracy[TFIDF], strict=True)),
                     "minus_control": mean_sem(a - b for a, b in zip(accuracy[name], accuracy[CONTROL],
                                                                     strict=True))}
              for name in entries if name != CONTROL and CONTROL in entries}
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "keras": keras.__version__, "backend": keras.backend.backend()}
    write_json(args.out, {"data": os.path.basename(args.data), "examples": len(examples), "folds": args.folds,
                          "fold_sizes": [len(p) for p in parts], "seed": args.seed, "machine": machine,
                          "accuracy": accuracy, "seconds": seconds, "summary": summary, "paired": paired})
    print("| model | accuracy, mean ± s.e. over folds | minus TF-IDF | minus the control |")
    print("|---|---|---|---|")
    for name, s in summary.items():
        p = paired.get(name)
        diff = (f"{100 * p['minus_tfidf']['mean']:+.1f} ± {100 * p['minus_tfidf']['sem']:.1f} | "
                f"{100 * p['minus_control']['mean']:+.1f} ± {100 * p['minus_control']['sem']:.1f}") if p else "- | -"
        print(f"| {name} | {s['mean']:.3f} ± {s['sem']:.3f} | {diff} |")


if __name__ == "__main__":
    main()
