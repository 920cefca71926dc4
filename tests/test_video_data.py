"""Video-labeling data: builtin:moving_shapes, frames:DIR (npy and real video files), steps:CSV, TFDS (mocked)."""

from __future__ import annotations

import collections
import itertools
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo
from zoo.data import parse_spec
from zoo.data.builtin_video import FEATURE_NAMES, LABELS, generate_moving_shapes, load_builtin_video
from zoo.data.frames import load_frames_dir, load_steps_csv
from zoo.data.tfds_video import load_tfds_video, resolve_video_keys
from zoo.metrics import segments

# ---------------------------------------------------------------------------
# builtin:moving_shapes
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_set():
    start = time.perf_counter()
    splits = load_builtin_video(parse_spec("builtin:moving_shapes"))
    return splits, time.perf_counter() - start


def _expected_labels(positions: np.ndarray, k: int, s: int) -> list[str]:
    """The label rule, written again from the module docstring: absent when the k x k box misses the
    frame, else the displacement since the previous frame (forward at frame 0) decides."""
    out = []
    for t, (x, y) in enumerate(positions):
        if x + k <= 0 or x >= s or y + k <= 0 or y >= s:
            out.append("absent")
            continue
        a, b = (positions[0], positions[1]) if t == 0 else (positions[t - 1], positions[t])
        dx, dy = int(b[0] - a[0]), int(b[1] - a[1])
        if (dx, dy) == (0, 0):
            out.append("still")
        elif abs(dx) >= abs(dy):
            out.append("moving_right" if dx > 0 else "moving_left")
        else:
            out.append("moving_down" if dy > 0 else "moving_up")
    return out


@pytest.mark.slow
def test_builtin_is_fast_deterministic_and_seeded(default_set):
    splits, seconds = default_set
    assert seconds < 30, f"builtin:moving_shapes took {seconds:.1f} s"  # 2,400 clips: 20 s at a load of 6
    assert len(splits.get("all")) == 2400
    again = load_builtin_video(parse_spec("builtin:moving_shapes,n=60"))
    twice = load_builtin_video(parse_spec("builtin:moving_shapes,n=60"))
    other = load_builtin_video(parse_spec("builtin:moving_shapes,n=60,seed=1"))
    for a, b in zip(again.get("all"), twice.get("all"), strict=True):
        assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert [lab for _, lab in again.get("all")] != [lab for _, lab in other.get("all")]
    # Clip i is the same whatever n: each clip draws from its own seeded stream.
    small, large = generate_moving_shapes(20), generate_moving_shapes(30)
    for a, b in zip(small, large[:20], strict=True):
        assert np.array_equal(a.frames, b.frames) and a.labels == b.labels


@pytest.mark.slow
def test_builtin_shapes_dtypes_lengths_and_splits(default_set):
    splits, _ = default_set
    clips = splits.get("all")
    for frames, labels in clips:
        assert frames.dtype == np.uint8 and frames.shape[1:] == (32, 32, 3)
        assert len(labels) == len(frames) and 12 <= len(frames) <= 40
        assert set(labels) <= set(LABELS)
    lengths = [len(f) for f, _ in clips]
    assert min(lengths) == 12 and max(lengths) == 40 and 22 < np.mean(lengths) < 30  # varied lengths
    assert 0.75 * 2400 < len(splits.train) < 0.85 * 2400
    assert 0.05 * 2400 < len(splits.validation) < 0.15 * 2400 and 0.05 * 2400 < len(splits.test) < 0.15 * 2400
    assert splits.info["labels"] == sorted(LABELS) and splits.info["frame_shape"] == [32, 32, 3]
    assert "displacement" in splits.info["description"]
    resized = load_builtin_video(parse_spec("builtin:moving_shapes,n=40,size=16,seed=3"))
    assert all(f.shape[1:] == (16, 16, 3) for f, _ in resized.get("all"))
    features = load_builtin_video(parse_spec("builtin:moving_shapes,n=40,features=1"))
    assert features.info["feature_names"] == list(FEATURE_NAMES) and "frame_shape" not in features.info
    for (vectors, labels), (_, image_labels) in zip(features.get("all"), load_builtin_video(
            parse_spec("builtin:moving_shapes,n=40")).get("all"), strict=True):
        assert vectors.dtype == np.float32 and vectors.shape == (len(labels), 6)
        assert labels == image_labels  # the same clips, the same labels


def test_builtin_labels_follow_the_rule_from_the_trajectory():
    for size in (16, 32, 48):
        for clip in generate_moving_shapes(150, seed=size, size=size):
            assert clip.labels == _expected_labels(clip.positions, clip.target_size, size), clip.id


