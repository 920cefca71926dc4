"""Video labeling: masking, streaming, the built-in bar against the per-frame control,
export without zoo, the command line on clip files, tuning."""

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

TASK = zoo.get("video_labeling/bigru").task
SMALL = TASK.smoke_data
BAR = "builtin:moving_shapes,n=600"


@pytest.fixture(scope="module")
def bigru_run(trained):
    """video_labeling/bigru trained with its defaults (the session's cache of runs)."""
    return trained("video_labeling/bigru", BAR)


@pytest.fixture(scope="module")
def lstm_run(trained):
    return trained("video_labeling/lstm", SMALL, epochs=2)


@pytest.mark.parametrize("name, extra", [("video_labeling/lstm", {}), ("video_labeling/bigru", {}),
                                         ("video_labeling/conv_lstm", {}),
                                         ("video_labeling/conv_lstm", {"bidirectional": True}),
                                         ("video_labeling/frame_classifier", {})])
def test_padding_never_changes_a_real_frame(name, extra):
    model = zoo.build(name, num_classes=4, step_shape=[16, 16, 3], units=16, **extra)
    rng = np.random.default_rng(0)
    short = rng.integers(0, 255, size=(5, 16, 16, 3), dtype=np.uint8)
    long = rng.integers(0, 255, size=(9, 16, 16, 3), dtype=np.uint8)
    alone = ops.convert_to_numpy(model({"frames": short[None], "mask": np.ones((1, 5), "float32")}))[0]
    frames = np.zeros((2, 9, 16, 16, 3), np.uint8)
    frames[0, :5], frames[1] = short, long
    frames[0, 5:] = 255  # padding full of garbage must not leak into real frames
    mask = np.zeros((2, 9), "float32")
    mask[0, :5], mask[1] = 1, 1
    batched = ops.convert_to_numpy(model({"frames": frames, "mask": mask}))[0, :5]
    np.testing.assert_allclose(batched, alone, atol=1e-5)


@pytest.mark.slow
def test_streaming_step_equals_the_whole_clip(lstm_run):
    model = lstm_run.model
    clip = TASK.samples()[0]
    whole = ops.convert_to_numpy(model({"frames": clip[None], "mask": np.ones((1, len(clip)), "float32")}))[0]
    state = model.initial_state(clip[:1])
    stepped = []
    for frame in clip:
        probs, state = model.step(frame[None], state)
        stepped.append(ops.convert_to_numpy(probs)[0])
    np.testing.assert_allclose(np.stack(stepped), whole, atol=1e-5)


@pytest.mark.slow
def test_bigru_learns_motion_and_the_control_cannot(bigru_run):
    """Defaults only, on a quarter of the default set (n=600). On the default set (2,400 clips) bigru
    passes the issue's bar of 0.95 (README); on 1,200 clips it stayed at 0.938, the per-frame control 0.437."""
    test = bigru_run.metrics["test"]
    assert test["frame_accuracy"] >= 0.72, test
    assert set(test) >= {"frame_accuracy", "macro_f1", "edit", "f1@10", "f1@25", "f1@50", "loss", "examples"}
    control = zoo.train("video_labeling/frame_classifier", BAR, verbose=0)
    assert control.metrics["test"]["frame_accuracy"] <= test["frame_accuracy"] - 0.15, control.metrics["test"]
    assert len(bigru_run.history["val_edit"]) == len(bigru_run.history["loss"])


@pytest.mark.slow
def test_conv_lstm_learns_motion():
    """Issue 20: defaults only, on n=600 (seed 0 reached 0.919 test frame accuracy there; the old
    raw-pixel ConvLSTM2D with a global average reached 0.473 on the default set, the control 0.435).
    On the default set (2,400 clips) it passes the issue's bar of 0.93 (README, 3 seeds)."""
    run = zoo.train("video_labeling/conv_lstm", BAR, verbose=0)
    assert run.metrics["test"]["frame_accuracy"] >= 0.80, run.metrics["test"]


