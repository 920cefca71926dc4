#!/usr/bin/env python3
"""Training throughput of ``video_labeling/lstm`` on feature vectors against hand-written PyTorch.

    python experiments/bench_video_training.py --repeats 7 --threads 1 \
        --out experiments/results/bench_video_training.json

What it measures: real (unpadded) frames per second of *training* (forward, backward, per-variable
gradient clipping at 1.0, Adam update, running loss and accuracy) on the same batches, in one process,
runs interleaved round by round (zoo, torch, zoo, torch, ...), each run one epoch; medians reported and
the ratio zoo / torch of each round (its median too).

Data: ``builtin:moving_shapes,features=1,n=N`` (clips of 12-40 steps of 6 tracker features, a label per
step) written to a per-step CSV and read back through the ``steps:`` reader, as a user's precomputed
features or sensor stream would be; the training split is used.

``zoo``
    ``zoo.build("video_labeling/lstm", num_classes=6, step_shape=[6])`` with its defaults:
    Dense(64, relu) per step, LSTM(64) over the masked steps, Dense(6, softmax) per step,
    Adam(lr 1e-2, clipnorm 1.0), cross-entropy weighted by the mask (padding carries no weight),
    masked frame accuracy. Trained as ``zoo.train`` trains: batches from ``task.fit_data`` (grouped by
    length, each cut to one of at most 4 bucket lengths, a ``tf.data`` generator with autotuning off),
    ``steps_per_execution`` from ``zoo.fitting.steps_per_execution``, the fit path's NaN guard.
``torch``
    The same function in PyTorch: Linear(6, 64) + ReLU, ``nn.LSTM(64, 64)`` (fused oneDNN kernel),
    Linear(64, 6); cross-entropy on logits averaged over real steps (the same masked mean), Adam(lr
    1e-2, eps 1e-7 as Keras) with each parameter's gradient clipped to norm 1.0 (Keras's ``clipnorm`` is
    per variable). It trains on *the zoo's own batches*: the same rows, in the same order, cut to the
    same bucket lengths (``zoo.batching.LengthBatches``), so both do exactly the same arithmetic; the
    LSTM runs over the padding, as Keras's masked LSTM does.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BATCH_SIZE = 32
UNITS = 64
LEARNING_RATE = 1e-2
CLIPNORM = 1.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1200, help="clips generated (80%% train)")
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs per framework")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for TF and torch")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    return parser.parse_args(argv)


def steps_data(n: int, directory: str):
    """The feature clips as a ``steps:`` CSV, read back by the task: (task, splits)."""
    import zoo
    from zoo.data.builtin_video import FEATURE_NAMES, generate_moving_shapes

    path = os.path.join(directory, "moving_shapes_features.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["clip", "step", "label", *FEATURE_NAMES])
        for clip in generate_moving_shapes(n, features=True):
            for t, (row, label) in enumerate(zip(clip.frames, clip.labels, strict=True)):
                writer.writerow([clip.id, t, label, *(f"{v:.6f}" for v in row)])
    task = zoo.get("video_labeling/lstm").task
    return task, task.load_data(f"steps:{path}")


def zoo_runner(task, preprocessor, train):
    import zoo
    from zoo import fitting

    model = zoo.build("video_labeling/lstm", **preprocessor.problem())
    data = task.fit_data(preprocessor, train, "bench", batch_size=BATCH_SIZE, training=True)
    model.steps_per_execution = fitting.steps_per_execution(data.steps)
    guard = fitting.nan_guard()

    def run():  # each fit opens a new iterator: the next epoch's batches
        model.fit(data.x, epochs=1, shuffle=False, verbose=0, callbacks=[guard])

    return run, model.count_params()


def torch_runner(x, y, mask, lengths):
    import torch
    from torch import nn

    from zoo.batching import LengthBatches

    features, classes = x.shape[-1], int(y.max()) + 1

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(features, 64)
            self.lstm = nn.LSTM(64, UNITS, batch_first=True)
            self.classifier = nn.Linear(UNITS, classes)

        def forward(self, frames):
            out, _ = self.lstm(torch.relu(self.encoder(frames)))
            return self.classifier(out)  # logits [B, T, classes]

    model = Tagger()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=LEARNING_RATE, eps=1e-7)
    # The zoo's batches (same seed and epochs as task.fit_data): rows, order and bucket cuts.
    batches = LengthBatches({"frames": x, "mask": mask}, y, mask, lengths, batch_size=BATCH_SIZE,
                            padded_length=x.shape[1], shuffle=True, seed=0, epoch=0)

    def run():
        model.train()
        total, correct = torch.zeros(()), torch.zeros(())
        for i in range(len(batches)):
            inputs, labels, weights = batches.batch(i)
            frames = torch.from_numpy(inputs["frames"])
            labels, weights = torch.from_numpy(labels).long(), torch.from_numpy(weights)
            logits = model(frames)
            ce = nn.functional.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
            loss = (ce * weights).sum() / weights.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p in params:  # per-variable clipping, as Keras's clipnorm
                nn.utils.clip_grad_norm_(p, CLIPNORM)
            opt.step()
            total += loss.detach()
            correct += ((logits.detach().argmax(-1) == labels).float() * weights).sum()
        batches.next_epoch()

    return run, sum(p.numel() for p in params)


def machine(threads: int) -> dict:
    import keras
    import tensorflow as tf
    import torch

    return {"platform": platform.platform(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
            "load_average_at_start": os.getloadavg(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "torch": torch.__version__, "threads": threads}


def main(argv=None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    import keras

    keras.utils.set_random_seed(0)
    from zoo.folders import write_json

    with tempfile.TemporaryDirectory() as directory:
        task, splits = steps_data(args.n, directory)
    preprocessor = task.fit_preprocessor(splits, {"window": 512})
    train = splits.train
    inputs, y, mask = task._arrays(preprocessor, train, "bench")
    lengths = mask.sum(axis=1).astype("int64")
    frames_per_epoch = int(lengths.sum())

    zoo_run, zoo_params = zoo_runner(task, preprocessor, train)
    torch_run, torch_params = torch_runner(inputs["frames"], y, mask, lengths)
    # The same weights but one: PyTorch's LSTM keeps two bias vectors (input and recurrent), Keras one.
    assert torch_params == zoo_params + 4 * UNITS, (zoo_params, torch_params)
    runners = {"zoo": zoo_run, "torch": torch_run}
    for run in runners.values():  # warm-up: tracing, first allocations
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    rates = {name: [frames_per_epoch / s for s in values] for name, values in seconds.items()}
    ratios = [z / t for z, t in zip(rates["zoo"], rates["torch"], strict=True)]
    result = {
        "data": f"builtin:moving_shapes,features=1,n={args.n} via steps: CSV, train split",
        "clips": len(train), "frames_per_epoch": frames_per_epoch, "batch_size": BATCH_SIZE,
        "repeats": args.repeats, "seconds": seconds,
        "median_frames_per_s": {name: statistics.median(v) for name, v in rates.items()},
        "median_ratio_zoo_to_torch": statistics.median(ratios), "ratios_per_round": ratios,
        "zoo_parameters": zoo_params, "torch_parameters": torch_params, "machine": machine(args.threads),
    }
    if args.out:
        write_json(args.out, result)
    med = result["median_frames_per_s"]
    print(f"{len(train)} clips, {frames_per_epoch} frames per epoch, {args.threads} thread(s), "
          f"{args.repeats} interleaved repeats")
    print(f"zoo {med['zoo']:,.0f} frames/s, torch {med['torch']:,.0f} frames/s, "
          f"zoo/torch {result['median_ratio_zoo_to_torch']:.2f} (median of rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
