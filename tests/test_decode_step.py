"""Every registry entry with a decode step: its logits, stepped one token at a time through the cells,
equal the fused (cuDNN-eligible) layers' teacher-forced logits on every real position."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

import zoo


def _decoder_ids(rng, batch: int, length: int, vocab: int, pad_rows: dict[int, int]) -> np.ndarray:
    ids = rng.integers(4, vocab, size=(batch, length)).astype("int32")
    ids[:, 0] = 2  # the start token
    for row, start in pad_rows.items():  # right padding, of different lengths
        ids[row, start:] = 0
    return ids


def _translation(name, overrides):
    model, rng = zoo.build(name, source_vocab_size=40, target_vocab_size=30, units=32, **overrides), \
        np.random.default_rng(0)
    source = rng.integers(4, 40, size=(5, 9)).astype("int32")
    source[1, 6:] = 0
    source[3, 2:] = 0
    decoder = _decoder_ids(rng, 5, 7, 30, {})
    return model, {"source_ids": source, "decoder_ids": decoder}, model.initial_decoding_state(source), decoder


def _captioning(name, overrides):
    if name != "captioning/blind":
        overrides = {"encoder_filters": 8, "encoder_blocks": 2, **overrides}
    model = zoo.build(name, vocab_size=30, image_size=16, caption_length=9, units=32, **overrides)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (4, 16, 16, 3)).astype("float32")
    decoder = _decoder_ids(rng, 4, 7, 30, {1: 4})
    return model, {"image": images, "decoder_ids": decoder}, model.initial_decoding_state({"image": images}), decoder


def _language_model(name, overrides):
    model = zoo.build(name, vocab_size=30, units=32, embedding_dim=16, depth=2, **overrides)
    ids = _decoder_ids(np.random.default_rng(0), 4, 9, 30, {1: 5, 3: 1})
    return model, ids, model.initial_state(4), ids


# task -> (a small model, its fused inputs, the decoder's initial state and the ids it steps through;
# the hyperparameter variants each entry is checked with)
DECODERS = {
    "translation": (_translation, [{}, {"encoder_depth": 2, "decoder_depth": 2, "cell": "gru"},
                                   {"cell": "lstm", "bidirectional_encoder": True}]),
    "captioning": (_captioning, [{}, {"decoder_depth": 2}]),
    "language_model": (_language_model, [{}]),
}
CASES = [(name, overrides) for name in zoo.list_models() if zoo.get(name).task.name in DECODERS
         for overrides in DECODERS[zoo.get(name).task.name][1]]


def test_every_entry_with_a_decode_step_is_covered():
    assert {zoo.get(name).task.name for name, _ in CASES} == set(DECODERS)
    for task in sorted({zoo.get(name).task.name for name in zoo.list_models()} - set(DECODERS)):
        name = zoo.list_models(task=task)[0]
        assert not hasattr(zoo.build(name), "decode_step"), f"{name} decodes: add its task to DECODERS"


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_decode_step_equals_the_fused_layers(name, overrides):
    make, _ = DECODERS[zoo.get(name).task.name]
    model, inputs, state, decoder = make(name, overrides)
    fused = ops.convert_to_numpy(model(inputs))
    stepped = []
    for t in range(decoder.shape[1]):
        logits, state = model.decode_step(decoder[:, t], state)
        stepped.append(ops.convert_to_numpy(logits))
    stepped = np.stack(stepped, axis=1)
    real = decoder != 0
    np.testing.assert_allclose(stepped[real], fused[real], atol=1e-5)
