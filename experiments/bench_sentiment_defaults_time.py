#!/usr/bin/env python3
"""Training time of the sentiment entries with today's defaults against the defaults before issue 10.

    python experiments/bench_sentiment_defaults_time.py --data csv:data/rt_sentences.csv \\
        --out experiments/results/bench_sentiment_defaults_time_rt.json

Issue 10 asks that the regularised defaults for real text (whole-word dropout, dropout, AdamW
weight decay, a decaying learning rate, pooling over time) keep training time within 2x of the
earlier defaults on the same data. Training time here is what a user waits for: ``zoo.train`` with
early stopping, so a default that trains more epochs costs its extra epochs. For each entry and
seed the two arms run back to back in this one process (earlier defaults first), so a load from
other jobs falls on both alike; the ratio is median(today) / median(before) over ``--seeds``
seeds, with seconds per epoch beside it to tell slower epochs from more of them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sentiment_results import BEFORE  # the earlier defaults, as overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a sentiment data spec, e.g. csv:data/rt_sentences.csv")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every recurrent sentiment entry")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", required=True, help="JSON file for the results")
    args = parser.parse_args()

    import keras

    import zoo
    from zoo.folders import write_json

    entries = args.entries or [e for e in zoo.list_models(task="sentiment") if e != "sentiment/bag_of_embeddings"]
    results = []
    for name in entries:
        space = {*zoo.get(name).space()}
        arms = {"before": {k: v for k, v in BEFORE.items() if k in space}, "now": {}}
        trials: dict[str, list] = {arm: [] for arm in arms}
        for seed in range(args.seeds):
            for arm, overrides in arms.items():
                run = zoo.train(name, args.data, seed=seed, verbose=0, overrides=overrides)
                epochs = len(run.history["loss"])
                trials[arm].append({"seed": seed, "seconds": run.metrics["train_seconds"], "epochs": epochs,
                                    "seconds_per_epoch": run.metrics["train_seconds"] / epochs,
                                    "accuracy": run.metrics["test"]["accuracy"]})
                print(f"{name} {arm} seed {seed}: {trials[arm][-1]}", file=sys.stderr)
        summary = {arm: {k: statistics.median(t[k] for t in trials[arm])
                         for k in ("seconds", "epochs", "seconds_per_epoch", "accuracy")} for arm in arms}
        now, before = summary["now"], summary["before"]
        results.append({"entry": name, "before_overrides": arms["before"], "trials": trials, "median": summary,
                        "time_ratio": now["seconds"] / before["seconds"],
                        "epoch_time_ratio": now["seconds_per_epoch"] / before["seconds_per_epoch"]})
        write_json(args.out, {"data": args.data, "seeds": args.seeds, "results": results,
                              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                          "keras": keras.__version__, "backend": keras.backend.backend(),
                                          "load_average_at_end": os.getloadavg()}})
    print("| entry | before: s (epochs) | now: s (epochs) | time ratio | s/epoch ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        b, n = r["median"]["before"], r["median"]["now"]
        print(f"| `{r['entry']}` | {b['seconds']:.1f} ({b['epochs']:g}) | {n['seconds']:.1f} ({n['epochs']:g}) | "
              f"{r['time_ratio']:.2f} | {r['epoch_time_ratio']:.2f} |")


if __name__ == "__main__":
    main()
