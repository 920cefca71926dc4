"""Greedy, beam-search and sampled decoding for recurrent decoders (translation, captioning, language models).

A decoder is given to these functions as a *step function*::

    step_fn(tokens, state) -> (logits, new_state)

- ``tokens``: int32 ``[batch]``, the previous token of each sequence (the start
  token on the first step, :data:`PAD` for a greedy row that has finished).
- ``state``: a flat tuple of float tensors, each with a leading batch dimension:
  an RNN's ``(h,)`` or ``(h, c)``, and possibly fixed context the step only reads
  (encoder outputs ``[batch, T, d]`` for attention, image features), returned as is.
- ``logits``: float ``[batch, vocab]``, unnormalised scores of the next token
  (``-inf`` is allowed to forbid a token).
- ``new_state``: a tuple or list with the same length, shapes and dtypes as ``state``.

Output conventions, shared by every function here:

- ``tokens`` is int32 ``[batch, max_length]`` of *generated* tokens: the start
  token is not included, the end token **is** included (so a finished sequence is
  told apart from one cut off at ``max_length``), and every position after the end
  token is :data:`PAD` (0). A sequence that never emits the end token fills all
  ``max_length`` positions. A model that predicts id 0 before its end token gets
  a 0 in the output as is; the zoo's vocabularies reserve 0 for padding.
- Beam scores are length-normalised log-probabilities (natural log) with the GNMT
  length penalty (Wu et al., 2016)::

      score = sum(log_softmax(logits)[token] for each generated token) / lp(n)
      lp(n) = ((5 + n) / 6) ** length_penalty

  where ``n`` counts the generated tokens including the end token (``n =
  max_length`` for a hypothesis cut off there). ``length_penalty=0`` gives the
  plain sum of log-probabilities.

Beam search is the "shrinking beam" variant (as in Nematus and Marian): at each
step, of all extensions of the live beams (every token, the end token included) the
best ``beam_width - n_finished`` by summed log-probability are kept; those ending
with the end token (or reaching ``max_length``) join the finished hypotheses, the
others stay live. An example thus collects ``beam_width`` finished hypotheses
(fewer only if fewer tokens have finite logits) and its search stops then; the
length penalty only ranks the finished hypotheses (all candidates of one step have
the same length); and ``beam_width=1`` is exactly greedy search.

:func:`greedy_search` and :func:`beam_search` run the whole batch in one
``keras.ops.while_loop`` that stops as soon as every sequence is done, with
loop-carried shapes fixed (preallocated ``[batch, max_length]`` buffers written
with a one-hot column mask). They use ``keras.ops`` only, so they run on every
backend, under ``tf.function`` (with a ``None`` batch dimension, for SavedModel
export) and under ``jax.jit``. :func:`reference_greedy` and :func:`reference_beam`
are plain NumPy loops over one example and one beam at a time; the tests check the
compiled versions against them.

Samplers wrap the loops as objects with one call signature, ``sampler(step_fn, initial_state,
start_token, end_token, max_length) -> tokens``: :class:`GreedySampler`, :class:`BeamSampler`
(``beam_width``, ``length_penalty``) and :class:`TopKSampler` (``temperature``, ``top_k``, ``seed``);
:func:`get_sampler` makes one from a name or a config. :func:`make_generate` is the one compiled
generate path of every decoder (translation, captioning, language models): ``inputs -> tokens``,
traced once per input shape with the batch and length axes left open, and :func:`model_generate`
keeps one per model and setting.

Why not ``keras_hub.samplers``: keras-hub is not a dependency of the zoo (and not
installed). Its ``cache`` is an arbitrary pytree tiled and gathered per beam, which
would hold an RNN state, but its contract is made for causal LMs:
``next(prompt, cache, index)`` rewrites a whole prompt buffer, ``BeamSampler``
returns un-normalised log-probs without a length penalty, and keeps extending
beams that emitted the stop token. Our state is a flat tuple of tensors with a
leading batch dimension, simple enough to tile and gather here in a few lines.
"""

from __future__ import annotations

import inspect
import math
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from keras import ops

PAD = 0
"""Token id written after a sequence's end token."""

State = Sequence[Any]
StepFn = Callable[[Any, State], tuple[Any, State]]

__all__ = [
    "PAD",
    "SAMPLERS",
    "BeamSampler",
    "GreedySampler",
    "Sampler",
    "TopKSampler",
    "beam_search",
    "compiled",
    "generate_ids",
    "get_sampler",
    "greedy_search",
    "gumbel_noise",
    "length_penalty_factor",
    "make_generate",
    "model_generate",
    "reference_beam",
    "reference_greedy",
    "reference_sample",
    "sample_search",
    "start_logits_at_prior",
    "token_log_prior",
]