def test_builtin_labels_follow_the_frames_themselves():
    """Recompute the labels from the pixels: in clips without the small shape and the bar, the tracked
    shape is the only bright thing (one channel >= 180; background <= 129)."""
    checked = moving = 0
    for clip in generate_moving_shapes(300, seed=7):
        if clip.small_positions is not None or clip.occluder is not None:
            continue
        bright = clip.frames.max(axis=-1) >= 176                      # [T, H, W]
        counts = bright.sum(axis=(1, 2))
        assert ((counts == 0) == np.array([lab == "absent" for lab in clip.labels])).all(), clip.id
        ys, xs = np.mgrid[0:32, 0:32]
        full = counts.max()
        for t in range(1, len(clip.labels)):
            if counts[t] != full or counts[t - 1] != full:
                continue  # partly out of the frame: the centroid shifts
            centre = [(xs * bright[u]).sum() / full for u in (t - 1, t)], [(ys * bright[u]).sum() / full
                                                                            for u in (t - 1, t)]
            dx, dy = centre[0][1] - centre[0][0], centre[1][1] - centre[1][0]
            if dx == dy == 0:
                expected = "still"
            elif abs(dx) >= abs(dy):
                expected = "moving_right" if dx > 0 else "moving_left"
            else:
                expected = "moving_down" if dy > 0 else "moving_up"
            assert clip.labels[t] == expected, (clip.id, t)
            checked += 1
            moving += expected != "still"
    assert checked > 1000 and moving > 500


@pytest.mark.slow
def test_builtin_class_balance(default_set):
    splits, _ = default_set
    counts = collections.Counter(label for _, labels in splits.get("all") for label in labels)
    assert counts == splits.info["label_counts"]
    total = sum(counts.values())
    shares = {label: counts[label] / total for label in LABELS}
    assert max(shares.values()) < 0.3 and min(shares.values()) > 0.1, shares  # no class near 50%


@pytest.mark.slow
def test_builtin_segments_per_clip(default_set):
    splits, _ = default_set
    per_clip = []
    for _, labels in splits.get("all"):
        runs = segments(labels)
        per_clip.append(len(runs))
        lengths = [end - start for _, start, end in runs]
        assert all(4 <= n <= 15 for n in lengths), lengths  # the last run too: cut at >= 4 frames
        assert all(a[0] != b[0] for a, b in itertools.pairwise(runs))
    assert min(per_clip) >= 2 and np.mean(per_clip) > 3


def test_one_frame_alone_is_ambiguous():
    """Without noise, the same picture occurs with different labels: one frame cannot tell still from
    moving, nor one direction from the other."""
    pairs = collections.Counter()
    for clip in generate_moving_shapes(150, seed=0, noise=False):
        seen: dict[bytes, set[str]] = {}
        for frame, label in zip(clip.frames, clip.labels, strict=True):
            seen.setdefault(frame.tobytes(), set()).add(label)
        for labels in seen.values():
            for a in labels:
                for b in labels:
                    if a < b:
                        pairs[(a, b)] += 1
    assert pairs[("moving_left", "moving_right")] > 5   # the same place on the way there and back
    assert pairs[("moving_left", "still")] + pairs[("moving_right", "still")] > 5
    assert sum(pairs.values()) > 50


def test_occlusion_by_the_bar_is_brief():
    hidden_runs = []
    for clip in generate_moving_shapes(300, seed=2, features=True, noise=False):
        hidden = [v == 0 and label != "absent" for v, label in zip(clip.frames[:, 2], clip.labels, strict=True)]
        run = 0
        for h in [*hidden, False]:
            if h:
                run += 1
            elif run:
                hidden_runs.append(run)
                run = 0
    assert len(hidden_runs) > 10 and max(hidden_runs) <= 5


def test_builtin_features_track_the_shape():
    for clip in generate_moving_shapes(100, seed=4, features=True, noise=False):
        k = clip.target_size
        for t, (x, y) in enumerate(clip.positions):
            if clip.frames[t, 2] == 1.0:  # fully visible: centroid of the whole shape
                assert clip.frames[t, 0] == pytest.approx((x + k / 2) / 32, abs=1e-5)
                assert clip.frames[t, 1] == pytest.approx((y + k / 2) / 32, abs=1e-5)
        assert ((clip.frames[:, 2] > 0) <= np.array([lab != "absent" for lab in clip.labels])).all()
        if clip.small_positions is None:
            assert not clip.frames[:, 3:].any()
    noisy = generate_moving_shapes(3, seed=4, features=True)
    assert not np.array_equal(noisy[0].frames, generate_moving_shapes(3, seed=4, features=True, noise=False)[0]
                              .frames)


