"""TensorFlow Datasets sets with a label per frame: ``tfds:NAME[,video=KEY][,labels=KEY][,train=SPLIT]
[,validation=SPLIT][,test=SPLIT][,data_dir=DIR]``.

The TFDS catalog (4.9) has no video set labelled frame by frame: its video sets carry one
label per clip (``ucf101``), none (``moving_mnist``, ``bair_robot_pushing_small``,
``robonet``, ``starcraft_video``), or masks and tracks (``davis``, ``youtube_vis``, ``tao``).
This reader is therefore generic, for any TFDS set (a catalog set or one's own builder)
that has, side by side at the top level:

- a **clip**: a ``Video`` feature or a ``Sequence(Image)`` (read as ``[T, H, W, C]`` uint8),
  or per-step feature vectors, a float ``Tensor(shape=(None, F))`` or
  ``Sequence(Tensor(shape=(F,)))`` (read as ``[T, F]`` float32; ``Sequence`` of scalars
  gives ``F = 1``);
- **per-frame labels**: a ``Sequence(ClassLabel)``, one class per frame.

``video=KEY`` and ``labels=KEY`` name them; without them the set's only feature of each
kind is taken, and more than one (or none) is an error listing the features. Each clip
must have as many labels as frames, and a label of -1 (unlabelled) is an error; both name
the split and the example's index. Splits are resolved as for the other TFDS readers
(:mod:`zoo.data.tfds_source`): ``train`` and ``test``, ``validation`` when the set has one
and otherwise the last 10% of train. Examples are ``(frames, labels)`` with label names
from the ``ClassLabel``; ``Splits.info``: ``labels`` (sorted), ``description``,
``video_key``, ``labels_key``, ``splits``, and ``frame_shape`` or ``feature_size`` when fixed.
The first load downloads the set (``TFDS_DATA_DIR`` or ``data_dir=`` points at a prepared
copy); tests use ``tfds.testing.mock_data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .tfds_source import SPLIT_PARTS, _resolve_splits, load_split, tfds_builder

Example = tuple[np.ndarray, list[str]]


def clip_kind(feature: Any) -> str | None:
    """``"images"``, ``"features"`` or None: what kind of clip a TFDS feature holds."""
    import tensorflow_datasets as tfds

    f = tfds.features
    if isinstance(feature, f.Video):  # a Sequence of images itself: test it first
        return "images"
    if isinstance(feature, f.Sequence):
        inner = feature.feature
        if isinstance(inner, f.Image):
            return "images"
        if (isinstance(inner, f.Tensor) and not isinstance(inner, f.ClassLabel) and len(inner.shape) <= 1
                and np.issubdtype(np.dtype(inner.np_dtype), np.floating)):
            return "features"
        return None
    if (isinstance(feature, f.Tensor) and not isinstance(feature, f.ClassLabel) and len(feature.shape) == 2
            and feature.shape[0] is None and np.issubdtype(np.dtype(feature.np_dtype), np.floating)):
        return "features"
    return None


def is_frame_labels(feature: Any) -> bool:
    """A ``Sequence(ClassLabel)``: one class per frame."""
    import tensorflow_datasets as tfds

    f = tfds.features
    return (isinstance(feature, f.Sequence) and not isinstance(feature, f.Video)
            and isinstance(feature.feature, f.ClassLabel))


def _describe(feature: Any) -> str:
    import tensorflow_datasets as tfds

    if isinstance(feature, tfds.features.Sequence) and not isinstance(feature, tfds.features.Video):
        return f"Sequence({type(feature.feature).__name__})"
    return type(feature).__name__


def resolve_video_keys(spec: DataSpec, features: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(video_key, labels_key, kind)`` of a TFDS set (``kind``: ``"images"`` or ``"features"``),
    from ``video=``/``labels=`` or the only feature of each kind; see the module docstring."""
    names = list(features)
    listing = ", ".join(f"{name} ({_describe(features[name])})" for name in names)
    clips = [name for name in names if clip_kind(features[name]) is not None]
    label_keys = [name for name in names if is_frame_labels(features[name])]
    roles = (("video", clips, "a clip: Video, Sequence(Image), or float features [T, F]"),
             ("labels", label_keys, "per-frame labels: Sequence(ClassLabel)"))
    chosen = {}
    for role, candidates, wanted in roles:
        if role in spec.parts:
            key = spec.parts[role]
            if key not in features:
                raise DataError(f"{spec.text}: no feature {key!r}; features: {listing}")
            if key not in candidates:
                raise DataError(f"{spec.text}: feature {key!r} is {_describe(features[key])}; {role}= names "
                                f"{wanted}")
            chosen[role] = key
        elif len(candidates) == 1:
            chosen[role] = candidates[0]
        else:
            found = f"{len(candidates)} ({', '.join(candidates)})" if candidates else "none"
            raise DataError(f"{spec.text}: cannot tell which feature holds {wanted}: the set has {found} "
                            f"(features: {listing})" + (f"; name it with {role}=KEY" if candidates else
                                                        "; this reader needs a label for every frame"))
    return chosen["video"], chosen["labels"], clip_kind(features[chosen["video"]])


def _as_clip(value: Any, kind: str) -> np.ndarray:
    array = np.asarray(value)
    if kind == "images":
        return array.astype(np.uint8, copy=False)
    array = array.astype(np.float32, copy=False)
    return array[:, None] if array.ndim == 1 else array


def load_tfds_video(spec: DataSpec) -> Splits[Example]:
    """``(frames, labels)`` clips of a TFDS set with per-frame labels; see the module docstring."""
    check_parts(spec, (*SPLIT_PARTS, "video", "labels", "data_dir"))
    builder = tfds_builder(spec, "tfds:NAME,video=KEY,labels=KEY")
    features = builder.info.features
    video_key, labels_key, kind = resolve_video_keys(spec, features)
    names = list(features[labels_key].feature.names)
    splits = _resolve_splits(spec, list(builder.info.splits.keys()))
    out: dict[str, list[Example]] = {}
    for part in SPLIT_PARTS:
        split = splits[part]
        examples: list[Example] = []
        for index, ex in enumerate(load_split(spec, split)):
            frames = _as_clip(ex[video_key], kind)
            ids = np.asarray(ex[labels_key]).reshape(-1)
            if len(frames) != len(ids):
                raise DataError(f"{spec.text}: split {split!r} example {index}: {len(frames)} frames in "
                                f"{video_key!r} but {len(ids)} labels in {labels_key!r}; each frame needs a label")
            if len(frames) == 0:
                raise DataError(f"{spec.text}: split {split!r} example {index}: a clip with no frames")
            if (ids < 0).any() or (ids >= len(names)).any():
                bad = int(ids[(ids < 0) | (ids >= len(names))][0])
                raise DataError(f"{spec.text}: split {split!r} example {index}: label {bad} is not a class "
                                f"of {labels_key!r} (0-{len(names) - 1}); unlabelled frames cannot be trained on")
            examples.append((frames, [names[i] for i in ids.tolist()]))
        out[part] = examples
    info: dict[str, Any] = {"labels": sorted(names), "video_key": video_key, "labels_key": labels_key,
                            "splits": splits,
                            "description": f"TFDS {spec.target}: {video_key} ({kind}) -> per-frame {labels_key}"}
    shape = tuple(features[video_key].shape[1:])
    if kind == "images" and None not in shape:
        info["frame_shape"] = list(shape)
    elif kind == "features":
        info["feature_size"] = int(shape[0]) if shape and shape[0] is not None else 1
    return Splits(out["train"], out["validation"], out["test"], source=spec.text, info=info)
