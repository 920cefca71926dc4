"""Greedy, beam search and sampling (zoo.decoding): compiled loops and the sampler objects over them
against plain reference loops; the one compiled generate path traces once."""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from zoo.decoding import (
    PAD,
    SAMPLERS,
    BeamSampler,
    GreedySampler,
    TopKSampler,
    beam_search,
    generate_ids,
    get_sampler,
    greedy_search,
    gumbel_noise,
    length_penalty_factor,
    make_generate,
    reference_beam,
    reference_greedy,
    reference_sample,
    sample_search,
)

VOCAB, UNITS, CONTEXT_LEN, BATCH = 12, 16, 5, 6
START, END, MAX_LEN = 1, 2, 8


def make_decoder(cell: str = "lstm", seed: int = 0, sharpness: float = 3.0, batch: int = BATCH):
    """A random seeded decoder step (Embedding -> cell -> attention over a context -> Dense) and its state.

    ``sharpness`` scales the logits: a confident random model (3) ends some rows early and runs others to
    MAX_LEN; a flatter one (1.5) makes beams overtake each other, so gathering the state by parent matters.
    """
    keras.utils.set_random_seed(seed)
    embedding = keras.layers.Embedding(VOCAB, 8)
    rnn = keras.layers.LSTMCell(UNITS) if cell == "lstm" else keras.layers.GRUCell(UNITS)
    dense = keras.layers.Dense(VOCAB)

    def step(tokens, state):
        *carry, context = state  # context: [batch, T, units], read and returned unchanged
        out, carry = rnn(embedding(tokens), list(carry))
        weights = ops.softmax(ops.einsum("bd,btd->bt", out, context), axis=-1)
        logits = sharpness * dense(out + ops.einsum("bt,btd->bd", weights, context))
        # Like a trained decoder, never predict padding or the start token (-inf logits are allowed).
        return ops.where(ops.arange(VOCAB) <= START, float("-inf"), logits), (*carry, context)

    rng = np.random.default_rng(seed)
    n_carry = 2 if cell == "lstm" else 1
    state = tuple(rng.normal(size=(batch, UNITS)).astype("float32") for _ in range(n_carry))
    state = (*state, rng.normal(size=(batch, CONTEXT_LEN, UNITS)).astype("float32"))
    step(np.zeros(batch, "int32"), state)  # build the layers outside any loop
    return step, state, [embedding, rnn, dense]


decoder = functools.cache(make_decoder)


@pytest.fixture(scope="module")
def lstm():
    return decoder("lstm", 0)


def ended(tokens) -> np.ndarray:
    return (np.asarray(tokens) == END).any(axis=1)


def test_greedy_matches_reference(lstm):
    step, state, _ = lstm
    tokens = greedy_search(step, state, START, END, MAX_LEN)
    expected = reference_greedy(step, state, START, END, MAX_LEN)
    assert tokens.dtype == "int32" and tuple(tokens.shape) == (BATCH, MAX_LEN)
    np.testing.assert_array_equal(np.asarray(tokens), expected)
    # Both cases are exercised: rows that end (then pad) and rows cut off at MAX_LEN.
    assert ended(expected).any() and not ended(expected).all()


@pytest.mark.parametrize(
    ("cell", "seed", "sharpness", "beam_width"), [("lstm", 0, 3.0, 1), ("lstm", 0, 3.0, 3), ("gru", 2, 1.5, 3)]
)
def test_beam_matches_reference(cell, seed, sharpness, beam_width):
    step, state, _ = decoder(cell, seed, sharpness)
    tokens, scores = beam_search(step, state, START, END, MAX_LEN, beam_width=beam_width)
    expected_tokens, expected_scores = reference_beam(step, state, START, END, MAX_LEN, beam_width=beam_width)
    assert tuple(tokens.shape) == (BATCH, MAX_LEN) and tuple(scores.shape) == (BATCH,)
    np.testing.assert_array_equal(np.asarray(tokens), expected_tokens)
    np.testing.assert_allclose(np.asarray(scores), expected_scores, atol=1e-5, rtol=0)
    if beam_width > 1:  # the wider beam finds other hypotheses than greedy on some rows
        assert (expected_tokens != reference_greedy(step, state, START, END, MAX_LEN)).any()


