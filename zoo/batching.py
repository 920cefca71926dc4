"""Batches grouped by length, so short sequences do not pay for the longest one's padding.

Examples are shuffled, then sorted by length within pools of ``POOL`` batches,
cut into batches, and the batches shuffled again. Each batch is cut to the
smallest of a few fixed lengths (the *buckets*) that holds its longest example,
so TensorFlow traces a handful of shapes, not one per batch. The order depends
only on the seed and the epoch, so a resumed run sees the batches an
uninterrupted run would have seen.

On TensorFlow the batches feed ``fit`` as a ``tf.data.Dataset`` with the time axis
left open; on JAX and torch as a ``keras.utils.PyDataset`` (no TensorFlow needed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import FitData

POOL = 32          # batches sorted together: enough to group lengths, still well mixed
MAX_BUCKETS = 4    # distinct time lengths (each one a traced graph on TensorFlow)


def bucket_lengths(lengths: np.ndarray, padded_length: int, max_buckets: int = MAX_BUCKETS) -> list[int]:
    """A few time lengths covering ``lengths``: quantiles rounded up to multiples of 8,
    the last one ``padded_length``."""
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        return [padded_length]
    qs = np.quantile(lengths, np.linspace(0, 1, max_buckets + 1)[1:], method="higher")
    buckets = sorted({min(padded_length, max(8, int(math.ceil(q / 8) * 8))) for q in qs} | {padded_length})
    return buckets


def _tree_map(fn, tree):
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: fn(v) for k, v in tree.items()}
    if isinstance(tree, tuple | list):
        return tuple(fn(v) for v in tree)
    return fn(tree)


class SharedRows:
    """Rows of ``base`` picked by ``index``: examples that share an input (an image with several
    captions) share its row instead of copying it. Batches gather ``base[index[rows]]``; the
    rows are never cut to a length bucket (they have no time axis)."""

    def __init__(self, base: np.ndarray, index: np.ndarray):
        self.base, self.index = base, np.asarray(index)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.base.shape[1:])

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows) -> np.ndarray:
        return self.base[self.index[rows]]


class LengthBatches:
    """The batches of one epoch, in a seeded order; ``batch(i)`` cuts padded arrays to the bucket.

    ``lengths`` is ``[N]`` for one time axis, or ``[N, k]`` with ``padded_length`` a tuple of ``k``
    (a source and a target axis): an array belongs to the axis whose padded length its second
    dimension equals (two axes of equal padded length are cut together, to the longer)."""

    def __init__(self, x, y, sample_weight, lengths: np.ndarray, *, batch_size: int,
                 padded_length: int | tuple[int, ...], shuffle: bool, seed: int = 0, epoch: int = 0):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        lengths = np.asarray(lengths)
        self.lengths = lengths.reshape(len(lengths), -1)
        padded = (padded_length,) if isinstance(padded_length, int) else tuple(padded_length)
        assert len(padded) == self.lengths.shape[1], (padded, self.lengths.shape)
        self.batch_size, self.padded = batch_size, padded
        self.shuffle, self.seed, self.epoch = shuffle, seed, epoch
        self.buckets = [bucket_lengths(self.lengths[:, j], p) for j, p in enumerate(padded)]
        self._sort_key = self.lengths.sum(axis=1)
        self._order: list[np.ndarray] = []
        self._order_epoch: int | None = None

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def _batches(self) -> list[np.ndarray]:
        if self._order_epoch == self.epoch:
            return self._order
        n = len(self.lengths)
        rng = np.random.default_rng([self.seed, self.epoch])
        index = rng.permutation(n) if self.shuffle else np.arange(n)
        pool = self.batch_size * POOL
        batches = []
        for start in range(0, n, pool):
            chunk = index[start:start + pool]
            chunk = chunk[np.argsort(self._sort_key[chunk], kind="stable")]
            batches.extend(chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self._order, self._order_epoch = batches, self.epoch
        return batches

    def batch(self, i: int):
        rows = self._batches()[i]
        cut_to: dict[int, int] = {}
        for j, padded in enumerate(self.padded):
            longest = int(self.lengths[rows, j].max()) if len(rows) else 1
            length = next(b for b in self.buckets[j] if b >= longest)
            cut_to[padded] = max(cut_to.get(padded, 0), length)

        def cut(array):
            if isinstance(array, SharedRows):
                return array[rows]
            array = np.asarray(array)[rows]
            if array.ndim >= 2 and array.shape[1] in cut_to:
                array = array[:, :cut_to[array.shape[1]]]
            return array

        x, y, sw = _tree_map(cut, self.x), _tree_map(cut, self.y), _tree_map(cut, self.sample_weight)
        return (x, y) if sw is None else (x, y, sw)

    def next_epoch(self) -> None:
        self.epoch += 1


def _signature(batches: LengthBatches):
    """TensorSpecs of one batch: the batch axis open, and the time axis of arrays cut to buckets;
    rows of :class:`SharedRows` (images) keep every other axis static."""
    import tensorflow as tf

    def spec(source, array):
        if isinstance(source, SharedRows):
            shape = [None, *array.shape[1:]]
        else:
            shape = [None] * min(array.ndim, 2) + list(array.shape[2:])
        return tf.TensorSpec(shape, tf.as_dtype(array.dtype))

    def walk(source, array):
        if isinstance(source, dict):
            return {k: spec(source[k], array[k]) for k in source}
        if isinstance(source, tuple | list):
            return tuple(spec(s, a) for s, a in zip(source, array, strict=True))
        return spec(source, array)

    batch = batches.batch(0)
    sources = (batches.x, batches.y) if batches.sample_weight is None else (batches.x, batches.y, batches.sample_weight)
    return tuple(walk(source, part) for source, part in zip(sources, batch, strict=True))


def length_batched(x, y, lengths: np.ndarray, *, sample_weight=None, batch_size: int,
                   padded_length: int | tuple[int, ...], training: bool, seed: int = 0, epoch: int = 0) -> FitData:
    """:class:`FitData` that feeds ``fit`` batches grouped by length (see the module docstring).

    ``x``, ``y`` and ``sample_weight`` are padded arrays (or tuples/dicts of them);
    every array whose second axis is a ``padded_length`` is cut to the batch's bucket
    (see :class:`LengthBatches` for several time axes).
    """
    import keras

    batches = LengthBatches(x, y, sample_weight, lengths, batch_size=batch_size, padded_length=padded_length,
                            shuffle=training, seed=seed, epoch=epoch)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        first = batches.epoch
        calls = [0]

        def generate():
            # fit opens one iterator per epoch: the n-th call serves epoch ``first + n``.
            batches.epoch = first + calls[0]
            calls[0] += 1
            for i in range(len(batches)):
                yield batches.batch(i)

        dataset = tf.data.Dataset.from_generator(generate, output_signature=_signature(batches))
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))
        # tf.data's autotuner wakes up at doubling intervals (10 ms ... 10 s) and each fit waits for
        # its next wake-up when the iterator closes: measured 1.6-1.8x slower short runs with it on.
        # A fixed prefetch has nothing to tune.
        options = tf.data.Options()
        options.autotune.enabled = False
        return FitData(dataset.prefetch(2).with_options(options), steps=len(batches))

    class Batches(keras.utils.PyDataset):
        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, i: int):
            return batches.batch(i)

        def on_epoch_end(self) -> None:
            batches.next_epoch()

    return FitData(Batches(), steps=len(batches))


def batch_lengths(token_ids: np.ndarray) -> np.ndarray:
    """Lengths of right-padded id sequences (0 is padding); at least 1."""
    return np.maximum(1, (np.asarray(token_ids) != 0).sum(axis=1))


__all__: list[Any] = ["LengthBatches", "SharedRows", "batch_lengths", "bucket_lengths", "length_batched"]
