"""TensorFlow Datasets as a data source: ``tfds:NAME[,train=SPLIT][,validation=SPLIT][,test=SPLIT]``.

Split names are resolved from the set's metadata: ``train`` and ``test`` when
they exist, ``validation`` when it exists and otherwise the last 10% of train.
Feature names come from the set's supervised keys, or from its only feature of
each needed type; ``text=FEATURE,label=FEATURE`` names them outright.
Loading a real set downloads it the first time (``TFDS_DATA_DIR`` points at a
prepared copy); tests use ``tfds.testing.mock_data``.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataError, require
from . import DataSpec, Splits, check_parts

SPLIT_PARTS = ("train", "validation", "test")


def _resolve_splits(spec: DataSpec, available: list[str]) -> dict[str, str]:
    splits = {k: v for k, v in spec.parts.items() if k in SPLIT_PARTS}
    if "train" not in splits:
        if available and "train" not in available:
            raise DataError(f"{spec.text}: the set has no 'train' split (splits: {', '.join(available)}); "
                            "name one with train=SPLIT")
        splits["train"] = "train"
    if "test" not in splits:
        if not available or "test" in available:
            splits["test"] = "test"
        elif "validation" in available and "validation" not in splits:
            splits["test"] = "validation"
        else:
            raise DataError(f"{spec.text}: no 'test' split (splits: {', '.join(available)}); name one with test=SPLIT")
    if "validation" not in splits:
        if "validation" in available and splits["test"] != "validation":
            splits["validation"] = "validation"
        else:
            base = splits["train"]
            splits["train"], splits["validation"] = f"{base}[:90%]", f"{base}[90%:]"
    return splits


def tfds_builder(spec: DataSpec, example: str):
    """The TFDS builder of the set ``spec`` names (``tfds:NAME[,data_dir=DIR]``); a missing name or an
    unknown set is a DataError (its first line only, not TFDS's list of every set). ``example``
    completes "e.g. ..."."""
    import tensorflow_datasets as tfds

    if not spec.target:
        raise DataError(f"{spec.text}: name the set, e.g. {example}")
    try:
        return tfds.builder(spec.target, data_dir=spec.parts.get("data_dir"))
    except Exception as exc:  # DatasetNotFoundError and friends
        first = (str(exc).strip().splitlines() or [""])[0]
        raise DataError(f"{spec.text}: TFDS has no set {spec.target!r} ({type(exc).__name__}: {first})") from None


def load_split(spec: DataSpec, split: str):
    """The examples of one split as NumPy (``tfds.as_numpy``); a split that cannot be loaded is a DataError."""
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(spec.target, split=split, data_dir=spec.parts.get("data_dir"), download=True)
    except Exception as exc:
        raise DataError(f"{spec.text}: could not load split {split!r} ({type(exc).__name__}: {exc}). "
                        "The first load downloads the set; offline, set TFDS_DATA_DIR to a prepared copy") from None
    return tfds.as_numpy(dataset)


def _find_feature(spec: DataSpec, features, role: str, kind, supervised: tuple | None, index: int) -> str:
    if role in spec.parts:
        if spec.parts[role] not in features:
            raise DataError(f"{spec.text}: no feature {spec.parts[role]!r}; features: {', '.join(features)}")
        return spec.parts[role]
    if supervised and len(supervised) == 2 and isinstance(features[supervised[index]], kind):
        return supervised[index]
    matches = [name for name, f in features.items() if isinstance(f, kind)]
    if len(matches) != 1:
        raise DataError(f"{spec.text}: cannot tell which feature is the {role} "
                        f"(features: {', '.join(features)}); name it with {role}=FEATURE")
    return matches[0]


def load_text_classification(spec: DataSpec) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """Examples ``(text, label_name)`` per split, and the set's label names."""
    tfds = require("tensorflow_datasets", f"the data spec {spec.text!r}")

    check_parts(spec, (*SPLIT_PARTS, "text", "label", "data_dir"))
    builder = tfds_builder(spec, "tfds:imdb_reviews")
    features = builder.info.features
    label_name = _find_feature(spec, features, "label", tfds.features.ClassLabel,
                               builder.info.supervised_keys, 1)
    text_name = _find_feature(spec, features, "text", tfds.features.Text,
                              builder.info.supervised_keys, 0)
    label_names = list(features[label_name].names)
    splits = _resolve_splits(spec, list(builder.info.splits.keys()))
    out: dict[str, list[tuple[str, str]]] = {}
    for part, split in splits.items():
        examples: list[tuple[str, str]] = []
        for ex in load_split(spec, split):
            label = int(ex[label_name])
            if label < 0:  # e.g. GLUE test splits carry no labels
                raise DataError(f"{spec.text}: split {split!r} has no labels (label -1); "
                                f"use another split as test, e.g. {spec.text},test=validation")
            examples.append((_decode(ex[text_name], spec), label_names[label]))
        out[part] = examples
    return out, label_names


def _decode(value: Any, spec: DataSpec) -> str:
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    except UnicodeDecodeError:
        raise DataError(f"{spec.text}: a text is not valid UTF-8") from None


def load_labelled_text(spec: DataSpec):
    """``tfds:NAME`` as sentiment reads it: :class:`zoo.data.Splits` of ``(text, label_name)``, with the set's
    label names in ``info["label_names"]`` (their order is the set's)."""
    parts, label_names = load_text_classification(spec)
    return Splits(parts["train"], parts["validation"], parts["test"], source=spec.text,
                  info={"label_names": label_names})
