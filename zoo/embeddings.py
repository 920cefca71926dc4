"""Pretrained word vectors from a local text file: GloVe, word2vec and fastText formats.

One vector a line, the word first, then its values separated by spaces::

    the 0.418 0.24968 -0.41242 ...

word2vec's and fastText's ``.vec`` files start with a header line ``COUNT DIM``
(the number of vectors and their dimension); GloVe's ``.txt`` files have none.
Either may be gzipped (a name ending in ``.gz``). A word may hold spaces (a
few GloVe 840B entries do): the last ``DIM`` fields are the values. Blank lines
are skipped; anything else that is not a word and ``DIM`` finite numbers is an
error naming the file and the line. Nothing is ever downloaded: the file is
the user's. A known name (``glove-6b-50d``) reads an installed package's vectors instead
(zoo.named_vectors), the same way (a file that happens to have that name is ``./glove-6b-50d``).

How the embedding matrix for a vocabulary is filled (:func:`embedding_matrix`):

- a word of the vocabulary that the file has gets the file's vector; an exact
  match wins, otherwise the first case variant in file order (``The`` for
  ``the`` in a cased word2vec file), since the tokenizer lowercases;
- row 0 (padding) is zero;
- row 1 (the out-of-vocabulary id, ``[UNK]``) is the mean of all the file's vectors;
- every other word the file lacks is drawn from a normal distribution with the
  per-dimension mean and standard deviation of all the file's vectors, so it
  starts on the same scale as its neighbours (NumPy's global generator, which
  ``zoo.train`` seeds with the run's seed).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DataError, HyperparameterError
from .named_vectors import NAMED_VECTORS, read_named


@dataclass
class WordVectors:
    """The vectors of a file that a vocabulary asked for, plus statistics over the whole file."""

    path: str
    dim: int
    count: int                       # vectors in the file
    vectors: dict[str, np.ndarray]   # vocabulary word -> vector
    mean: np.ndarray                 # per dimension, over every vector of the file
    std: np.ndarray
    source: dict | None = None       # a named set: the package and version it came from (zoo.named_vectors)


def _open(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _lines(path: str):
    """(line number, decoded line) pairs, with gzip and decoding errors named by file and line."""
    number = 0
    try:
        with _open(path) as f:
            for number, raw in enumerate(f, start=1):
                try:
                    yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path} line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                                    ) from None
    except FileNotFoundError:
        raise DataError(f"word-vectors file not found: {path}") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read the word-vectors file after line {number}: {exc}") from None


def _header(fields: list[str]) -> tuple[int, int] | None:
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        count, dim = int(fields[0]), int(fields[1])
        return (count, dim) if dim > 0 else None
    return None


def read_vectors(path: str, vocabulary: Sequence[str]) -> WordVectors:
    """Read ``path`` once; keep the vectors of ``vocabulary``'s words (see the module notes). A known
    name (``glove-6b-50d``) always reads the vectors of an installed package instead (zoo.named_vectors),
    as ``zoo.train`` resolved it; a file of that name is ``./glove-6b-50d``."""
    if path in NAMED_VECTORS:  # the vocabulary's rows: an exact match first, else the first case variant
        matrix, words, stats, source = read_named(path)
        named = VocabularyMatch(vocabulary)
        for row, word in enumerate(words):
            named.offer(word, row)
        found = {word: np.asarray(matrix[row], dtype=np.float64) for word, row in named.found().items()}
        return WordVectors(path, int(matrix.shape[1]), int(matrix.shape[0]), found, stats["mean"], stats["std"],
                           source)
    match = VocabularyMatch(vocabulary)
    dim = header_count = None
    count, total, total_sq = 0, None, None
    for number, line in _lines(path):
        if not line.strip():
            continue
        if dim is None:
            header = _header(line.split())
            if header is not None:
                header_count, dim = header
                continue
            dim = len(line.rstrip().split(" ")) - 1
            if dim < 1:
                raise DataError(f"{path} line {number}: a word-vectors line is a word and its values, "
                                f"got {line[:80]!r}")
        parts = line.rstrip().rsplit(" ", dim)
        if len(parts) != dim + 1 or not parts[0]:
            raise DataError(f"{path} line {number}: expected a word and {dim} values (the dimension of the "
                            f"first vector), got {len(parts) - 1 if parts[0] else 0} values: {line[:80]!r}")
        word = parts[0]
        if " " in word and _is_number(word.rsplit(" ", 1)[1]):  # more values than the first vector had
            raise DataError(f"{path} line {number}: expected a word and {dim} values (the dimension of the "
                            f"first vector), got more: {line[:80]!r}")
        try:
            vector = np.array(parts[1:], dtype="float64")
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_number(p))
            raise DataError(f"{path} line {number}: value {bad!r} of word {word!r} is not a number") from None
        if not np.all(np.isfinite(vector)):
            raise DataError(f"{path} line {number}: word {word!r} has a non-finite value")
        count += 1
        total = vector.copy() if total is None else total + vector
        total_sq = vector**2 if total_sq is None else total_sq + vector**2
        match.offer(word, vector)
    if count == 0:
        raise DataError(f"{path}: the word-vectors file holds no vectors")
    if header_count is not None and header_count != count:
        raise DataError(f"{path}: the header line says {header_count} vectors, the file holds {count} "
                        "(a truncated file?)")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return WordVectors(path, dim, count, match.found(), mean, std)


class VocabularyMatch:
    """Which vocabulary word each word of a vectors file gives its value to, offered in file order: an exact
    match wins, else the first case variant (``The`` for ``the``, since the tokenizer lowercases)."""

    def __init__(self, vocabulary: Sequence[str]):
        self.wanted = set(vocabulary)
        self.lowered: dict[str, str] = {}  # lowercase form -> vocabulary word
        for word in self.wanted:
            self.lowered.setdefault(word.lower(), word)
        self.exact: dict[str, object] = {}
        self.variant: dict[str, object] = {}

    def offer(self, word: str, value) -> None:
        if word in self.wanted:
            self.exact.setdefault(word, value)
        else:
            target = self.lowered.get(word.lower())
            if target is not None:
                self.variant.setdefault(target, value)

    def found(self) -> dict:
        return {**self.variant, **self.exact}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def embedding_matrix(vectors: WordVectors, vocabulary: Sequence[str]) -> np.ndarray:
    """A ``[len(vocabulary), dim]`` float32 matrix for ids ``0..`` (see the module notes for the rules)."""
    rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))  # follows the run's seed
    matrix = rng.normal(vectors.mean, vectors.std, size=(len(vocabulary), vectors.dim))
    for i, word in enumerate(vocabulary):
        if i >= 2 and word in vectors.vectors:
            matrix[i] = vectors.vectors[word]
    matrix[0] = 0.0
    if len(vocabulary) > 1:
        matrix[1] = vectors.mean
    return matrix.astype("float32")


def coverage(vectors: WordVectors, vocabulary: Sequence[str]) -> dict[str, int | str | dict]:
    """What a run records about the file: its path (or name), dimension, size and how much of the vocabulary it
    covered; for a named set also the package it came from (``source``: package and version)."""
    words = vocabulary[2:]
    record = {"path": vectors.path, "dim": vectors.dim, "vectors_in_file": vectors.count,
              "vocabulary_words": len(words), "found": sum(w in vectors.vectors for w in words)}
    if vectors.source is not None:
        record["source"] = dict(vectors.source)
    return record


def check_dimension(vectors_dim: int, embedding_dim: int, path: str, entry: str) -> None:
    """``path`` is the file, or the name of a named set (zoo.named_vectors), that the vectors came from."""
    if vectors_dim != embedding_dim:
        other = f"{embedding_dim}-dimensional vectors"
        raise HyperparameterError(
            f"the word vectors in {path} have {vectors_dim} dimensions but {entry} has embedding_dim="
            f"{embedding_dim}; pass --set embedding_dim={vectors_dim} (or use "
            f"{other if path in NAMED_VECTORS else 'a file of ' + other})")
