#!/usr/bin/env python3
"""Training throughput of the zoo's ``translation/gru_attention`` against a hand-written PyTorch model.

What it measures
----------------
Samples (sentence pairs) per second of *training*: forward with teacher forcing,
masked cross-entropy, backward, per-variable gradient clipping at 1.0, Adam
update (lr 3e-3), running loss and token accuracy. One model shape, the entry's
defaults: source and target Embedding(V, 64); a bidirectional GRU(128) encoder;
its two final states concatenated and mapped by Dense(128, tanh) to the
decoder's initial state; a GRU(128) decoder over the target embeddings; additive
(Bahdanau) attention of the decoder outputs over the encoder outputs (query
Dense(128, no bias), key Dense(128), score ``v . tanh(q + k)``, source padding
masked, context = weights @ encoder outputs); Dense(128, tanh) on
[decoder output, context]; Dense(V_target) logits. This is ``Seq2Seq.call`` in
``zoo/tasks/translation.py``, and the PyTorch model has the same parameter
count (checked).

``zoo``
    ``zoo.build("translation/gru_attention", ...)`` trained as ``zoo.train``
    trains it (``zoo.fitting.fit``): batches from ``task.fit_data`` (shuffled,
    grouped by length, each batch's source and target axes cut to one of at
    most 4 bucket lengths, a ``tf.data`` generator), ``steps_per_execution``
    from the fit path, the NaN guard callback. One timed run is one
    ``model.fit`` epoch (the per-epoch validation decoding is not part of it).
``torch``
    Hand-written PyTorch of the same shape, fed *the same batches*: the zoo's
    ``zoo.batching.LengthBatches`` over the same arrays (same grouping, same
    bucket shapes, a new shuffle per run as the zoo's). The encoder runs on
    ``pack_padded_sequence`` so that, as with the Keras mask, the backward
    direction starts at each source's last token and the final states are those
    at the last token: the same function as the zoo's model. The decoder runs
    unpacked (right padding cannot change a forward GRU's outputs at real
    positions, and the loss weights padding 0). Adam with eps 1e-7 (Keras's),
    each parameter's gradient clipped to norm 1.0 (Keras's ``clipnorm`` is per
    variable).
``torch_unpacked``
    The same, with the encoder unpacked too: the cheapest PyTorch, but not the
    same function for padded rows (the backward direction reads the padding
    first, and the final forward state is taken after it). Shown because it is
    what PyTorch's fused oneDNN GRU kernel runs without packing.

Settings
--------
``dates``
    The zoo's own pipeline on ``builtin:dates`` (the train split, the
    preprocessor fitted with the task's defaults): short sources (at most 15
    tokens) and targets (ISO dates, 6 tokens with the end token), small
    vocabularies.
``long``
    Synthetic right-padded random ids, vocabulary 8000 on both sides (the
    task's default problem), source lengths uniform in [L/10, L], each target
    the source length +-20% (L = 50 by default): sentence-like lengths and a
    real-sized output layer. The examples handed to ``task.fit_data`` are row
    numbers and a stand-in preprocessor looks their ids up, so the zoo's
    batches still come from ``task.fit_data`` -> ``zoo.batching``.
``real``
    The same synthetic ids, with the source and target token lengths of the
    real parallel corpus of ``experiments/fetch_real_translation.py`` (read
    from ``--real-tsv``, its output file), in a seeded random order.

Method
------
The helpers of ``experiments/bench_sentiment_throughput.py``: batch size 64,
every batch full, ``--warmup-runs`` untimed runs per model (tracing, every
bucket shape met), then ``--repeats`` timed runs interleaved model by model,
each round starting one model later; medians, per-round ("paired") and
best-run ratios of the zoo to the others. TensorFlow's intra-op pool and torch
get ``--threads`` threads each.

Usage::

    .venv/bin/python experiments/bench_translation_training.py --quick
    .venv/bin/python experiments/bench_translation_training.py --threads 1 \\
        --out experiments/results/bench_translation_training.json
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_sentiment_throughput as bench  # the shared timing helpers

BATCH_SIZE = bench.BATCH_SIZE
ENTRY = "translation/gru_attention"
EMBEDDING_DIM, UNITS, ATTENTION_UNITS = 64, 128, 128  # the entry's defaults
LEARNING_RATE, CLIPNORM = bench.LEARNING_RATE, bench.CLIPNORM  # 3e-3 and 1.0: the zoo's defaults too
SETTINGS = ("dates", "long", "real")
MODELS = ("zoo", "torch", "torch_unpacked")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model and setting (default 5)")
    parser.add_argument("--warmup-runs", type=int, default=1, help="untimed runs per model first (default 1)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timed run (default: one epoch of full batches for dates, "
                             "--long-steps for long and real)")
    parser.add_argument("--long-steps", type=int, default=30, help="steps per run of long and real (default 30)")
    parser.add_argument("--length", type=int, default=50, help="longest source of the long setting (default 50)")
    parser.add_argument("--vocab", type=int, default=8000, help="both vocabularies of long and real (default 8000)")
    parser.add_argument("--real-tsv", default=None,
                        help="the TSV written by experiments/fetch_real_translation.py (needed for real)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads for TF intra-op and torch (default: CPUs available)")
    parser.add_argument("--settings", default="dates,long", help=f"comma-separated subset of {','.join(SETTINGS)}")
    parser.add_argument("--extra", default="", help="zoo_xla: also the zoo with an XLA-compiled train step")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--out", help="write every timing and the medians as JSON to this path")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = min(args.repeats, 2), args.steps or 3
        args.length, args.vocab = min(args.length, 16), min(args.vocab, 300)
    return args


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

class Data:
    """One setting: the preprocessor and examples ``task.fit_data`` takes, and a description."""

    def __init__(self, preprocessor, examples: list, source: dict[str, Any]):
        self.preprocessor, self.examples, self.source = preprocessor, examples, source
        problem = preprocessor.problem()
        self.source_vocab, self.target_vocab = problem["source_vocab_size"], problem["target_vocab_size"]


class RowsPreprocessor:
    """Stands in for a ``TranslationPreprocessor`` on synthetic ids: an example is
    ``(row, row)`` and the encoders look the rows' ids up, so ``fit_data`` runs unchanged."""

    start_id, end_id = 2, 3

    def __init__(self, source_ids, target_ids, vocab: int):
        self.source_ids, self.target_ids, self.vocab = source_ids, target_ids, vocab
        self.source_length, self.target_length = source_ids.shape[1], target_ids.shape[1] + 1

    def problem(self) -> dict[str, int]:
        return {"source_vocab_size": self.vocab, "target_vocab_size": self.vocab,
                "source_length": self.source_length, "target_length": self.target_length}

    def encode_sources(self, rows):
        import numpy as np

        return self.source_ids[np.asarray(rows, dtype="int64")]

    def encode_targets(self, rows):
        """(start, tokens) in, (tokens, end) out, weights 1 on real steps: as the real preprocessor."""
        import numpy as np

        tokens = self.target_ids[np.asarray(rows, dtype="int64")]
        n = len(tokens)
        lengths = (tokens != 0).sum(axis=1)
        full = np.zeros((n, tokens.shape[1] + 2), dtype="int32")
        full[:, 0] = self.start_id
        full[:, 1:-1] = tokens
        full[np.arange(n), lengths + 1] = self.end_id
        inputs, outputs = full[:, :-1].copy(), full[:, 1:].copy()
        inputs[inputs == self.end_id] = 0
        return inputs, outputs, (outputs != 0).astype("float32")


