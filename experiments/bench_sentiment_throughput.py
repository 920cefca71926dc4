#!/usr/bin/env python3
"""Training throughput of the zoo's ``sentiment/lstm`` against hand-written Keras and PyTorch.

What it measures
----------------
Samples per second of *training* (forward, backward, gradient clipping, Adam
update, running loss/accuracy) for one model shape, built three ways:

``zoo``
    ``zoo.build("sentiment/lstm", ...)``: Embedding(V, 64, mask_zero=True),
    LSTM(64), Dense(2, softmax); Adam(lr 3e-3, clipnorm 1.0), sparse
    categorical cross-entropy, accuracy metric; trained with ``model.fit``,
    as ``zoo.train`` does.
``keras``
    The same layers, optimizer, loss and metric written out by hand in this
    file and trained the same way. It should run at the zoo's speed: any gap
    would be overhead added by the zoo.
``torch_packed``
    PyTorch: Embedding(V, 64, padding_idx=0), LSTM(64, 64), Linear(64, 2),
    cross-entropy on logits, Adam(lr 3e-3, eps 1e-7 as in Keras) with each
    parameter's gradient clipped to norm 1.0 (Keras's ``clipnorm`` is per
    variable, unlike torch's usual global ``clip_grad_norm_``). The batch goes
    through ``pack_padded_sequence``, so the LSTM stops at each text's last
    token and the classifier reads that state: the same function as the Keras
    model with its padding mask. The textbook recipe for padded batches.
``torch_unpacked``
    The same PyTorch model without packing: the LSTM runs over all positions,
    padding included, and the classifier reads the output at each text's last
    token (gathered by length). With right padding and a forward LSTM that is
    again exactly the masked Keras function, computed with as many recurrent
    steps as Keras computes (Keras runs every step and lets the mask select,
    see below), in PyTorch's fused oneDNN LSTM kernel. This is the fair
    comparison on a CPU: same function, same work, and the faster of the two
    correct PyTorch recipes here. (With the zoo model's weights copied in,
    both PyTorch variants give the zoo's probabilities to within 1e-7. The
    naive variant that reads the final state after the pads costs the same,
    but computes a different function, so it is not measured.)

Two data settings
-----------------
``negation``
    The zoo's real pipeline: ``builtin:negation`` train split, preprocessor
    fitted with max_tokens 20000 and max_length 256 (the data gives a 60-word
    vocabulary and 16 tokens per text at most), ids from ``task.arrays``.
``long``
    Synthetic right-padded random ids, 200 positions, vocabulary 20000, text
    lengths uniform in [20, 200]: long sequences are where the cost of a
    recurrent step shows, and a large embedding where the optimizer's update
    of it does.

Method
------
Batch size 64, every batch full (the remainder of the data is dropped), all
models fed the same arrays in the same order (no shuffling). Each model is
first warmed up (tracing, graph optimization, allocator warm-up; not timed),
then ``--repeats`` runs of ``--steps`` training steps are timed, interleaved
model by model (zoo, keras, torch_packed, torch_unpacked, zoo, ...), so that
background load on the machine falls on all of them alike; each round starts
one model later (keras, torch_packed, torch_unpacked, zoo, ...), so no model
always runs in the same place (say, right after PyTorch). A Keras run is one
``model.fit`` call over exactly ``steps`` batches (so its per-call set-up is
included, as in real training); a PyTorch run is a plain loop over tensor
slices. Reported: the median samples/s per model and the ratios of the zoo's
median to the others'; also the median of the per-round ratios ("paired")
and the ratio of the best runs, the least disturbed when the machine is
shared (load that comes and goes makes a run's time bimodal). TensorFlow's
intra-op pool and torch get the same number of threads (``--threads``,
default: the CPUs this process may use).

Why the numbers differ
----------------------
On a CPU, Keras's LSTM cannot use cuDNN (``backend.lstm`` raises
NotImplementedError without a GPU), so on the TensorFlow backend it runs the
generic ``tf.while_loop``: every time step executes the cell as separate
small graph ops (about 60 in the forward loop body: two MatMuls, gates,
three SelectV2 for the mask, TensorList pushes saved for backward; about 110
in the gradient loop body), over all ``sequence_length`` steps, padding
included (the mask only selects the old state). The zoo's model is exactly
these layers, so it should match the hand-written Keras model. PyTorch
unpacked runs the whole sequence in one oneDNN op forward
(``mkldnn_rnn_layer``) and one backward. PyTorch packed cannot use that
kernel: ATen loops over time steps in C++ with a shrinking batch, and
autograd records some 27,000 small ops per training step at length 200;
their backward (``slice_backward``) zero-fills a gradient the size of the
whole packed input for every time step, so skipping the padding costs more
than it saves on a CPU.

Load: the machine may be shared. The column "cores busy" (process CPU time
over wall time) shows it: PyTorch's OpenMP threads synchronize after every
small op, so when another process holds one of the cores a 2-thread PyTorch
run can slow down several-fold, much more than TensorFlow's work-stealing
thread pool. ``--threads 1`` is the robust setting on a busy machine. (It
sets TF's intra-op pool; TF's inter-op pool and tf.data threads can still
push a Keras run above 1.0.)

Usage::

    .venv/bin/python experiments/bench_sentiment_throughput.py --quick
    .venv/bin/python experiments/bench_sentiment_throughput.py --out experiments/results/bench_sentiment_throughput.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH_SIZE = 64
EMBEDDING_DIM = 64
UNITS = 64
LEARNING_RATE = 3e-3
CLIPNORM = 1.0
MODELS = ("zoo", "keras", "torch_packed", "torch_unpacked")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model and setting (default 5)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timed run, both settings (default: 150 = one epoch of "
                             "negation, 40 for long)")
    parser.add_argument("--warmup-steps", type=int, default=20, help="untimed steps per model first (default 20)")
    parser.add_argument("--length", type=int, default=200, help="positions of the long setting (default 200)")
    parser.add_argument("--vocab", type=int, default=20000, help="vocabulary of the long setting (default 20000)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads for TF intra-op and torch (default: CPUs available)")
    parser.add_argument("--settings", default="negation,long", help="comma-separated subset of negation,long")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--out", help="write every timing and the medians as JSON to this path")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup_steps = min(args.repeats, 2), 2
        args.steps = args.steps or 3
        args.length, args.vocab = min(args.length, 24), min(args.vocab, 500)
    return args


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def negation_arrays():
    """Token ids and labels of ``builtin:negation`` through the zoo's own pipeline."""
    import zoo

    task = zoo.get("sentiment/lstm").task
    splits = task.load_data("builtin:negation")
    pre = task.fit_preprocessor(splits, {"max_tokens": 20000, "max_length": 256})
    x, y = task.arrays(pre, splits.train)
    return x, y, pre.tokenizer.vocab_size