def token_log_prior(targets: np.ndarray, weights: np.ndarray, vocab_size: int, smoothing: float = 0.5
                    ) -> np.ndarray:
    """Log-frequencies (float32 ``[vocab_size]``, add-``smoothing``) of the ids a decoder is trained to predict.

    A decoder's logits start from this bias (:func:`start_logits_at_prior`), so its first prediction is the
    unigram distribution of the training targets instead of a uniform one over the vocabulary. Started at
    zero, the hidden layers have to encode the unigram distribution themselves (a bias alone moves about one
    learning rate per update, and real vocabularies span ten nats of log-frequency): on real text they
    saturate doing so, their gradients vanish, and the loss stays on the unigram floor for thousands of
    updates (the cause of the translation plateau, see ``experiments/seq2seq_reference.py``)."""
    targets = np.asarray(targets).ravel()
    real = targets[np.asarray(weights).ravel() > 0]
    if real.size and (real.min() < 0 or real.max() >= vocab_size):
        raise ValueError(f"target ids must lie in [0, {vocab_size}), got {real.min()}..{real.max()}")
    counts = np.bincount(real, minlength=vocab_size).astype("float64") + smoothing
    return np.log(counts / counts.sum()).astype("float32")


def start_logits_at_prior(layer: Any, log_prior: np.ndarray | None) -> None:
    """Set the bias of ``layer`` (the decoder's output ``Dense``) to ``log_prior``; ``None`` leaves it."""
    if log_prior is None:
        return
    if tuple(layer.bias.shape) != tuple(np.shape(log_prior)):
        raise ValueError(f"{layer.name}: bias shape {tuple(layer.bias.shape)} does not match the prior's "
                         f"{tuple(np.shape(log_prior))}")
    layer.bias.assign(np.asarray(log_prior, dtype="float32"))


def compiled(fn: Callable, open_axes: Sequence[int] | None = None) -> Callable:
    """``fn`` (a decoding loop over a batch) compiled for the backend; JAX traces ``while_loop`` by
    itself; torch runs eagerly.

    On TensorFlow, without ``open_axes``: one ``tf.function`` (``reduce_retracing``). With
    ``open_axes``, ``fn`` takes one argument (a tensor or a dict of tensors) and is traced once per
    shape of its *other* axes, with a fixed input signature whose ``open_axes`` (the batch, a source
    or prompt length) are ``None``: batches of every size and length bucket share one trace, and
    TensorFlow never warns of retracing."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return fn
    import tensorflow as tf

    if open_axes is None:
        return tf.function(fn, reduce_retracing=True)
    traced: dict[str, Callable] = {}

    def spec(tensor):
        shape = [None if axis in open_axes else size for axis, size in enumerate(tensor.shape)]
        return tf.TensorSpec(shape, tensor.dtype)

    def call(inputs):
        inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)
        signature = tf.nest.map_structure(spec, inputs)
        key = repr(signature)
        if key not in traced:
            traced[key] = tf.function(fn, input_signature=[signature])
        return traced[key](inputs)

    call.traced = traced  # the tf.functions by signature (tests count their traces)
    return call


def length_penalty_factor(length: Any, alpha: float) -> Any:
    """GNMT length penalty ``((5 + length) / 6) ** alpha``; scores are ``log_prob / factor``.

    Example::

        length_penalty_factor(1, 0.6)  # 1.0
    """
    if isinstance(length, int | float):
        return ((5.0 + length) / 6.0) ** alpha
    return ops.power((5.0 + ops.cast(length, "float32")) / 6.0, alpha)


def _check(state: State, max_length: int) -> tuple[Any, ...]:
    if not isinstance(state, tuple | list) or not state:
        raise ValueError("initial_state must be a non-empty tuple or list of tensors with a leading batch dimension")
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be a positive int, got {max_length!r}")
    return tuple(ops.convert_to_tensor(s) for s in state)


def _call_step(step_fn: StepFn, tokens: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    logits, new_state = step_fn(tokens, state)
    new_state = tuple(new_state)
    if len(new_state) != len(state):
        raise ValueError(f"step_fn returned a state of {len(new_state)} tensors, expected {len(state)}")
    # Same dtypes as the loop carries (a while_loop requires it).
    return ops.cast(logits, "float32"), tuple(ops.cast(n, s.dtype) for n, s in zip(new_state, state, strict=True))


def _start_tokens(start_token: Any, batch: Any) -> Any:
    """Each row's first input, int32 ``[batch]``, from an int or an int32 ``[batch]`` tensor."""
    return ops.cast(ops.convert_to_tensor(start_token), "int32") * ops.ones((batch,), dtype="int32")


