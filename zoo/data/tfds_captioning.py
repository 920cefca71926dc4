"""TensorFlow Datasets caption sets: ``tfds:NAME[,image=KEY][,captions=KEY][,train=SPLIT]
[,validation=SPLIT][,test=SPLIT][,data_dir=DIR]``, e.g. ``tfds:coco_captions``.

A caption set has, at its top level, an ``Image`` feature and a feature holding the captions:

- a ``Text`` or a scalar string ``Tensor`` (one caption per image);
- a ``Sequence`` of them (several);
- a ``Sequence`` of a dict holding a ``Text``, or a dict holding a ``Text`` or a ``Sequence(Text)``:
  ``coco_captions`` has ``captions: Sequence({'id': int64, 'text': Text})``; the dict's field
  called ``text`` is taken, or else its only text field.

``image=KEY`` and ``captions=KEY`` name them (``captions=KEY/FIELD`` names the field inside a
dict). Without them the only ``Image`` is taken (of several, the one called ``image``), and of
the features that hold text the only one, else the only one whose name holds ``caption``, else
the only ``Sequence``; ``coco_captions`` also has the text ``image/filename``, and its
``captions`` wins by name. Otherwise it is an error listing the features.

Splits are resolved as for the other TFDS readers (:mod:`zoo.data.tfds_source`): ``train`` and
``test``, ``validation`` when the set has one (or else a split called ``val``, as in
``coco_captions``) and otherwise the last 10% of train. Images come as decoded uint8 arrays
``[H, W, 3]``: grey is copied to three channels, alpha dropped, 16-bit values keep their high
byte (the rule of :mod:`zoo.data.images`). They are held in memory, so slice a big set
(``train=train[:5%]``). Captions are decoded from UTF-8, stripped, runs of whitespace made one
space; case and punctuation are kept. An empty caption is dropped, and an image left without
captions too; both are counted per part in ``info["empty_captions_dropped"]`` and
``info["images_without_captions_dropped"]``. ``Splits.info`` also holds ``description``,
``image_key``, ``captions_key`` and ``splits``. The first load downloads the set
(``TFDS_DATA_DIR`` or ``data_dir=`` points at a prepared copy); tests use ``tfds.testing.mock_data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .images import rgb_uint8
from .tfds_source import SPLIT_PARTS, _decode, _resolve_splits, load_split, tfds_builder

Example = tuple[np.ndarray, tuple[str, ...]]


def _describe(feature: Any) -> str:
    import tensorflow_datasets as tfds

    f = tfds.features
    if isinstance(feature, f.Sequence) and not isinstance(feature, f.Video):
        return f"Sequence({_describe(feature.feature)})"
    if isinstance(feature, f.FeaturesDict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in feature.items()) + "}"
    return type(feature).__name__


def _is_text(feature: Any) -> bool:
    """A ``Text``, or a scalar string ``Tensor`` (coco_captions' ``text``)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    f = tfds.features
    return isinstance(feature, f.Text) or (isinstance(feature, f.Tensor) and not isinstance(feature, f.Image)
                                           and feature.tf_dtype == tf.string and tuple(feature.shape) == ())


def _is_texts(feature: Any) -> bool:
    """A text or a ``Sequence`` of texts."""
    import tensorflow_datasets as tfds

    return _is_text(feature) or (isinstance(feature, tfds.features.Sequence) and _is_text(feature.feature))


def text_field(feature: Any) -> list[str] | None:
    """Where the captions sit inside a feature: ``[]`` (the feature itself), ``["text"]`` (a field
    of its dict), or None when it holds no captions; see the module docstring."""
    import tensorflow_datasets as tfds

    f = tfds.features
    if _is_texts(feature):
        return []
    inner = feature.feature if isinstance(feature, f.Sequence) and not isinstance(feature, f.Video) else feature
    if isinstance(inner, f.FeaturesDict):
        texts = [key for key, sub in inner.items() if _is_texts(sub)]
        if "text" in texts:
            return ["text"]
        if len(texts) == 1:
            return texts
    return None


def _named(spec: DataSpec, role: str, features: Mapping[str, Any], listing: str) -> tuple[str, list[str]]:
    """``(feature key, field path)`` that ``role=VALUE`` names: ``KEY`` or ``KEY/FIELD``
    (feature names may hold ``/`` themselves: ``image/filename``)."""
    value = spec.parts[role]
    if value in features:
        return value, []
    key, _, sub = value.rpartition("/")
    if key in features:
        return key, [sub]
    raise DataError(f"{spec.text}: no feature {value!r}; features: {listing}")


def resolve_caption_keys(spec: DataSpec, features: Mapping[str, Any]) -> tuple[str, list[str]]:
    """``(image_key, captions_path)`` of a TFDS set, ``captions_path`` the keys from the example to
    the caption text (``["captions", "text"]`` for coco_captions); see the module docstring."""
    import tensorflow_datasets as tfds

    names = list(features)
    listing = ", ".join(f"{name} ({_describe(features[name])})" for name in names)
    images = [name for name in names if isinstance(features[name], tfds.features.Image)]
    if "image" in spec.parts:
        image_key, sub = _named(spec, "image", features, listing)
        if sub or image_key not in images:
            raise DataError(f"{spec.text}: feature {spec.parts['image']!r} is not an Image; image= names one "
                            f"({', '.join(images) or 'the set has none'})")
    elif len(images) == 1 or "image" in images:
        image_key = images[0] if len(images) == 1 else "image"
    else:
        found = f"{len(images)} ({', '.join(images)})" if images else "none"
        raise DataError(f"{spec.text}: cannot tell which feature is the image: the set has {found} Image "
                        f"features (features: {listing})" + ("; name one with image=KEY" if images else ""))

    if "captions" in spec.parts:
        key, sub = _named(spec, "captions", features, listing)
        field = text_field(features[key])
        if sub:
            inner = features[key]
            inner = inner.feature if isinstance(inner, tfds.features.Sequence) else inner
            if not isinstance(inner, tfds.features.FeaturesDict) or sub[0] not in inner or not _is_texts(inner[sub[0]]):
                raise DataError(f"{spec.text}: {spec.parts['captions']!r} is not a text field of {key!r} "
                                f"({_describe(features[key])})")
            field = sub
        if field is None:
            raise DataError(f"{spec.text}: feature {key!r} is {_describe(features[key])}; captions= names a Text, a "
                            "Sequence(Text) or a dict holding one (KEY/FIELD picks the field)")
        return image_key, [key, *field]
    texts = [name for name in names if text_field(features[name]) is not None]
    narrowed = texts
    for keep in (lambda n: "caption" in n.lower(), lambda n: isinstance(features[n], tfds.features.Sequence)):
        if len(narrowed) <= 1:
            break
        narrowed = [name for name in narrowed if keep(name)] or narrowed
    if len(narrowed) != 1:
        found = f"{len(texts)} ({', '.join(texts)}); name it with captions=KEY" if texts else "none"
        raise DataError(f"{spec.text}: cannot tell which feature holds the captions (Text, Sequence(Text), or a dict "
                        f"with a text field): the set has {found} (features: {listing})")
    return image_key, [narrowed[0], *text_field(features[narrowed[0]])]


def _captions(example: Mapping[str, Any], path: list[str], spec: DataSpec) -> tuple[list[str], int]:
    """The non-empty captions at ``path`` and how many empty ones were dropped."""
    value: Any = example
    for key in path:
        value = value[key]
    texts = [" ".join(_decode(text, spec).split()) for text in np.asarray(value, dtype=object).reshape(-1)]
    kept = [text for text in texts if text]
    return kept, len(texts) - len(kept)


def resolve_caption_splits(spec: DataSpec, available: list[str]) -> dict[str, str]:
    """The TFDS split of each part, as :mod:`zoo.data.tfds_source` resolves them, with a split
    called ``val`` as validation when the set has no ``validation`` (coco_captions)."""
    if "validation" not in spec.parts and "val" in available and "validation" not in available:
        spec = DataSpec(spec.kind, spec.target, {**spec.parts, "validation": "val"}, spec.text)
    return _resolve_splits(spec, available)


def load_tfds_captioning(spec: DataSpec) -> Splits[Example]:
    """``(image, captions)`` examples of a TFDS caption set; see the module docstring."""
    check_parts(spec, (*SPLIT_PARTS, "image", "captions", "data_dir"))
    builder = tfds_builder(spec, "tfds:coco_captions")
    image_key, captions_path = resolve_caption_keys(spec, builder.info.features)
    splits = resolve_caption_splits(spec, list(builder.info.splits.keys()))
    out: dict[str, list[Example]] = {}
    empty_captions: dict[str, int] = {}
    no_captions: dict[str, int] = {}
    for part in SPLIT_PARTS:
        split = splits[part]
        examples: list[Example] = []
        for index, ex in enumerate(load_split(spec, split)):
            captions, empty = _captions(ex, captions_path, spec)
            empty_captions[part] = empty_captions.get(part, 0) + empty
            if not captions:
                no_captions[part] = no_captions.get(part, 0) + 1
                continue
            image = rgb_uint8(ex[image_key], f"{spec.text}: split {split!r} example {index}")
            examples.append((image, tuple(captions)))
        if not examples:
            raise DataError(f"{spec.text}: split {split!r} has no image with a non-empty caption")
        out[part] = examples
    info: dict[str, Any] = {"description": f"TFDS {spec.target}: {image_key} -> {'/'.join(captions_path)}",
                            "image_key": image_key, "captions_key": "/".join(captions_path), "splits": splits}
    if any(empty_captions.values()):
        info["empty_captions_dropped"] = {p: n for p, n in empty_captions.items() if n}
    if no_captions:
        info["images_without_captions_dropped"] = no_captions
    return Splits(out["train"], out["validation"], out["test"], source=spec.text, info=info)