@pytest.mark.slow
def test_export_serves_clips_and_streams_without_zoo(lstm_run, tmp_path):
    clips = TASK.samples()
    expected = lstm_run.predict(clips)
    export = zoo.export(lstm_run, str(tmp_path / "export"))
    np.save(tmp_path / "clip.npy", clips[0])
    code = textwrap.dedent(f"""
        import json, sys
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(tmp_path / "export")!r})
        clip = np.load({str(tmp_path / "clip.npy")!r})
        out = loaded.serve(tf.constant(clip[None]), tf.constant([len(clip)]))
        state = loaded.initial_state(tf.constant(clip[:1]))
        state = [state[f"state_{{i}}"] for i in range(len(state))]
        streamed = []
        for frame in clip:
            step = loaded.step(tf.constant(frame[None]), *state)
            state = [step[f"state_{{i}}"] for i in range(len(state))]
            streamed.append(step["probabilities"].numpy()[0].tolist())
        print(json.dumps({{"labels": [x.decode() for x in out["label"].numpy()[0]],
                          "probabilities": out["probabilities"].numpy()[0].tolist(), "streamed": streamed,
                          "zoo": "zoo" in sys.modules}}))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["labels"] == expected[0]["labels"] and not result["zoo"]
    np.testing.assert_allclose(result["streamed"], result["probabilities"], atol=1e-5)
    served = zoo.predict(export, clips)
    assert [p["labels"] for p in served] == [p["labels"] for p in expected]


@pytest.mark.slow
def test_cli_predicts_clip_files(lstm_run, tmp_path, capsys):
    from zoo.cli import main

    clip = TASK.samples()[1]
    np.save(tmp_path / "walk.npy", clip)
    code = main(["predict", lstm_run.path, str(tmp_path / "walk.npy"), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    row = json.loads(out.splitlines()[0])
    assert row["input"].endswith("walk.npy") and len(row["labels"]) == len(clip)
    assert main(["predict", lstm_run.path, str(tmp_path / "missing.npy")]) == 2
    (tmp_path / "wrong.npy").write_bytes(b"not numpy")
    assert main(["predict", lstm_run.path, str(tmp_path / "wrong.npy")]) == 2
    np.save(tmp_path / "small.npy", clip[:, :8, :8])
    assert main(["predict", lstm_run.path, str(tmp_path / "small.npy")]) == 2
    err = capsys.readouterr().err
    assert "does not fit this model" in err and "Traceback" not in err


def test_conv_lstm_needs_frames():
    with pytest.raises(zoo.HyperparameterError, match="conv_lstm reads frames"):
        zoo.build("video_labeling/conv_lstm", step_shape=[6])


@pytest.mark.slow
def test_tuning_on_frame_accuracy(tmp_path):
    result = zoo.tune("video_labeling/lstm", SMALL, str(tmp_path / "search"), max_trials=2, epochs=2,
                      space={"units": [16, 32]}, final_fit=True, verbose=0, tensorboard=False)
    assert result.objective == "val_frame_accuracy"
    assert all(t["status"] == "COMPLETED" for t in result.trials)
    assert set(result.final["test"]) >= {"frame_accuracy", "edit", "f1@50"}


@pytest.mark.slow
def test_evaluate_plots_label_timelines(lstm_run, tmp_path, capsys):
    from PIL import Image

    from zoo.cli import main
    from zoo.tasks.video_labeling import PLOT_CLIPS

    png = tmp_path / "timelines.png"
    assert main(["evaluate", lstm_run.path, "--plot", str(png)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["plot"] == str(png) and report["frame_accuracy"] == lstm_run.evaluate()["frame_accuracy"]
    with Image.open(png) as image:
        assert image.format == "PNG" and image.height > 90 * PLOT_CLIPS, image.size  # one panel per clip
    before = png.read_bytes()
    assert main(["evaluate", lstm_run.path, "--plot", str(png)]) == 2  # never replaces a file
    assert main(["evaluate", lstm_run.path, "--plot", str(tmp_path / "timelines.jpg")]) == 2
    assert main(["evaluate", lstm_run.path, "--plot", str(tmp_path / "missing" / "t.png")]) == 2
    err = capsys.readouterr().err
    assert "exists; zoo does not replace" in err and "must end in .png" in err and "does not exist" in err
    assert "Traceback" not in err and png.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["timelines.png"]