@pytest.mark.parametrize(("spec", "pattern"), [
    ("builtin:moving_circles", r"unknown built-in set 'moving_circles'; available: builtin:moving_shapes"),
    ("builtin:moving_shapes,frames=3", r"unknown option 'frames'; allowed: n, seed, size, features"),
    ("builtin:moving_shapes,n=ten", r"n must be an integer, got 'ten'"),
    ("builtin:moving_shapes,n=5", r"n must be from 30 to 50000, got 5"),
    ("builtin:moving_shapes,size=8", r"size must be from 16 to 128, got 8"),
    ("builtin:moving_shapes,features=2", r"features must be from 0 to 1, got 2"),
])
def test_builtin_errors(spec, pattern):
    with pytest.raises(zoo.DataError, match=pattern):
        load_builtin_video(parse_spec(spec))


# ---------------------------------------------------------------------------
# frames:DIR
# ---------------------------------------------------------------------------

def _frames(spec: str):
    return load_frames_dir(parse_spec(spec))


def _write_clip(directory, name, frames, labels, newline="\n"):
    np.save(directory / f"{name}.npy", frames)
    (directory / f"{name}.labels.txt").write_text(newline.join(labels) + newline, encoding="utf-8")


def _npy_clips(directory, count=20, shape=(8, 8, 3), start=0):
    """``count`` clips ``c00..``: clip i has i+3 frames of the value i, labels alternate a/b."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for i in range(start, start + count):
        frames = np.full((i % 9 + 3, *shape), i, dtype=np.uint8)
        labels = ["a" if t % 3 else "b" for t in range(len(frames))]
        _write_clip(directory, f"c{i:02d}", frames, labels)
        written[i] = (frames, labels)
    return written


def _write_video(path, frames, codec, pix_fmt):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _smooth_frames(count, size=16):
    ys, xs = np.mgrid[0:size, 0:size]
    return np.stack([np.stack([xs * 8 + t * 4, ys * 8, np.full_like(xs, 120 + t * 5)], axis=-1)
                     for t in range(count)]).astype(np.uint8)


def test_frames_dir_npy_round_trip(tmp_path):
    written = _npy_clips(tmp_path / "clips", 30)
    (tmp_path / "clips" / "README.md").write_text("notes")
    (tmp_path / "clips" / ".DS_Store").write_text("")
    s = _frames(f"frames:{tmp_path / 'clips'}")
    assert len(s.train) + len(s.validation) + len(s.test) == 30 and s.train and s.validation and s.test
    found = {int(frames[0, 0, 0, 0]): (frames, labels) for frames, labels in s.get("all")}
    assert sorted(found) == sorted(written)
    for i, (frames, labels) in written.items():
        assert np.array_equal(found[i][0], frames) and found[i][0].dtype == np.uint8
        assert found[i][1] == labels
    assert s.info["labels"] == ["a", "b"] and s.info["frame_shape"] == [8, 8, 3]
    assert s.info["clips"] == {"train": len(s.train), "validation": len(s.validation), "test": len(s.test)}
    assert s.info["ignored_files"] == [str(tmp_path / "clips" / "README.md")]
    # Deterministic split by clip name.
    assert [f[0, 0, 0, 0] for f, _ in _frames(f"frames:{tmp_path / 'clips'}").test] == \
        [f[0, 0, 0, 0] for f, _ in s.test]


def test_frames_dir_reads_real_video_files(tmp_path):
    directory = tmp_path / "clips"
    _npy_clips(directory, 20, shape=(16, 16, 3))
    lossless = _smooth_frames(7)
    _write_video(directory / "lossless.avi", lossless, "ffv1", "bgr0")
    (directory / "lossless.labels.txt").write_text("\r\n".join(["v1"] * 3 + ["v2"] * 4) + "\r\n")
    lossy = _smooth_frames(9)
    _write_video(directory / "lossy.mp4", lossy, "mpeg4", "yuv420p")
    (directory / "lossy.labels.txt").write_text("\n".join(["m"] * 9), encoding="utf-8")  # no final newline
    s = _frames(f"frames:{directory}")
    clips = {labels[0]: (frames, labels) for frames, labels in s.get("all")}
    frames, labels = clips["v1"]
    assert labels == ["v1"] * 3 + ["v2"] * 4
    assert frames.dtype == np.uint8 and np.array_equal(frames, lossless)  # FFV1 is lossless
    frames, labels = clips["m"]
    assert frames.shape == (9, 16, 16, 3) and labels == ["m"] * 9
    assert np.abs(frames.astype(int) - lossy).mean() < 12  # MPEG-4 is lossy but close
    assert s.info["labels"] == ["a", "b", "m", "v1", "v2"]


def test_frames_named_parts_and_resizing(tmp_path):
    _npy_clips(tmp_path / "train", 30)
    _npy_clips(tmp_path / "test", 4, start=50)
    _npy_clips(tmp_path / "big", 3, shape=(12, 10, 3), start=70)
    s = _frames(f"frames:train={tmp_path / 'train'},test={tmp_path / 'test'}")
    assert sorted(int(f[0, 0, 0, 0]) for f, _ in s.test) == [50, 51, 52, 53]
    assert len(s.train) + len(s.validation) == 30 and s.validation
    s = _frames(f"frames:train={tmp_path / 'train'},validation={tmp_path / 'test'}")
    assert sorted(int(f[0, 0, 0, 0]) for f, _ in s.validation) == [50, 51, 52, 53]
    assert len(s.train) + len(s.test) == 30 and s.test
    # Frames of another size are an error naming both shapes; size=PX resizes every clip.
    with pytest.raises(zoo.DataError, match=r"c70.npy has frames of 12x10x3 \(HxWxC\) but \S+c\d\d.npy has "
                                            r"8x8x3; give size=PX to resize every frame to PX x PX"):
        _frames(f"frames:train={tmp_path / 'train'},test={tmp_path / 'big'}")
    with pytest.raises(zoo.DataError, match=r"no usable clips in \S+big: bad_rows='skip' left out every one"):
        _frames(f"frames:train={tmp_path / 'train'},test={tmp_path / 'big'},bad_rows=skip")
    s = _frames(f"frames:train={tmp_path / 'train'},test={tmp_path / 'big'},size=6")
    assert all(f.shape[1:] == (6, 6, 3) for f, _ in s.get("all")) and s.info["frame_shape"] == [6, 6, 3]
    assert sorted(int(f[0, 0, 0, 0]) for f, _ in s.test) == [70, 71, 72]
    assert all(len(np.unique(f)) == 1 for f, _ in s.test)  # a flat frame stays flat when resized


def test_frames_feature_vectors(tmp_path):
    directory = tmp_path / "features"
    directory.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        _write_clip(directory, f"s{i:02d}", rng.normal(size=(5 + i % 4, 3)), ["x"] * 2 + ["y"] * (3 + i % 4))
    s = _frames(f"frames:{directory}")
    assert all(f.dtype == np.float32 and f.shape[1] == 3 for f, _ in s.get("all"))
    assert s.info["feature_size"] == 3 and "frame_shape" not in s.info
    with pytest.raises(zoo.DataError, match=r"size=8 resizes frames, but \S+s00.npy holds feature vectors"):
        _frames(f"frames:{directory},size=8")


def _one_bad(tmp_path, make):
    directory = tmp_path / "bad"
    directory.mkdir()
    make(directory)
    return directory


_MISMATCH = r"c00.labels.txt has 2 labels \(lines\) but \S+c00.npy has 4 frames; write one label per frame"


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda d: _write_clip(d, "c00", np.zeros((4, 8, 8, 3), np.uint8), ["a", "b"]), _MISMATCH),
    (lambda d: np.save(d / "c00.npy", np.zeros((4, 8, 8, 3), np.uint8)),
     r"c00.npy has no label file: write \S+c00.labels.txt with one label per frame"),
    (lambda d: (d / "c00.labels.txt").write_text("a\n"), r"c00.labels.txt has no clip beside it"),
    (lambda d: _write_clip(d, "c00", np.zeros((3, 8, 8, 3), np.uint8), ["a", "", "b"]),
     r"c00.labels.txt line 2: empty label; write one label per frame, with no blank lines"),
    (lambda d: ((d / "c00.mp4").write_bytes(b"\x00\x00\x00 not a video at all" * 10),
                (d / "c00.labels.txt").write_text("a\n")),
     r"cannot decode \S+c00.mp4 as a video \("),
    (lambda d: ((d / "c00.npy").write_bytes(b"garbage"), (d / "c00.labels.txt").write_text("a\n")),
     r"cannot read \S+c00.npy as a NumPy array \("),
    (lambda d: _write_clip(d, "c00", np.zeros((4, 8, 8), np.uint8), ["a"] * 4),
     r"c00.npy has shape \(4, 8, 8\); a clip is \[T, H, W, C\] uint8 frames or \[T, F\] feature vectors "
     r"\(add a channel axis"),
    (lambda d: _write_clip(d, "c00", np.zeros((4, 8, 8, 3), np.float32), ["a"] * 4),
     r"c00.npy holds float32 frames of shape \(4, 8, 8, 3\); image clips must be uint8"),
    (lambda d: _write_clip(d, "c00", np.array([[0.0, np.nan]] * 3), ["a"] * 3),
     r"c00.npy frame 0, feature 1: nan is not a finite number"),
    (lambda d: (_write_clip(d, "c00", np.zeros((3, 8, 8, 3), np.uint8), ["a"] * 3),
                _write_clip(d, "c01", np.zeros((3, 4)), ["a"] * 3)),
     r"c01.npy holds feature vectors \[T, F\] but \S+c00.npy holds images \[T, H, W, C\]; one data set holds "
     r"one kind"),
    (lambda d: (_write_clip(d, "c00", np.zeros((3, 4)), ["a"] * 3), _write_clip(d, "c01", np.zeros((3, 5)),
                                                                               ["a"] * 3)),
     r"c01.npy has 5 features per step but \S+c00.npy has 4"),
    (lambda d: (_write_clip(d, "c00", np.zeros((3, 8, 8, 3), np.uint8), ["a"] * 3),
                _write_clip(d, "c01", np.zeros((3, 8, 8, 1), np.uint8), ["a"] * 3)),
     r"c01.npy has frames of 8x8x1 \(HxWxC\) but \S+c00.npy has 8x8x3; the channel counts differ"),
    (lambda d: (np.save(d / "c00.npy", np.zeros((3, 2), np.float32)),
                _write_video(d / "c00.avi", _smooth_frames(3), "ffv1", "bgr0"),
                (d / "c00.labels.txt").write_text("a\na\na\n")),
     r"\S+c00.avi and \S+c00.npy are all clip 'c00'; keep one"),
    (lambda d: (np.save(d / "c00.npy", np.zeros((2, 3), np.float32)), (d / "c00.labels.txt").write_bytes(b"a\n\xff\n")),
     r"c00.labels.txt line 2: not valid UTF-8 \(byte 0xff\)"),
])
def test_frames_dir_errors(tmp_path, make, pattern):
    directory = _one_bad(tmp_path, make)
    with pytest.raises(zoo.DataError, match=pattern):
        _frames(f"frames:{directory}")


def test_frames_dir_spec_errors(tmp_path):
    _npy_clips(tmp_path / "clips", 20)
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.npy").write_bytes(b"")
    cases = [
        (f"frames:{tmp_path / 'nowhere'}", r"directory not found: \S+nowhere"),
        (f"frames:{tmp_path / 'file.npy'}", r"file.npy is a file, not a directory"),
        (f"frames:{tmp_path / 'empty'}", r"empty holds no clips \(.npy, .mp4, .avi"),
        (f"frames:{tmp_path / 'clips'},size=big", r"size must be an integer, got 'big'"),
        (f"frames:{tmp_path / 'clips'},size=1", r"size must be from 2 to 4096, got 1"),
        (f"frames:{tmp_path / 'clips'},bad_rows=maybe", r"bad_rows must be 'error' or 'skip', not 'maybe'"),
        (f"frames:{tmp_path / 'clips'},fps=3", r"unknown part 'fps'"),
        (f"frames:test={tmp_path / 'clips'}", r"names no train part \(train=DIR\)"),
    ]
    for spec, pattern in cases:
        with pytest.raises(zoo.DataError, match=pattern):
            _frames(spec)


def test_frames_dir_bad_rows_skip(tmp_path):
    directory = tmp_path / "clips"
    _npy_clips(directory, 20)
    _write_clip(directory, "short", np.zeros((4, 8, 8, 3), np.uint8), ["a", "b"])
    _write_clip(directory, "blank", np.zeros((3, 8, 8, 3), np.uint8), ["a", "", "b"])
    _write_clip(directory, "wide", np.zeros((3, 9, 9, 3), np.uint8), ["a"] * 3)
    np.save(directory / "unlabelled.npy", np.zeros((3, 8, 8, 3), np.uint8))
    (directory / "orphan.labels.txt").write_text("a\n")
    (directory / "broken.mp4").write_bytes(b"nope" * 50)
    (directory / "broken.labels.txt").write_text("a\n")
    with pytest.warns(UserWarning, match=r"skipped 6 clip\(s\) \(bad_rows=skip\)"):
        s = _frames(f"frames:{directory},bad_rows=skip")
    assert len(s.get("all")) == 20
    skipped = s.info["skipped_rows"]
    assert set(skipped) == {str(directory / name) for name in ("short.labels.txt", "blank.labels.txt", "wide.npy",
                                                             "unlabelled.npy", "orphan.labels.txt", "broken.mp4")}
    assert skipped[str(directory / "blank.labels.txt")]["lines"] == [2]
    assert "has 2 labels (lines) but" in skipped[str(directory / "short.labels.txt")]["reason"]
    assert "9x9x3" in skipped[str(directory / "wide.npy")]["reason"]
    assert all(entry["count"] == 1 for entry in skipped.values())
    # Every clip bad: an error, not an empty set.
    (tmp_path / "all_bad").mkdir()
    _write_clip(tmp_path / "all_bad", "x", np.zeros((4, 8, 8, 3), np.uint8), ["a"])
    with pytest.raises(zoo.DataError, match=r"has no usable clips: bad_rows='skip' left out every one \(the first: "
                                            r"\S+x.labels.txt has 1 labels"):
        _frames(f"frames:{tmp_path / 'all_bad'},bad_rows=skip")


# ---------------------------------------------------------------------------
# steps:CSV
# ---------------------------------------------------------------------------

def _steps(spec: str):
    return load_steps_csv(parse_spec(spec))


def _steps_rows(clips=30):
    rows = []
    for c in range(clips):
        for t in range(3 + c % 4):
            rows.append([f"clip{c:02d}", str(t), "up" if t < 2 else "down", f"{c + t / 10:.2f}", f"{-t}"])
    return rows


def _write_steps(path, rows, header="clip,step,label,ax,ay"):
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def test_steps_csv_round_trip(tmp_path):
    path = _write_steps(tmp_path / "steps.csv", _steps_rows())
    s = _steps(f"steps:{path}")
    clips = s.get("all")
    assert len(clips) == 30 and s.train and s.validation and s.test
    by_first = {round(float(f[0, 0])): (f, labels) for f, labels in clips}
    for c in range(30):
        frames, labels = by_first[c]
        n = 3 + c % 4
        assert frames.dtype == np.float32 and frames.shape == (n, 2)
        assert np.allclose(frames[:, 1], -np.arange(n)) and np.allclose(frames[:, 0], c + np.arange(n) / 10)
        assert labels == ["up", "up"] + ["down"] * (n - 2)
    assert s.info["labels"] == ["down", "up"] and s.info["feature_names"] == ["ax", "ay"]
    assert s.info["feature_size"] == 2
    # Columns in any order; steps from 1; quoted fields; blank lines; CRLF.
    text = 'label,ay,clip,step,ax\r\n"up",1,"a,1",1,0.5\r\n\r\ndown,2,"a,1",2,1e-3\r\n'
    (tmp_path / "odd.csv").write_text(text, encoding="utf-8", newline="")
    (tmp_path / "test.csv").write_text("clip,step,label,ax,ay\nb,0,up,1,2\n", encoding="utf-8")
    s = _steps(f"steps:train={tmp_path / 'odd.csv'},test={tmp_path / 'test.csv'},validation={tmp_path / 'odd.csv'}")
    frames, labels = s.train[0]
    assert labels == ["up", "down"] and np.allclose(frames, [[1, 0.5], [2, 0.001]])
    # The test part has the columns in another order: they follow the train part's.
    assert s.info["feature_names"] == ["ay", "ax"] and np.allclose(s.test[0][0], [[2, 1]])
    (tmp_path / "other.csv").write_text("clip,step,label,ax,az\nb,0,up,1,2\n", encoding="utf-8")
    with pytest.raises(zoo.DataError, match=r"other.csv has features ax, az but \S+odd.csv has ay, ax"):
        _steps(f"steps:train={tmp_path / 'odd.csv'},test={tmp_path / 'other.csv'}")


@pytest.mark.parametrize(("lines", "pattern"), [
    (["a,0,up,1,x"], r"line 2: column 'ay': 'x' is not a number"),
    (["a,0,up,1,2", "a,1,up,1,inf"], r"line 3: column 'ay': 'inf' is not a finite number"),
    (["a,0,up,1,2", "a,2,up,1,2"], r"line 3: clip 'a' jumps from step 0 \(line 2\) to step 2: step 1 missing"),
    (["a,0,up,1,2", "a,4,up,1,2"], r"line 3: clip 'a' jumps from step 0 \(line 2\) to step 4: steps 1-3 missing"),
    (["a,0,up,1,2", "a,0,up,1,2"], r"line 3: clip 'a' has step 0 twice \(also on line 2\)"),
    (["a,0,up,1,2", "a,1,up,1,2", "a,0,up,1,2"], r"line 4: clip 'a' goes back from step 1 \(line 3\) to step 0"),
    (["a,3,up,1,2"], r"line 2: clip 'a' starts at step 3; steps start at 0 \(or 1\)"),
    (["a,0,up,1,2", "b,0,up,1,2", "a,1,up,1,2"],
     r"line 4: clip 'a' continues here after other clips \(its rows begin on line 2\); keep each clip's rows"),
    (["a,0,up,1,2", "a,1,up,1"], r"line 3: 4 fields, the header has 5 \('clip', 'step', 'label', 'ax', 'ay'\)"),
    (["a,0,up,1,2,3"], r"line 2: 6 fields, the header has 5"),
    (["a,0,,1,2"], r"line 2: empty 'label'"),
    (["a,one,up,1,2"], r"line 2: column 'step': 'one' is not a whole number"),
    (["a,-1,up,1,2"], r"line 2: column 'step': negative step -1"),
    (["a,0,up,,2"], r"line 2: empty 'ax'"),
    (['a,0,"up,1,2'], r"line 2: a quoted field opened here is never closed"),
])
def test_steps_csv_errors(tmp_path, lines, pattern):
    path = _write_steps(tmp_path / "bad.csv", [line.split(",") for line in lines])
    with pytest.raises(zoo.DataError, match=r"bad.csv " + pattern):
        _steps(f"steps:{path}")


def test_steps_csv_header_errors(tmp_path):
    cases = [
        ("clip,step,ax\na,0,1\n", r"has no column 'label' \(header has 'clip', 'step', 'ax'\)"),
        ("clip,step,label\na,0,up\n", r"has no feature columns"),
        ("clip,step,label,ax,ax\na,0,up,1,2\n", r"line 1: the header names 'ax' more than once"),
        ("clip,step,label,,ay\na,0,up,1,2\n", r"line 1: header column 4 has no name"),
        ("clip,step,label,ax\n", r"has a header but no rows"),
        ("\n\n", r"is empty"),
    ]
    for text, pattern in cases:
        path = tmp_path / "h.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(zoo.DataError, match=pattern):
            _steps(f"steps:{path}")
    with pytest.raises(zoo.DataError, match=r"file not found"):
        _steps(f"steps:{tmp_path / 'none.csv'}")
    (tmp_path / "latin.csv").write_bytes(b"clip,step,label,ax\na,0,caf\xe9,1\n")
    with pytest.raises(zoo.DataError, match=r"not valid UTF-8 \(byte 0xe9 on line 2\)"):
        _steps(f"steps:{tmp_path / 'latin.csv'}")
    a = _write_steps(tmp_path / "a.csv", _steps_rows(20))
    b = _write_steps(tmp_path / "b.csv", [r[:4] for r in _steps_rows(3)], header="clip,step,label,ax")
    with pytest.raises(zoo.DataError, match=r"b.csv has features ax but \S+a.csv has ax, ay; every part needs"):
        _steps(f"steps:train={a},test={b}")


def test_steps_csv_bad_rows_skip_drops_whole_clips(tmp_path):
    rows = _steps_rows(30)
    # clip00: rows on lines 2-4; make its step 1 (line 3) non-numeric. clip01 (lines 5-8): drop step 2.
    rows[1][3] = "n/a"
    del rows[5]
    path = _write_steps(tmp_path / "steps.csv", rows)
    with pytest.raises(zoo.DataError, match=r"line 3: column 'ax': 'n/a' is not a number"):
        _steps(f"steps:{path}")
    with pytest.warns(UserWarning, match=r"bad_rows=skip left out 6 row\(s\) \(2 whole clip\(s\) with a bad row\): "
                                         r"\S+steps.csv lines 2, 3, 4, 5, 6, 7"):
        s = _steps(f"steps:{path},bad_rows=skip")
    assert len(s.get("all")) == 28
    entry = s.info["skipped_rows"][str(path)]
    # clip00: lines 2-4 (3 rows); clip01: lines 5-7 (its step 3 on line 7 follows step 1 on line 6).
    assert entry == {"count": 6, "lines": [2, 3, 4, 5, 6, 7], "clips": ["clip00", "clip01"]}


# ---------------------------------------------------------------------------
# tfds: per-frame labels, offline
# ---------------------------------------------------------------------------

class ZooFakeFrameLabels(tfds.core.GeneratorBasedBuilder):
    """A stand-in TFDS set: a video and a label per frame (the catalog has none such)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "video": tfds.features.Video(shape=(None, 8, 8, 3)),
            "phase": tfds.features.Sequence(tfds.features.ClassLabel(names=["walk", "run", "idle"])),
            "title": tfds.features.Text(),
        }))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        yield from ()


