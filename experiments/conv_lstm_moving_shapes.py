#!/usr/bin/env python3
"""Train ``video_labeling/conv_lstm`` with its defaults on builtin:moving_shapes, several seeds (issue 20).

    python experiments/conv_lstm_moving_shapes.py --seeds 3 \\
        --out experiments/results/conv_lstm_moving_shapes.json

Nothing but the defaults (what ``zoo train video_labeling/conv_lstm --data builtin:moving_shapes``
gives a user, with ``seed`` varied). Per seed: test frame accuracy (and macro F1, edit, F1@50), epochs,
training seconds, seconds per epoch (the mean of each epoch's wall time, validation included) and the
load average; then the median and range of the test frame accuracy. ``--entries`` adds other entries
for comparison (``video_labeling/frame_classifier``, ``video_labeling/bigru``), ``--compare-seeds`` seeds
each. The JSON is rewritten after every run, so a sweep that is stopped keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

KEYS = ("frame_accuracy", "macro_f1", "edit", "f1@50")
BAR = 0.93  # issue 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:moving_shapes")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--entries", nargs="*", default=[], help="other entries to train for comparison")
    parser.add_argument("--compare-seeds", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import keras
    from harness import machine, write_result

    import zoo

    class EpochClock(keras.callbacks.Callback):
        """Each epoch's wall time (validation included), and one line per epoch on stderr."""

        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
            logs = logs or {}
            print(f"  epoch {epoch + 1}: {self.seconds[-1]:.0f} s, loss {logs.get('loss', float('nan')):.3f}, "
                  f"val_frame_accuracy {logs.get('val_frame_accuracy', float('nan')):.3f}, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    result = {"command": "python " + " ".join([os.path.relpath(__file__), *sys.argv[1:]]),
              "data": args.data, "bar": BAR, "machine_at_start": machine(), "results": []}

    def run(name: str, seeds: int) -> None:
        trials = []
        entry = {"entry": name, "trials": trials}
        result["results"].append(entry)
        for seed in range(seeds):
            clock = EpochClock()
            trained = zoo.train(name, args.data, seed=seed, verbose=0, callbacks=[clock])
            test = trained.metrics["test"]
            trials.append({"seed": seed, **{k: test[k] for k in KEYS}, "epochs": trained.metrics["epochs_trained"],
                           "best_epoch": trained.metrics.get("best_epoch"),
                           "train_seconds": trained.metrics["train_seconds"],
                           "seconds_per_epoch": statistics.mean(clock.seconds),
                           "epoch_seconds": clock.seconds, "machine": machine(),
                           "test_clips": test["examples"], "test_frames": test["frames"]})
            print(f"{name} seed {seed}: frame accuracy {test['frame_accuracy']:.4f}, "
                  f"{statistics.mean(clock.seconds):.0f} s an epoch", file=sys.stderr, flush=True)
            accuracies = [t["frame_accuracy"] for t in trials]
            entry.update(median_frame_accuracy=statistics.median(accuracies),
                         range_frame_accuracy=[min(accuracies), max(accuracies)],
                         median_seconds_per_epoch=statistics.median(t["seconds_per_epoch"] for t in trials))
            result["machine_at_end"] = machine()
            write_result(args.out, result)

    run("video_labeling/conv_lstm", args.seeds)
    for name in args.entries:
        run(name, args.compare_seeds)
    for entry in result["results"]:
        low, high = entry["range_frame_accuracy"]
        print(f"{entry['entry']}: median {entry['median_frame_accuracy']:.3f} (range {low:.3f}-{high:.3f}, "
              f"{len(entry['trials'])} seeds), {entry['median_seconds_per_epoch']:.0f} s an epoch")


if __name__ == "__main__":
    main()
