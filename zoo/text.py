"""The zoo's tokenizers, in Python for training and in TF ops for export.

:class:`Tokenizer` (below) feeds classifiers: lowercased words, text in, labels out.
:class:`ReversibleTokenizer` (further down) is for text in, text out (translation, captioning): it keeps case
and punctuation, and decodes ids back to text; see its docstring.

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
import functools
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import require

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


# --------------------------------------------------------------------------------------------------------------------
# The reversible tokenizer: text in, text out (translation, captioning).

SPACE_MARK = "\u2581"  # "▁": a space precedes this token (the SentencePiece convention)
START, END = "[START]", "[END]"
REVERSIBLE_FORMAT = 1
_SUBWORD_MODEL_FILE = "sentencepiece.model"
_SUBWORD_THREADS = 1  # SentencePiece's result depends on its thread count: fixed, so a vocabulary is reproducible


def _code_point_ranges(belongs) -> list[tuple[int, int]]:
    """The code points ``c`` with ``belongs(chr(c))``, as inclusive ranges (surrogates never belong)."""
    ranges, start = [], None
    for cp in range(0x110000):
        inside = not 0xD800 <= cp <= 0xDFFF and belongs(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    return ranges


def _class_body(ranges: list[tuple[int, int]], engine: str) -> str:
    """A character class body for Python's ``re`` or RE2, from the same ranges."""
    def char(cp: int) -> str:
        return f"\\U{cp:08x}" if engine == "python" else f"\\x{{{cp:x}}}"
    return "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)


@functools.cache
def _reversible_ranges() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    space = _code_point_ranges(lambda c: c.isspace() or c in ("\x00", SPACE_MARK))
    word = _code_point_ranges(lambda c: unicodedata.category(c)[0] in "LMN")
    return space, word


@functools.cache
def _reversible_patterns(engine: str) -> tuple[str, str]:
    """``(whitespace_run, token)`` regular expressions, built for both engines from Python's Unicode tables.

    Whitespace is what ``str.isspace`` says, plus NUL and "▁" (so a "▁" in the input cannot be mistaken for the
    space mark). A token is an optional "▁" and then a run of letters, marks and digits (Unicode categories L*, M*,
    N*: a combining accent or a vowel sign stays in its word) or one other character. Both engines get the same
    ranges, so the exported graph splits exactly where training did.
    """
    space, word = (_class_body(ranges, engine) for ranges in _reversible_ranges())
    mark = _class_body([(ord(SPACE_MARK), ord(SPACE_MARK))], engine)
    return f"[{space}]+", f"{mark}?(?:[{word}]+|[^{word}{mark}])"


@functools.cache
def _python_regexes() -> tuple[re.Pattern, re.Pattern]:
    space, token = _reversible_patterns("python")
    return re.compile(space), re.compile(token)