def test_beam_width_one_is_greedy():
    step, state, _ = decoder("gru", 1)
    greedy = np.asarray(greedy_search(step, state, START, END, MAX_LEN))
    tokens, scores = beam_search(step, state, START, END, MAX_LEN, beam_width=1, length_penalty=0.6)
    np.testing.assert_array_equal(np.asarray(tokens), greedy)
    assert ended(greedy).any() and not ended(greedy).all()
    # The score of that single hypothesis: its summed log-probs over the length penalty.
    for b in range(BATCH):
        row = greedy[b]
        n = int(np.argmax(row == END)) + 1 if (row == END).any() else MAX_LEN
        logp, carry = 0.0, tuple(s[b : b + 1] for s in state)
        previous = START
        for t in range(n):
            logits, carry = step(np.array([previous], "int32"), carry)
            logits = np.asarray(logits, "float64")[0]
            logp += logits[row[t]] - np.logaddexp.reduce(logits)
            previous = row[t]
        assert float(scores[b]) == pytest.approx(logp / ((5 + n) / 6) ** 0.6, abs=1e-5)


def counting_step(calls: list):
    """Row r emits END exactly at step ends_at[r] (1-based), words 3 + step % 5 before; other tokens -inf."""

    def step(tokens, state):
        calls.append(1)
        count, ends_at = state
        count = count + 1.0
        word = 3 + ops.cast(count[:, 0], "int32") % 5
        target = ops.where(count[:, 0] == ends_at[:, 0], END, word)
        logits = ops.where(ops.one_hot(target, VOCAB) > 0, 10.0, float("-inf"))
        return logits, (count, ends_at)

    return step


def expected_rows(ends_at, max_length):
    rows = np.zeros((len(ends_at), max_length), "int32")
    for r, k in enumerate(ends_at):
        for t in range(min(k, max_length)):
            rows[r, t] = END if t + 1 == k else 3 + (t + 1) % 5
    return rows


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_early_stop_pads_after_end_and_stops_the_loop(search):
    def run(ends_at, max_length=6):
        calls = []
        state = (np.zeros((len(ends_at), 1), "float32"), np.array(ends_at, "float32")[:, None])
        if search == "greedy":
            tokens = greedy_search(counting_step(calls), state, START, END, max_length)
        else:  # one finite token per step: a single live beam, whatever the width
            tokens, scores = beam_search(counting_step(calls), state, START, END, max_length, beam_width=3)
            np.testing.assert_allclose(np.asarray(scores), 0.0, atol=1e-6)
        return np.asarray(tokens), len(calls)

    # Eager TensorFlow runs the while_loop body in Python, so the calls count the iterations.
    tokens, steps = run([1, 3, 2, 99])  # the last row never ends: the loop runs to max_length
    np.testing.assert_array_equal(tokens, expected_rows([1, 3, 2, 99], 6))
    assert tokens[0].tolist() == [END, PAD, PAD, PAD, PAD, PAD] and steps == 6
    tokens, steps = run([1, 3, 2, 2])  # all rows end by step 3: the loop stops there
    np.testing.assert_array_equal(tokens, expected_rows([1, 3, 2, 2], 6))
    assert steps == 3


def markov_step(table: dict[int, dict[int, float]], calls: list | None = None):
    """A first-order chain: the next-token distribution depends on the previous token only."""
    logits = np.full((VOCAB, VOCAB), float("-inf"), "float32")
    for previous, row in table.items():
        for token, p in row.items():
            logits[previous, token] = math.log(p)

    def step(tokens, state):
        if calls is not None:
            calls.append(1)
        return ops.take(ops.convert_to_tensor(logits), tokens, axis=0), state

    return step


def test_beam_finds_the_more_probable_sequence_greedy_misses():
    A, B = 3, 4
    # Greedy takes A (0.6) then END (0.5): p = 0.30. B then END has p = 0.4 * 0.9 = 0.36.
    step = markov_step(
        {
            START: {A: 0.6, B: 0.4},
            A: {END: 0.5, A: 0.27, B: 0.23},
            B: {END: 0.9, A: 0.06, B: 0.04},
            END: {END: 1.0},
            PAD: {END: 1.0},
        }
    )
    state = (np.zeros((2, 1), "float32"),)
    greedy = np.asarray(greedy_search(step, state, START, END, MAX_LEN))
    assert greedy.tolist() == [[A, END] + [PAD] * (MAX_LEN - 2)] * 2
    tokens, scores = beam_search(step, state, START, END, MAX_LEN, beam_width=2)
    assert np.asarray(tokens).tolist() == [[B, END] + [PAD] * (MAX_LEN - 2)] * 2
    expected = math.log(0.36) / ((5 + 2) / 6) ** 0.6
    np.testing.assert_allclose(np.asarray(scores), [expected, expected], atol=1e-5)
    ref_tokens, ref_scores = reference_beam(step, state, START, END, MAX_LEN, beam_width=2)
    np.testing.assert_array_equal(ref_tokens, np.asarray(tokens))
    np.testing.assert_allclose(ref_scores, np.asarray(scores), atol=1e-5)