def dates_data(steps: int | None) -> Data:
    import zoo

    task = zoo.get(ENTRY).task
    splits = task.load_data("builtin:dates")
    options = {name: p.default for name, p in task.preprocessing_options.items()}
    pre = task.fit_preprocessor(splits, options)
    examples = list(splits.train)
    n = (steps or len(examples) // BATCH_SIZE) * BATCH_SIZE
    examples = [examples[i % len(examples)] for i in range(n)]
    return Data(pre, examples, {"data": "builtin:dates (train split, the task's default preprocessing)",
                                "train_pairs": len(splits.train)})


def ids_data(source_lengths, target_lengths, vocab: int, seed: int, source: dict[str, Any]) -> Data:
    """Right-padded random ids in [4, vocab) with the given lengths."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def ids(lengths):
        lengths = np.asarray(lengths, dtype="int64")
        out = rng.integers(4, vocab, size=(len(lengths), int(lengths.max())), dtype="int32")
        out[np.arange(out.shape[1])[None, :] >= lengths[:, None]] = 0
        return out

    pre = RowsPreprocessor(ids(source_lengths), ids(target_lengths), vocab)
    return Data(pre, [(i, i) for i in range(len(source_lengths))], source)


def long_data(steps: int, length: int, vocab: int, seed: int = 0) -> Data:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = steps * BATCH_SIZE
    source = rng.integers(max(1, length // 10), length, size=n, endpoint=True)
    target = np.clip(np.round(source * rng.uniform(0.8, 1.2, size=n)), 1, length).astype("int64")
    return ids_data(source, target, vocab, seed + 1, {
        "data": f"random ids, source lengths uniform in [{max(1, length // 10)}, {length}], "
                f"target = source length x U(0.8, 1.2)"})


def real_data(steps: int, vocab: int, tsv: str | None, seed: int = 0) -> Data:
    """Random ids with the token lengths (the zoo's word tokenizer, cut at the task's default
    64) of the real corpus's pairs, in a seeded random order."""
    import numpy as np

    from zoo.text import ReversibleTokenizer

    if not tsv or not os.path.isfile(tsv):
        raise SystemExit("the real setting needs --real-tsv FILE from experiments/fetch_real_translation.py")
    with open(tsv, encoding="utf-8") as f:
        pairs = [line.rstrip("\n").split("\t")[:2] for line in f if "\t" in line]
    sources = ReversibleTokenizer(list(ReversibleTokenizer.RESERVED), kind="word", lowercase=True)
    source_lengths = np.clip(sources.lengths([s for s, _ in pairs]), 1, 64)
    target_lengths = np.clip(sources.lengths([t for _, t in pairs]), 1, 63)
    order = np.random.default_rng(seed).permutation(len(pairs))
    chosen = order[np.arange(steps * BATCH_SIZE) % len(order)]
    described = {"data": f"random ids with the token lengths of {os.path.basename(tsv)} ({len(pairs)} pairs)",
                 **{f"{side}_length_percentiles": {str(q): float(np.percentile(lengths, q)) for q in (10, 50, 90, 100)}
                    for side, lengths in (("source", source_lengths), ("target", target_lengths))}}
    return ids_data(source_lengths[chosen], target_lengths[chosen], vocab, seed + 1, described)


# ---------------------------------------------------------------------------
# Runners: ``run(examples) -> None`` trains one epoch over ``examples``
# ---------------------------------------------------------------------------

def zoo_runner(model, task, data: Data, steps_per_execution: int, jit_compile: bool | None = None):
    run = bench.zoo_runner(model, task, data.preprocessor, steps_per_execution, jit_compile=jit_compile)

    def run_examples(examples):
        run(None, None, examples)

    run_examples.state = run.state
    return run_examples


def zoo_batches(task, data: Data, epoch: int):
    """The zoo's ``LengthBatches`` over the arrays ``task.fit_data`` makes of these examples."""
    import numpy as np

    from zoo.batching import LengthBatches

    pre = data.preprocessor
    x, y, weights = task._arrays(pre, data.examples)
    lengths = np.stack([np.maximum(1, (x["source_ids"] != 0).sum(axis=1)),
                        np.maximum(1, (x["decoder_ids"] != 0).sum(axis=1))], axis=1)
    return LengthBatches(x, y, weights, lengths, batch_size=BATCH_SIZE,
                         padded_length=(pre.source_length, pre.target_length), shuffle=True, seed=0, epoch=epoch)


def torch_model(source_vocab: int, target_vocab: int, packed: bool):
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.source_embedding = nn.Embedding(source_vocab, EMBEDDING_DIM, padding_idx=0)
            self.target_embedding = nn.Embedding(target_vocab, EMBEDDING_DIM, padding_idx=0)
            self.encoder = nn.GRU(EMBEDDING_DIM, UNITS, batch_first=True, bidirectional=True)
            self.bridge = nn.Linear(2 * UNITS, UNITS)
            self.decoder = nn.GRU(EMBEDDING_DIM, UNITS, batch_first=True)
            self.query = nn.Linear(UNITS, ATTENTION_UNITS, bias=False)
            self.key = nn.Linear(2 * UNITS, ATTENTION_UNITS)
            self.scale = nn.Parameter(torch.empty(ATTENTION_UNITS).uniform_(-0.1, 0.1))  # AdditiveAttention's v
            self.combine = nn.Linear(UNITS + 2 * UNITS, UNITS)
            self.logits = nn.Linear(UNITS, target_vocab)

        def forward(self, source, decoder_ids):
            mask = source != 0
            x = self.source_embedding(source)
            if packed:
                lengths = mask.sum(1).clamp(min=1)
                out, h = self.encoder(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
                memory, _ = pad_packed_sequence(out, batch_first=True, total_length=source.shape[1])
            else:
                memory, h = self.encoder(x)
            state = torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=-1)))[None]
            y, _ = self.decoder(self.target_embedding(decoder_ids), state)
            scores = (torch.tanh(self.query(y)[:, :, None] + self.key(memory)[:, None]) * self.scale).sum(-1)
            weights = scores.masked_fill(~mask[:, None, :], float("-inf")).softmax(-1)
            context = weights @ memory
            return self.logits(torch.tanh(self.combine(torch.cat([y, context], dim=-1))))

    return Seq2Seq()


