#!/usr/bin/env python3
"""Decoding speed of a trained translation model: compiled loop vs per-token Python loops.

    python experiments/bench_translation_decoding.py --out experiments/results/bench_translation_decoding.json

One ``translation/gru_attention`` run (trained here on ``builtin:dates,n=4000`` with the
defaults, or ``--run DIR``) decodes the same test sources four ways, all greedy:

``compiled``
    the zoo: ``zoo.decoding.greedy_search`` over the whole batch in one ``keras.ops.while_loop``
    inside one ``tf.function`` (what ``run.predict`` and the export do);
``compiled_beam4``
    the same loop as beam search of width 4;
``eager_batched``
    a Python loop over positions calling the same ``decode_step`` eagerly for the whole batch;
``keras_io``
    the keras-io seq2seq recipe: one sentence at a time, one ``Model.predict`` call per token
    on a step model (measured on ``--keras-io-sentences`` sentences, per-sentence time scaled
    to the whole set).

Each is warmed up (tracing), then timed ``--repeats`` times; medians are reported, with
ratios taken from the same run. The exported ``translate`` endpoint's latency for one
sentence (p50 and p99 over ``--latency-calls`` calls) is measured last.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained translation run (default: train one here)")
    parser.add_argument("--data", default="builtin:dates,n=4000")
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras-io-sentences", type=int, default=16)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf
    from keras import ops

    import zoo
    from zoo.folders import write_json
    from zoo.tasks.translation import make_translator

    run = zoo.load(args.run) if args.run else zoo.train("translation/gru_attention", args.data, verbose=0)
    model, pre = run.model, run.preprocessor
    test = run.task.load_data(run.config["data"]).test
    sources = [s for s, _ in (test * (args.sentences // len(test) + 1))[: args.sentences]]
    ids = pre.encode_sources(sources)
    longest = int((ids != 0).sum(axis=1).max())
    ids = ops.convert_to_tensor(ids[:, :longest])
    start, end, max_length = pre.target.start_id, pre.target.end_id, pre.target_length

    greedy = make_translator(model, pre, 1)
    beam = make_translator(model, pre, 4)

    def eager_batched():
        state = model.initial_decoding_state(ids)
        tokens = tf.fill([len(sources)], start)
        out = []
        done = tf.zeros([len(sources)], tf.bool)
        for _ in range(max_length):
            logits, state = model.decode_step(tokens, state)
            tokens = tf.cast(tf.argmax(logits, axis=-1), tf.int32)
            out.append(tokens)
            done = done | (tokens == end)
            if bool(tf.reduce_all(done)):
                break
        return tf.stack(out, axis=1)

    class Step(keras.Model):  # the keras-io decoder model: (token, states) -> (logits, states)
        def call(self, inputs):
            logits, state = model.decode_step(inputs[0][:, 0], tuple(inputs[1:]))
            return [logits, *state]

    step_model = Step()

    def keras_io(n: int):
        outputs = []
        for i in range(n):
            state = [np.asarray(s) for s in model.initial_decoding_state(ids[i:i + 1])]
            token, sentence = start, []
            for _ in range(max_length):
                result = step_model.predict([np.array([[token]], "int32"), *state], verbose=0)
                logits, state = result[0], result[1:]
                token = int(np.argmax(logits[0]))
                if token == end:
                    break
                sentence.append(token)
            outputs.append(sentence)
        return outputs

    def timed(fn, repeats):
        fn()  # warm-up: tracing and graph optimisation
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = fn()
            if hasattr(result, "numpy"):
                result.numpy()
            seconds.append(time.perf_counter() - started)
        return statistics.median(seconds)

    compiled_tokens = np.asarray(greedy(ids))
    np.testing.assert_array_equal(np.asarray(eager_batched())[:, :3], compiled_tokens[:, :3])
    results = {
        "compiled": timed(lambda: greedy(ids), args.repeats),
        "compiled_beam4": timed(lambda: beam(ids), args.repeats),
        "eager_batched": timed(eager_batched, max(1, args.repeats // 2)),
    }
    per_sentence = timed(lambda: keras_io(args.keras_io_sentences), 1) / args.keras_io_sentences
    results["keras_io"] = per_sentence * len(sources)
    print(f"decoded {len(sources)} sentences (source up to {longest} tokens, target up to {max_length})",
          file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        export = zoo.export(run, os.path.join(tmp, "export"))
        loaded = tf.saved_model.load(export)
        one = tf.constant([sources[0]])
        loaded.translate(one)
        latencies = []
        for i in range(args.latency_calls):
            one = tf.constant([sources[i % len(sources)]])
            started = time.perf_counter()
            loaded.translate(one)["translation"].numpy()
            latencies.append(time.perf_counter() - started)
    latency = {"p50_ms": 1000 * float(np.percentile(latencies, 50)),
               "p99_ms": 1000 * float(np.percentile(latencies, 99))}
    ratios = {"keras_io_over_compiled": results["keras_io"] / results["compiled"],
              "eager_batched_over_compiled": results["eager_batched"] / results["compiled"],
              "beam4_over_greedy": results["compiled_beam4"] / results["compiled"]}
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "keras": keras.__version__,
               "tensorflow": tf.__version__, "backend": keras.backend.backend()}
    write_json(args.out, {"sentences": len(sources), "source_tokens_max": longest, "target_length": max_length,
                          "seconds": results, "ratios": ratios, "export_latency_one_sentence": latency,
                          "repeats": args.repeats, "keras_io_sentences_timed": args.keras_io_sentences,
                          "machine": machine})
    print("| way | seconds for the set | vs compiled |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.3f} | {seconds / results['compiled']:.1f}x |")
    print(f"export translate, one sentence: p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