def synthetic_arrays(n: int, length: int, vocab: int, seed: int = 0):
    """Right-padded random ids in [2, vocab), lengths uniform in [length // 10, length], random labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, length // 10), length, size=n, endpoint=True)
    ids = rng.integers(2, vocab, size=(n, length), dtype="int32")
    ids[np.arange(length)[None, :] >= lengths[:, None]] = 0
    return ids, rng.integers(0, 2, size=n).astype("int32"), vocab


def take_batches(x, y, steps: int):
    """The first ``steps`` full batches (cycling through the data if it is shorter)."""
    import numpy as np

    n = steps * BATCH_SIZE
    index = np.arange(n) % len(x)
    return x[index], y[index]


# ---------------------------------------------------------------------------
# Models: each is a callable ``run(x, y) -> None`` training one pass over x
# ---------------------------------------------------------------------------

def keras_runner(model):
    def run(x, y):
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    return run


def build_zoo(vocab: int, length: int):
    import zoo

    return zoo.build("sentiment/lstm", vocab_size=vocab, num_classes=2, sequence_length=length)


def build_keras(vocab: int, length: int):
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=(length,), dtype="int32"),
        layers.Embedding(vocab, EMBEDDING_DIM, mask_zero=True),
        layers.LSTM(UNITS),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, clipnorm=CLIPNORM),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def torch_runner(vocab: int, packed: bool):
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, EMBEDDING_DIM, padding_idx=0)
            self.lstm = nn.LSTM(EMBEDDING_DIM, UNITS, batch_first=True)
            self.classifier = nn.Linear(UNITS, 2)

        def forward(self, ids):
            x = self.embedding(ids)
            lengths = (ids != 0).sum(1)  # right-padded: the length is the count of non-zero ids
            if packed:
                x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                _, (h, _) = self.lstm(x)
                last = h[-1]  # the state at each text's last token
            else:
                outputs, _ = self.lstm(x)
                last = outputs[torch.arange(len(ids)), lengths - 1]  # the output at each text's last token
            return self.classifier(last)  # logits; softmax is inside cross_entropy

    model = Classifier()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=LEARNING_RATE, eps=1e-7)  # Keras's Adam epsilon
    loss_fn = nn.CrossEntropyLoss()

    def run(x, y):
        model.train()
        xs, ys = torch.from_numpy(x).long(), torch.from_numpy(y).long()
        total_loss, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)  # what Keras's fit tracks
        for start in range(0, len(xs), BATCH_SIZE):
            ids, labels = xs[start:start + BATCH_SIZE], ys[start:start + BATCH_SIZE]
            logits = model(ids)
            loss = loss_fn(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p in params:  # per-variable clipping, as Keras's clipnorm
                nn.utils.clip_grad_norm_(p, CLIPNORM)
            opt.step()
            total_loss += loss.detach()
            correct += (logits.detach().argmax(1) == labels).sum()

    run.model, run.num_params = model, sum(p.numel() for p in params)
    return run


# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------

def bench_setting(name: str, x_all, y_all, vocab: int, steps: int, args, timings: list[dict]) -> dict[str, Any]:
    import keras
    import torch

    length = x_all.shape[1]
    x, y = take_batches(x_all, y_all, steps)
    x_warm, y_warm = take_batches(x_all, y_all, args.warmup_steps)
    fill = float((x != 0).mean())
    print(f"\n## {name}: vocab {vocab}, length {length}, {steps} steps x {BATCH_SIZE} = {len(x)} samples per run, "
          f"{fill:.0%} of positions are tokens", flush=True)

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    torch.manual_seed(0)
    zoo_model, keras_model = build_zoo(vocab, length), build_keras(vocab, length)
    runners = {"zoo": keras_runner(zoo_model), "keras": keras_runner(keras_model),
               "torch_packed": torch_runner(vocab, packed=True), "torch_unpacked": torch_runner(vocab, packed=False)}
    params = {"zoo": zoo_model.count_params(), "keras": keras_model.count_params(),
              "torch_packed": runners["torch_packed"].num_params,
              "torch_unpacked": runners["torch_unpacked"].num_params}
    if params["zoo"] != params["keras"]:
        raise SystemExit(f"the hand-written Keras model is not the zoo's shape: {params}")

    for model, run in runners.items():
        started = time.perf_counter()
        run(x_warm, y_warm)
        print(f"  warm-up {model}: {time.perf_counter() - started:.1f} s", flush=True)

    seconds: dict[str, list[float]] = {m: [] for m in runners}
    names = list(runners)
    for repeat in range(args.repeats):
        shift = repeat % len(names)  # interleaved, and each round starts one model later
        for position, model in enumerate(names[shift:] + names[:shift]):
            run = runners[model]
            load = os.getloadavg()[0]
            cpu0, wall0 = time.process_time(), time.perf_counter()
            run(x, y)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            seconds[model].append(wall)
            timings.append({"setting": name, "repeat": repeat, "model": model, "steps": steps,
                            "position": position, "samples": len(x), "seconds": wall, "cpu_seconds": cpu,
                            "loadavg_1min": load})
            print(f"  repeat {repeat} {model:13s} {len(x) / wall:9.0f} samples/s  ({wall:6.2f} s wall, "
                  f"{cpu / wall:4.2f} cores busy, load {load:.2f})", flush=True)

    median = {m: len(x) / statistics.median(s) for m, s in seconds.items()}
    busy = {m: statistics.median(t["cpu_seconds"] / t["seconds"] for t in timings
                                 if t["setting"] == name and t["model"] == m) for m in runners}
    paired = {m: statistics.median(z / o for z, o in zip(seconds[m], seconds["zoo"], strict=True))
              for m in runners}  # zoo's samples/s over the other's within each round, then the median
    return {
        "vocab_size": vocab, "sequence_length": length, "steps": steps, "samples_per_run": len(x),
        "token_fraction": fill, "mean_tokens": float((x != 0).sum(1).mean()), "params": params,
        "median_samples_per_s": median,
        "min_samples_per_s": {m: len(x) / max(s) for m, s in seconds.items()},
        "max_samples_per_s": {m: len(x) / min(s) for m, s in seconds.items()},
        "ratio_zoo_to": {m: median["zoo"] / median[m] for m in runners},
        "best_ratio_zoo_to": {m: min(seconds[m]) / min(seconds["zoo"]) for m in runners},  # least-disturbed runs
        "paired_ratio_zoo_to": paired,
        "median_ms_per_step": {m: 1000 * statistics.median(s) / steps for m, s in seconds.items()},
        "median_cores_busy": busy,  # process CPU time / wall time: < threads means waiting (or preempted)
    }


def machine(threads: int) -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf
    import torch

    return {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0], "cpu_count": os.cpu_count(), "cpus_available": len(os.sched_getaffinity(0)),
        "tensorflow": tf.__version__, "keras": keras.__version__, "keras_backend": keras.backend.backend(),
        "torch": torch.__version__, "numpy": np.__version__,
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "torch_mkldnn_enabled": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "threads_requested": threads,
    }


def write_json_atomic(path: str, payload: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bench-", suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def markdown_table(results: dict[str, dict]) -> str:
    lines = ["| setting | model | median samples/s | min-max samples/s | ms/step | cores busy "
             "| zoo / model (medians) | zoo / model (paired) | zoo / model (best runs) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        label = f"{name} (L={r['sequence_length']}, V={r['vocab_size']})"
        for m in MODELS:
            lines.append(f"| {label} | {m} | {r['median_samples_per_s'][m]:.0f} | {r['min_samples_per_s'][m]:.0f}-"
                         f"{r['max_samples_per_s'][m]:.0f} | {r['median_ms_per_step'][m]:.1f} | "
                         f"{r['median_cores_busy'][m]:.2f} | {r['ratio_zoo_to'][m]:.2f} | "
                         f"{r['paired_ratio_zoo_to'][m]:.2f} | {r['best_ratio_zoo_to'][m]:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)  # before TF's runtime starts
    import torch

    torch.set_num_threads(args.threads)

    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = set(settings) - {"negation", "long"}
    if unknown:
        raise SystemExit(f"unknown setting(s): {', '.join(sorted(unknown))}")
    info = machine(args.threads)
    print(json.dumps(info), flush=True)
    started = datetime.datetime.now(datetime.UTC)
    timings: list[dict] = []
    results: dict[str, dict] = {}
    for name in settings:
        if name == "negation":
            x, y, vocab = negation_arrays()
            steps = args.steps or len(x) // BATCH_SIZE  # default: one epoch of full batches
        else:
            steps = args.steps or 40
            x, y, vocab = synthetic_arrays(steps * BATCH_SIZE, args.length, args.vocab)
        results[name] = bench_setting(name, x, y, vocab, steps, args, timings)

    table = markdown_table(results)
    if args.out:
        payload = {
            "benchmark": "sentiment/lstm training throughput: zoo vs hand-written Keras vs PyTorch",
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
            "machine": info,
            "settings": {"repeats": args.repeats, "steps": args.steps, "warmup_steps": args.warmup_steps,
                         "batch_size": BATCH_SIZE, "threads": args.threads, "quick": args.quick,
                         "long_length": args.length, "long_vocab": args.vocab, "settings": settings,
                         "order": list(MODELS), "embedding_dim": EMBEDDING_DIM, "units": UNITS,
                         "learning_rate": LEARNING_RATE, "clipnorm": CLIPNORM},
            "timings": timings,
            "results": results,
            "table": table,
        }
        write_json_atomic(args.out, payload)
        print(f"\nwrote {args.out}")
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
