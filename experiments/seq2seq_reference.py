#!/usr/bin/env python3
"""A textbook attention encoder-decoder written by hand in JAX, trained on the zoo's own batches.

The reference that ``translation/*`` is held to on real corpora (issue 19). It shares nothing with the
zoo's model code: no Keras layers, no Keras optimizer, no fit path. It reads the corpus, tokenizer and
length-grouped batches from the zoo (so both see the same ids in the same order) and trains:

- an embedding and a bidirectional GRU encoder (masked: padded steps carry the state on);
- a decoder GRU whose initial state is ``tanh(W [forward_last; backward_first])`` (Bahdanau et al. 2015);
- at each step, additive attention ``v . tanh(W_q s + W_k h_j)`` over the encoder outputs (padding
  masked), read from the decoder's output, combined as ``tanh(W_c [s; context])``, then the logits
  (the zoo's wiring, ``--feed-context`` instead feeds the previous context into the GRU's input,
  Bahdanau's own wiring);
- cross-entropy averaged over real target tokens; Adam with global-norm clipping; Glorot-uniform kernels,
  orthogonal recurrent kernels, zero biases (the Keras defaults, so only the wiring can differ).

Then the zoo's entry is trained on the same batches in the same order with ``train_on_batch`` and both
losses are recorded at every ``--every`` updates, with the unigram entropy of the training targets (the loss
of a decoder that uses neither the source nor its previous token)::

    python experiments/seq2seq_reference.py --data tsv:data/quran_en_fr_30.tsv --updates 1000 \\
        --out experiments/results/seq2seq_reference_quran.json
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------- the reference

def init_params(key, source_vocab: int, target_vocab: int, emb: int, units: int, attention_units: int,
                feed_context: bool):
    import jax
    import jax.numpy as jnp

    keys = iter(jax.random.split(key, 64))

    def glorot(shape):
        limit = math.sqrt(6.0 / (shape[0] + shape[-1]))
        return jax.random.uniform(next(keys), shape, minval=-limit, maxval=limit)

    def orthogonal(n, m):
        q, r = jnp.linalg.qr(jax.random.normal(next(keys), (m, n)))
        return (q * jnp.sign(jnp.diag(r))).T[:n, :m] if n <= m else q[:n, :m]

    def gru(input_dim):
        return {"W": glorot((input_dim, 3 * units)), "U": jnp.concatenate([orthogonal(units, units)
                                                                           for _ in range(3)], axis=1),
                "b": jnp.zeros(3 * units), "bu": jnp.zeros(3 * units)}

    memory = 2 * units
    return {
        "source_embedding": jax.random.uniform(next(keys), (source_vocab, emb), minval=-0.05, maxval=0.05),
        "target_embedding": jax.random.uniform(next(keys), (target_vocab, emb), minval=-0.05, maxval=0.05),
        "forward": gru(emb), "backward": gru(emb),
        "bridge": {"W": glorot((memory, units)), "b": jnp.zeros(units)},
        "decoder": gru(emb + (memory if feed_context else 0)),
        "query": glorot((units, attention_units)),
        "key": {"W": glorot((memory, attention_units)), "b": jnp.zeros(attention_units)},
        "v": glorot((attention_units, 1))[:, 0],
        "combine": {"W": glorot((units + memory, units)), "b": jnp.zeros(units)},
        "logits": {"W": glorot((units, target_vocab)), "b": jnp.zeros(target_vocab)},
    }


def gru_step(p, x, h):
    """Keras's GRU with ``reset_after=True`` (the cuDNN form): gates z, r, candidate n."""
    import jax
    import jax.numpy as jnp

    gx = x @ p["W"] + p["b"]
    gh = h @ p["U"] + p["bu"]
    xz, xr, xn = jnp.split(gx, 3, axis=-1)
    hz, hr, hn = jnp.split(gh, 3, axis=-1)
    z, r = jax.nn.sigmoid(xz + hz), jax.nn.sigmoid(xr + hr)
    n = jnp.tanh(xn + r * hn)
    return z * h + (1 - z) * n


