"""The one word tokenizer of the zoo, in Python for training and in TF ops for export.

Standardization: Unicode lowercase, each ASCII punctuation mark becomes a token
of its own (the comma in "good, not bad" marks a clause), split on ASCII
whitespace. Ids: 0 is padding, 1 is out-of-vocabulary, then words by falling
frequency in the training texts (ties alphabetical, so a vocabulary is
reproducible). Sequences are right-padded (the layout cuDNN needs for masked
recurrent layers) and truncated to ``sequence_length``; a text with no tokens
becomes a single out-of-vocabulary id, so no row is fully masked.

Training runs on NumPy arrays made here, on any Keras backend and without
TensorFlow. The exported SavedModel does the same steps in TF ops
(:meth:`Tokenizer.tf_encode`); a test checks the two agree token for token.
"""

from __future__ import annotations

import collections
import json
import os
import re
from collections.abc import Iterable, Sequence

import numpy as np

PAD, OOV = "", "[UNK]"
# ASCII punctuation, written once for both Python's re and TensorFlow's RE2.
_PUNCTUATION = r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]"""
_PUNCTUATION_RE = re.compile(_PUNCTUATION)
_WHITESPACE_RE = re.compile(r"[ \t\n\v\f\r]+")


def tokenize(text: str) -> list[str]:
    """Standardize and split one text: ``"Good, not BAD!"`` -> ``['good', ',', 'not', 'bad', '!']``."""
    spaced = _PUNCTUATION_RE.sub(r" \g<0> ", text.lower())
    return [t for t in _WHITESPACE_RE.split(spaced) if t]


class Tokenizer:
    """Word-level vocabulary and encoder shared by every text task.

    Example::

        tok = Tokenizer.fit(["good, not bad", "bad, not good"], max_tokens=100)
        ids = tok.encode(["not bad"], sequence_length=8)   # int32 array (1, 8)
    """

    def __init__(self, vocabulary: Sequence[str]):
        vocabulary = list(vocabulary)
        if vocabulary[:2] != [PAD, OOV]:
            raise ValueError("a vocabulary starts with the padding and out-of-vocabulary tokens")
        self.vocabulary = vocabulary
        self._index = {token: i for i, token in enumerate(vocabulary)}

    @classmethod
    def fit(cls, texts: Iterable[str], max_tokens: int, min_count: int = 1) -> Tokenizer:
        """Learn the vocabulary (at most ``max_tokens`` ids, reserved ones included)."""
        counts = collections.Counter(tok for text in texts for tok in tokenize(text))
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, OOV, *words[: max(0, max_tokens - 2)]])

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def ids(self, text: str) -> list[int]:
        ids = [self._index.get(tok, 1) for tok in tokenize(text)]
        return ids or [1]

    def encode(self, texts: Sequence[str], sequence_length: int) -> np.ndarray:
        """Right-padded int32 ids, shape ``(len(texts), sequence_length)``."""
        out = np.zeros((len(texts), sequence_length), dtype="int32")
        for row, text in enumerate(texts):
            ids = self.ids(text)[:sequence_length]
            out[row, : len(ids)] = ids
        return out

    def tf_encode(self, texts, sequence_length: int, table):
        """The same as :meth:`encode` in TensorFlow ops, for a string tensor ``[batch]``.

        ``table`` is the lookup table from :meth:`tf_table` (tracked by the export).
        """
        import tensorflow as tf

        lowered = tf.strings.lower(texts, encoding="utf-8")
        spaced = tf.strings.regex_replace(lowered, _PUNCTUATION, r" \0 ")
        tokens = tf.strings.split(spaced)  # splits on ASCII whitespace, drops empties
        ids = tf.cast(table.lookup(tokens), tf.int32)[:, :sequence_length]
        dense = ids.to_tensor(default_value=0, shape=[None, sequence_length])
        empty = tf.equal(ids.row_lengths(), 0)
        first = tf.where(empty, tf.ones_like(dense[:, 0]), dense[:, 0])
        return tf.concat([first[:, None], dense[:, 1:]], axis=1)

    def tf_table(self):
        import tensorflow as tf

        keys = tf.constant(self.vocabulary[2:], dtype=tf.string)
        values = tf.range(2, self.vocab_size, dtype=tf.int64)
        return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), default_value=1)

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary, one token per line (JSON strings, so any token survives)."""
        with open(path, "w", encoding="utf-8") as f:
            for token in self.vocabulary:
                f.write(json.dumps(token, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        with open(path, encoding="utf-8") as f:
            return cls([json.loads(line) for line in f if line.strip()])