def _write_column(buffer: Any, index: Any, values: Any) -> Any:
    """``buffer[:, index] = values`` for a ``[rows, max_length]`` buffer, with fixed shapes."""
    column = ops.expand_dims(ops.arange(ops.shape(buffer)[1], dtype="int32"), 0) == index
    return ops.where(column, ops.expand_dims(values, 1), buffer)


def greedy_search(step_fn: StepFn, initial_state: State, start_token: Any, end_token: int, max_length: int) -> Any:
    """Greedy (argmax) decoding of a whole batch in one ``keras.ops.while_loop``.

    Returns int32 ``[batch, max_length]``: the generated tokens, end token included,
    :data:`PAD` (0) after it. The loop stops early once every row has emitted
    ``end_token``. See the module docstring for the ``step_fn`` contract.

    Example::

        def step(tokens, state):
            h, new = cell(embedding(tokens), list(state))
            return dense(h), new

        tokens = greedy_search(step, (h0, c0), start_token=2, end_token=3, max_length=20)
    """
    state = _check(initial_state, max_length)
    batch = ops.shape(state[0])[0]
    tokens = ops.zeros((batch, max_length), dtype="int32")
    previous = _start_tokens(start_token, batch)
    finished = ops.zeros((batch,), dtype="bool")

    def cond(i, previous, finished, tokens, state):
        return ops.logical_and(i < max_length, ops.logical_not(ops.all(finished)))

    def body(i, previous, finished, tokens, state):
        logits, state = _call_step(step_fn, previous, state)
        chosen = ops.cast(ops.argmax(logits, axis=-1), "int32")
        chosen = ops.where(finished, ops.zeros_like(chosen), chosen)
        tokens = _write_column(tokens, i, chosen)
        finished = ops.logical_or(finished, chosen == end_token)
        return i + 1, chosen, finished, tokens, state

    i = ops.convert_to_tensor(0, dtype="int32")
    _, _, _, tokens, _ = ops.while_loop(
        cond, body, (i, previous, finished, tokens, state), maximum_iterations=max_length
    )
    return tokens


def beam_search(
    step_fn: StepFn,
    initial_state: State,
    start_token: Any,
    end_token: int,
    max_length: int,
    beam_width: int = 4,
    length_penalty: float = 0.6,
) -> tuple[Any, Any]:
    """Beam search of a whole batch in one ``keras.ops.while_loop``; the best hypothesis per example.

    Returns ``(tokens, scores)``: int32 ``[batch, max_length]`` (end token included,
    :data:`PAD` after it) and float32 ``[batch]``, the length-normalised
    log-probability ``log_prob / ((5 + n) / 6) ** length_penalty`` of the returned
    hypothesis, ``n`` its number of tokens with the end token. The state is tiled to
    ``batch * beam_width`` rows (example-major) and gathered by parent beam each
    step. ``beam_width=1`` gives exactly :func:`greedy_search`'s tokens. ``start_token``
    is an int or int32 ``[batch]``. See the module docstring for the algorithm and the
    ``step_fn`` contract.

    Example::

        tokens, scores = beam_search(step, (h0, c0), start_token=2, end_token=3, max_length=20, beam_width=4)
    """
    state = _check(initial_state, max_length)
    if not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive int, got {beam_width!r}")
    k = beam_width
    batch = ops.shape(state[0])[0]
    rows = batch * k
    neg_inf = float("-inf")

    state = tuple(ops.repeat(s, k, axis=0) for s in state)  # row b * k + j is beam j of example b
    example_base = ops.expand_dims(ops.arange(batch, dtype="int32"), 1)  # [batch, 1]
    rank = ops.expand_dims(ops.arange(k, dtype="int32"), 0)  # [1, k]
    previous = ops.repeat(_start_tokens(start_token, batch), k, axis=0)
    alive_seq = ops.zeros((rows, max_length), dtype="int32")
    # Only beam 0 is alive at first, so the first step does not pick the same token k times.
    alive = ops.broadcast_to(rank == 0, (batch, k))
    alive_logp = ops.cast(ops.where(alive, 0.0, neg_inf), "float32")
    finished_seq = ops.zeros((rows, max_length), dtype="int32")
    finished_score = ops.full((batch, k), neg_inf, dtype="float32")
    n_finished = ops.zeros((batch,), dtype="int32")

    def cond(i, previous, alive, alive_logp, alive_seq, finished_seq, finished_score, n_finished, state):
        return ops.logical_and(i < max_length, ops.any(alive))

    def body(i, previous, alive, alive_logp, alive_seq, finished_seq, finished_score, n_finished, state):
        logits, new_state = _call_step(step_fn, previous, state)
        vocab = ops.shape(logits)[-1]
        log_probs = ops.reshape(ops.log_softmax(logits, axis=-1), (batch, k, vocab))
        candidates = ops.reshape(ops.expand_dims(alive_logp, 2) + log_probs, (batch, k * vocab))
        top_logp, top_index = ops.top_k(candidates, k=k)  # sorted, best first
        top_index = ops.cast(top_index, "int32")
        parent = top_index // vocab
        token = top_index % vocab

        # Shrinking beam: only the best (k - finished) extensions of an example go on.
        live = ops.logical_and(rank < ops.expand_dims(k - n_finished, 1), top_logp > neg_inf)
        ends = ops.logical_or(token == end_token, i == max_length - 1)
        newly_finished = ops.logical_and(live, ends)
        alive = ops.logical_and(live, ops.logical_not(ends))

        rows_of_parent = ops.reshape(example_base * k + parent, (-1,))
        flat_token = ops.reshape(token, (-1,))
        seq = _write_column(ops.take(alive_seq, rows_of_parent, axis=0), i, flat_token)
        state = tuple(ops.take(s, rows_of_parent, axis=0) for s in new_state)

        # At most k hypotheses ever finish per example, so the top k of old + new keeps them all.
        new_score = ops.where(newly_finished, top_logp / length_penalty_factor(i + 1, length_penalty), neg_inf)
        merged_score = ops.concatenate([finished_score, new_score], axis=1)  # [batch, 2k]
        merged_seq = ops.concatenate(
            [ops.reshape(finished_seq, (batch, k, max_length)), ops.reshape(seq, (batch, k, max_length))], axis=1
        )
        finished_score, keep = ops.top_k(merged_score, k=k)
        keep_rows = ops.reshape(example_base * (2 * k) + ops.cast(keep, "int32"), (-1,))
        finished_seq = ops.take(ops.reshape(merged_seq, (batch * 2 * k, max_length)), keep_rows, axis=0)
        n_finished = n_finished + ops.sum(ops.cast(newly_finished, "int32"), axis=1)

        alive_logp = ops.where(alive, top_logp, neg_inf)
        return i + 1, flat_token, alive, alive_logp, seq, finished_seq, finished_score, n_finished, state

    i = ops.convert_to_tensor(0, dtype="int32")
    loop_vars = (i, previous, alive, alive_logp, alive_seq, finished_seq, finished_score, n_finished, state)
    outputs = ops.while_loop(cond, body, loop_vars, maximum_iterations=max_length)
    finished_seq, finished_score = outputs[5], outputs[6]
    best = ops.cast(ops.argmax(finished_score, axis=1), "int32")
    tokens = ops.take(finished_seq, ops.reshape(example_base, (-1,)) * k + best, axis=0)
    return tokens, ops.max(finished_score, axis=1)


