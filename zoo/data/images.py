"""Images for captioning: one decode-and-resize rule shared by training and the exported model.

The rule, in TF ops only so that a SavedModel signature runs exactly what training ran:

1. **Decode** the encoded bytes with ``tf.io.decode_image(channels=3, expand_animations=False)``:
   JPEG, PNG, GIF (its first frame), BMP, WebP (and JPEG XL where TF has it). Every mode
   becomes RGB: grey is copied to the three channels; an alpha channel is dropped, not blended
   over a background (but TF's GIF decoder leaves a GIF's transparent pixels black); a palette
   is looked up; a 16-bit PNG keeps its high byte (``v >> 8``); a CMYK or YCCK JPEG is
   converted to RGB by TF's JPEG decoder (the plain formula, Adobe-inverted CMYK included,
   without the embedded ICC profile). EXIF orientation is ignored: pixels are used as stored,
   in training and serving alike.
2. **Scale** to float32 in [0, 1] (``uint8 / 255``).
3. **Resize** to a ``size x size`` square, the whole image squeezed or stretched (the aspect
   ratio is not kept and nothing is cropped: a caption may mention anything in the picture,
   "a dog to the left of a car", so no part of it is cut away), with
   ``tf.image.resize(method="bilinear", antialias=True)``: a triangle filter as wide as the
   scale, so downscaling averages every source pixel instead of sampling a few. Its weights
   are non-negative, so values stay in [0, 1]; they are clipped anyway against rounding.

In-memory arrays (generated or TFDS images, ``[H, W, C]`` uint8, C = 1, 3 or 4) take steps 2
and 3 after the same channel rule, so an array gives the pixels of its lossless PNG.

- :func:`tf_decode_resize` - one encoded image (a scalar ``tf.string``) -> ``[size, size, 3]``;
  for the serving signature (``tf.map_fn`` it over a batch of strings).
- :func:`tf_array_resize` - uint8 arrays, one ``[H, W, C]`` or a batch ``[N, H, W, C]``.
- :func:`load_images` - the training side: a list of arrays and file paths -> ``[N, size, size, 3]``
  float32, decoded with the same ops in a parallel ``tf.data`` pipeline.
- :func:`check_image_files` / :func:`check_image_file` - whether files exist and decode, with
  TF's own decoder, so that bad data is found when the data is loaded, never mid-training.

Without TensorFlow (a JAX or torch install; see :func:`has_tensorflow`) training takes the
same rule through other code, as exports need TensorFlow anyway: files are decoded by Pillow
(:func:`pil_decode`: the same channel rule; a GIF's first frame with its transparent pixels
black; EXIF orientation ignored). PNG, GIF, BMP pixels equal TF's; JPEG ones differ by a few
levels (5 of 255 measured; 10 for CMYK) as the two JPEG decoders round differently. Resizing is
``keras.ops.image.resize(bilinear, antialias=True)`` on the active backend (on JAX
``jax.image.resize``, the same scale-and-translate triangle filter): without TensorFlow, pixels
in [0, 1] equal to TF's within 6e-5 (float32 rounding; measured on random images from 1x1 to
2000x1500, up- and downscaled; tests/test_no_tensorflow.py checks it).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence

import numpy as np

from ..errors import DataError, importable

CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: what an array may hold
FORMATS = "JPEG, PNG, GIF, BMP or WebP"
PARALLEL_CALLS = max(1, min(8, os.cpu_count() or 1))  # fixed: tf.data AUTOTUNE would grab every core
_CHUNK = 256  # images resized per call


@functools.lru_cache(maxsize=1)
def has_tensorflow() -> bool:
    """Whether TensorFlow imports: then images take TF's ops, those an export serves with;
    otherwise Pillow decodes files and ``keras.ops.image.resize`` resizes."""
    return importable("tensorflow")


def _rgb(images):
    """uint8 ``[..., H, W, C]`` (C = 1, 3 or 4, known statically) -> ``[..., H, W, 3]``, as decode_image does."""
    import tensorflow as tf

    channels = images.shape[-1]
    if channels == 1:
        return tf.concat([images] * 3, axis=-1)
    if channels == 4:
        return images[..., :3]
    if channels != 3:
        raise DataError(f"an image has {channels} channels; images are grey (1), RGB (3) or RGBA (4)")
    return images


def tf_array_resize(images_uint8, size: int):
    """uint8 ``[H, W, C]`` or ``[N, H, W, C]`` (C = 1, 3, 4) -> float32 in [0, 1] of
    ``[size, size, 3]`` or ``[N, size, size, 3]``: the module's rule, steps 2 and 3.

    >>> tf_array_resize(np.zeros((48, 64, 3), np.uint8), 32).shape
    TensorShape([32, 32, 3])
    """
    import tensorflow as tf

    images = _rgb(tf.convert_to_tensor(images_uint8, dtype=tf.uint8))
    scaled = tf.cast(images, tf.float32) / 255.0
    resized = tf.image.resize(scaled, [size, size], method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)


def _rgb_np(images: np.ndarray) -> np.ndarray:
    """:func:`_rgb` in NumPy: uint8 ``[..., H, W, C]`` -> ``[..., H, W, 3]``."""
    channels = images.shape[-1]
    if channels == 1:
        return np.repeat(images, 3, axis=-1)
    if channels == 4:
        return images[..., :3]
    if channels != 3:
        raise DataError(f"an image has {channels} channels; images are grey (1), RGB (3) or RGBA (4)")
    return images


def keras_array_resize(images_uint8, size: int) -> np.ndarray:
    """:func:`tf_array_resize` without TensorFlow: ``keras.ops.image.resize`` (bilinear, antialias)
    on the active backend; returns NumPy float32 in [0, 1]."""
    import keras

    images = _rgb_np(np.asarray(images_uint8, np.uint8))
    scaled = images.astype(np.float32) / np.float32(255.0)
    resized = keras.ops.image.resize(scaled, (size, size), interpolation="bilinear", antialias=True,
                                     data_format="channels_last")
    return np.clip(keras.ops.convert_to_numpy(resized).astype(np.float32), 0.0, 1.0)


_PIL_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")  # what tf.io.decode_image reads (JPEG: MPO too)
_HIGH_BYTE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # 16-bit grey PNG


def pil_decode(path: str) -> np.ndarray:
    """The image file at ``path`` as uint8 ``[H, W, 3]`` by the module's rule, decoded in full by
    Pillow (for processes without TensorFlow). Raises Pillow's error (``OSError``,
    ``ValueError``, ...) when the file is not a JPEG, PNG, GIF, BMP or WebP image or is damaged."""
    import warnings

    from PIL import Image

    with Image.open(path, formats=_PIL_FORMATS) as image:
        image.load()  # the first frame, decoded in full: a truncated file fails here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "palette images with transparency ..." notes
            if image.mode in _HIGH_BYTE_MODES:  # 16-bit grey keeps its high byte
                grey = (np.asarray(image).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=-1)
            if image.format == "GIF":  # TF's GIF decoder leaves transparent pixels black
                rgba = np.array(image.convert("RGBA"))
                rgba[rgba[..., 3] == 0] = 0
                return np.ascontiguousarray(rgba[..., :3])
            # grey copied, alpha dropped (not blended), palette looked up, CMYK/YCbCr converted
            return np.asarray(image.convert("RGB"), np.uint8)


def _pil_problem(path: str) -> str | None:
    """Why Pillow cannot decode ``path`` (None if it can), in the words of :func:`_decode_problem`."""
    from PIL import UnidentifiedImageError

    try:
        pil_decode(path)
    except UnidentifiedImageError:
        return f"cannot decode {path} as an image ({FORMATS}): Unknown image file format"
    except Exception as exc:  # OSError, SyntaxError, ValueError, DecompressionBombError ...
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"cannot decode {path} as an image ({FORMATS}): {text}"
    return None


def _pil_problems(paths: list[str]) -> list[str | None]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(PARALLEL_CALLS) as pool:
        return list(pool.map(_pil_problem, paths))


def tf_decode_resize(image_bytes, size: int):
    """A scalar ``tf.string`` of encoded image bytes -> float32 ``[size, size, 3]`` in [0, 1].

    TF ops only, for a ``tf.function`` or a SavedModel signature; see the module docstring
    for the rule. Bytes that are not an image raise ``tf.errors.InvalidArgumentError`` when
    run (``load_images`` and ``check_image_files`` turn that into a message naming the file).

    >>> tf_decode_resize(tf.io.read_file("cat.jpg"), 224)  # doctest: +SKIP
    """
    import tensorflow as tf

    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False, dtype=tf.uint8)
    image.set_shape([None, None, 3])
    return tf_array_resize(image, size)


def tf_error_text(exc: Exception) -> str:
    """TF's message without its ``{{function_node ...}}`` prefix and ``[Op:...]``/``name:`` suffixes."""
    text = getattr(exc, "message", None) or str(exc)
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\]", "", text)
    text = re.sub(r"\s*name:\s*$", "", text.strip())
    return (text.splitlines() or [type(exc).__name__])[0]


