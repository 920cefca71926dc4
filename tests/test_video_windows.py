"""Video labeling on per-step features: standardisation with the training split's statistics, and
long streams cut into windows whose predictions are stitched back per step (the run, the export
and the command line agree)."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from keras import ops

import zoo
from zoo.rundir import PREPROCESSING
from zoo.tasks.video_labeling import ClipPreprocessor, _predict_clips, window_count, window_of_step


def write_steps(path, clips, scale=1.0, offset=0.0):
    """A ``steps:`` CSV of ``clips`` = [(features [T, 3], labels)], features mapped by ``x * scale + offset``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["clip", "step", "label", "a", "b", "c"])
        for n, (features, labels) in enumerate(clips):
            for t, (row, label) in enumerate(zip(features, labels, strict=True)):
                out.writerow([f"clip{n:03d}", t, label, *(repr(float(v * scale + offset)) for v in row)])
    return str(path)


def stream_clips(n=60, seed=0):
    """Clips of 20-90 steps: a noisy signal whose sign, held for 10 steps at a time, is the label; a
    noise feature; a constant one."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(n):
        length = int(rng.integers(20, 90))
        drift = np.repeat(rng.choice([-1.0, 1.0], size=length // 10 + 1), 10)[:length]
        signal = 5.0 + drift + rng.normal(0, 0.5, length)
        features = np.stack([signal, rng.normal(0, 1, length), np.full(length, 3.0)], axis=1)
        clips.append((features, ["up" if d > 0 else "down" for d in drift]))
    return clips


@pytest.mark.parametrize("window", [2, 3, 4, 7, 8, 16])
def test_each_step_is_read_from_the_window_where_it_is_most_central(window):
    hop = max(1, window // 2)
    for length in range(1, 60):
        count = int(window_count(length, window))
        starts = [k * hop for k in range(count)]
        assert starts[-1] + window >= length and (count == 1 or starts[-2] + window < length)
        w, p = window_of_step(np.arange(length), count, window)
        for t in range(length):
            assert starts[w[t]] + p[t] == t and 0 <= p[t] < window, (length, t)
            if length <= window:
                assert w[t] == 0
            else:  # no window that holds t has t nearer its centre
                holding = [k for k in range(count) if starts[k] <= t < starts[k] + window]
                best = min(abs(t - starts[k] - (window - 1) / 2) for k in holding)
                assert abs(p[t] - (window - 1) / 2) <= best + 0.5, (length, t)


def test_training_windows_cover_long_clips_with_full_windows():
    pre = ClipPreprocessor(["a", "b"], [3], window=8)
    clip = np.arange(20 * 3, dtype="float32").reshape(20, 3)
    labels = [str(i) for i in range(20)]
    windows = pre.training_windows([(clip, labels), (clip[:5], labels[:5])])
    assert [len(c) for c, _ in windows] == [8, 8, 8, 5]
    assert [row[0] for _, row in windows] == ["0", "8", "12", "0"]  # the last window ends at the clip's end
    for c, row in windows:
        np.testing.assert_array_equal(c[:, 0] / 3, [float(x) for x in row])


def test_predictions_are_stitched_from_windows_and_short_clips_run_whole():
    model = zoo.build("video_labeling/bigru", num_classes=2, step_shape=[3], units=16)
    pre = ClipPreprocessor(["down", "up"], [3], window=8)
    rng = np.random.default_rng(1)
    long, short = rng.normal(size=(29, 3)).astype("float32"), rng.normal(size=(6, 3)).astype("float32")
    out = _predict_clips(model, pre, [long, short], batch_size=3)

    def run(frames):
        return ops.convert_to_numpy(model({"frames": frames[None], "mask": np.ones((1, len(frames)), "float32")}))[0]

    np.testing.assert_allclose(out[1], run(short), atol=1e-5)
    count = int(window_count(29, 8))
    pieces = [run(long[k * 4: k * 4 + 8]) for k in range(count)]
    w, p = window_of_step(np.arange(29), count, 8)
    expected = np.stack([pieces[w[t]][p[t]] for t in range(29)])
    np.testing.assert_allclose(out[0], expected, atol=1e-5)
    # A bidirectional model does read across windows' edges: the stitched result is not one pass.
    assert not np.allclose(out[0], run(long), atol=1e-4)


@pytest.fixture(scope="module")
def steps_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("steps")
    clips = stream_clips()
    return (write_steps(folder / "plain.csv", clips), write_steps(folder / "scaled.csv", clips, 1000.0, -500.0),
            clips)


@pytest.fixture(scope="module")
def windowed_run(steps_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lstm"
    return zoo.train("video_labeling/lstm", f"steps:{steps_data[0]}", str(out), epochs=10, verbose=0,
                     overrides={"window": 16})


@pytest.mark.slow
def test_features_are_standardised_with_training_statistics(windowed_run, steps_data, tmp_path):
    splits = windowed_run.task.load_data(f"steps:{steps_data[0]}")
    train = np.concatenate([c for c, _ in splits.train]).astype("float64")
    everything = np.concatenate([c for c, _ in steps_data[2]])
    with open(os.path.join(windowed_run.path, PREPROCESSING, "preprocessing.json"), encoding="utf-8") as f:
        saved = json.load(f)
    np.testing.assert_allclose(saved["feature_mean"], train.mean(axis=0), rtol=1e-6)
    assert not np.allclose(saved["feature_mean"][0], everything.mean(axis=0)[0], rtol=1e-6)  # train only
    np.testing.assert_allclose(saved["feature_std"][:2], train.std(axis=0)[:2], rtol=1e-6)
    assert saved["feature_std"][2] == 1.0  # a constant feature is centred, not divided by zero
    # The same data in other units trains to the same model: 1000 x + (-500) standardises to x.
    scaled = zoo.train("video_labeling/lstm", f"steps:{steps_data[1]}", str(tmp_path / "scaled"), epochs=10,
                       verbose=0, overrides={"window": 16})
    clips = [c for c, _ in splits.test]
    a = windowed_run.predict(clips)
    b = scaled.predict([c * 1000.0 - 500.0 for c in clips])
    assert [x["labels"] for x in a] == [x["labels"] for x in b]
    np.testing.assert_allclose(a[0]["probability"], b[0]["probability"], atol=1e-3)
    assert windowed_run.metrics["test"]["frame_accuracy"] >= 0.9, windowed_run.metrics["test"]


@pytest.mark.slow
def test_long_streams_are_windowed_in_the_run_and_the_export_alike(windowed_run, tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(2)
    clips = [c for c, _ in stream_clips(4, seed=5)] + [rng.normal(size=(5, 3))]  # 20-90 steps, window 16
    assert max(len(c) for c in clips) > 3 * 16
    predicted = windowed_run.predict(clips)
    assert [len(p["labels"]) for p in predicted] == [len(c) for c in clips]  # every step labelled
    export = zoo.export(windowed_run, str(tmp_path / "export"))
    loaded = tf.saved_model.load(export)
    length = max(len(c) for c in clips)
    frames = np.zeros((len(clips), length, 3), "float32")
    for i, c in enumerate(clips):
        frames[i, : len(c)] = c
    out = loaded.serve(tf.constant(frames), tf.constant([len(c) for c in clips], tf.int32))
    probabilities = out["probabilities"].numpy()
    for i, (clip, p) in enumerate(zip(clips, predicted, strict=True)):
        assert [x.decode() for x in out["label"].numpy()[i, : len(clip)]] == p["labels"]
        np.testing.assert_allclose(probabilities[i, : len(clip)].max(-1), p["probability"], atol=1e-5)
        assert not probabilities[i, len(clip):].any()  # padding has no probabilities
    # One clip alone gives what it gave in the batch.
    alone = loaded.serve(tf.constant(frames[:1, : len(clips[0])]), tf.constant([len(clips[0])], tf.int32))
    np.testing.assert_allclose(alone["probabilities"].numpy()[0], probabilities[0, : len(clips[0])], atol=1e-5)
    evaluated = windowed_run.evaluate()
    assert evaluated["frames"] == sum(len(c) for c, _ in windowed_run.task.load_data(
        windowed_run.config["data"]).test)


def test_steps_csv_takes_sequence_id_and_t(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sequence_id,t,x,y,label\na,0,1.0,2.0,walk\na,1,1.5,2.5,run\nb,0,0.0,0.0,walk\n")
    task = zoo.get("video_labeling/lstm").task
    splits = task.load_data(f"steps:train={path},validation={path},test={path}")
    assert splits.info["feature_names"] == ["x", "y"]
    np.testing.assert_array_equal(splits.test[0][0], [[1.0, 2.0], [1.5, 2.5]])
    assert splits.test[0][1] == ["walk", "run"]
    path.write_text("sequence_id,t,x,label\na,0,1.0,walk\na,x,1.5,run\n")
    with pytest.raises(zoo.DataError, match=r"line 3: column 't': 'x' is not a whole number"):
        task.load_data(f"steps:{path}")
    path.write_text("clip,sequence_id,t,x,label\na,a,0,1.0,walk\n")
    with pytest.raises(zoo.DataError, match=r"columns 'clip' and 'sequence_id' both name the clip"):
        task.load_data(f"steps:{path}")