class ReversibleTokenizer:
    """Text in, text out: case and punctuation kept, so decoded output can be scored against real references.

    Two kinds share one id layout: 0 padding ``""``, 1 out-of-vocabulary ``"[UNK]"``, 2 ``"[START]"``,
    3 ``"[END]"``, then the learned tokens.

    ``kind="word"``: a token is an optional "▁" (U+2581: a space precedes it) followed by either a run of
    letters/marks/digits (Unicode-aware) or one single other non-space character, so
    ``"Hello, world!"`` -> ``["Hello", ",", "▁world", "!"]`` and ``"2021-03-04"`` -> ``["2021", "-", "03", "-",
    "04"]``. The vocabulary holds the most frequent tokens of the training texts (ties alphabetical), at most
    ``max_tokens`` ids with the reserved ones.

    ``kind="subword"``: a SentencePiece model (unigram by default, or BPE) trained on the training texts; in the
    exported graph it runs as ``tensorflow_text.SentencepieceTokenizer``. A SavedModel with such a tokenizer
    needs ``import tensorflow_text`` before ``tf.saved_model.load`` (it registers the SentencePiece ops).

    Normalisation, before either kind: whitespace runs (``str.isspace``, NUL and "▁") become one space, leading and
    trailing whitespace is dropped, then the text is lowercased if ``lowercase``. :meth:`decode` gives back the
    normalised text exactly, for texts whose tokens (word) or characters (subword) are in the vocabulary.

    Decoding rules, one row at a time: START ids are skipped wherever they are; the row ends at the first END or
    PAD; an out-of-vocabulary id (1, or any id outside ``[0, vocab_size)``) becomes " [UNK]" (a word of its own);
    the tokens are joined, each "▁" becomes a space, runs of spaces collapse to one and the ends are stripped.

    The Python side (:meth:`fit`, :meth:`encode`, :meth:`decode`, ...) uses NumPy and ``sentencepiece`` only and
    never imports TensorFlow, so training runs on any Keras backend. The TF side (:meth:`tf_encode`,
    :meth:`tf_decode`) does the same in graph ops; tests check the two agree id for id and string for string.
    Known differences: with ``lowercase=True``, TensorFlow's case tables predate Python 3.11's Unicode 14.0 (about
    40 recently added letters, e.g. Vithkuqi, lowercase in Python only); letters assigned after the Python
    version's Unicode tables are symbols to both sides alike (the split uses Python's tables in both).

    Example::

        tok = ReversibleTokenizer.fit(["Hello, world!"], max_tokens=100)
        ids = tok.encode(["Hello, world!"], sequence_length=8, add_start=True, add_end=True)
        tok.decode(ids)   # ['Hello, world!']
    """

    pad_id, oov_id, start_id, end_id = 0, 1, 2, 3
    RESERVED = (PAD, OOV, START, END)

    def __init__(self, vocabulary: Sequence[str] | None = None, *, kind: str = "word", lowercase: bool = False,
                 model: bytes | None = None):
        """From a vocabulary (word), or a serialized SentencePiece model (subword; its pieces are the vocabulary)."""
        if kind not in ("word", "subword"):
            raise ValueError(f"kind is 'word' or 'subword', not {kind!r}")
        if kind == "subword":
            if model is None:
                raise ValueError("a subword tokenizer needs its SentencePiece model (bytes)")
            import sentencepiece

            processor = sentencepiece.SentencePieceProcessor(model_proto=model)
            pieces = [*self.RESERVED, *(processor.id_to_piece(i) for i in range(4, processor.get_piece_size()))]
            for i, name in enumerate(self.RESERVED[1:], start=1):
                if processor.id_to_piece(i) != name:
                    raise ValueError(f"the SentencePiece model does not have {name!r} at id {i}")
            if vocabulary is not None and list(vocabulary) != pieces:
                raise ValueError("the vocabulary does not match the SentencePiece model's pieces")
            vocabulary = pieces
            self._processor = processor
        elif model is not None:
            raise ValueError("only a subword tokenizer has a SentencePiece model")
        elif vocabulary is None:
            raise ValueError("a word tokenizer needs its vocabulary")
        vocabulary = list(vocabulary)
        if tuple(vocabulary[:4]) != self.RESERVED:
            raise ValueError(f"a vocabulary starts with the reserved tokens {list(self.RESERVED)}")
        if kind == "word" and len(set(vocabulary)) != len(vocabulary):
            raise ValueError("a vocabulary has each token once")
        self.kind, self.lowercase, self.model = kind, bool(lowercase), model
        self.vocabulary = vocabulary
        self._index = {token: i for i, token in enumerate(vocabulary[4:], start=4)} if kind == "word" else None
        # What each id decodes to: reserved ids to nothing, out-of-vocabulary to a word of its own.
        self._pieces = ["", SPACE_MARK + OOV, "", "", *vocabulary[4:]]
        self._tf = None

    # ---------------------------------------------------------------------------------------------------- training

    @classmethod
    def fit(cls, texts: Iterable[str], max_tokens: int, kind: str = "word", lowercase: bool = False, *,
            model_type: str = "unigram") -> ReversibleTokenizer:
        """Learn a vocabulary of at most ``max_tokens`` ids, the 4 reserved ones included.

        ``kind="subword"`` trains SentencePiece (``model_type`` "unigram" or "bpe", every character of the
        training texts covered, no byte fallback) with ``max_tokens`` as a soft limit: on data too small for that
        many pieces it stops with fewer (``vocab_size`` says how many). A ``max_tokens`` below what the characters
        alone need (4 + the distinct characters, "▁" included) is a ValueError.
        """
        if max_tokens < 4:
            raise ValueError(f"max_tokens ({max_tokens}) leaves no room for the 4 reserved ids")
        if kind == "word":
            normal = cls(list(cls.RESERVED), kind="word", lowercase=lowercase)
            counts = collections.Counter(tok for text in texts for tok in normal.tokens(text))
            words = sorted(counts, key=lambda w: (-counts[w], w))
            return cls([*cls.RESERVED, *words[: max_tokens - 4]], kind="word", lowercase=lowercase)
        if kind != "subword":
            raise ValueError(f"kind is 'word' or 'subword', not {kind!r}")
        if model_type not in ("unigram", "bpe"):
            raise ValueError(f"model_type is 'unigram' or 'bpe', not {model_type!r}")
        lines = [line for line in (_normalize(text, lowercase) for text in texts) if line]
        if not lines:
            raise ValueError("no text to learn a subword vocabulary from")
        needed = 4 + len({c for line in lines for c in line} - {" "} | {SPACE_MARK})
        if max_tokens < needed:
            raise ValueError(f"max_tokens={max_tokens} is too small for a subword vocabulary of these texts: the "
                             f"4 reserved ids and their {needed - 4} distinct characters (with '▁') need {needed}; "
                             "raise max_tokens or use kind='word'")
        import sentencepiece

        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(lines), model_writer=model, vocab_size=max_tokens, model_type=model_type,
                hard_vocab_limit=False, character_coverage=1.0, byte_fallback=False,
                normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
                pad_id=0, unk_id=1, bos_id=2, eos_id=3,
                pad_piece="[PAD]", unk_piece=OOV, bos_piece=START, eos_piece=END,
                max_sentence_length=1 << 20, num_threads=_SUBWORD_THREADS, minloglevel=2)
        except RuntimeError as error:
            raise ValueError(f"SentencePiece could not train on these texts: {error}") from error
        return cls(kind="subword", lowercase=lowercase, model=model.getvalue())

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    # ----------------------------------------------------------------------------------------------- Python side

    def normalize(self, text: str) -> str:
        """The text as :meth:`decode` gives it back: whitespace runs as one space, ends stripped, maybe lowercased."""
        return _normalize(text, self.lowercase)

    def tokens(self, text: str) -> list[str]:
        """The token strings of one text (unknown ones as they are: see :meth:`encode` for their ids)."""
        normal = _normalize(text, self.lowercase)
        if self.kind == "subword":
            return self._processor.encode(normal, out_type=str) if normal else []
        return _python_regexes()[1].findall(normal.replace(" ", SPACE_MARK))

    def _content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if self.kind == "subword":
            normal = [_normalize(text, self.lowercase) for text in texts]
            return [list(ids) for ids in self._processor.encode(normal, out_type=int)]
        return [[self._index.get(tok, 1) for tok in self.tokens(text)] for text in texts]

    def encode(self, texts: Sequence[str], sequence_length: int, add_start: bool = False,
               add_end: bool = False) -> np.ndarray:
        """Right-padded int32 ids, shape ``(len(texts), sequence_length)``.

        The content is truncated to fit, so START and END are always there when asked for. A text with no tokens
        gives just START and/or END, or a single out-of-vocabulary id when neither is added: no row is all padding.
        """
        budget = _content_budget(sequence_length, add_start, add_end)
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        out = np.zeros((len(texts), sequence_length), dtype="int32")
        for row, content in enumerate(self._content_ids(texts)):
            ids = [self.start_id] * add_start + content[:budget] + [self.end_id] * add_end
            ids = ids or [self.oov_id]
            out[row, : len(ids)] = ids
        return out

    def teacher_forcing(self, texts: Sequence[str], length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoder inputs ``(start, tokens)``, targets ``(tokens, end)`` and their weights (1 on real
        steps), each ``[len(texts), length]``: what a decoder trains on with teacher forcing."""
        full = self.encode(list(texts), length + 1, add_start=True, add_end=True)
        inputs, outputs = full[:, :-1].copy(), full[:, 1:].copy()
        inputs[inputs == self.end_id] = 0  # the end token is never an input
        return inputs, outputs, (outputs != 0).astype("float32")

    def lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Token counts (int32) before truncation, START and END not counted; 0 for a text with no tokens."""
        return np.array([len(ids) for ids in self._content_ids(texts)], dtype="int32")

    def decode(self, ids) -> list[str]:
        """One string per row of ``ids`` (a 2-D array or a list of id lists), by the rules in the class docstring."""
        if isinstance(ids, np.ndarray) and ids.ndim != 2:
            raise ValueError(f"decode takes a 2-D array of ids, one row per text; got shape {ids.shape}")
        size, texts = self.vocab_size, []
        for row in ids:
            pieces = []
            row = np.asarray(row, dtype="int64")
            if row.ndim != 1:
                raise ValueError("decode takes rows of ids (a 2-D array or a list of id lists)")
            for i in row.tolist():
                i = i if 0 <= i < size else self.oov_id
                if i in (self.end_id, self.pad_id):
                    break
                pieces.append(self._pieces[i])
            texts.append(_finish_decoded("".join(pieces)))
        return texts

    # ------------------------------------------------------------------------------------------------ TF (export)

    def tf_resources(self) -> list:
        """The TF objects an export must track (``ExportArchive.track`` each, or keep them on the ``tf.Module``).

        Made once, outside any graph, and reused by :meth:`tf_encode`: a lookup table (word) or a
        ``tensorflow_text.SentencepieceTokenizer`` holding the model bytes (subword).
        """
        return [self._tf_state()["resource"]]

    def _tf_state(self) -> dict:
        if self._tf is None:
            import tensorflow as tf

            with tf.init_scope():
                if self.kind == "subword":
                    tensorflow_text = require(
                        "tensorflow_text", "exporting a subword tokenizer",
                        "the version matching tensorflow (e.g. 2.21.x for 2.21), wheels for Linux x86_64 and "
                        "macOS arm64 only; kind='word' exports with TensorFlow alone")

                    resource = tensorflow_text.SentencepieceTokenizer(model=self.model, out_type=tf.int32)
                else:
                    # "" is never a token; it keeps the table non-empty when nothing was learned.
                    keys = tf.constant(["", *self.vocabulary[4:]], dtype=tf.string)
                    values = tf.constant([self.oov_id, *range(4, self.vocab_size)], dtype=tf.int64)
                    resource = tf.lookup.StaticHashTable(
                        tf.lookup.KeyValueTensorInitializer(keys, values), default_value=self.oov_id)
            space, token = _reversible_patterns("re2")
            self._tf = {"resource": resource, "space": space, "token": token}
        return self._tf

    def _tf_normalize(self, texts):
        import tensorflow as tf

        state = self._tf_state()
        texts = tf.strings.regex_replace(texts, state["space"], " ")
        texts = tf.strings.regex_replace(texts, "^ | $", "")
        return tf.strings.lower(texts, encoding="utf-8") if self.lowercase else texts

    def tf_encode(self, texts, sequence_length: int, add_start: bool = False, add_end: bool = False):
        """:meth:`encode` in TF ops: a string tensor ``[batch]`` to int32 ``[batch, sequence_length]``."""
        import tensorflow as tf

        budget = _content_budget(sequence_length, add_start, add_end)
        state = self._tf_state()
        texts = self._tf_normalize(tf.convert_to_tensor(texts, dtype=tf.string))
        if self.kind == "subword":
            content = tf.cast(state["resource"].tokenize(texts), tf.int32)
        else:
            marked = tf.strings.regex_replace(texts, " ", SPACE_MARK)
            spaced = tf.strings.regex_replace(marked, state["token"], r" \0")  # no ASCII whitespace is left
            content = tf.cast(state["resource"].lookup(tf.strings.split(spaced)), tf.int32)
        content = content[:, :budget]
        column = tf.concat([tf.shape(texts)[:1], [1]], axis=0)

        def marker(value):
            return tf.RaggedTensor.from_tensor(tf.fill(column, value), row_splits_dtype=content.row_splits.dtype)

        parts = [marker(self.start_id)] * add_start + [content] + [marker(self.end_id)] * add_end
        framed = tf.concat(parts, axis=1) if len(parts) > 1 else content
        dense = framed.to_tensor(default_value=self.pad_id, shape=[None, sequence_length])
        if not (add_start or add_end):
            empty = tf.equal(framed.row_lengths(), 0)
            first = tf.where(empty, tf.fill(tf.shape(dense[:, 0]), self.oov_id), dense[:, 0])
            dense = tf.concat([first[:, None], dense[:, 1:]], axis=1)
        return dense

    def tf_decode(self, ids):
        """:meth:`decode` in TF ops: int ids ``[batch, length]`` to a string tensor ``[batch]``."""
        import tensorflow as tf

        ids = tf.cast(tf.convert_to_tensor(ids), tf.int64)
        ids = tf.where((ids >= 0) & (ids < self.vocab_size), ids, tf.cast(self.oov_id, tf.int64))
        stop = tf.equal(ids, self.end_id) | tf.equal(ids, self.pad_id)
        before_stop = tf.equal(tf.cumsum(tf.cast(stop, tf.int32), axis=1), 0)
        pieces = tf.gather(tf.constant(self._pieces, dtype=tf.string), ids)
        joined = tf.strings.reduce_join(tf.where(before_stop, pieces, ""), axis=1)
        spaced = tf.strings.regex_replace(joined, SPACE_MARK, " ")
        return tf.strings.regex_replace(tf.strings.regex_replace(spaced, " +", " "), "^ | $", "")

    # ------------------------------------------------------------------------------------------------------ files

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``tokenizer.json`` (kind, lowercase), ``vocabulary.txt`` (JSON strings, one per line) and, for
        subword, ``sentencepiece.model``."""
        os.makedirs(directory, exist_ok=True)
        if self.kind == "subword":
            with open(os.path.join(directory, _SUBWORD_MODEL_FILE), "wb") as f:
                f.write(self.model)
        with open(os.path.join(directory, "vocabulary.txt"), "w", encoding="utf-8") as f:
            for token in self.vocabulary:
                f.write(json.dumps(token, ensure_ascii=False) + "\n")
        config = {"format": REVERSIBLE_FORMAT, "kind": self.kind, "lowercase": self.lowercase,
                  "vocab_size": self.vocab_size}
        with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
            f.write("\n")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> ReversibleTokenizer:
        with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
            config = json.load(f)
        if config.get("format") != REVERSIBLE_FORMAT:
            raise ValueError(f"{directory}: tokenizer format {config.get('format')!r}, expected {REVERSIBLE_FORMAT}")
        with open(os.path.join(directory, "vocabulary.txt"), encoding="utf-8") as f:
            vocabulary = [json.loads(line) for line in f if line.strip()]
        model = None
        if config["kind"] == "subword":
            with open(os.path.join(directory, _SUBWORD_MODEL_FILE), "rb") as f:
                model = f.read()
        return cls(vocabulary, kind=config["kind"], lowercase=config["lowercase"], model=model)

    def __repr__(self) -> str:
        return f"ReversibleTokenizer(kind={self.kind!r}, vocab_size={self.vocab_size}, lowercase={self.lowercase})"


def _normalize(text: str, lowercase: bool) -> str:
    text = _python_regexes()[0].sub(" ", text).strip(" ")
    return text.lower() if lowercase else text


def _finish_decoded(text: str) -> str:
    return re.sub(" +", " ", text.replace(SPACE_MARK, " ")).strip(" ")


def _content_budget(sequence_length: int, add_start: bool, add_end: bool) -> int:
    """How many content tokens fit; a row needs room for START/END, or for one token when neither is added."""
    reserved = int(bool(add_start)) + int(bool(add_end))
    if sequence_length < max(1, reserved):
        raise ValueError(f"sequence_length={sequence_length} has no room for the tokens asked for "
                         f"(add_start={add_start}, add_end={add_end})")
    return sequence_length - reserved