# ---------------------------------------------------------------------------
# Checking files
# ---------------------------------------------------------------------------

def _file_problem(path: str) -> str | None:
    """What keeps ``path`` from being read, found without decoding it: None if it can be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(1)
    except FileNotFoundError:
        return f"file not found: {path}"
    except IsADirectoryError:
        return f"{path} is a directory, not an image file"
    except OSError as exc:
        return f"cannot read {path} ({type(exc).__name__}: {exc.strerror or exc})"
    if not head:
        return f"{path} is empty"
    return None


def _decode_problem(path: str) -> str | None:
    """Why TF cannot decode the file at ``path`` (None if it can), in words."""
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except tf.errors.OpError as exc:
        return f"cannot decode {path} as an image ({FORMATS}): {tf_error_text(exc)}"
    return None


@functools.lru_cache(maxsize=1)
def _decodes_fn():
    import tensorflow as tf

    def decodes(index, path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        return index, tf.shape(image)[0]

    return decodes


def check_image_files(paths: Sequence[str]) -> list[str | None]:
    """For each path, None if it is a readable image TF decodes, else the problem in words
    (``"file not found: a.jpg"``, ``"cannot decode b.png as an image (...): Invalid PNG data"``).

    Every file is decoded in full by TF's own decoder, the one training and serving use (a
    header check would pass a truncated JPEG), in a ``tf.data`` pipeline of
    ``PARALLEL_CALLS`` parallel decodes: about 1-5 ms per 640x480 JPEG per core. Without
    TensorFlow, by Pillow (:func:`pil_decode`) in ``PARALLEL_CALLS`` threads.
    """
    problems = [_file_problem(os.fspath(p)) for p in paths]
    readable = [i for i, problem in enumerate(problems) if problem is None]
    if not readable:
        return problems
    if not has_tensorflow():
        for i, problem in zip(readable, _pil_problems([os.fspath(paths[i]) for i in readable]), strict=True):
            problems[i] = problem
        return problems
    import tensorflow as tf

    dataset = (tf.data.Dataset.from_tensor_slices((np.array(readable, np.int64),
                                                   [os.fspath(paths[i]) for i in readable]))
               .map(_decodes_fn(), num_parallel_calls=PARALLEL_CALLS, deterministic=False)
               .ignore_errors()
               .batch(1024))
    decoded: set[int] = set()
    for indices, _ in dataset.as_numpy_iterator():
        decoded.update(indices.tolist())
    for i in readable:
        if i not in decoded:
            problems[i] = _decode_problem(os.fspath(paths[i])) or f"cannot decode {paths[i]} as an image"
    return problems


def check_image_file(path: str) -> str | None:
    """None if ``path`` exists, can be read and decodes as an image, else the problem in words."""
    return check_image_files([path])[0]


# ---------------------------------------------------------------------------
# The training side
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _array_fn(size: int, channels: int):
    if not has_tensorflow():
        return functools.partial(keras_array_resize, size=size)
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, channels], tf.uint8)])
    def resize(images):
        return tf_array_resize(images, size)

    return resize


def _array_problem(image, index: int) -> str | None:
    if not isinstance(image, np.ndarray):
        return f"image {index} is a {type(image).__name__}; give a uint8 array [H, W, 3] or a file path"
    if image.dtype != np.uint8:
        return f"image {index} holds {image.dtype}; image arrays are uint8 (0-255)"
    if image.ndim != 3 or image.shape[-1] not in CHANNELS or 0 in image.shape:
        return f"image {index} has shape {image.shape}; image arrays are [H, W, 3] (or 1 or 4 channels)"
    return None


def _load_arrays(arrays: list[tuple[int, np.ndarray]], size: int, out: np.ndarray) -> None:
    """Resize in-memory images into ``out``, one ``tf.function`` call per chunk of equal shapes."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in arrays:
        groups.setdefault(image.shape, []).append(index)
    lookup = dict(arrays)
    for shape, indices in groups.items():
        resize = _array_fn(size, shape[-1])
        for start in range(0, len(indices), _CHUNK):
            chunk = indices[start:start + _CHUNK]
            out[chunk] = np.asarray(resize(np.stack([lookup[i] for i in chunk])))


