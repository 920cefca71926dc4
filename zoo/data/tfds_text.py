"""TensorFlow Datasets text for language models: ``tfds:NAME[,text=FEATURE][,train=SPLIT][,validation=SPLIT]
[,test=SPLIT][,data_dir=DIR]``, e.g. ``tfds:lm1b`` or the texts of ``tfds:imdb_reviews``.

The text feature is ``text=`` when given, else the first supervised key when it is a Text
feature, else the set's only Text feature. Splits are resolved as for the other TFDS readers
(:mod:`zoo.data.tfds_source`). Texts are decoded from UTF-8 and stripped; empty ones are dropped
and counted in ``info["empty_dropped"]``. The first load downloads the set (``TFDS_DATA_DIR`` or
``data_dir=`` points at a prepared copy); tests use ``tfds.testing.mock_data``.
"""

from __future__ import annotations

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .tfds_source import SPLIT_PARTS, _decode, _resolve_splits, load_split, tfds_builder


def _text_feature(spec: DataSpec, features, supervised) -> str:
    import tensorflow_datasets as tfds

    texts = [name for name, f in features.items() if isinstance(f, tfds.features.Text)]
    if "text" in spec.parts:
        name = spec.parts["text"]
        if name not in texts:
            raise DataError(f"{spec.text}: {name!r} is not a Text feature of the set (Text features: "
                            f"{', '.join(texts) or 'none'})")
        return name
    if supervised and supervised[0] in texts:
        return supervised[0]
    if len(texts) != 1:
        raise DataError(f"{spec.text}: the set has {len(texts)} Text features ({', '.join(texts) or 'none'}; "
                        f"features: {', '.join(features)}); name one with text=FEATURE")
    return texts[0]


def load_tfds_text(spec: DataSpec) -> Splits[str]:
    check_parts(spec, (*SPLIT_PARTS, "text", "data_dir"))
    builder = tfds_builder(spec, "tfds:lm1b")
    feature = _text_feature(spec, builder.info.features, builder.info.supervised_keys)
    splits = _resolve_splits(spec, list(builder.info.splits.keys()))
    out: dict[str, list[str]] = {}
    dropped: dict[str, int] = {}
    for part in SPLIT_PARTS:
        texts = [_decode(ex[feature], spec).strip() for ex in load_split(spec, splits[part])]
        out[part] = [t for t in texts if t]
        if len(out[part]) < len(texts):
            dropped[part] = len(texts) - len(out[part])
        if not out[part]:
            raise DataError(f"{spec.text}: split {splits[part]!r} has no text")
    info = {"feature": feature, "splits": splits, **({"empty_dropped": dropped} if dropped else {})}
    return Splits(out["train"], out["validation"], out["test"], source=spec.text, info=info)