def torch_runner(task, data: Data, packed: bool):
    import torch
    from torch import nn

    model = torch_model(data.source_vocab, data.target_vocab, packed)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=LEARNING_RATE, eps=1e-7)  # Keras's Adam epsilon
    state: dict[str, Any] = {"epoch": 0, "examples": None}

    def run(examples):
        if state["examples"] is not examples:
            state.update(examples=examples, batches=zoo_batches(task, data, 0))
        batches = state["batches"]
        batches.epoch = state["epoch"]  # a new shuffle per run, as the zoo's generator
        state["epoch"] += 1
        model.train()
        total_loss, correct = torch.zeros(()), torch.zeros(())  # what Keras's fit tracks
        for i in range(len(batches)):
            x, y, w = batches.batch(i)
            source, decoder_ids = torch.from_numpy(x["source_ids"]).long(), torch.from_numpy(x["decoder_ids"]).long()
            target, weights = torch.from_numpy(y).long(), torch.from_numpy(w)
            logits = model(source, decoder_ids)
            each = nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
            loss = (each * weights.flatten()).sum() / weights.sum()  # Keras's mean_with_sample_weight
            bench.torch_update(loss, params, opt)  # per-variable clipping, as Keras's clipnorm
            total_loss += loss.detach()
            correct += ((logits.detach().argmax(-1) == target) * weights).sum()

    run.num_params = sum(p.numel() for p in params)
    return run


# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------

def bench_setting(name: str, data: Data, steps: int, args, timings: list[dict]) -> dict[str, Any]:
    import keras
    import numpy as np
    import torch

    import zoo
    from zoo import fitting

    task = zoo.get(ENTRY).task
    problem = data.preprocessor.problem()
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    torch.manual_seed(0)

    def build():
        return zoo.build(ENTRY, **problem)

    zoo_model = build()
    zoo_spe = fitting.steps_per_execution(steps)
    runners = {"zoo": zoo_runner(zoo_model, task, data, zoo_spe), "torch": torch_runner(task, data, packed=True),
               "torch_unpacked": torch_runner(task, data, packed=False)}
    for extra in [e.strip() for e in args.extra.split(",") if e.strip()]:
        if extra != "zoo_xla":
            raise SystemExit(f"unknown --extra {extra!r}: only zoo_xla")
        runners[extra] = zoo_runner(build(), task, data, zoo_spe, jit_compile=True)
    params = {m: run.num_params if hasattr(run, "num_params") else zoo_model.count_params()
              for m, run in runners.items()}
    if len(set(params.values())) != 1:
        raise SystemExit(f"the PyTorch model is not the zoo's shape: {params}")

    batches = zoo_batches(task, data, 0)
    shapes = [(b[0]["source_ids"].shape[1], b[0]["decoder_ids"].shape[1]) for b in map(batches.batch, range(steps))]
    real = batches.lengths
    print(f"\n## {name}: vocab {problem['source_vocab_size']}/{problem['target_vocab_size']}, {steps} steps x "
          f"{BATCH_SIZE} = {len(data.examples)} pairs per run, mean source/target tokens {real[:, 0].mean():.1f}/"
          f"{real[:, 1].mean():.1f}, buckets {batches.buckets}", flush=True)

    seconds = bench.interleaved_runs(name, runners, (data.examples,), len(data.examples), steps, args, timings)
    if runners["zoo"].state["steps"] != steps or zoo_model.steps_per_execution != zoo_spe:
        raise SystemExit(f"the zoo's epoch was {runners['zoo'].state['steps']} batches at steps_per_execution "
                         f"{zoo_model.steps_per_execution}, expected {steps} at {zoo_spe}")
    summary = bench.timing_summary(name, seconds, len(data.examples), steps, timings)
    tokens = float(real[:, 1].sum())  # target tokens (with the end token) per run
    return {
        "data": data.source, **problem, "steps": steps, "samples_per_run": len(data.examples),
        "params": params, "models": list(runners), "zoo_steps_per_execution": zoo_spe,
        "bucket_lengths": {"source": batches.buckets[0], "target": batches.buckets[1]},
        "mean_real_tokens": {"source": float(real[:, 0].mean()), "target": float(real[:, 1].mean())},
        "mean_batch_time_steps": {"source": float(np.mean([s for s, _ in shapes])),
                                  "target": float(np.mean([t for _, t in shapes]))},
        "median_target_tokens_per_s": {m: v * tokens / len(data.examples)
                                       for m, v in summary["median_samples_per_s"].items()},
        **summary,
    }