def _pil_load_paths(paths: list[tuple[int, str]], size: int, out: np.ndarray, where: str) -> None:
    """:func:`_load_paths` without TensorFlow: Pillow decodes in threads, chunk by chunk, and
    the images of a chunk that share a shape are resized in one :func:`keras_array_resize` call."""
    from concurrent.futures import ThreadPoolExecutor

    def decode(path):
        try:
            return pil_decode(path)
        except Exception:
            return None

    with ThreadPoolExecutor(PARALLEL_CALLS) as pool:
        for start in range(0, len(paths), _CHUNK):
            chunk = paths[start:start + _CHUNK]
            decoded = list(pool.map(decode, [path for _, path in chunk]))
            groups: dict[tuple[int, ...], list[int]] = {}  # shape -> positions in the chunk
            for position, ((_, path), image) in enumerate(zip(chunk, decoded, strict=True)):
                if image is None:
                    raise DataError(f"{where}: {_pil_problem(path) or f'cannot decode {path} as an image'}")
                groups.setdefault(image.shape, []).append(position)
            for positions in groups.values():
                out[[chunk[p][0] for p in positions]] = keras_array_resize(np.stack([decoded[p] for p in positions]),
                                                                           size)


def _load_paths(paths: list[tuple[int, str]], size: int, out: np.ndarray, where: str) -> None:
    """Decode and resize files into ``out`` with ``tf_decode_resize`` in a parallel ``tf.data`` map."""
    for _, path in paths:
        problem = _file_problem(path)
        if problem is not None:
            raise DataError(f"{where}: {problem}")
    if not has_tensorflow():
        _pil_load_paths(paths, size, out, where)
        return
    import tensorflow as tf

    dataset = (tf.data.Dataset.from_tensor_slices([path for _, path in paths])
               .map(lambda p: tf_decode_resize(tf.io.read_file(p), size), num_parallel_calls=PARALLEL_CALLS,
                    deterministic=True)
               .batch(_CHUNK)
               .prefetch(1))
    done = 0
    try:
        for batch in dataset.as_numpy_iterator():
            out[[index for index, _ in paths[done:done + len(batch)]]] = batch
            done += len(batch)
    except tf.errors.OpError as exc:
        for _, path in paths[done:]:  # the batch that failed and those after it: find the culprit
            problem = _file_problem(path) or _decode_problem(path)
            if problem is not None:
                raise DataError(f"{where}: {problem}") from None
        raise DataError(f"{where}: cannot load images {done}-{done + _CHUNK - 1}: {tf_error_text(exc)}") from None


