"""Captioning data: the image rule (zoo.data.images), COCO captions files and TFDS caption sets."""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

import zoo
from zoo.data import parse_spec
from zoo.data.coco import load_coco
from zoo.data.images import check_image_file, load_images, tf_array_resize, tf_decode_resize
from zoo.data.tfds_captioning import load_tfds_captioning, resolve_caption_keys, resolve_caption_splits

COLOURS = np.array([(200, 30, 40), (20, 180, 60), (30, 40, 220), (240, 240, 240)], np.uint8)


def _blocks(size: int = 16, block: int = 8) -> np.ndarray:
    """Solid 8x8 blocks of four colours: JPEG keeps them nearly exact."""
    cells = np.arange((size // block) ** 2).reshape(size // block, size // block) % len(COLOURS)
    return COLOURS[np.kron(cells, np.ones((block, block), int))]


def _save(path, image: Image.Image, fmt: str, **options) -> str:
    image.save(path, fmt, **options)
    return str(path)


# ---------------------------------------------------------------------------
# Images: every mode becomes RGB; training pixels == serving pixels
# ---------------------------------------------------------------------------

def _mode_files(tmp_path) -> dict[str, tuple[str, np.ndarray, int]]:
    """``{case: (path, expected RGB uint8, tolerance)}``, each written with Pillow (16-bit RGB with TF)."""
    rgb = _blocks()
    grey = rgb[..., 0]
    alpha = np.where(np.indices(grey.shape).sum(0) % 2, 255, 0).astype(np.uint8)  # transparent half
    deep = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 257 + 128)  # 16-bit: high byte is the index
    palette = Image.fromarray(rgb).quantize(colors=4)
    palette.info["transparency"] = 0
    files = {
        "png": (_save(tmp_path / "rgb.png", Image.fromarray(rgb), "PNG"), rgb, 0),
        "jpeg": (_save(tmp_path / "rgb.jpg", Image.fromarray(rgb), "JPEG", quality=95, subsampling=0), rgb, 3),
        "grey png": (_save(tmp_path / "grey.png", Image.fromarray(grey), "PNG"), np.stack([grey] * 3, -1), 0),
        "grey jpeg": (_save(tmp_path / "grey.jpg", Image.fromarray(grey), "JPEG", quality=95),
                      np.stack([grey] * 3, -1), 3),
        "grey+alpha png": (_save(tmp_path / "la.png", Image.fromarray(np.dstack([grey, alpha]), "LA"), "PNG"),
                           np.stack([grey] * 3, -1), 0),
        "rgba png": (_save(tmp_path / "rgba.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "PNG"), rgb, 0),
        "palette png": (_save(tmp_path / "p.png", palette, "PNG", transparency=0), rgb, 0),
        "16-bit grey png": (_save(tmp_path / "i16.png", Image.fromarray(deep), "PNG"),
                            np.stack([(deep >> 8).astype(np.uint8)] * 3, -1), 0),
        "cmyk jpeg": (_save(tmp_path / "cmyk.jpg", Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95,
                            subsampling=0), rgb, 3),
        "gif": (_save(tmp_path / "p.gif", Image.fromarray(rgb).quantize(colors=4), "GIF"), rgb, 0),
        # TF's GIF decoder leaves transparent pixels black (documented in zoo.data.images).
        "transparent gif": (_save(tmp_path / "t.gif", palette, "GIF", transparency=0),
                            np.where((np.asarray(palette) == 0)[..., None], 0, rgb).astype(np.uint8), 0),
        "bmp": (_save(tmp_path / "rgb.bmp", Image.fromarray(rgb), "BMP"), rgb, 0),
    }
    deep_rgb = np.stack([deep, deep[::-1], deep.T], -1)
    path = str(tmp_path / "rgb16.png")
    tf.io.write_file(path, tf.io.encode_png(deep_rgb))
    files["16-bit rgb png"] = (path, (deep_rgb >> 8).astype(np.uint8), 0)
    assert Image.open(files["16-bit grey png"][0]).mode == "I;16"
    assert Image.open(files["cmyk jpeg"][0]).mode == "CMYK" and Image.open(files["palette png"][0]).mode == "P"
    return files


def test_every_mode_decodes_to_its_rgb_pixels(tmp_path):
    files = _mode_files(tmp_path)
    # At the file's own size the resize is the identity: the pixels are the decoded ones / 255.
    loaded = load_images([path for path, _, _ in files.values()], 16, "test")
    assert loaded.dtype == np.float32 and loaded.shape == (len(files), 16, 16, 3)
    for (case, (_, expected, tolerance)), pixels in zip(files.items(), loaded, strict=True):
        error = np.abs(pixels * 255 - expected.astype(np.float32)).max()
        assert error <= tolerance + 1e-3, f"{case}: off by {error}"
    # An array gives the pixels of its lossless PNG, whatever its channels.
    arrays = [_blocks(), _blocks()[..., :1], np.dstack([_blocks(), np.zeros((16, 16, 1), np.uint8)])]
    from_arrays = load_images(arrays, 16, "test")
    np.testing.assert_allclose(from_arrays, loaded[[0, 2, 0]], atol=1e-6)  # rgb, grey, rgba


def test_resizing_rule_and_training_equals_serving(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((30, 50, 3), (61, 17, 3), (12, 12, 3))]
    paths = [_save(tmp_path / "a.png", Image.fromarray(images[0]), "PNG"),
             _save(tmp_path / "b.jpg", Image.fromarray(images[1]), "JPEG", quality=90),
             _save(tmp_path / "c.png", Image.fromarray(images[2]), "PNG")]
    mixed = [paths[0], images[1], paths[1], images[2], paths[2]]
    training = load_images(mixed, 24, "test")
    assert training.shape == (5, 24, 24, 3) and 0 <= training.min() and training.max() <= 1

    # The serving side: a SavedModel signature over a batch of encoded strings.
    class Serving(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def pixels(self, blobs):
            return tf.map_fn(lambda b: tf_decode_resize(b, 24), blobs, fn_output_signature=tf.float32)

    tf.saved_model.save(Serving(), str(tmp_path / "model"))
    served = tf.saved_model.load(str(tmp_path / "model")).pixels(
        tf.constant([open(p, "rb").read() for p in paths])).numpy()
    np.testing.assert_allclose(training[[0, 2, 4]], served, atol=1e-6)
    # Arrays: the same as their lossless PNG, one by one or in a batch.
    png = [tf.io.encode_png(a) for a in images]
    np.testing.assert_allclose(training[[1, 3]], np.stack([tf_decode_resize(png[1], 24),
                                                           tf_decode_resize(png[2], 24)]), atol=1e-6)
    np.testing.assert_allclose(tf_array_resize(np.stack([images[2]] * 2), 24)[1], training[3], atol=1e-6)
    np.testing.assert_allclose(training[0], tf_decode_resize(png[0], 24), atol=1e-6)
    # Plain resize to a square, aspect not kept: a left-dark, right-bright image stays so.
    half = np.zeros((20, 80, 3), np.uint8)
    half[:, 40:] = 255
    square = load_images([half], 10, "test")[0]
    assert square[:, :4].max() == 0 and square[:, 6:].min() == 1 and 0 < square[0, 5, 0] < 1
    assert np.allclose(square, square[:1])  # every row alike: nothing cropped or padded


def test_bad_images_name_the_file(tmp_path):
    good = _save(tmp_path / "good.png", Image.fromarray(_blocks()), "PNG")
    buffer = io.BytesIO()
    Image.fromarray(_blocks(64)).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    cases = {"missing.jpg": r"file not found: .*missing\.jpg",
             "cut.jpg": r"cannot decode .*cut\.jpg as an image \(JPEG, PNG, GIF, BMP or WebP\): .*Invalid JPEG",
             "text.jpg": r"cannot decode .*text\.jpg as an image .*Unknown image file format",
             "empty.png": r".*empty\.png is empty",
             ".": r".* is a directory, not an image file"}
    assert check_image_file(good) is None
    for name, pattern in cases.items():
        path = str(tmp_path / name)
        assert re.search(pattern, check_image_file(path)), name
        with pytest.raises(zoo.DataError, match=r"^my-spec: " + pattern):
            load_images([good] * 300 + [path, good], 8, "my-spec")  # found after a whole batch of good ones
    for bad, pattern in [(np.zeros((4, 4, 3), np.float32), r"image 1 holds float32; image arrays are uint8"),
                         (np.zeros((4, 4), np.uint8), r"image 1 has shape \(4, 4\); image arrays are \[H, W, 3\]"),
                         (np.zeros((4, 4, 2), np.uint8), r"image 1 has shape \(4, 4, 2\)"),
                         (b"bytes", r"image 1 is a bytes; give a uint8 array \[H, W, 3\] or a file path")]:
        with pytest.raises(zoo.DataError, match=r"^my-spec: " + pattern):
            load_images([good, bad], 8, "my-spec")
    with pytest.raises(zoo.DataError, match=r"image size must be a positive integer, got 0"):
        load_images([good], 0, "my-spec")


# ---------------------------------------------------------------------------
# COCO captions files
# ---------------------------------------------------------------------------

def _coco(folder, count=30, kinds=("png", "jpg")) -> dict:
    """Images 0..count-1 in ``folder`` and their COCO dict: image i has 1 + i % 4 captions."""
    os.makedirs(folder, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        name = f"img{i:03d}.{kinds[i % len(kinds)]}"
        Image.fromarray(np.full((6 + i % 3, 8, 3), i * 8, np.uint8)).save(os.path.join(folder, name))
        images.append({"id": 1000 + i, "file_name": name, "width": 8, "height": 6 + i % 3})
    for k in range(4):  # annotations of one image are scattered through the list, as in COCO
        for i in range(count):
            if k <= i % 4:
                annotations.append({"id": len(annotations), "image_id": 1000 + i,
                                    "caption": f"  Picture {i},\n caption  {k}. "})
    return {"info": {}, "licenses": [], "images": images, "annotations": annotations}


def _write_json(path, data) -> str:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return str(path)


def test_coco_single_file_keeps_every_caption_and_splits_by_image(tmp_path):
    ann = _write_json(tmp_path / "captions.json", _coco(tmp_path))
    s = load_coco(parse_spec(f"coco:{ann}"))
    everything = s.get("all")
    assert len(everything) == 30 and len({path for path, _ in everything}) == 30
    for path, captions in everything:
        i = int(os.path.basename(path)[3:6])
        assert path == os.path.join(str(tmp_path), os.path.basename(path)) and os.path.isfile(path)
        assert captions == tuple(f"Picture {i}, caption {k}." for k in range(1 + i % 4))
    assert s.train and s.validation and s.test and len(s.train) > len(s.test)
    # Stable: the same images land in the same split, in the order of 'images'.
    again = load_coco(parse_spec(f"coco:{ann},images={tmp_path}"))
    assert again.test == s.test and again.train == s.train
    assert [p for p, _ in s.train] == sorted(p for p, _ in s.train)
    assert s.info["images"] == {"train": len(s.train), "validation": len(s.validation), "test": len(s.test)}
    assert sum(s.info["captions"].values()) == sum(1 + i % 4 for i in range(30)) == 73
    assert "skipped_rows" not in s.info and s.info["description"].startswith("30 images with 73 captions")
    # The paths decode: what load_images gets from the examples.
    assert load_images([p for p, _ in s.test], 8, "test").shape == (len(s.test), 8, 8, 3)


def test_coco_named_parts_and_image_folders(tmp_path):
    train = _coco(tmp_path / "train2014", 20)
    test = _coco(tmp_path / "val2014", 5)
    os.makedirs(tmp_path / "annotations")
    a = _write_json(tmp_path / "annotations" / "train.json", train)
    b = _write_json(tmp_path / "annotations" / "val.json", test)
    s = load_coco(parse_spec(f"coco:train={a},test={b},train_images={tmp_path / 'train2014'},"
                             f"test_images={tmp_path / 'val2014'}"))
    assert len(s.test) == 5 and all("val2014" in p for p, _ in s.test)
    assert len(s.train) + len(s.validation) == 20 and s.validation and all("train2014" in p for p, _ in s.train)
    c = _write_json(tmp_path / "annotations" / "val2.json", _coco(tmp_path / "val2014", 5))
    s = load_coco(parse_spec(f"coco:train={a},validation={c},images={tmp_path / 'train2014'},"
                             f"test_images={tmp_path / 'val2014'},test={b}"))
    assert (len(s.train), len(s.validation), len(s.test)) == (20, 5, 5)
    spec_errors = {
        f"coco:{a},test={b}": r"give one file or named parts \(train=FILE,test=FILE\), not both",
        f"coco:test={b}": r"names no train part \(train=FILE\)",
        f"coco:{a},train_images={tmp_path}": r"train_images= goes with named parts \(train=FILE\)",
        f"coco:train={a},validation_images={tmp_path}": r"validation_images= is given but no validation=FILE",
        f"coco:{a},images={tmp_path / 'nowhere'}": r"images=.*nowhere: directory not found",
        f"coco:{a},photos=x": r"unknown part 'photos'; allowed: train, validation, test, images, train_images",
        f"coco:{a},bad_rows=drop": r"bad_rows must be 'error' or 'skip', not 'drop'",
        f"coco:{tmp_path / 'none.json'}": r"file not found: .*none\.json",
    }
    for spec, pattern in spec_errors.items():
        with pytest.raises(zoo.DataError, match=pattern):
            load_coco(parse_spec(spec))
    # Images looked for beside the JSON by default: here they are not.
    with pytest.raises(zoo.DataError, match=r"train\.json image 1000 \(img000\.png\): file not found: "
                                            r".*annotations.img000\.png"):
        load_coco(parse_spec(f"coco:{a}"))


def _break(data: dict, folder, case: str) -> dict:
    if case == "unknown image":
        data["annotations"].insert(3, {"id": 555, "image_id": 4242, "caption": "A ghost."})
    elif case == "empty caption":
        data["annotations"][5]["caption"] = " \n "  # image 1005 has two captions: it keeps one
    elif case == "no captions":
        data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 1004]
    elif case == "missing file":
        os.remove(os.path.join(folder, "img006.png"))
    elif case == "corrupt file":
        with open(os.path.join(folder, "img007.jpg"), "r+b") as f:
            f.truncate(100)
    return data


BAD_DATA = {
    # case: (message, images left out, captions left out, captions kept of 73)
    "unknown image": (r"captions\.json annotations\[3\] \(id 555\): image_id 4242 is not in 'images'", 0, 1, 73),
    "empty caption": (r"captions\.json annotations\[5\] \(id 5\): empty caption for image 1005 \(img005\.jpg\)",
                      0, 1, 72),
    "no captions": (r"captions\.json image 1004 \(img004\.png\) has no captions \(no non-empty caption in "
                    r"'annotations' names image_id 1004\)", 1, 0, 72),
    "missing file": (r"captions\.json image 1006 \(img006\.png\): file not found: .*img006\.png", 1, 3, 70),
    "corrupt file": (r"captions\.json image 1007 \(img007\.jpg\): cannot decode .*img007\.jpg as an image",
                     1, 4, 69),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_coco_bad_data_errors_or_is_skipped_and_counted(tmp_path, case):
    pattern, images, captions, kept = BAD_DATA[case]
    ann = _write_json(tmp_path / "captions.json", _break(_coco(tmp_path), tmp_path, case))
    with pytest.raises(zoo.DataError, match=r"^coco:.*captions\.json: .*" + pattern):
        load_coco(parse_spec(f"coco:{ann}"))
    with pytest.warns(UserWarning, match=r"skipped 1 bad image\(s\) or annotation\(s\) \(bad_rows=skip\)"):
        s = load_coco(parse_spec(f"coco:{ann},bad_rows=skip"))
    assert s.info["skipped"] == {"images": images, "captions": captions}
    (path, entry), = s.info["skipped_rows"].items()
    assert entry["count"] == 1 and re.search(pattern, f"{ann}: {entry['reason']}")
    assert path.endswith("captions.json" if case in ("unknown image", "empty caption", "no captions") else
                         ("img006.png" if case == "missing file" else "img007.jpg"))
    everything = dict(s.get("all"))
    assert len(everything) == 30 - images and sum(map(len, everything.values())) == kept
    assert all(captions and all(captions) for captions in everything.values())


MALFORMED = {
    "{\"images\": [": r"line 1 column 13: not valid JSON \(Expecting value\)",
    "[1, 2]": r"holds a list, not an object with 'images' and 'annotations'",
    '{"images": []}': r"has no 'annotations' \(an image_info_test file lists images without captions\)",
    '{"images": {}, "annotations": []}': r"'images' is an object, not a list",
    '{"images": [7], "annotations": []}': r"images\[0\] is a number, not an object with 'id' and 'file_name'",
    '{"images": [{"id": 1}], "annotations": []}': r"images\[0\] has no 'file_name'",
    '{"images": [{"id": 1.5, "file_name": "a.png"}], "annotations": []}':
        r"images\[0\]: 'id' is 1.5 \(a number\); ids are integers or non-empty strings",
    '{"images": [{"id": true, "file_name": "a.png"}], "annotations": []}': r"'id' is true \(true/false\)",
    '{"images": [{"id": 1, "file_name": 5}], "annotations": []}': r"images\[0\] \(id 1\): 'file_name' is 5",
    '{"images": [{"id": 1, "file_name": "a.png"}, {"id": "1", "file_name": "b.png"}], "annotations": []}':
        r"images\[1\]: image id '1' is given twice \(a\.png and b\.png\); ids must be unique",
    '{"images": [], "annotations": [{"id": 3, "image_id": 1, "bbox": [0, 0, 1, 1]}]}':
        r"annotations\[0\] has no 'caption' \(it has 'bbox': this is an instances file",
    '{"images": [], "annotations": [{"image_id": null, "caption": "x"}]}':
        r"annotations\[0\]: 'image_id' is null \(null\)",
    '{"images": [], "annotations": [{"image_id": 1, "caption": ["x"]}]}':
        r"annotations\[0\]: 'caption' is \[\"x\"\] \(a list\), not a string",
}


def test_coco_malformed_json_names_file_and_problem(tmp_path):
    path = tmp_path / "captions.json"
    for text, pattern in MALFORMED.items():
        path.write_text(text)
        for bad_rows in ("error", "skip"):
            with pytest.raises(zoo.DataError, match=r"captions\.json.*" + pattern):
                load_coco(parse_spec(f"coco:{path},bad_rows={bad_rows}"))
    # String ids are fine, and "5" names image 5.
    data = {"images": [{"id": f"p{i}", "file_name": f"img{i:03d}.png"} for i in range(30)],
            "annotations": [{"image_id": f"p{i}", "caption": "A dot."} for i in range(30)]}
    _coco(tmp_path, 30, ("png",))
    assert len(load_coco(parse_spec(f"coco:{_write_json(path, data)}")).get("all")) == 30


def test_coco_skip_that_leaves_nothing_is_an_error(tmp_path):
    data = _coco(tmp_path, 30)
    for a in data["annotations"]:
        a["caption"] = ""
    ann = _write_json(tmp_path / "captions.json", data)
    with pytest.raises(zoo.DataError, match=r"no usable images in .*captions\.json \(bad_rows=skip left out "
                                            r"every one; the first: .*annotations\[0\] \(id 0\): empty caption"):
        load_coco(parse_spec(f"coco:{ann},bad_rows=skip"))


# ---------------------------------------------------------------------------
# TFDS caption sets
# ---------------------------------------------------------------------------

class ZooFakeCaptions(tfds.core.GeneratorBasedBuilder):
    """A stand-in caption set with grey images and captions in a Sequence of dicts."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 1)),
            "captions": tfds.features.Sequence({"id": np.int64, "text": tfds.features.Text()}),
            "image/filename": tfds.features.Text(),
        }))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        yield from ()


def _fake_split(self, split, **kwargs):
    """Example i: a 5x(4 + i % 3) grey image of value i (100 + i for test), captions "Shape i, take k."
    for k < 1 + i % 3, the last of them blank when i % 5 == 0; example 7 has one empty caption."""
    offset = 100 if split == "test" else 0

    def generate():
        for i in range(20):
            texts = [f" Shape {i},\ttake {k}. " for k in range(1 + i % 3)]
            if i % 5 == 0:
                texts[-1] = "  "
            if i == 7:
                texts = [""]
            yield {"image": np.full((5, 4 + i % 3, 1), i + offset, np.uint8), "image/filename": f"{i}.png",
                   "captions": {"id": np.arange(len(texts)), "text": texts}}

    return tf.data.Dataset.from_generator(generate, output_signature={
        "image": tf.TensorSpec((None, None, 1), tf.uint8), "image/filename": tf.TensorSpec((), tf.string),
        "captions": {"id": tf.TensorSpec((None,), tf.int64), "text": tf.TensorSpec((None,), tf.string)}})


def test_tfds_captioning_offline_with_mock_data():
    with tfds.testing.mock_data(as_dataset_fn=_fake_split):
        s = load_tfds_captioning(parse_spec("tfds:zoo_fake_captions"))
    assert (s.info["image_key"], s.info["captions_key"]) == ("image", "captions/text")
    assert s.info["splits"] == {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}
    # Per 20 examples: blanks in 0, 5, 10, 15 and 7; 0, 7 and 15 have no caption left.
    # The mock gives every split (train[:90%] too) all 20 examples.
    assert s.info["images_without_captions_dropped"] == {"train": 3, "validation": 3, "test": 3}
    assert s.info["empty_captions_dropped"] == {"train": 5, "validation": 5, "test": 5}
    assert len(s.test) == len(s.validation) == len(s.train) == 17
    for image, captions in s.get("all"):
        i = int(image[0, 0, 0]) % 100
        assert image.dtype == np.uint8 and image.shape == (5, 4 + i % 3, 3) and (image == image[0, 0, 0]).all()
        assert captions == tuple(f"Shape {i}, take {k}." for k in range(1 + i % 3 - (i % 5 == 0)))
    assert all(image[0, 0, 0] >= 100 for image, _ in s.test)
    # The catalog's coco_captions, with random mock data: its features are found by the rules.
    with tfds.testing.mock_data(num_examples=4):
        s = load_tfds_captioning(parse_spec("tfds:coco_captions,validation=test"))
    assert (s.info["image_key"], s.info["captions_key"]) == ("image", "captions/text")
    assert all(image.ndim == 3 and image.shape[-1] == 3 and captions for image, captions in s.get("all"))
    with tfds.testing.mock_data(num_examples=4), pytest.raises(zoo.DataError, match=r"unknown part 'text'"):
        load_tfds_captioning(parse_spec("tfds:coco_captions,text=x"))
    with pytest.raises(zoo.DataError, match=r"^tfds:zoo_no_such_set: TFDS has no set 'zoo_no_such_set' \(\w+"):
        load_tfds_captioning(parse_spec("tfds:zoo_no_such_set"))
    with pytest.raises(zoo.DataError, match=r"^tfds:image=x: name the set, e.g. tfds:coco_captions"):
        load_tfds_captioning(parse_spec("tfds:image=x"))


def test_tfds_caption_splits_take_val_as_validation():
    coco = ["restval", "test", "train", "val"]  # what coco_captions lists once prepared
    assert resolve_caption_splits(parse_spec("tfds:coco_captions"), coco) == \
        {"train": "train", "validation": "val", "test": "test"}
    assert resolve_caption_splits(parse_spec("tfds:coco_captions,train=train+restval,validation=val[:50%]"),
                                  coco) == {"train": "train+restval", "validation": "val[:50%]", "test": "test"}
    assert resolve_caption_splits(parse_spec("tfds:x"), ["train", "val", "validation", "test"])["validation"] == \
        "validation"
    assert resolve_caption_splits(parse_spec("tfds:x"), ["train", "test"])["validation"] == "train[90%:]"


def test_tfds_caption_feature_resolution():
    f = tfds.features
    image, text = f.Image(shape=(None, None, 3)), f.Text()

    def keys(spec, features):
        return resolve_caption_keys(parse_spec(spec), features)

    assert keys("tfds:x", {"image": image, "caption": text}) == ("image", ["caption"])
    assert keys("tfds:x", {"photo": image, "refs": f.Sequence(text)}) == ("photo", ["refs"])
    assert keys("tfds:x", {"image": image, "image/filename": text, "captions": f.Sequence({"id": np.int64,
                                                                                          "text": text})}) == \
        ("image", ["captions", "text"])
    assert keys("tfds:x", {"image": image, "name": text, "descriptions": f.Sequence(text)}) == \
        ("image", ["descriptions"])
    assert keys("tfds:x", {"image": image, "ann": f.FeaturesDict({"en": f.Sequence(text), "n": np.int64})}) == \
        ("image", ["ann", "en"])
    two = {"image": image, "depth": f.Image(shape=(None, None, 1)), "en": text, "de": text}
    assert keys("tfds:x,captions=de", two) == ("image", ["de"])
    assert keys("tfds:x,image=depth,captions=de", two) == ("depth", ["de"])
    pairs = {"image": image, "c": f.Sequence({"en": text, "de": text})}
    assert keys("tfds:x,captions=c/de", pairs) == ("image", ["c", "de"])
    errors = {
        ("tfds:x", "two"): r"cannot tell which feature holds the captions .*the set has 2 \(en, de\); "
                           r"name it with captions=KEY",
        ("tfds:x", "pairs"): r"cannot tell which feature holds the captions .*the set has none \(features: image "
                             r"\(Image\), c \(Sequence\(\{en: Text, de: Text\}\)\)\)",
        ("tfds:x,captions=c/fr", "pairs"): r"'c/fr' is not a text field of 'c'",
        ("tfds:x,captions=image", "pairs"): r"feature 'image' is Image; captions= names a Text",
        ("tfds:x,captions=nope", "pairs"): r"no feature 'nope'; features: image \(Image\)",
        ("tfds:x,image=en,captions=de", "two"): r"feature 'en' is not an Image; image= names one \(image, depth\)",
    }
    for (spec, which), pattern in errors.items():
        with pytest.raises(zoo.DataError, match=pattern):
            keys(spec, {"two": two, "pairs": pairs}[which])
    with pytest.raises(zoo.DataError, match=r"which feature is the image: the set has 2 \(a, b\) Image features"):
        keys("tfds:x", {"a": image, "b": image, "t": text})
