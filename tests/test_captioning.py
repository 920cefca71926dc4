"""Captioning: compiled decoding equals the reference loop (step parity: test_decode_step.py),
scores on hand-worked cases, the built-in set, a trained model against the blind control, export
from image bytes without zoo, the command line, frozen-backbone features cached on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from keras import ops

import zoo
from zoo.data import parse_spec
from zoo.data.builtin_captioning import captions_for, load_builtin_captioning, make_scene
from zoo.decoding import reference_beam, reference_greedy
from zoo.errors import DataError, HyperparameterError
from zoo.tasks.captioning import caption_scores, make_captioner

ENTRIES = zoo.list_models(task="captioning")
TRAIN_DATA = "builtin:shapes"
ZOO = [sys.executable, "-m", "zoo.cli"]


@pytest.fixture(scope="module")
def shapes_run(trained):
    """captioning/show_and_tell trained once on a CI-sized builtin:shapes (the session's cache of runs)."""
    return trained("captioning/show_and_tell", TRAIN_DATA, epochs=20)


def _small(name, **overrides):
    if name != "captioning/blind":
        overrides = {"encoder_filters": 8, "encoder_blocks": 2, **overrides}
    return zoo.build(name, vocab_size=30, image_size=16, caption_length=9, units=32, **overrides)


@pytest.mark.parametrize("name", ENTRIES)
def test_only_the_blind_control_ignores_the_image(name):
    model = _small(name)
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    decoder = np.tile(np.array([[2, 5, 6, 7]], "int32"), (2, 1))
    logits = ops.convert_to_numpy(model({"image": images, "decoder_ids": decoder}))
    differ = np.abs(logits[0] - logits[1]).max()
    if name == "captioning/blind":
        assert differ == 0
    else:
        assert differ > 1e-4


@pytest.mark.parametrize("image_size", [48, 20])
def test_every_declared_encoder_depth_builds_for_a_side_that_does_not_halve_evenly(image_size):
    """A search draws encoder_blocks from the declared range whatever the image size: an odd side rounds up."""
    declared = zoo.get("captioning/attention").space()["encoder_blocks"]
    for blocks in range(declared.min_value, declared.max_value + 1):
        model = zoo.build("captioning/attention", vocab_size=30, image_size=image_size, caption_length=9, units=32,
                          encoder_filters=8, encoder_blocks=blocks)
        images = np.random.default_rng(0).uniform(0, 1, (2, image_size, image_size, 3)).astype("float32")
        side = image_size
        for _ in range(blocks):
            side = -(-side // 2)
        assert tuple(model.encode_images(images).shape[1:3]) == (side, side), (image_size, blocks)
        logits = ops.convert_to_numpy(model({"image": images, "decoder_ids": np.ones((2, 3), "int32")}))
        assert logits.shape == (2, 3, 30) and np.isfinite(logits).all()


def test_scores_on_hand_worked_cases():
    refs = [["a red circle", "there is a red circle"], ["a blue square to the left of a red circle"]]
    perfect = caption_scores(["there is a red circle", "a blue square to the left of a red circle"], refs)
    assert perfect["exact_match"] == 1.0 and all(perfect[f"bleu{n}"] == pytest.approx(100) for n in range(1, 5))
    # One word wrong in the 9-word caption: its 4-grams over the word are lost, unigrams mostly kept.
    wrong = caption_scores(["a red circle", "a blue square to the left of a red square"], refs)
    assert wrong["exact_match"] == 0.5
    assert wrong["bleu1"] > wrong["bleu2"] > wrong["bleu3"] > wrong["bleu4"]
    assert wrong["bleu1"] == pytest.approx(100 * 12 / 13)  # 12 of 13 words match a reference; same lengths
    # Whitespace aside, equal means equal.
    assert caption_scores(["  a red   circle "], [["a red circle"]])["exact_match"] == 1.0


def test_builtin_shapes_is_seeded_and_captions_describe_the_scene():
    image, shapes = make_scene(0, 7)
    again, same = make_scene(0, 7)
    np.testing.assert_array_equal(image, again)
    assert shapes == same and image.dtype == np.uint8 and image.shape == (48, 48, 3)
    assert captions_for([("small", "red", "circle"), ("large", "blue", "square")]) == (
        "a small red circle to the left of a large blue square",
        "a large blue square to the right of a small red circle")
    splits = load_builtin_captioning(parse_spec("builtin:shapes,n=100,seed=3"))
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 100
    # Scene i is the same whatever n: the first 100 of 200 include these.
    bigger = load_builtin_captioning(parse_spec("builtin:shapes,n=200,seed=3"))
    captions = {refs for _, refs in bigger.train + bigger.validation + bigger.test}
    assert all(refs in captions for _, refs in splits.train)
    # The shape named first in the left-to-right phrasing is drawn left of the others: its colour
    # fills the image's left part more than any other shape colour does.
    from zoo.data.builtin_captioning import COLOURS

    for i in range(30):
        image, shapes = make_scene(1, i)
        first, *_ = captions_for(shapes)
        assert first.replace(",", "").split()[1:4] == list(shapes[0]) and len(captions_for(shapes)) == 2
        if len(shapes) > 1 and len({colour for _, colour, _ in shapes}) == len(shapes):
            columns = []
            for _, colour, _ in shapes:
                near = np.abs(image.astype(int) - COLOURS[colour]).max(axis=-1) < 40
                columns.append(np.nonzero(near.any(axis=0))[0].mean())
            assert columns == sorted(columns), (i, shapes)
    for bad, message in [("builtin:shapes,n=5", "n must be from"), ("builtin:shapes,size=x", "integer"),
                         ("builtin:circles", "unknown built-in set"), ("builtin:shapes,colours=2", "unknown option")]:
        with pytest.raises(DataError, match=message):
            load_builtin_captioning(parse_spec(bad))


@pytest.mark.slow
def test_show_and_tell_learns_the_scenes_and_beats_the_blind_control(shapes_run, tmp_path):
    """The default data, 20 epochs (the defaults allow 30); the README's figures come from the defaults."""
    test = shapes_run.metrics["test"]
    assert test["bleu4"] >= 80 and test["exact_match"] >= 0.55, test
    blind = zoo.train("captioning/blind", TRAIN_DATA, str(tmp_path / "blind"), epochs=3, verbose=0)
    assert blind.metrics["test"]["bleu4"] < test["bleu4"] - 30
    assert blind.metrics["test"]["exact_match"] < 0.1


@pytest.mark.slow
def test_compiled_decoding_equals_the_reference_loop(shapes_run):
    model, pre = shapes_run.model, shapes_run.preprocessor
    images = pre.images([image for image, _ in shapes_run.task.load_data(TRAIN_DATA).test[:10]], "test")
    inputs = {"image": ops.convert_to_tensor(images)}
    state = model.initial_decoding_state(inputs)
    compiled = np.asarray(make_captioner(model, pre)(inputs))

    def step(tokens, s):
        logits, new = model.decode_step(ops.convert_to_tensor(tokens), s)
        return ops.convert_to_numpy(logits), new

    start, end, length = pre.tokenizer.start_id, pre.tokenizer.end_id, pre.caption_length
    np.testing.assert_array_equal(compiled, reference_greedy(step, state, start, end, length))
    beam = np.asarray(make_captioner(model, pre, beam_width=3)(inputs))
    np.testing.assert_array_equal(beam, reference_beam(step, state, start, end, length, beam_width=3)[0])
    np.testing.assert_array_equal(np.asarray(make_captioner(model, pre, beam_width=1)(inputs)), compiled)


def _image_files(run, directory, count=3):
    """Test images written as PNG and JPEG files."""
    import tensorflow as tf

    paths = []
    for i, (image, _) in enumerate(run.task.load_data(TRAIN_DATA).test[:count]):
        if i % 2:
            path, data = os.path.join(directory, f"scene{i}.jpg"), tf.io.encode_jpeg(image, quality=95)
        else:
            path, data = os.path.join(directory, f"scene{i}.png"), tf.io.encode_png(image)
        with open(path, "wb") as f:
            f.write(data.numpy())
        paths.append(path)
    return paths


@pytest.mark.slow
def test_export_captions_image_bytes_in_a_process_without_zoo(shapes_run, tmp_path):
    export = zoo.export(shapes_run.path, str(tmp_path / "export"), beam_width=3)
    paths = _image_files(shapes_run, str(tmp_path))
    expected = [p["caption"] for p in zoo.predict(shapes_run.path, paths)]
    expected_beam = [p["caption"] for p in zoo.predict(shapes_run.path, paths, beam_width=3)]
    code = textwrap.dedent("""
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load(sys.argv[1])
        images = tf.constant([open(p, "rb").read() for p in json.loads(sys.argv[2])])
        out = {k: [c.decode() for c in getattr(loaded, k)(images)["caption"].numpy()]
               for k in ("serve", "caption", "caption_beam")}
        print(json.dumps({**out, "zoo": "zoo" in sys.modules}))
    """)
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", code, export, json.dumps(paths)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not result["zoo"]
    assert result["serve"] == result["caption"] == expected
    assert result["caption_beam"] == expected_beam
    assert [p["caption"] for p in zoo.predict(export, paths)] == expected
    with pytest.raises(HyperparameterError, match=r"beam width 1 .* or 3"):
        zoo.predict(export, paths, beam_width=2)
    # Seeded sampling: the export's caption_sample endpoint gives the run's captions.
    sampled = [p["caption"] for p in zoo.predict(shapes_run.path, paths, temperature=1.5, top_k=5, seed=2)]
    assert [p["caption"] for p in zoo.predict(export, paths, temperature=1.5, top_k=5, seed=2)] == sampled


@pytest.mark.slow
def test_command_line_predict_evaluate_and_bad_input(shapes_run, tmp_path):
    paths = _image_files(shapes_run, str(tmp_path), count=2)
    done = subprocess.run([*ZOO, "predict", shapes_run.path, *paths, "--beam-width", "2", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [p["input"] for p in predictions] == paths and all(p["caption"] for p in predictions)
    sampled = subprocess.run([*ZOO, "predict", shapes_run.path, *paths, "--temperature", "2", "--seed", "4",
                              "--json"], capture_output=True, text=True, timeout=300)
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    expected = shapes_run.predict(paths, temperature=2.0, seed=4)
    assert [json.loads(line)["caption"] for line in sampled.stdout.splitlines() if line.strip()] == \
        [p["caption"] for p in expected]
    # Every seed gives the same captions again; a hot enough temperature leaves the greedy ones.
    assert shapes_run.predict(paths, temperature=2.0, seed=4) == expected
    greedy = [p["caption"] for p in shapes_run.predict(paths)]
    assert any([p["caption"] for p in shapes_run.predict(paths, temperature=5.0, seed=s)] != greedy for s in range(3))
    conflict = subprocess.run([*ZOO, "predict", shapes_run.path, paths[0], "--beam-width", "3", "--temperature",
                               "0.5"], capture_output=True, text=True, timeout=300)
    assert conflict.returncode == 2 and "beam_width (--beam-width) 3 searches" in conflict.stderr
    missing = subprocess.run([*ZOO, "predict", shapes_run.path, str(tmp_path / "nope.png")], capture_output=True,
                             text=True, timeout=300)
    assert missing.returncode == 2 and "nope.png" in missing.stderr and "Traceback" not in missing.stderr
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    bad = subprocess.run([*ZOO, "predict", shapes_run.path, str(broken)], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "broken.jpg" in bad.stderr and "Traceback" not in bad.stderr
    scores = zoo.evaluate(shapes_run.path, "builtin:shapes,n=100")
    assert set(scores) >= {"bleu1", "bleu2", "bleu3", "bleu4", "exact_match", "loss", "examples"}


@pytest.mark.slow
def test_tuning_on_val_bleu4(tmp_path):
    result = zoo.tune("captioning/merge", "builtin:shapes,n=150", str(tmp_path / "search"), max_trials=2, epochs=1,
                      space={"units": [32, 64]}, overrides={"encoder_filters": 8}, final_fit=True, verbose=0,
                      tensorboard=False)
    assert result.objective == "val_bleu4" and result.direction == "max"
    assert result.trials and all(t["status"] == "COMPLETED" for t in result.trials)
    assert all(0 <= t["score"] <= 100 for t in result.trials)
    preset = json.load(open(result.preset_path))
    assert preset["objective"] == "val_bleu4" and preset["hyperparameters"]["units"] in (32, 64)
    assert set(result.final["test"]) >= {"bleu1", "bleu4", "exact_match"}


def test_tuning_experiment_file_is_valid():
    from zoo.tuning import load_config

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    config = load_config(os.path.join(root, "experiments", "tune_captioning_shapes.toml"))
    spec = zoo.get(config["entry"])
    known = set(spec.space()) | set(spec.task.preprocessing_options)
    assert set(config.get("set", {})) | set(config.get("space", {})) <= known
    assert config["objective"] in spec.task.objectives


@pytest.mark.slow
def test_frozen_backbone_features_are_cached_and_the_run_needs_no_weights_file(tmp_path, monkeypatch):
    import keras

    backbone = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights = tmp_path / "mobilenet.weights.h5"
    backbone.save_weights(str(weights))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    data = "builtin:shapes,n=60"
    overrides = {"encoder": "mobilenet_v3_small", "encoder_weights": str(weights), "image_size": 32, "units": 32}
    run = zoo.train("captioning/merge", data, str(tmp_path / "run"), epochs=1, overrides=overrides, verbose=0)
    cached = sorted(os.listdir(tmp_path / "cache"))
    assert cached and all(name.startswith("mobilenet_v3_small-") for name in cached)
    stamps = {name: os.stat(tmp_path / "cache" / name).st_mtime_ns for name in cached}
    # The backbone holds the file's weights and kept them through training.
    assert run.model.backbone.weights and not run.model.backbone.trainable_weights
    for trained, original in zip(run.model.backbone.get_weights(), backbone.get_weights(), strict=True):
        np.testing.assert_array_equal(trained, original)
    # Asked again for the training images (as the next epoch or tuning trial would be), the cache answers:
    # the backbone is not run, and no file is written.
    from zoo.tasks.captioning import backbone_features

    train_images = [image for image, _ in run.task.load_data(data).train]
    monkeypatch.setattr(run.model, "encode_images", lambda *a, **k: pytest.fail("features recomputed"))
    features = backbone_features(run.model, run.preprocessor, train_images, "train")
    assert features.shape[0] == len(train_images) and features.ndim == 4
    assert {n: os.stat(tmp_path / "cache" / n).st_mtime_ns for n in cached} == stamps
    assert sorted(os.listdir(tmp_path / "cache")) == cached
    monkeypatch.undo()
    weights.unlink()  # the run keeps the backbone: nothing else is needed from here on
    images = [image for image, _ in run.task.load_data(data).test[:2]]
    expected = [p["caption"] for p in run.predict(images)]
    assert [p["caption"] for p in zoo.load(run.path).predict(images)] == expected
    export = zoo.export(run.path, str(tmp_path / "export"))
    assert [p["caption"] for p in zoo.predict(export, images)] == expected
    with pytest.raises(HyperparameterError, match="encoder_weights"):
        zoo.build("captioning/merge", encoder="resnet50")