def load_images(images: Sequence[np.ndarray | str], size: int, where: str) -> np.ndarray:
    """Arrays and image files -> float32 ``[N, size, size, 3]`` in [0, 1], in order, by the module's rule.

    A file is read and decoded by :func:`tf_decode_resize`, the function the exported model
    runs, in a ``tf.data`` map with ``PARALLEL_CALLS`` parallel calls; arrays (``[H, W, C]``
    uint8, C = 1, 3, 4) go through :func:`tf_array_resize` in chunks of equal shape. A file
    that is missing, unreadable or not an image, or an array of another type or shape, raises
    :class:`~zoo.errors.DataError` naming it and ``where``.

    >>> load_images([np.zeros((30, 40, 3), np.uint8), "photo.jpg"], 64, "coco:ann.json").shape  # doctest: +SKIP
    (2, 64, 64, 3)
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise DataError(f"{where}: image size must be a positive integer, got {size!r}")
    size = int(size)
    out = np.empty((len(images), size, size, 3), np.float32)
    paths: list[tuple[int, str]] = []
    arrays: list[tuple[int, np.ndarray]] = []
    for index, image in enumerate(images):
        if isinstance(image, str | os.PathLike):
            paths.append((index, os.fspath(image)))
            continue
        problem = _array_problem(image, index)
        if problem is not None:
            raise DataError(f"{where}: {problem}")
        arrays.append((index, image))
    if arrays:
        _load_arrays(arrays, size, out)
    if paths:
        _load_paths(paths, size, out, where)
    return out


def rgb_uint8(image: np.ndarray, where: str) -> np.ndarray:
    """An in-memory image as uint8 ``[H, W, 3]`` by the decoding rule: grey copied to three
    channels, alpha dropped, 16-bit values keep their high byte. ``[H, W]`` counts as grey."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in CHANNELS or 0 in array.shape:
        raise DataError(f"{where}: an image has shape {array.shape}; images are [H, W, C] with C = 1, 3 or 4")
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise DataError(f"{where}: an image holds {array.dtype}; images are uint8 or uint16")
    if array.shape[-1] == 1:
        return np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])