# Reference implementations: one example (and one beam) at a time, plain Python and NumPy.


def _example_state(initial_state: State, b: int) -> tuple[Any, ...]:
    return tuple(ops.convert_to_tensor(np.asarray(ops.convert_to_numpy(s))[b : b + 1]) for s in initial_state)


def _np_start_tokens(start_token: Any, batch: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(ops.convert_to_numpy(start_token), dtype=np.int32), (batch,))


def _step_one(step_fn: StepFn, token: int, state: tuple[Any, ...]) -> tuple[np.ndarray, tuple[Any, ...]]:
    logits, new_state = step_fn(ops.convert_to_tensor(np.array([token], dtype=np.int32)), state)
    return np.asarray(ops.convert_to_numpy(logits), dtype=np.float32)[0], tuple(new_state)


def reference_greedy(
    step_fn: StepFn, initial_state: State, start_token: Any, end_token: int, max_length: int
) -> np.ndarray:
    """Plain-loop greedy decoding, one example at a time; same output as :func:`greedy_search`.

    Example::

        np.testing.assert_array_equal(greedy_search(step, s, 2, 3, 10), reference_greedy(step, s, 2, 3, 10))
    """
    batch = int(ops.shape(initial_state[0])[0])
    starts = _np_start_tokens(start_token, batch)
    out = np.full((batch, max_length), PAD, dtype=np.int32)
    for b in range(batch):
        state, token = _example_state(initial_state, b), int(starts[b])
        for t in range(max_length):
            logits, state = _step_one(step_fn, token, state)
            token = int(np.argmax(logits))
            out[b, t] = token
            if token == end_token:
                break
    return out