def _fake_split(self, split, **kwargs):
    """Consistent examples: ``T = 3 + i % 4`` frames of value ``i`` (100 + i for the test split)."""
    offset = 100 if split == "test" else 0

    def generate():
        for i in range(20):
            length = 3 + i % 4
            yield {"video": np.full((length, 8, 8, 3), i + offset, np.uint8), "phase": np.arange(length) % 3,
                   "title": f"clip {i}"}

    return tf.data.Dataset.from_generator(generate, output_signature={
        "video": tf.TensorSpec((None, 8, 8, 3), tf.uint8), "phase": tf.TensorSpec((None,), tf.int64),
        "title": tf.TensorSpec((), tf.string)})


def test_tfds_video_offline_with_mock_data():
    with tfds.testing.mock_data(as_dataset_fn=_fake_split):
        s = load_tfds_video(parse_spec("tfds:zoo_fake_frame_labels"))
    assert (s.info["video_key"], s.info["labels_key"]) == ("video", "phase")
    assert s.info["labels"] == ["idle", "run", "walk"] and s.info["frame_shape"] == [8, 8, 3]
    assert s.info["splits"] == {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}
    assert len(s.test) == 20 and all(f[0, 0, 0, 0] >= 100 for f, _ in s.test)
    for frames, labels in s.get("all"):
        assert frames.dtype == np.uint8 and frames.shape[1:] == (8, 8, 3)
        assert labels == [("walk", "run", "idle")[t % 3] for t in range(len(frames))]