@pytest.mark.parametrize(("alpha", "expected"), [(0.0, [END]), (2.0, [3, END])])
def test_length_penalty_ranks_finished_hypotheses(alpha, expected):
    # END at once: p = 0.52; A then END: p = 0.48 * 0.9 = 0.432. Only a strong penalty prefers the longer one.
    calls = []
    step = markov_step({START: {END: 0.52, 3: 0.48}, 3: {END: 0.9, 4: 0.1}, 4: {END: 1.0}, END: {END: 1.0}}, calls)
    state = (np.zeros((1, 1), "float32"),)
    tokens, scores = beam_search(step, state, START, END, 4, beam_width=2, length_penalty=alpha)
    # Step 1 finishes [END] and leaves one slot, step 2 finishes [3, END]: two hypotheses, the search ends.
    # (A beam that did not shrink would go on with [3, 4] for a third step.)
    assert len(calls) == 2
    assert np.asarray(tokens)[0].tolist() == [*expected, *[PAD] * (4 - len(expected))]
    p = 0.52 if len(expected) == 1 else 0.432
    assert float(scores[0]) == pytest.approx(math.log(p) / length_penalty_factor(len(expected), alpha), abs=1e-5)
    assert length_penalty_factor(1, alpha) == 1.0


def test_runs_in_tf_function_with_a_none_batch_and_exports(lstm, tmp_path):
    import tensorflow as tf  # here only: the JAX test imports this module

    step, state, layers = lstm
    signature = [tf.TensorSpec([None, UNITS], tf.float32)] * 2 + [tf.TensorSpec([None, CONTEXT_LEN, UNITS])]
    greedy = tf.function(
        lambda h, c, ctx: greedy_search(step, (h, c, ctx), START, END, MAX_LEN), input_signature=signature
    )
    beam = tf.function(
        lambda h, c, ctx: beam_search(step, (h, c, ctx), START, END, MAX_LEN, beam_width=3), input_signature=signature
    )
    assert greedy.get_concrete_function().structured_outputs.shape.as_list() == [None, MAX_LEN]
    for n in (BATCH, 2):  # one trace serves every batch size
        part = tuple(s[:n] for s in state)
        np.testing.assert_array_equal(greedy(*part).numpy(), reference_greedy(step, part, START, END, MAX_LEN))
        tokens, scores = beam(*part)
        ref_tokens, ref_scores = reference_beam(step, part, START, END, MAX_LEN, beam_width=3)
        np.testing.assert_array_equal(tokens.numpy(), ref_tokens)
        np.testing.assert_allclose(scores.numpy(), ref_scores, atol=1e-5)
    assert greedy.experimental_get_tracing_count() == 1 and beam.experimental_get_tracing_count() == 1

    # As the zoo exports: a SavedModel endpoint, loaded back without the Python step function.
    archive = keras.export.ExportArchive()
    for layer in layers:
        archive.track(layer)
    archive.add_endpoint("greedy", greedy, input_signature=signature)
    archive.add_endpoint("beam", beam, input_signature=signature)
    archive.write_out(str(tmp_path / "decoder"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "decoder"))
    part = tuple(tf.constant(s[:3]) for s in state)
    np.testing.assert_array_equal(loaded.greedy(*part).numpy(), reference_greedy(step, part, START, END, MAX_LEN))
    np.testing.assert_array_equal(loaded.beam(*part)[0].numpy(), beam(*part)[0].numpy())


JAX_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import jax, keras, numpy as np
from test_decoding import END, MAX_LEN, START, make_decoder
from zoo.decoding import beam_search, greedy_search, reference_beam, reference_greedy, reference_sample, sample_search
step, state, _ = make_decoder("gru", seed=1)
sampled = np.asarray(jax.jit(lambda *s: sample_search(step, s, START, END, MAX_LEN, temperature=0.8, top_k=5,
                                                      seed=9))(*state))
