#!/usr/bin/env python3
"""Train the video-labeling entries with their defaults on one data spec and record the results.

    python experiments/video_results.py --data builtin:moving_shapes --out experiments/results/video_moving_shapes.json

Nothing but the defaults (what ``zoo train NAME --data SPEC`` gives a user), ``--seeds`` seeds
each; ``--set KEY=VALUE`` (repeatable) trains every entry that declares KEY with that value instead,
how candidate defaults are compared. Frame accuracy, macro F1 over frames, edit score and
F1@{10,25,50} on the test split.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KEYS = ("frame_accuracy", "macro_f1", "edit", "f1@10", "f1@25", "f1@50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:moving_shapes")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every video-labeling entry")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import keras

    import zoo
    from zoo.folders import write_json
    from zoo.hparams import parse_assignments

    settings = parse_assignments(args.set)

    class Progress(keras.callbacks.Callback):
        """One line per epoch on stderr: a sweep takes long on a small CPU."""

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(f"  epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.3f}, val_frame_accuracy "
                  f"{logs.get('val_frame_accuracy', float('nan')):.3f}", file=sys.stderr, flush=True)

    entries = args.entries or zoo.list_models(task="video_labeling")
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "keras": keras.__version__,
               "backend": keras.backend.backend()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results = []
    for name in entries:
        trials = []
        declared = set(zoo.get(name).space())
        overrides = {k: v for k, v in settings.items() if k in declared}
        for seed in range(args.seeds):
            run = zoo.train(name, args.data, seed=seed, verbose=0, callbacks=[Progress()], overrides=overrides)
            test = run.metrics["test"]
            trials.append({"seed": seed, **{k: test[k] for k in KEYS}, "epochs": run.metrics["epochs_trained"],
                           "best_epoch": run.metrics.get("best_epoch"), "load_average": os.getloadavg(),
                           "seconds": run.metrics["train_seconds"], "clips": test["examples"],
                           "frames": test["frames"]})
            print(f"{name} seed {seed}: " + ", ".join(f"{k} {test[k]:.3f}" for k in KEYS), file=sys.stderr)
        results.append({"entry": name, "overrides": overrides, "trials": trials,
                        **{f"median_{k}": statistics.median(t[k] for t in trials) for k in (*KEYS, "seconds")}})
        # Written after every entry, so a long sweep that is stopped keeps what it measured.
        write_json(args.out, {"data": args.data, "seeds": args.seeds, "settings": settings, "machine": machine,
                              "command": " ".join(["python", *sys.argv]), "results": results})
    print("| entry | frame accuracy | macro F1 | edit | F1@10 | F1@25 | F1@50 | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| `{r['entry']}` | " + " | ".join(f"{r['median_' + k]:.3f}" if k in ("frame_accuracy", "macro_f1")
                                             else f"{r['median_' + k]:.1f}" for k in KEYS)
              + f" | {r['median_seconds']:.0f} |")


if __name__ == "__main__":
    main()