def table(results: dict[str, dict]) -> str:
    lines = ["| setting | model | median pairs/s | target tokens/s | min-max pairs/s | ms/step | cores busy "
             "| zoo / model (medians) | zoo / model (paired) | zoo / model (best runs) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        for m in r["models"]:
            lines.append(f"| {name} | {m} | {r['median_samples_per_s'][m]:.0f} | "
                         f"{r['median_target_tokens_per_s'][m]:.0f} | {r['min_samples_per_s'][m]:.0f}-"
                         f"{r['max_samples_per_s'][m]:.0f} | {r['median_ms_per_step'][m]:.1f} | "
                         f"{r['median_cores_busy'][m]:.2f} | {r['ratio_zoo_to'][m]:.2f} | "
                         f"{r['paired_ratio_zoo_to'][m]:.2f} | {r['best_ratio_zoo_to'][m]:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    settings, info = bench.start(args.threads, args.settings, SETTINGS)
    started = datetime.datetime.now(datetime.UTC)
    timings: list[dict] = []
    results: dict[str, dict] = {}
    for name in settings:
        steps = args.steps or args.long_steps
        if name == "dates":
            data = dates_data(args.steps)
            steps = len(data.examples) // BATCH_SIZE
        elif name == "long":
            data = long_data(steps, args.length, args.vocab)
        else:
            data = real_data(steps, args.vocab, args.real_tsv)
        results[name] = bench_setting(name, data, steps, args, timings)

    text = table(results)
    if args.out:
        payload = bench.report(f"{ENTRY} training throughput: zoo vs hand-written PyTorch", started, info, args,
                               settings, MODELS, embedding_dim=EMBEDDING_DIM, units=UNITS,
                               attention_units=ATTENTION_UNITS, learning_rate=LEARNING_RATE, clipnorm=CLIPNORM)
        bench.write_json_atomic(args.out, {**payload, "timings": timings, "results": results, "table": text})
        print(f"\nwrote {args.out}")
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