greedy = np.asarray(jax.jit(lambda *s: greedy_search(step, s, START, END, MAX_LEN))(*state))
tokens, scores = beam_search(step, state, START, END, MAX_LEN, beam_width=3)
ref_tokens, ref_scores = reference_beam(step, state, START, END, MAX_LEN, beam_width=3)
print(json.dumps({"backend": keras.backend.backend(), "greedy": greedy.tolist(),
                  "ref_greedy": reference_greedy(step, state, START, END, MAX_LEN).tolist(),
                  "beam": np.asarray(tokens).tolist(), "ref_beam": ref_tokens.tolist(),
                  "score_error": float(np.abs(np.asarray(scores) - ref_scores).max()), "sampled": sampled.tolist(),
                  "ref_sampled": reference_sample(step, state, START, END, MAX_LEN, 0.8, 5, 9).tolist()}))
"""


@pytest.mark.slow
def test_jax_backend_matches_reference():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, here],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(here),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert report["greedy"] == report["ref_greedy"]
    assert report["beam"] == report["ref_beam"] and report["score_error"] < 1e-5
    assert any(END in row for row in report["greedy"])
    assert report["sampled"] == report["ref_sampled"] and report["sampled"] != report["greedy"]


# ---------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(("temperature", "top_k", "seed"),
                         [(1.0, 0, 0), (0.7, 3, 11), (2.0, 5, 3), (1.0, 0, 2**31 - 1)])
def test_sample_matches_reference(temperature, top_k, seed):
    step, state, _ = decoder("lstm", 0, 1.5)
    tokens = sample_search(step, state, START, END, MAX_LEN, temperature=temperature, top_k=top_k, seed=seed)
    expected = reference_sample(step, state, START, END, MAX_LEN, temperature, top_k, seed)
    np.testing.assert_array_equal(np.asarray(tokens), expected)
    greedy = np.asarray(greedy_search(step, state, START, END, MAX_LEN))
    assert not np.array_equal(expected, greedy)  # it does sample


def test_temperature_zero_or_top_k_one_is_greedy():
    step, state, _ = decoder("gru", 2, 1.5)
    greedy = np.asarray(greedy_search(step, state, START, END, MAX_LEN))
    for options in ({"temperature": 0.0}, {"top_k": 1, "temperature": 3.0}, {"temperature": 0, "seed": 99}):
        np.testing.assert_array_equal(np.asarray(sample_search(step, state, START, END, MAX_LEN, **options)), greedy)


def test_seeded_sampling_is_reproducible_and_follows_the_distribution():
    logits = np.array([2.0, 1.0, 0.0, -1.0, float("-inf")], dtype="float32")
    rows = 6000

    def step(tokens, state):  # the same distribution at every step, whatever came before
        return ops.broadcast_to(ops.convert_to_tensor(logits), (ops.shape(tokens)[0], 5)), state

    state = (np.zeros((rows, 1), "float32"),)
    first = np.asarray(sample_search(step, state, 0, 99, 2, temperature=0.5, seed=4))
    np.testing.assert_array_equal(np.asarray(sample_search(step, state, 0, 99, 2, temperature=0.5, seed=4)), first)
    assert (np.asarray(sample_search(step, state, 0, 99, 2, temperature=0.5, seed=5)) != first).mean() > 0.1
    for temperature, top_k in ((0.5, 0), (1.0, 0), (2.0, 0), (1.0, 2)):
        tokens = np.asarray(sample_search(step, state, 0, 99, 2, temperature=temperature, top_k=top_k, seed=1))
        scaled = np.exp((logits - logits.max()) / temperature)
        if top_k:
            scaled[np.argsort(-logits)[top_k:]] = 0
        expected = scaled / scaled.sum()
        for column in range(2):  # each step draws afresh
            observed = np.bincount(tokens[:, column], minlength=5) / rows
            sigma = np.sqrt(expected * (1 - expected) / rows)
            assert np.all(np.abs(observed - expected) <= 4 * sigma + 1e-9), (temperature, top_k, observed, expected)
    noise = ops.convert_to_numpy(gumbel_noise(3, 0, 200, 500)).ravel()
    assert abs(noise.mean() - 0.5772) < 0.02 and abs(noise.std() - np.pi / np.sqrt(6)) < 0.02  # Gumbel(0, 1)


def test_sample_runs_in_tf_function_with_tensor_options(lstm):
    import tensorflow as tf

    step, state, _ = lstm
    scalar = [tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32),
              tf.TensorSpec([], tf.int32)]
    signature = [tf.TensorSpec([None, UNITS], tf.float32)] * 2 + [tf.TensorSpec([None, CONTEXT_LEN, UNITS])] + scalar

    @tf.function(input_signature=signature)
    def sample(h, c, ctx, temperature, top_k, seed, max_length):
        return sample_search(step, (h, c, ctx), START, END, max_length, temperature, top_k, seed)

    for temperature, top_k, seed, length in ((0.8, 4, 3, MAX_LEN), (1.5, 0, 8, 5), (0.0, 0, 0, MAX_LEN)):
        tokens = sample(*state, temperature, top_k, seed, length).numpy()
        np.testing.assert_array_equal(tokens, reference_sample(step, state, START, END, length, temperature, top_k,
                                                               seed))
    assert sample.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(("options", "pattern"), [
    ({"temperature": -0.5}, "temperature must be a finite number >= 0"),
    ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
    ({"top_k": -1}, r"top_k must be an integer >= 0"),
    ({"top_k": 1.5}, r"top_k must be an integer >= 0"),
    ({"seed": 2**31}, "seed must be an integer from 0 to 2147483647"),
])
def test_sample_rejects_bad_options(lstm, options, pattern):
    step, state, _ = lstm
    with pytest.raises(ValueError, match=pattern):
        sample_search(step, state, START, END, MAX_LEN, **options)


# ---------------------------------------------------------------------------
# Sampler objects and the one generate path
# ---------------------------------------------------------------------------

SAMPLER_CASES = [
    (GreedySampler(), lambda step, state, start: reference_greedy(step, state, start, END, MAX_LEN)),
    (BeamSampler(1), lambda step, state, start: reference_greedy(step, state, start, END, MAX_LEN)),
    (BeamSampler(3), lambda step, state, start: reference_beam(step, state, start, END, MAX_LEN, 3)[0]),
    (BeamSampler(3, length_penalty=0.0),
     lambda step, state, start: reference_beam(step, state, start, END, MAX_LEN, 3, 0.0)[0]),
    (TopKSampler(0.7, 3, 11),
     lambda step, state, start: reference_sample(step, state, start, END, MAX_LEN, 0.7, 3, 11)),
    (TopKSampler(), lambda step, state, start: reference_sample(step, state, start, END, MAX_LEN)),
]


@pytest.mark.parametrize(("sampler", "reference"), SAMPLER_CASES, ids=[repr(c[0]) for c in SAMPLER_CASES])
@pytest.mark.parametrize("per_row_start", [False, True])
def test_each_sampler_equals_its_reference(sampler, reference, per_row_start):
    """Each sampler gives its NumPy reference's tokens; a start token per row (a prompt's last) too."""
    step, state, _ = decoder("gru", 2, 1.5)
    start = np.array([START, 5, 7, START, 3, 9][:BATCH], "int32") if per_row_start else START
    tokens = sampler(step, state, start, END, MAX_LEN)
    assert tokens.dtype == "int32" and tuple(tokens.shape) == (BATCH, MAX_LEN)
    np.testing.assert_array_equal(np.asarray(tokens), reference(step, state, start))
    np.testing.assert_array_equal(np.asarray(generate_ids(step, state, start, END, MAX_LEN, sampler)),
                                  np.asarray(tokens))


def test_beam_width_one_sampler_is_greedy_and_wider_differs():
    step, state, _ = decoder("gru", 2, 1.5)
    greedy = np.asarray(GreedySampler()(step, state, START, END, MAX_LEN))
    np.testing.assert_array_equal(np.asarray(BeamSampler(1)(step, state, START, END, MAX_LEN)), greedy)
    np.testing.assert_array_equal(np.asarray(beam_search(step, state, START, END, MAX_LEN, beam_width=1)[0]), greedy)
    assert (np.asarray(BeamSampler(3)(step, state, START, END, MAX_LEN)) != greedy).any()
    np.testing.assert_array_equal(np.asarray(TopKSampler(temperature=0.0)(step, state, START, END, MAX_LEN)), greedy)


def test_get_sampler_by_name_config_and_instance():
    assert get_sampler() == GreedySampler() and get_sampler("greedy") == GreedySampler()
    assert get_sampler("beam", beam_width=3) == BeamSampler(3, 0.6)
    assert get_sampler("top_k", temperature=0.5, seed=2) == get_sampler("sample", temperature=0.5, seed=2) == \
        TopKSampler(0.5, 0, 2)
    beam = BeamSampler(5, length_penalty=1.0)
    assert get_sampler(beam) is beam
    assert beam.get_config() == {"beam_width": 5, "length_penalty": 1.0}
    for sampler in (GreedySampler(), beam, TopKSampler(0.8, 20, 7)):
        assert type(sampler)(**sampler.get_config()) == sampler
        assert type(sampler).from_config(sampler.get_config()) == sampler
        assert get_sampler({"name": sampler.name, **sampler.get_config()}) == sampler
        assert get_sampler(keras.saving.serialize_keras_object(sampler)) == sampler
    assert set(SAMPLERS) == {"greedy", "beam", "top_k", "sample"}


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: get_sampler("nucleus"), r"unknown sampler 'nucleus'; samplers: greedy, beam, top_k, sample"),
    (lambda: get_sampler({"beam_width": 2}), r"a sampler config needs a 'name' \(one of greedy, beam, top_k, sample"),
    (lambda: get_sampler("greedy", beam_width=2),
     r"sampler 'greedy' takes no argument 'beam_width'; its arguments: none"),
    (lambda: get_sampler("beam", width=3), r"sampler 'beam' takes no argument 'width'; its arguments: beam_width, "
                                           "length_penalty"),
    (lambda: get_sampler(BeamSampler(2), beam_width=3), r"already made; arguments \['beam_width'\] do not apply"),
    (lambda: BeamSampler(0), r"beam_width must be a positive integer, got 0"),
    (lambda: BeamSampler(2.5), r"beam_width must be a positive integer, got 2.5"),
    (lambda: BeamSampler(True), r"beam_width must be a positive integer, got True"),
    (lambda: BeamSampler(2, length_penalty=-1.0), r"length_penalty must be a finite number >= 0"),
    (lambda: BeamSampler(2, length_penalty=float("nan")), r"length_penalty must be a finite number >= 0"),
    (lambda: TopKSampler(temperature=-1.0), r"temperature must be a finite number >= 0"),
    (lambda: TopKSampler(top_k=-3), r"top_k must be an integer >= 0"),
    (lambda: get_sampler("top_k", seed=2**31), r"seed must be an integer from 0 to 2147483647"),
])
def test_samplers_reject_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_make_generate_traces_once_for_every_batch_and_length_without_warning(caplog):
    """The one generate path: one trace serves every batch size and context length (open axes), the
    outputs are the sampler's, and TensorFlow never logs a retracing warning."""
    import logging

    import tensorflow as tf

    step, state, _ = decoder("lstm", 0)
    h, c, context = state
    traces = []

    def prepare(inputs):  # the context's length varies like a source length
        traces.append(1)
        return (inputs["h"], inputs["c"], inputs["context"]), START

    for sampler in (GreedySampler(), BeamSampler(3), TopKSampler(0.8, 4, 3)):
        traces.clear()
        generate = make_generate(prepare, step, END, MAX_LEN, sampler, open_axes=(0, 1))
        with caplog.at_level(logging.WARNING):
            for rows, length in ((BATCH, CONTEXT_LEN), (2, CONTEXT_LEN), (3, 2), (BATCH, 4), (1, 2), (5, 3)):
                inputs = {"h": h[:rows], "c": c[:rows], "context": context[:rows, :length]}
                expected = sampler(step, (h[:rows], c[:rows], context[:rows, :length]), START, END, MAX_LEN)
                np.testing.assert_array_equal(np.asarray(generate(inputs)), np.asarray(expected))
        assert len(traces) == 1, sampler
        assert [f.experimental_get_tracing_count() for f in generate.traced.values()] == [1]
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert tf.config.functions_run_eagerly() is False


def test_model_generate_builds_once_per_model_and_setting_and_never_keeps_the_model():
    import gc
    import weakref

    from zoo.decoding import model_generate

    class Model:
        def decode_step(self, tokens, state):
            return tokens, state

    model, built = Model(), []

    def build(m):
        built.append(1)
        return lambda tokens, state: m.decode_step(tokens, state)

    first = model_generate(model, ("greedy", 8), build)
    assert model_generate(model, ("greedy", 8), build) is first and len(built) == 1
    assert model_generate(model, ("beam", BeamSampler(3)), build) is not first
    assert model_generate(model, ("beam", BeamSampler(3)), build) is not first and len(built) == 2
    assert first(1, 2) == (1, 2)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None  # the cache holds a weak proxy only
