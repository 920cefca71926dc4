"""The shared recurrent decoder: its config round-trips, its step equals its teacher-forced call (with and
without attention, both cells, padded targets and masked memories), and a masked memory step is ignored."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from zoo.decoder import RecurrentDecoder
from zoo.errors import HyperparameterError

VOCAB, UNITS, MEMORY_DIM = 23, 8, 6


def _inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(4, VOCAB, size=(3, 6)).astype("int32")
    ids[:, 0] = 2
    ids[1, 4:] = 0  # right padding of different lengths
    ids[2, 2:] = 0
    memory = rng.normal(size=(3, 5, MEMORY_DIM)).astype("float32")
    memory_mask = np.ones((3, 5), dtype=bool)
    memory_mask[1, 3:] = False
    return ids, memory, memory_mask


def _decoder(cell: str, attention: str | None, depth: int = 2, **kwargs) -> RecurrentDecoder:
    return RecurrentDecoder(VOCAB, cell=cell, units=UNITS, depth=depth, embedding_dim=5, attention=attention,
                            attention_units=7, **kwargs)


def _states(decoder: RecurrentDecoder, batch: int, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, UNITS)).astype("float32") for _ in range(decoder.depth * decoder.states_per_layer)]


CASES = [(cell, attention, masked) for cell in ("lstm", "gru") for attention in (None, "additive", "multiplicative")
         for masked in ((False, True) if attention else (False,))]


@pytest.mark.parametrize(("cell", "attention", "masked"), CASES)
def test_step_equals_the_teacher_forced_call(cell, attention, masked):
    decoder = _decoder(cell, attention, dropout=0.3, dropout_between_layers=True)
    ids, memory, memory_mask = _inputs()
    states = _states(decoder, len(ids))
    memory_kwargs = {"memory": memory, "memory_mask": memory_mask if masked else None} if attention else {}
    fused = ops.convert_to_numpy(decoder(ids, initial_state=states, **memory_kwargs))
    assert fused.shape == (*ids.shape, VOCAB)
    state = decoder.initial_state(states, **memory_kwargs)
    assert len(state) == decoder.state_count
    stepped = []
    for t in range(ids.shape[1]):
        logits, state = decoder.step(ids[:, t], state)
        stepped.append(ops.convert_to_numpy(logits))
    real = ids != 0
    np.testing.assert_allclose(np.stack(stepped, axis=1)[real], fused[real], atol=1e-5)


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
def test_a_masked_memory_position_is_never_read(attention):
    decoder = _decoder("lstm", attention)
    ids, memory, memory_mask = _inputs()
    changed = memory.copy()
    changed[~memory_mask] = 100.0
    first = decoder(ids, memory=memory, memory_mask=memory_mask)
    second = decoder(ids, memory=changed, memory_mask=memory_mask)
    np.testing.assert_allclose(ops.convert_to_numpy(first), ops.convert_to_numpy(second), atol=1e-6)
    _, scores = decoder(ids, memory=memory, memory_mask=memory_mask, return_attention_scores=True)
    scores = ops.convert_to_numpy(scores)
    assert scores.shape == (3, ids.shape[1], memory.shape[1])
    np.testing.assert_allclose(scores[1][:, ~memory_mask[1]], 0.0, atol=1e-6)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-5)


def test_without_initial_state_the_cells_start_at_zero():
    decoder = _decoder("gru", None)
    ids, _, _ = _inputs()
    zeros = [np.zeros((len(ids), UNITS), "float32")] * decoder.depth
    np.testing.assert_allclose(ops.convert_to_numpy(decoder(ids)),
                               ops.convert_to_numpy(decoder(ids, initial_state=zeros)), atol=1e-6)
    state = decoder.initial_state(batch_size=len(ids))
    assert [tuple(s.shape) for s in state] == [(len(ids), UNITS)] * decoder.depth


def test_features_then_logits_equal_the_call():
    decoder = _decoder("lstm", "additive")
    ids, memory, _ = _inputs()
    features = decoder(ids, memory=memory, return_features=True)
    assert tuple(features.shape) == (*ids.shape, UNITS)
    np.testing.assert_allclose(ops.convert_to_numpy(decoder.logits(features)),
                               ops.convert_to_numpy(decoder(ids, memory=memory)), atol=1e-6)


def test_config_round_trips_with_the_same_outputs():
    decoder = _decoder("lstm", "multiplicative", depth=1, dropout=0.2, dropout_between_layers=True, name="dec")
    ids, memory, memory_mask = _inputs()
    out = decoder(ids, memory=memory, memory_mask=memory_mask)
    config = decoder.get_config()
    assert {k: config[k] for k in ("vocab_size", "cell", "units", "depth", "embedding_dim", "dropout",
                                   "dropout_between_layers", "attention", "attention_units")} == {
        "vocab_size": VOCAB, "cell": "lstm", "units": UNITS, "depth": 1, "embedding_dim": 5, "dropout": 0.2,
        "dropout_between_layers": True, "attention": "multiplicative", "attention_units": 7}
    clone = RecurrentDecoder.from_config(config)
    assert clone.get_config() == config
    clone(ids, memory=memory, memory_mask=memory_mask)
    clone.set_weights(decoder.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(clone(ids, memory=memory, memory_mask=memory_mask)),
                               ops.convert_to_numpy(out), atol=1e-6)
    assert decoder.output_layer.name == "logits"


def test_bad_arguments_name_the_choices():
    with pytest.raises(HyperparameterError, match="cell must be one of lstm, gru"):
        RecurrentDecoder(10, cell="rnn")
    with pytest.raises(HyperparameterError, match="attention must be one of"):
        RecurrentDecoder(10, attention="dot")
    decoder = _decoder("lstm", None)
    ids, _, _ = _inputs()
    decoder(ids)
    with pytest.raises(ValueError, match="a step state has 4 tensors, got 3"):
        decoder.step(ids[:, 0], decoder.initial_state(batch_size=3)[:3])
