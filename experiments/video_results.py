#!/usr/bin/env python3
"""Train the video-labeling entries with their defaults on one data spec and record the results.

    python experiments/video_results.py --data builtin:moving_shapes --out experiments/results/video_moving_shapes.json

Nothing but the defaults (what ``zoo train NAME --data SPEC`` gives a user), ``--seeds`` seeds
each; ``--set KEY=VALUE`` (repeatable) trains every entry that declares KEY with that value instead,
how candidate defaults are compared. The task's metrics on the test split (frame accuracy, macro F1
over frames, edit score and F1@{10,25,50}), through experiments/harness.py.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import sweep

KEYS = ("frame_accuracy", "macro_f1", "edit", "f1@10", "f1@25", "f1@50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:moving_shapes")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every video-labeling entry")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", required=True)
    parser.add_argument("--plot", metavar="PNG", help="draw the first entry's predicted against true labels of "
                                                     "the test split's first clips (zoo evaluate --plot)")
    args = parser.parse_args()

    import zoo
    from zoo.hparams import parse_assignments

    runs: dict = {}
    results = sweep(args.entries or zoo.list_models(task="video_labeling"), args.data, args.seeds, args.out,
                    keys=KEYS, overrides=parse_assignments(args.set), runs=runs,
                    extra=lambda run: {"clips": run.metrics["test"]["examples"],
                                       "frames": run.metrics["test"]["frames"]})
    if args.plot:
        if os.path.exists(args.plot):
            os.remove(args.plot)  # an experiment's own picture, redrawn with its results
        next(iter(runs.values())).evaluate(args.data, "test", plot=args.plot)
    print("| entry | frame accuracy | macro F1 | edit | F1@10 | F1@25 | F1@50 | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| `{r['entry']}` | " + " | ".join(f"{r['median_' + k]:.3f}" if k in ("frame_accuracy", "macro_f1")
                                             else f"{r['median_' + k]:.1f}" for k in KEYS)
              + f" | {r['median_seconds']:.0f} |")


if __name__ == "__main__":
    main()