def run_gru(p, x, mask, h0, reverse: bool = False):
    """Outputs ``[B, T, units]`` and the final state; a masked step keeps the state."""
    import jax
    import jax.numpy as jnp

    def step(h, inputs):
        xt, mt = inputs
        new = gru_step(p, xt, h)
        h = jnp.where(mt[:, None], new, h)
        return h, h

    xs, ms = jnp.swapaxes(x, 0, 1), jnp.swapaxes(mask, 0, 1)
    h, outs = jax.lax.scan(step, h0, (xs, ms), reverse=reverse)
    return jnp.swapaxes(outs, 0, 1), h


def encode(params, source_ids):
    """Encoder outputs ``[B, S, 2 units]``, their attention keys, the decoder's first state, the source mask."""
    import jax.numpy as jnp

    source_mask = source_ids != 0
    zeros = jnp.zeros((source_ids.shape[0], params["bridge"]["W"].shape[1]))
    x = params["source_embedding"][source_ids]
    fwd, fwd_last = run_gru(params["forward"], x, source_mask, zeros)
    bwd, bwd_first = run_gru(params["backward"], x, source_mask, zeros, reverse=True)
    memory = jnp.concatenate([fwd, bwd], axis=-1)
    s0 = jnp.tanh(jnp.concatenate([fwd_last, bwd_first], axis=-1) @ params["bridge"]["W"] + params["bridge"]["b"])
    return memory, memory @ params["key"]["W"] + params["key"]["b"], s0, source_mask


def decoder_step(params, s, context, yt, memory, keys, source_mask, feed_context: bool):
    """One decoder step from the previous token's embedding ``yt``: new state, new context, combine output."""
    import jax
    import jax.numpy as jnp

    s = gru_step(params["decoder"], jnp.concatenate([yt, context], axis=-1) if feed_context else yt, s)
    scores = jnp.where(source_mask, jnp.tanh((s @ params["query"])[:, None, :] + keys) @ params["v"], -1e9)
    context = jnp.einsum("bs,bsd->bd", jax.nn.softmax(scores, axis=-1), memory)
    out = jnp.tanh(jnp.concatenate([s, context], axis=-1) @ params["combine"]["W"] + params["combine"]["b"])
    return s, context, out


def logits_fn(params, source_ids, decoder_ids, feed_context: bool, hidden: bool = False):
    """Teacher-forced logits ``[B, T, V]`` (or the combine layer's activations, ``hidden``)."""
    import jax
    import jax.numpy as jnp

    memory, keys, s0, source_mask = encode(params, source_ids)

    def step(carry, inputs):
        s, context = carry
        yt, mt = inputs
        new, new_context, out = decoder_step(params, s, context, yt, memory, keys, source_mask, feed_context)
        # A padded target step keeps the state (its loss weight is 0 anyway).
        return (jnp.where(mt[:, None], new, s), jnp.where(mt[:, None], new_context, context)), out

    y = params["target_embedding"][decoder_ids]
    _, outs = jax.lax.scan(step, (s0, jnp.zeros((source_ids.shape[0], memory.shape[-1]))),
                           (jnp.swapaxes(y, 0, 1), jnp.swapaxes(decoder_ids != 0, 0, 1)))
    outs = jnp.swapaxes(outs, 0, 1)
    if hidden:  # the combine layer's activations, for the saturation measurement
        return outs
    return outs @ params["logits"]["W"] + params["logits"]["b"]


def greedy_decode(params, source_ids, max_length: int, start_id: int, feed_context: bool):
    """Greedy decoding of a batch: ``[batch, max_length]`` ids (the caller cuts each row at its end token)."""
    import jax
    import jax.numpy as jnp

    memory, keys, s0, source_mask = encode(params, source_ids)

    def step(carry, _):
        s, context, tokens = carry
        s, context, out = decoder_step(params, s, context, params["target_embedding"][tokens], memory, keys,
                                       source_mask, feed_context)
        tokens = jnp.argmax(out @ params["logits"]["W"] + params["logits"]["b"], axis=-1).astype(jnp.int32)
        return (s, context, tokens), tokens

    start = jnp.full((source_ids.shape[0],), start_id, jnp.int32)
    _, ids = jax.lax.scan(step, (s0, jnp.zeros((source_ids.shape[0], memory.shape[-1])), start), None,
                          length=max_length)
    return jnp.swapaxes(ids, 0, 1)