def reference_beam(
    step_fn: StepFn,
    initial_state: State,
    start_token: Any,
    end_token: int,
    max_length: int,
    beam_width: int = 4,
    length_penalty: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain-loop beam search, one example and one beam at a time; same output as :func:`beam_search`.

    Example::

        tokens, scores = reference_beam(step, (h0, c0), 2, 3, max_length=10, beam_width=3)
    """
    batch = int(ops.shape(initial_state[0])[0])
    starts = _np_start_tokens(start_token, batch)
    out = np.full((batch, max_length), PAD, dtype=np.int32)
    out_scores = np.full((batch,), -np.inf, dtype=np.float32)
    for b in range(batch):
        alive = [(0.0, [], _example_state(initial_state, b))]  # (log-prob, tokens, state), best first
        finished = []  # (score, tokens)
        for t in range(max_length):
            candidates = []  # (log-prob, parent, token, state after the parent's step)
            for parent, (logp, tokens, state) in enumerate(alive):
                logits, new_state = _step_one(step_fn, tokens[-1] if tokens else int(starts[b]), state)
                log_probs = logits.astype(np.float64) - np.logaddexp.reduce(logits.astype(np.float64))
                candidates += [(logp + lp, parent, v, new_state) for v, lp in enumerate(log_probs)]
            candidates.sort(key=lambda c: -c[0])  # stable: ties keep (parent, token) order, as top_k does
            next_alive = []
            for logp, parent, v, new_state in candidates[: beam_width - len(finished)]:
                if logp == -np.inf:
                    continue
                tokens = [*alive[parent][1], v]
                if v == end_token or t == max_length - 1:
                    finished.append((logp / length_penalty_factor(t + 1, length_penalty), tokens))
                else:
                    next_alive.append((logp, tokens, new_state))
            alive = next_alive
            if not alive:
                break
        score, tokens = max(finished, key=lambda f: f[0])
        out[b, : len(tokens)] = tokens
        out_scores[b] = score
    return out, out_scores


# Sampling: temperature and top-k, seeded by a counter-based hash (the same numbers on every backend).

_MIX_1, _MIX_2 = -2048144789, -1028477387  # MurmurHash3's fmix32 constants 0x85ebca6b, 0xc2b2ae35 as int32
_STEP_KEY, _ROW_KEY, _TOKEN_KEY = 0x2545F491, 0x165667B1, 0x27D4EB2F
MAX_SEED = 2**31 - 1


def _fmix(h: Any) -> Any:
    """MurmurHash3's 32-bit finalizer in int32 arithmetic (multiplication wraps; shifts are made logical)."""
    h = ops.bitwise_xor(h, ops.bitwise_and(ops.right_shift(h, 16), 0xFFFF))
    h = h * _MIX_1
    h = ops.bitwise_xor(h, ops.bitwise_and(ops.right_shift(h, 13), 0x7FFFF))
    h = h * _MIX_2
    return ops.bitwise_xor(h, ops.bitwise_and(ops.right_shift(h, 16), 0xFFFF))


def gumbel_noise(seed: Any, step: Any, rows: Any, vocab: int) -> Any:
    """Gumbel(0, 1) noise ``[rows, vocab]`` for decoding step ``step``: a hash of (seed, step, row, token).

    A pure function of its arguments in ``keras.ops`` int32 arithmetic, so it runs inside a compiled loop
    (no random-generator state to carry) and gives the same numbers on TensorFlow, JAX and NumPy
    (:func:`reference_sample` computes it with NumPy). Uniforms have 23 random bits."""
    seed = ops.cast(seed, "int32")
    step = ops.cast(step, "int32")
    base = _fmix(_fmix(seed) + step * _STEP_KEY)
    row = ops.expand_dims(ops.arange(rows, dtype="int32") * _ROW_KEY, 1)
    token = ops.expand_dims(ops.arange(vocab, dtype="int32") * _TOKEN_KEY, 0)
    h = _fmix(_fmix(base + row) + token)
    uniform = (ops.cast(ops.bitwise_and(h, 0x7FFFFF), "float32") + 0.5) / float(2**23)
    return -ops.log(-ops.log(uniform))


def _top_k_mask(logits: Any, top_k: Any) -> Any:
    """``logits`` with every token below the ``top_k``-th largest set to -inf (``top_k`` 0: all kept).
    ``top_k`` may be a tensor (an export's input): the threshold is read from the sorted logits."""
    vocab = ops.shape(logits)[-1]
    k = ops.minimum(ops.cast(top_k, "int32"), vocab)
    descending = -ops.sort(-logits, axis=-1)
    index = ops.maximum(k - 1, 0) * ops.ones_like(logits[:, :1], dtype="int32")
    threshold = ops.take_along_axis(descending, index, axis=-1)
    keep = ops.logical_or(k <= 0, logits >= threshold)
    return ops.where(keep, logits, float("-inf"))


def _check_sampling(temperature: Any, top_k: Any, seed: Any) -> None:
    """Python values are checked here; tensors (an export's inputs) are taken as they come."""
    if isinstance(temperature, int | float) and not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if isinstance(top_k, int | float) and (isinstance(top_k, bool) or top_k != int(top_k) or top_k < 0):
        raise ValueError(f"top_k must be an integer >= 0 (0: no limit), got {top_k!r}")
    if isinstance(seed, int | float) and (isinstance(seed, bool) or seed != int(seed) or not 0 <= seed <= MAX_SEED):
        raise ValueError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")


def sample_search(step_fn: StepFn, initial_state: State, start_token: Any, end_token: int, max_length: int,
                  temperature: Any = 1.0, top_k: Any = 0, seed: Any = 0) -> Any:
    """Sampling of a whole batch in one ``keras.ops.while_loop``: temperature, top-k, a seed.

    Each step draws the next token from ``softmax(logits / temperature)`` restricted to the ``top_k``
    most likely tokens (``top_k=0``: the whole vocabulary), by the Gumbel-max trick with
    :func:`gumbel_noise` of ``(seed, step, row)``: the same seed gives the same tokens, on every
    backend, in a SavedModel too. ``temperature=0`` or ``top_k=1`` is greedy decoding, token for token
    :func:`greedy_search`'s. ``start_token`` is an int or int32 ``[batch]`` (each row's first input,
    e.g. the last token of a prompt whose other tokens made ``initial_state``). ``temperature``,
    ``top_k``, ``seed`` and ``max_length`` may be scalar tensors (on TensorFlow: an export's inputs).
    Output as :func:`greedy_search`: int32 ``[batch, max_length]``, end token included, :data:`PAD` after it.

    Example::

        tokens = sample_search(step, (h0, c0), start_token=2, end_token=3, max_length=40,
                               temperature=0.8, top_k=20, seed=7)
    """
    state = _check(initial_state, max_length if isinstance(max_length, int) else 1)  # or a scalar tensor
    _check_sampling(temperature, top_k, seed)
    batch = ops.shape(state[0])[0]
    tokens = ops.zeros((batch, max_length), dtype="int32")
    previous = _start_tokens(start_token, batch)
    finished = ops.zeros((batch,), dtype="bool")
    temperature = ops.cast(temperature, "float32")
    greedy = ops.logical_or(temperature <= 0, ops.cast(top_k, "int32") == 1)
    scale = ops.where(temperature > 0, temperature, 1.0)

    def cond(i, previous, finished, tokens, state):
        return ops.logical_and(i < max_length, ops.logical_not(ops.all(finished)))

    def body(i, previous, finished, tokens, state):
        logits, state = _call_step(step_fn, previous, state)
        scores = _top_k_mask(logits / scale, top_k) + gumbel_noise(seed, i, batch, ops.shape(logits)[-1])
        chosen = ops.where(greedy, ops.argmax(logits, axis=-1), ops.argmax(scores, axis=-1))
        chosen = ops.where(finished, 0, ops.cast(chosen, "int32"))
        tokens = _write_column(tokens, i, chosen)
        finished = ops.logical_or(finished, chosen == end_token)
        return i + 1, chosen, finished, tokens, state

    i = ops.convert_to_tensor(0, dtype="int32")
    _, _, _, tokens, _ = ops.while_loop(cond, body, (i, previous, finished, tokens, state),
                                        maximum_iterations=max_length)
    return tokens


def _np_gumbel(seed: int, step: int, rows: int, vocab: int) -> np.ndarray:
    """:func:`gumbel_noise` in NumPy uint32 arithmetic, written independently of ``keras.ops``."""
    def fmix(h):
        h = h ^ (h >> np.uint32(16))
        h = h * np.uint32(0x85EBCA6B)
        h = h ^ (h >> np.uint32(13))
        h = h * np.uint32(0xC2B2AE35)
        return h ^ (h >> np.uint32(16))

    with np.errstate(over="ignore"):
        u32 = np.uint32
        base = fmix(fmix(u32(seed)) + u32(step) * u32(_STEP_KEY))
        row = (np.arange(rows, dtype=np.uint32) * u32(_ROW_KEY))[:, None]
        token = (np.arange(vocab, dtype=np.uint32) * u32(_TOKEN_KEY))[None, :]
        h = fmix(fmix(base + row) + token)
    uniform = ((h & u32(0x7FFFFF)).astype(np.float32) + np.float32(0.5)) / np.float32(2**23)
    return -np.log(-np.log(uniform))


def reference_sample(step_fn: StepFn, initial_state: State, start_token: Any, end_token: int, max_length: int,
                     temperature: float = 1.0, top_k: int = 0, seed: int = 0) -> np.ndarray:
    """Plain-loop sampling, one example at a time with NumPy noise; same output as :func:`sample_search`.

    Example::

        np.testing.assert_array_equal(sample_search(step, s, 2, 3, 10, seed=1),
                                      reference_sample(step, s, 2, 3, 10, seed=1))
    """
    batch = int(ops.shape(initial_state[0])[0])
    starts = _np_start_tokens(start_token, batch)
    out = np.full((batch, max_length), PAD, dtype=np.int32)
    for b in range(batch):
        state, token = _example_state(initial_state, b), int(starts[b])
        for t in range(max_length):
            logits, state = _step_one(step_fn, token, state)
            if temperature <= 0 or top_k == 1:
                token = int(np.argmax(logits))
            else:
                scaled = logits / np.float32(temperature)
                if top_k > 0:
                    threshold = np.sort(scaled)[::-1][min(top_k, scaled.size) - 1]
                    scaled = np.where(scaled >= threshold, scaled, -np.inf)
                token = int(np.argmax(scaled + _np_gumbel(seed, t, batch, logits.size)[b]))
            out[b, t] = token
            if token == end_token:
                break
    return out


# ---------------------------------------------------------------------------
# Samplers: one object per way of choosing the next token, over the loops above
# ---------------------------------------------------------------------------

class Sampler:
    """A decoding strategy: ``sampler(step_fn, initial_state, start_token, end_token, max_length)``
    returns int32 ``[batch, max_length]`` tokens (end token included, :data:`PAD` after it), as the
    loops above do. Constructor arguments are attributes and come back from :meth:`get_config`;
    :func:`get_sampler` makes one from a name, a config or an instance.

    Example::

        tokens = BeamSampler(4)(model.decode_step, state, start_token=2, end_token=3, max_length=20)
    """

    name: str = ""

    def __call__(self, step_fn: StepFn, initial_state: State, start_token: Any, end_token: int,
                 max_length: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments: ``type(sampler)(**sampler.get_config())`` is the same sampler."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sampler:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class GreedySampler(Sampler):
    """The most likely token at every step (:func:`greedy_search`).

    Example::

        tokens = GreedySampler()(step, (h0, c0), start_token=2, end_token=3, max_length=20)
    """

    name = "greedy"

    def __call__(self, step_fn, initial_state, start_token, end_token, max_length):
        return greedy_search(step_fn, initial_state, start_token, end_token, max_length)


class BeamSampler(Sampler):
    """Beam search with the GNMT length penalty (:func:`beam_search`); the best hypothesis per row.

    ``beam_width``: hypotheses kept (1 is greedy search, run as :func:`greedy_search`);
    ``length_penalty``: the GNMT exponent, 0 for the plain sum of log-probabilities.

    Example::

        tokens = BeamSampler(4, length_penalty=0.6)(step, (h0, c0), 2, 3, max_length=20)
    """

    name = "beam"

    def __init__(self, beam_width: int = 4, length_penalty: float = 0.6):
        if isinstance(beam_width, bool) or not isinstance(beam_width, int | np.integer) or beam_width < 1:
            raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, int | float) or \
                not (math.isfinite(length_penalty) and length_penalty >= 0):
            raise ValueError(f"length_penalty must be a finite number >= 0 (0: no penalty), got {length_penalty!r}")
        self.beam_width, self.length_penalty = int(beam_width), float(length_penalty)

    def __call__(self, step_fn, initial_state, start_token, end_token, max_length):
        if self.beam_width == 1:  # the same tokens, without tiling and sorting
            return greedy_search(step_fn, initial_state, start_token, end_token, max_length)
        tokens, _ = beam_search(step_fn, initial_state, start_token, end_token, max_length,
                                beam_width=self.beam_width, length_penalty=self.length_penalty)
        return tokens

    def get_config(self) -> dict[str, Any]:
        return {"beam_width": self.beam_width, "length_penalty": self.length_penalty}


class TopKSampler(Sampler):
    """Seeded sampling from ``softmax(logits / temperature)`` over the ``top_k`` most likely tokens
    (:func:`sample_search`; ``top_k=0``: all; ``temperature=0`` or ``top_k=1``: greedy). The options
    may be scalar tensors (an export's inputs); Python values are checked at once.

    Example::

        tokens = TopKSampler(temperature=0.8, top_k=20, seed=7)(step, (h0, c0), 2, 3, max_length=40)
    """

    name = "top_k"

    def __init__(self, temperature: Any = 1.0, top_k: Any = 0, seed: Any = 0):
        _check_sampling(temperature, top_k, seed)
        self.temperature, self.top_k, self.seed = temperature, top_k, seed

    def __call__(self, step_fn, initial_state, start_token, end_token, max_length):
        return sample_search(step_fn, initial_state, start_token, end_token, max_length,
                             self.temperature, self.top_k, self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_k": self.top_k, "seed": self.seed}


SAMPLERS: dict[str, type[Sampler]] = {"greedy": GreedySampler, "beam": BeamSampler, "top_k": TopKSampler,
                                      "sample": TopKSampler}
"""Names :func:`get_sampler` knows ("sample" is another name of "top_k")."""


def get_sampler(sampler: str | dict[str, Any] | Sampler = "greedy", **kwargs: Any) -> Sampler:
    """A :class:`Sampler` from a name (``"greedy"``, ``"beam"``, ``"top_k"`` or ``"sample"``) and its
    arguments, a config ``{"name": ..., **arguments}`` (a Keras-serialized one too), or an instance
    (returned as is; no arguments then). An unknown name is a ValueError naming the known ones.

    Example::

        get_sampler("beam", beam_width=4)                   # BeamSampler(beam_width=4, length_penalty=0.6)
        get_sampler({"name": "top_k", "temperature": 0.7})  # TopKSampler(temperature=0.7, top_k=0, seed=0)
    """
    if isinstance(sampler, Sampler):
        if kwargs:
            raise ValueError(f"get_sampler: {sampler!r} is already made; arguments {sorted(kwargs)} do not apply")
        return sampler
    if isinstance(sampler, dict):
        config = dict(sampler)
        if "class_name" in config:  # keras.saving.serialize_keras_object's form
            config = {"name": _class_names().get(config["class_name"], config["class_name"]),
                      **config.get("config", {})}
        if "name" not in config:
            raise ValueError(f"a sampler config needs a 'name' (one of {', '.join(SAMPLERS)}), got {sampler!r}")
        name = config.pop("name")
        return get_sampler(name, **config, **kwargs)
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; samplers: {', '.join(SAMPLERS)}")
    cls = SAMPLERS[sampler]
    allowed = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"sampler {sampler!r} takes no argument {', '.join(map(repr, unknown))}; "
                         f"its arguments: {', '.join(allowed) or 'none'}")
    return cls(**kwargs)


def _class_names() -> dict[str, str]:
    return {cls.__name__: name for name, cls in SAMPLERS.items() if cls.name == name}


def generate_ids(step_fn: StepFn, initial_state: State, start_token: Any, end_token: int, max_length: Any,
                 sampler: str | dict[str, Any] | Sampler = "greedy") -> Any:
    """Tokens int32 ``[batch, max_length]`` from ``step_fn`` by ``sampler`` (see :func:`get_sampler`).

    Example::

        tokens = generate_ids(model.decode_step, state, 2, 3, max_length=20, sampler=BeamSampler(4))
    """
    return get_sampler(sampler)(step_fn, initial_state, start_token, end_token, max_length)


def make_generate(prepare: Callable[[Any], tuple[State, Any]], step_fn: StepFn, end_token: int, max_length: int,
                  sampler: str | dict[str, Any] | Sampler = "greedy", open_axes: Sequence[int] = (0,)
                  ) -> Callable[[Any], Any]:
    """The one generate path of every decoder: a compiled ``inputs -> tokens [batch, max_length]``.

    ``prepare(inputs) -> (initial_state, start_token)`` encodes the inputs (a source, an image, a
    prompt: ``start_token`` an int or int32 ``[batch]``); ``sampler`` then runs its loop over
    ``step_fn``. Compiled by :func:`compiled`: ``open_axes`` of the inputs (the batch; a source's
    or prompt's length) are left open, so one trace serves every batch size and length bucket.

    Example::

        translate = make_generate(lambda ids: (model.initial_decoding_state(ids), 2), model.decode_step,
                                  end_token=3, max_length=32, sampler=BeamSampler(4), open_axes=(0, 1))
        tokens = translate(source_ids)
    """
    sampler = get_sampler(sampler)

    def generate(inputs):
        state, start_token = prepare(inputs)
        return sampler(step_fn, state, start_token, end_token, max_length)

    return compiled(generate, open_axes=open_axes)


_GENERATE_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_generate(model: Any, key: Hashable, build: Callable[[Any], Callable]) -> Callable:
    """``model``'s generate function for ``key`` (the decoding settings), built by ``build`` once while
    the model lives: the validation callback, evaluation and prediction then share one trace per
    setting, and TensorFlow sees no tf.function made again and again. ``build`` gets a weak proxy of
    the model and must reach the model only through it, at call time (``lambda t, s: m.decode_step(t, s)``,
    not the bound method ``m.decode_step``), so the cache never keeps a model alive.

    Example::

        translate = model_generate(model, ("greedy", 32), lambda m: make_generate(
            lambda ids: (m.initial_decoding_state(ids), 2), lambda t, s: m.decode_step(t, s), 3, 32,
            open_axes=(0, 1)))
    """
    functions = _GENERATE_FUNCTIONS.setdefault(model, {})
    if key not in functions:
        functions[key] = build(weakref.proxy(model))
    return functions[key]