def test_tfds_video_checks_lengths():
    # The random mock data draws the video and the label lengths independently.
    with tfds.testing.mock_data(num_examples=3), pytest.raises(
            zoo.DataError, match=r"split 'train\[:90%\]' example 0: \d+ frames in 'video' but \d+ labels in 'phase'"):
        load_tfds_video(parse_spec("tfds:zoo_fake_frame_labels"))
    with tfds.testing.mock_data(num_examples=3), pytest.raises(zoo.DataError, match=r"unknown part 'audio'"):
        load_tfds_video(parse_spec("tfds:zoo_fake_frame_labels,audio=x"))


def test_tfds_video_key_resolution_on_feature_dicts():
    f = tfds.features
    video = f.Video(shape=(None, 8, 8, 3))
    frame_labels = f.Sequence(f.ClassLabel(names=["a", "b"]))
    clip_label = f.ClassLabel(names=["a", "b"])
    vectors = f.Tensor(shape=(None, 5), dtype=np.float32)

    def keys(spec, features):
        return resolve_video_keys(parse_spec(spec), features)

    assert keys("tfds:x", {"video": video, "steps": frame_labels, "label": clip_label}) == \
        ("video", "steps", "images")
    assert keys("tfds:x", {"frames": f.Sequence(f.Image(shape=(4, 4, 3))), "y": frame_labels}) == \
        ("frames", "y", "images")
    assert keys("tfds:x", {"imu": vectors, "y": frame_labels}) == ("imu", "y", "features")
    assert keys("tfds:x", {"imu": f.Sequence(f.Tensor(shape=(3,), dtype=np.float32)), "y": frame_labels}) == \
        ("imu", "y", "features")
    two = {"rgb": video, "depth": f.Video(shape=(None, 8, 8, 1)), "y": frame_labels}
    assert keys("tfds:x,video=depth", two) == ("depth", "y", "images")
    with pytest.raises(zoo.DataError, match=r"cannot tell which feature holds a clip.*the set has 2 \(rgb, depth\).*"
                                            r"name it with video=KEY"):
        keys("tfds:x", two)
    # ucf101-like: one label per clip, none per frame.
    with pytest.raises(zoo.DataError, match=r"per-frame labels: Sequence\(ClassLabel\): the set has none "
                                            r"\(features: video \(Video\), label \(ClassLabel\)\); this reader "
                                            r"needs a label for every frame"):
        keys("tfds:x", {"video": video, "label": clip_label})
    with pytest.raises(zoo.DataError, match=r"no feature 'rgb'; features: video \(Video\)"):
        keys("tfds:x,video=rgb", {"video": video, "y": frame_labels})
    with pytest.raises(zoo.DataError, match=r"feature 'label' is ClassLabel; labels= names per-frame labels"):
        keys("tfds:x,labels=label", {"video": video, "label": clip_label, "y": frame_labels})
    with pytest.raises(zoo.DataError, match=r"feature 'y' is Sequence\(ClassLabel\); video= names a clip"):
        keys("tfds:x,video=y", {"video": video, "y": frame_labels})
