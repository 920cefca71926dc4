"""The tokenizer: Python (training) and TensorFlow (export) versions agree."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.text import Tokenizer, tokenize

TEXTS = ["Good, not BAD!", "", "   \t ", "café Über naïve ÉTÉ", "don't\tstop\nnow", "x\xa0y",
         "ﬁne İstanbul ΣΑΣ", "a--b...c", "unk words zzz", "emoji 🙂 ok", "(quoted) \"text\" [x]"]


def test_tokenize_splits_punctuation_and_lowercases():
    assert tokenize("Good, not BAD!") == ["good", ",", "not", "bad", "!"]
    assert tokenize("  ") == []


def test_vocabulary_is_ordered_by_frequency_then_alphabet():
    tok = Tokenizer.fit(["b a", "a c", "a b"], max_tokens=10)
    assert tok.vocabulary == ["", "[UNK]", "a", "b", "c"]
    assert Tokenizer.fit(["b a", "a c", "a b"], max_tokens=4).vocabulary == ["", "[UNK]", "a", "b"]


def test_encode_pads_right_truncates_and_never_leaves_an_empty_row():
    tok = Tokenizer.fit(["a b c"], max_tokens=10)
    ids = tok.encode(["a b c", "c", "", "zzz a b c"], sequence_length=3)
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, [[2, 3, 4], [4, 0, 0], [1, 0, 0], [1, 2, 3]])


def test_tensorflow_encoding_matches_python():
    tok = Tokenizer.fit(TEXTS, max_tokens=100)
    expected = tok.encode(TEXTS, 6)
    got = tok.tf_encode(tf.constant(TEXTS), 6, tok.tf_table()).numpy()
    np.testing.assert_array_equal(got, expected)


def test_save_and_load_round_trip(tmp_path):
    tok = Tokenizer.fit(TEXTS, max_tokens=100)
    tok.save(tmp_path / "vocab.txt")
    again = Tokenizer.load(tmp_path / "vocab.txt")
    assert again.vocabulary == tok.vocabulary
