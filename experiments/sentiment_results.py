"""Train every sentiment entry with its defaults on one data spec and record the results.

    python experiments/sentiment_results.py --data builtin:negation --out experiments/results/negation.json
    python experiments/fetch_real_sentiment.py --out data/uci_sentences.csv
    python experiments/sentiment_results.py --data csv:data/uci_sentences.csv \
        --out experiments/results/uci_sentences.json

Each entry is trained ``--seeds`` times (default 3, seeds 0..N-1); the table
shows the median test accuracy and macro F1, their range, and the median
training time. Nothing but the defaults: this is what ``zoo train NAME --data
SPEC`` gives a user.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:negation")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every sentiment entry")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: the task's)")
    parser.add_argument("--patience", type=int, help="early-stopping patience (default: the task's)")
    parser.add_argument("--out", required=True, help="JSON file for the results")
    args = parser.parse_args()

    import keras

    import zoo
    from zoo.folders import write_json

    entries = args.entries or zoo.list_models(task="sentiment")
    results = []
    for name in entries:
        trials = []
        for seed in range(args.seeds):
            run = zoo.train(name, args.data, seed=seed, verbose=0, epochs=args.epochs, patience=args.patience)
            test = run.metrics["test"]
            trials.append({"seed": seed, "accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
                           "epochs": len(run.history["loss"]), "seconds": run.metrics["train_seconds"]})
            print(f"{name} seed {seed}: accuracy {test['accuracy']:.4f} in {trials[-1]['seconds']:.1f}s",
                  file=sys.stderr)
        accs = [t["accuracy"] for t in trials]
        results.append({"entry": name, "trials": trials, "median_accuracy": statistics.median(accs),
                        "min_accuracy": min(accs), "max_accuracy": max(accs),
                        "median_macro_f1": statistics.median(t["macro_f1"] for t in trials),
                        "median_seconds": statistics.median(t["seconds"] for t in trials),
                        "test_examples": run.metrics["test"]["examples"]})
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "keras": keras.__version__, "backend": keras.backend.backend()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_json(args.out, {"data": args.data, "seeds": args.seeds, "epochs": args.epochs,
                          "patience": args.patience, "machine": machine, "results": results})
    print(f"| entry | test accuracy (median, min-max of {args.seeds} seeds) | macro F1 | train s |")
    print("|---|---|---|---|")
    for r in results:
        print(f"| `{r['entry']}` | {r['median_accuracy']:.3f} ({r['min_accuracy']:.3f}-{r['max_accuracy']:.3f}) "
              f"| {r['median_macro_f1']:.3f} | {r['median_seconds']:.0f} |")


if __name__ == "__main__":
    main()