def make_train_step(feed_context: bool, learning_rate: float, clipnorm: float):
    import jax
    import jax.numpy as jnp

    def loss_fn(params, source_ids, decoder_ids, targets, weights):
        logits = logits_fn(params, source_ids, decoder_ids, feed_context)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
        return jnp.sum(nll * weights) / jnp.maximum(jnp.sum(weights), 1.0)

    b1, b2, eps = 0.9, 0.999, 1e-7  # Keras's Adam defaults

    @jax.jit
    def train_step(params, opt, source_ids, decoder_ids, targets, weights):
        loss, grads = jax.value_and_grad(loss_fn)(params, source_ids, decoder_ids, targets, weights)
        if clipnorm > 0:
            norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))
            grads = jax.tree_util.tree_map(lambda g: g * jnp.minimum(1.0, clipnorm / (norm + 1e-6)), grads)
        t = opt["t"] + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, opt["m"], grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, opt["v"], grads)
        lr = learning_rate * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), params, m, v)
        return params, {"t": t, "m": m, "v": v}, loss

    return train_step


# ---------------------------------------------------------------------------------------------- the comparison

def unigram_entropy(targets, weights) -> float:

    counts = collections.Counter(targets[weights > 0].tolist())
    n = sum(counts.values())
    return float(-sum(c / n * math.log(c / n) for c in counts.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a translation data spec, e.g. tsv:data/quran_en_fr_30.tsv")
    parser.add_argument("--entry", default="translation/gru_attention")
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=None,
                        help="train the reference this many epochs instead of --updates, decoding the first 512 "
                             "validation sources greedily after each for validation BLEU and chrF (as the zoo's "
                             "val_bleu); the zoo's run is left to experiments/translation_results.py")
    parser.add_argument("--every", type=int, default=100, help="record the mean loss of each this many updates")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the entry's")
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument("--feed-context", action="store_true", help="Bahdanau's wiring: context into the GRU")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a hyperparameter of the zoo's entry (also read by the reference where it has it)")
    parser.add_argument("--zero-output-bias", action="store_true",
                        help="start both models' output bias at zero (the zoo before issue 19) instead of at the "
                             "training targets' log-frequencies")
    parser.add_argument("--skip-zoo", action="store_true", help="train the reference only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    os.environ.setdefault("KERAS_BACKEND", "jax")  # the zoo's preprocessing needs no TensorFlow
    import jax
    import jax.numpy as jnp
    import numpy as np
    from harness import machine, write_result

    import zoo
    from zoo.batching import LengthBatches
    from zoo.hparams import describe, parse_assignments, resolve
    from zoo.training import resolve_preprocessing, split_overrides

    spec = zoo.get(args.entry)
    task = spec.task
    overrides = parse_assignments(args.set)
    model_values, prep_values, _ = split_overrides(spec, overrides)
    splits = task.load_data(args.data)
    preprocessor = task.fit_preprocessor(splits, resolve_preprocessing(spec, prep_values))
    x, y, w = task._arrays(preprocessor, splits.train)
    lengths = np.stack([np.maximum(1, (x["source_ids"] != 0).sum(1)), np.maximum(1, (x["decoder_ids"] != 0).sum(1))],
                       axis=1)
    problem = preprocessor.problem()
    space = spec.space()
    hp = {name: describe(value)["default"] for name, value in space.items()}
    hp.update(resolve(spec.name, space, model_values).values)
    learning_rate = args.learning_rate or hp["learning_rate"]

    def batches():
        b = LengthBatches(x, y, w, lengths, batch_size=args.batch_size,
                          padded_length=(preprocessor.source_length, preprocessor.target_length),
                          shuffle=True, seed=args.seed)
        k = 0
        while True:
            for i in range(len(b)):
                yield b.batch(i)
                k += 1
                if k >= args.updates:
                    return
            b.next_epoch()

    steps_per_epoch = -(-len(splits.train) // args.batch_size)
    if args.epochs:
        args.updates, args.skip_zoo = args.epochs * steps_per_epoch, True
    validation = list(splits.validation)[:512]

    def validation_scores() -> dict:
        from zoo.metrics import normalize_text, translation_scores

        jit_decode = jax.jit(greedy_decode, static_argnums=(2, 3, 4))
        hypotheses = []
        for start in range(0, len(validation), 256):
            ids = preprocessor.encode_sources([s for s, _ in validation[start:start + 256]])
            out = np.asarray(jit_decode(state["params"], ids, preprocessor.target_length,
                                        preprocessor.target.start_id, args.feed_context))
            hypotheses.extend(preprocessor.decode(out))
        scores = translation_scores(hypotheses, [normalize_text(t) for _, t in validation])
        return {"val_bleu": round(scores["bleu"], 2), "val_chrf": round(scores["chrf"], 2)}

    def curve(train_one, decode: bool = False) -> dict:
        losses, started, points, epochs = [], time.perf_counter(), [], []
        for xb, yb, wb in batches():
            losses.append(float(train_one(xb, yb, wb)))
            if decode and len(losses) % steps_per_epoch == 0:
                epochs.append({"epoch": len(epochs) + 1, "loss": round(float(np.mean(losses[-steps_per_epoch:])), 4),
                               "seconds": round(time.perf_counter() - started, 1), **validation_scores()})
                print(epochs[-1], flush=True)
            if len(losses) % args.every == 0:
                points.append({"updates": len(losses), "loss": round(float(np.mean(losses[-args.every:])), 4),
                               "seconds": round(time.perf_counter() - started, 1)})
                print(points[-1], flush=True)
        return {"points": points, "seconds_per_100_updates": round(100 * (time.perf_counter() - started)
                                                                     / max(1, len(losses)), 2),
                **({"epochs": epochs} if decode else {})}

    emb = hp.get("target_embedding_dim", 64)
    units, attention_units = hp.get("units", 128), hp.get("attention_units", 128)
    params = init_params(jax.random.PRNGKey(args.seed), problem["source_vocab_size"], problem["target_vocab_size"],
                         emb, units, attention_units, args.feed_context)
    if not args.zero_output_bias:
        params["logits"]["b"] = jnp.asarray(preprocessor.output_prior)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = {"params": params, "opt": {"t": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros}}
    step = make_train_step(args.feed_context, learning_rate, args.clipnorm)

    def reference_one(xb, yb, wb):
        state["params"], state["opt"], loss = step(state["params"], state["opt"], xb["source_ids"],
                                                   xb["decoder_ids"], yb, wb)
        return loss

    probe = next(batches())

    def saturated() -> float:
        """Share of the combine layer's activations (real target steps of the first batch) beyond |0.99|."""
        combine = logits_fn(state["params"], probe[0]["source_ids"], probe[0]["decoder_ids"], args.feed_context,
                            hidden=True)
        return round(float(np.mean(np.abs(np.asarray(combine))[np.asarray(probe[2]) > 0] > 0.99)), 4)

    print("reference", flush=True)
    saturated_at_start = saturated()
    reference_curve = curve(reference_one, decode=bool(args.epochs))
    result = {
        "what": "loss (mean of each window of updates) of a hand-written JAX attention encoder-decoder and of the "
                "zoo's entry, trained on the same length-grouped batches in the same order",
        "command": "python " + " ".join([os.path.relpath(__file__), *sys.argv[1:]]),
        "data": args.data, "entry": args.entry, "overrides": overrides,
        "train_pairs": len(splits.train), "problem": problem,
        "target_unigram_entropy_nats": round(unigram_entropy(y, w), 4),
        "reference": {"learning_rate": learning_rate, "clipnorm": args.clipnorm, "embedding_dim": emb,
                      "units": units, "attention_units": attention_units, "feed_context": args.feed_context,
                      "output_bias": "zero" if args.zero_output_bias else "log_prior", **reference_curve,
                      "saturated_combine_share": {"start": saturated_at_start, "end": saturated()}},
        "machine": machine(),
    }
    if not args.skip_zoo:
        model = zoo.build(args.entry, **problem, **model_values)
        if not args.zero_output_bias:
            task.initialize_model(model, preprocessor)  # what zoo.train does: the logits start at the prior
        print("zoo", flush=True)
        result["zoo"] = {"backend": os.environ["KERAS_BACKEND"],
                         "output_bias": "zero" if args.zero_output_bias else "log_prior",
                         **curve(lambda xb, yb, wb: model.train_on_batch(xb, yb, sample_weight=wb,
                                                                         return_dict=True)["loss"])}
    write_result(args.out, result)


if __name__ == "__main__":
    main()
