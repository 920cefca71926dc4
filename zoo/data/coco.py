"""Captioned images in the COCO captions format: ``coco:ANNOTATIONS.json[,images=DIR][,bad_rows=skip]``.

The format of ``captions_train2014.json`` / ``captions_val2017.json``, one JSON object::

    {"images":      [{"id": 391895, "file_name": "COCO_val2014_000000391895.jpg", ...}, ...],
     "annotations": [{"id": 770337, "image_id": 391895, "caption": "A man riding a bike."}, ...],
     ...}

Other keys (``info``, ``licenses``, ``width``, ``coco_url``, ...) are ignored. Ids are integers
or strings (``5`` and ``"5"`` are one id). An image's file is ``DIR/file_name``: ``DIR`` is
``images=DIR``, else the folder of the JSON file. JPEG, PNG, GIF, BMP or WebP of any size and
mode (grey, RGBA, palette, 16-bit, CMYK), decoded by :mod:`zoo.data.images`. Captions are
stripped and runs of whitespace (a newline inside a caption) become one space; case and
punctuation are kept. Every caption of an image is kept: all are trained on, and all are the
references when it is evaluated. Examples are ``(image_path, captions)``, one per image, in
the order of ``images``, captions in the order of ``annotations``.

Splits: a single file is split 80/10/10 by a hash of each image's ``file_name``, so all captions
of an image, and every entry naming the same file, land in one split. Named parts, as for the
other readers: ``coco:train=A.json,test=B.json[,validation=C.json][,images=DIR]``; validation is
carved from train (10%) when absent, and test too (80/10/10) when absent. Each part's images
are in ``images=DIR`` or the folder of its JSON file, or in ``train_images=DIR``,
``validation_images=DIR``, ``test_images=DIR`` (the official COCO layout keeps ``train2014/`` and
``val2014/`` apart)::

    coco:annotations/captions_val2014.json,images=val2014
    coco:train=annotations/captions_train2014.json,test=annotations/captions_val2014.json,
         train_images=train2014,test_images=val2014

Malformed JSON is always an error naming the file and what is wrong: not JSON (with line and
column), not an object, no ``images`` or ``annotations`` list, an entry that is not an object or
lacks ``id``/``file_name`` (images) or ``image_id``/``caption`` (annotations), an id that is not
an integer or string, a ``file_name`` or ``caption`` that is not a string, an image id given twice.

Bad data follows ``bad_rows`` (as for the other readers). With ``bad_rows=error``, the default,
each of these is an error naming the JSON file and the image id (and file, or annotation):

- an annotation whose ``image_id`` is not in ``images``;
- an empty caption (nothing but spaces);
- an image with no captions (no annotation names it, or all its captions were empty);
- an image whose file is missing, unreadable or cannot be decoded.

With ``bad_rows=skip`` such an annotation or image is left out, with a warning, and reported in
``Splits.info["skipped_rows"] = {path: {"count": n, "lines": [], "reason": "the first problem"}}``
(``path``: the JSON file for the first three, the image file for the last) and
``Splits.info["skipped"] = {"images": n, "captions": n}`` (captions: left-out annotations, those
of left-out images included). Every file is checked, by decoding it in full with TF's decoder,
when the data is loaded (about 1-5 ms per photo and core), so no bad image is found halfway
through training. ``Splits.info`` also holds ``description``, ``images`` and ``captions`` (per part).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .files import read_text
from .images import check_image_files
from .parts import PART_NAMES, Skips, assemble, bad_rows_option, read_parts

IMAGE_DIR_PARTS = ("images", *(f"{part}_images" for part in PART_NAMES))

Example = tuple[str, tuple[str, ...]]


@dataclass
class _Image:
    name: str  # file_name as the JSON writes it: the split key, the same on every machine
    image_id: Any
    path: str
    json_path: str
    captions: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.json_path} image {self.image_id!r} ({self.name})"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _id(value: Any, what: str, entry: str) -> str:
    """An id as the key both lists share: ``5`` and ``"5"`` are one image."""
    if isinstance(value, bool) or not isinstance(value, int | str) or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{entry}: {what} is {json.dumps(value)} ({_json_type(value)}); ids are integers or "
                        "non-empty strings")
    return str(value).strip()


def _entries(data: dict, key: str, needed: tuple[str, ...], json_path: str, where: str) -> list[dict]:
    """The list ``data[key]``, each entry an object holding the ``needed`` keys."""
    entries = data[key]
    if not isinstance(entries, list):
        raise DataError(f"{where}: {json_path}: {key!r} is {_json_type(entries)}, not a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DataError(f"{where}: {json_path} {key}[{index}] is {_json_type(entry)}, not an object with "
                            f"{' and '.join(map(repr, needed))}")
        missing = [name for name in needed if name not in entry]
        if missing:
            hint = ""
            if key == "annotations" and "caption" in missing and {"bbox", "segmentation", "keypoints"} & set(entry):
                hint = " (it has 'bbox': this is an instances file; name the captions_*.json file)"
            raise DataError(f"{where}: {json_path} {key}[{index}] has no {' or '.join(map(repr, missing))}{hint}; "
                            f"each of {key!r} needs {', '.join(map(repr, needed))}")
    return entries


def read_coco_json(json_path: str, image_dir: str, where: str, skips: Skips, dropped: dict[str, int]
                   ) -> list[_Image]:
    """The images of one COCO captions file that have captions, files not yet checked; bad
    annotations and images without captions go to ``skips`` (and are counted in ``dropped``)."""
    text = read_text(json_path, where)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: {json_path} line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
                        ) from None
    if not isinstance(data, dict):
        raise DataError(f"{where}: {json_path} holds {_json_type(data)}, not an object with 'images' and "
                        "'annotations' (the COCO captions format)")
    missing = [key for key in ("images", "annotations") if key not in data]
    if missing:
        hint = (" (an image_info_test file lists images without captions)" if missing == ["annotations"] else "")
        raise DataError(f"{where}: {json_path} has no {' or '.join(map(repr, missing))}{hint}; a COCO captions "
                        f"file has 'images' and 'annotations' (keys here: {', '.join(map(repr, data)) or 'none'})")

    images: dict[str, _Image] = {}
    for index, entry in enumerate(_entries(data, "images", ("id", "file_name"), json_path, where)):
        here = f"{where}: {json_path} images[{index}]"
        key = _id(entry["id"], "'id'", here)
        name = entry["file_name"]
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{here} (id {entry['id']!r}): 'file_name' is {json.dumps(name)} "
                            f"({_json_type(name)}); give the image's file name")
        if key in images:
            raise DataError(f"{here}: image id {entry['id']!r} is given twice ({images[key].name} and {name}); "
                            "ids must be unique")
        images[key] = _Image(name, entry["id"], os.path.normpath(os.path.join(image_dir, name)), json_path)

    for index, entry in enumerate(_entries(data, "annotations", ("image_id", "caption"), json_path, where)):
        named = f"{json_path} annotations[{index}]" + (f" (id {entry['id']!r})" if "id" in entry else "")
        key = _id(entry["image_id"], "'image_id'", f"{where}: {named}")
        caption = entry["caption"]
        if not isinstance(caption, str):
            raise DataError(f"{where}: {named}: 'caption' is {json.dumps(caption)} ({_json_type(caption)}), "
                            "not a string")
        image = images.get(key)
        if image is None:
            dropped["captions"] += 1
            skips.fail(f"{where}: {named}: image_id {entry['image_id']!r} is not in 'images'", json_path)
            continue
        caption = " ".join(caption.split())
        if not caption:
            dropped["captions"] += 1
            skips.fail(f"{where}: {named}: empty caption for image {image.image_id!r} ({image.name})", json_path)
            continue
        image.captions.append(caption)

    kept = []
    for image in images.values():
        if image.captions:
            kept.append(image)
            continue
        dropped["images"] += 1
        skips.fail(f"{where}: {image.describe()} has no captions (no non-empty caption in 'annotations' "
                   f"names image_id {image.image_id!r})", json_path)
    return kept


def _image_dirs(spec: DataSpec) -> dict[str, str]:
    """``{json_path: image folder}`` for every JSON file the spec names."""
    for name in IMAGE_DIR_PARTS:
        folder = spec.parts.get(name)
        if folder is not None and not os.path.isdir(folder):
            what = "not a directory" if os.path.exists(folder) else "directory not found"
            raise DataError(f"{spec.text}: {name}={folder}: {what}; it names the folder of the images")
    common = spec.parts.get("images")
    if spec.target is not None:
        extra = [f"{part}_images" for part in PART_NAMES if f"{part}_images" in spec.parts]
        if extra:
            raise DataError(f"data spec {spec.text!r}: {extra[0]}= goes with named parts ({extra[0][:-7]}=FILE); "
                            "for one file write images=DIR")
        return {spec.target: common or os.path.dirname(spec.target)}
    folders: dict[str, str] = {}
    for part in PART_NAMES:
        if part not in spec.parts:
            if f"{part}_images" in spec.parts:
                raise DataError(f"data spec {spec.text!r}: {part}_images= is given but no {part}=FILE")
            continue
        path = spec.parts[part]
        folder = spec.parts.get(f"{part}_images") or common or os.path.dirname(path)
        if folders.setdefault(path, folder) != folder:
            raise DataError(f"data spec {spec.text!r}: {path} is named by two parts with different image folders")
    return folders


def _by_name(image: _Image) -> str:
    return image.name


def load_coco(spec: DataSpec) -> Splits[Example]:
    """``(image_path, captions)`` examples of COCO captions files; see the module docstring.

    >>> s = load_coco(parse_spec("coco:annotations/captions_val2014.json,images=val2014"))  # doctest: +SKIP
    >>> s.train[0]  # doctest: +SKIP
    ('val2014/COCO_val2014_000000391895.jpg', ('A man with a red helmet on a small moped on a dirt road.', ...))
    """
    check_parts(spec, (*PART_NAMES, *IMAGE_DIR_PARTS, "bad_rows"))
    skips = Skips(bad_rows_option(spec), spec.text)
    folders = _image_dirs(spec)
    dropped = {"images": 0, "captions": 0}
    read = read_parts(spec, lambda path, _: read_coco_json(path, folders[path], spec.text, skips, dropped))

    # Every file of every part, checked in one parallel pass before anything is split or trained.
    everything = [image for images in read.values() for image in images]
    bad = {id(image): problem for image, problem in zip(everything, check_image_files([i.path for i in everything]),
                                                        strict=True) if problem is not None}
    for image in everything:
        if id(image) in bad:
            dropped["images"] += 1
            dropped["captions"] += len(image.captions)
            skips.fail(f"{spec.text}: {image.describe()}: {bad[id(image)]}", image.path)
    read = {part: [image for image in images if id(image) not in bad] for part, images in read.items()}
    for part, images in read.items():
        if not images:
            source = spec.parts.get(part, spec.target)
            first = next(iter(skips.entries.values()), {}).get("reason")
            raise DataError(f"{spec.text}: no usable images in {source}"
                            + (f" (bad_rows=skip left out every one; the first: {first})" if first else ""))
    parts = assemble(spec, read, _by_name)
    images = {name: len(parts[name]) for name in PART_NAMES}
    captions = {name: sum(len(image.captions) for image in parts[name]) for name in PART_NAMES}
    info: dict[str, Any] = {
        "description": f"{sum(images.values())} images with {sum(captions.values())} captions from {spec.text}",
        "images": images, "captions": captions}
    report = skips.report(spec, "bad image(s) or annotation(s)")
    if report:
        info.update(report)
        info["skipped"] = dropped
    return Splits(*([(image.path, tuple(image.captions)) for image in parts[name]] for name in PART_NAMES),
                  source=spec.text, info=info)
