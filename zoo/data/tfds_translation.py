"""TensorFlow Datasets translation sets: ``tfds:NAME[,source=KEY][,target=KEY][,train=SPLIT]
[,validation=SPLIT][,test=SPLIT][,data_dir=DIR]``, e.g. ``tfds:ted_hrlr_translate/pt_to_en``.

A translation set has two ``Text`` features, one per language (``{'pt': Text, 'en': Text}``).
Which is the source and which the target, in this order:

1. ``source=KEY`` / ``target=KEY`` (one alone: the other is the set's only other text feature);
2. the set's supervised keys, ``('pt', 'en')`` for ``ted_hrlr_translate/pt_to_en``;
3. the config name, ``xx_to_yy`` or ``xx-yy`` (``wmt14_translate/de-en``), when both are features.

``source=en,target=pt`` translates the other way. Splits are resolved as for the
text-classification sets (:mod:`zoo.data.tfds_source`): ``train`` and ``test``, ``validation``
when the set has one and otherwise the last 10% of train. Texts are decoded from UTF-8 and
stripped; a pair with an empty side is dropped and counted in
``info["empty_pairs_dropped"]``. The first load downloads the set (``TFDS_DATA_DIR`` or
``data_dir=`` points at a prepared copy); tests use ``tfds.testing.mock_data``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .tfds_source import SPLIT_PARTS, _decode, _resolve_splits, load_split, tfds_builder

_CONFIG_ORDER = (re.compile(r"^(?P<a>.+?)_to_(?P<b>.+)$"), re.compile(r"^(?P<a>[^-]+)-(?P<b>[^-]+)$"))


def _describe(feature: Any) -> str:
    return type(feature).__name__


def resolve_language_keys(spec: DataSpec, features: Mapping[str, Any], supervised_keys: Any,
                          config_name: str | None) -> tuple[str, str]:
    """``(source_key, target_key)`` of a TFDS set, from ``source=``/``target=``, else the
    supervised keys, else the config name ``xx_to_yy`` / ``xx-yy``; see the module docstring."""
    import tensorflow_datasets as tfds

    text_kind = tfds.features.Text
    names = list(features)
    texts = [name for name in names if isinstance(features[name], text_kind)]
    given = {role: spec.parts[role] for role in ("source", "target") if role in spec.parts}
    for role, key in given.items():
        if key not in features:
            raise DataError(f"{spec.text}: no feature {key!r}; features: {', '.join(names)}")
        if not isinstance(features[key], text_kind):
            raise DataError(f"{spec.text}: feature {key!r} is {_describe(features[key])}, not Text; "
                            f"{role}= names a text feature ({', '.join(texts) or 'the set has none'})")
    if len(texts) < 2:
        kinds = ", ".join(f"{name} ({_describe(features[name])})" for name in names)
        raise DataError(f"{spec.text}: not a translation set: it has {len(texts)} Text feature"
                        f"{'s' if len(texts) != 1 else ''} (features: {kinds}); a translation set has one per "
                        "language, e.g. tfds:ted_hrlr_translate/pt_to_en")
    if len(given) == 2:
        if given["source"] == given["target"]:
            raise DataError(f"{spec.text}: source and target are both {given['source']!r}")
        return given["source"], given["target"]
    if len(given) == 1:
        role, key = next(iter(given.items()))
        others = [name for name in texts if name != key]
        if len(others) != 1:
            other_role = "target" if role == "source" else "source"
            raise DataError(f"{spec.text}: {role}={key} leaves {len(others)} text features to choose the "
                            f"{other_role} from ({', '.join(others)}); name it with {other_role}=KEY")
        return (key, others[0]) if role == "source" else (others[0], key)
    if (supervised_keys and len(supervised_keys) == 2
            and all(isinstance(k, str) and k in features and isinstance(features[k], text_kind)
                    for k in supervised_keys)):
        return supervised_keys[0], supervised_keys[1]
    for pattern in _CONFIG_ORDER:
        match = pattern.match(config_name or "")
        if match and match["a"] in texts and match["b"] in texts and match["a"] != match["b"]:
            return match["a"], match["b"]
    raise DataError(f"{spec.text}: cannot tell the source language from the target (text features: "
                    f"{', '.join(texts)}); name them with source=KEY,target=KEY")


def load_tfds_translation(spec: DataSpec) -> Splits[tuple[str, str]]:
    """``(source, target)`` pairs of a TFDS translation set; ``info``: ``description``,
    ``source_key``, ``target_key``, ``splits`` (the TFDS split of each part) and, when any,
    ``empty_pairs_dropped`` per part."""
    check_parts(spec, (*SPLIT_PARTS, "source", "target", "data_dir"))
    builder = tfds_builder(spec, "tfds:ted_hrlr_translate/pt_to_en")
    name = spec.target
    config = getattr(builder, "builder_config", None)
    config_name = config.name if config is not None else name.partition("/")[2].partition(":")[0] or None
    source_key, target_key = resolve_language_keys(spec, builder.info.features, builder.info.supervised_keys,
                                                   config_name)
    splits = _resolve_splits(spec, list(builder.info.splits.keys()))
    out: dict[str, list[tuple[str, str]]] = {}
    dropped: dict[str, int] = {}
    for part in SPLIT_PARTS:
        split = splits[part]
        pairs: list[tuple[str, str]] = []
        empty = 0
        for ex in load_split(spec, split):
            source = _decode(ex[source_key], spec).strip()
            target = _decode(ex[target_key], spec).strip()
            if source and target:
                pairs.append((source, target))
            else:
                empty += 1
        if not pairs:
            raise DataError(f"{spec.text}: split {split!r} has no pairs with text on both sides")
        if empty:
            dropped[part] = empty
        out[part] = pairs
    info: dict[str, Any] = {"description": f"TFDS {name}: {source_key} -> {target_key}",
                            "source_key": source_key, "target_key": target_key, "splits": splits}
    if dropped:
        info["empty_pairs_dropped"] = dropped
    return Splits(out["train"], out["validation"], out["test"], source=spec.text, info=info)
