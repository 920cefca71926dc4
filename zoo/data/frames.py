"""Reading labelled clips a user names: a directory of clips (``frames:``) or a CSV of steps (``steps:``).

**A directory of clips**, ``frames:DIR[,size=PX][,bad_rows=skip]``: each clip is a video file
(``.mp4``, ``.avi``, ``.mov``, ``.mkv``, ``.webm``, decoded with PyAV to RGB ``[T, H, W, 3]``
uint8) or a NumPy file ``.npy`` holding ``[T, H, W, C]`` uint8 frames (C = 1, 3 or 4) or
``[T, F]`` feature vectors (any real dtype, read as float32); beside each clip a label
file ``NAME.labels.txt`` with one label per line, line N labelling frame N::

    clips/
      walk01.mp4            # 48 frames
      walk01.labels.txt     # 48 lines: "stand", "stand", "walk", ...
      seq02.npy             # np.save("seq02.npy", frames): [T, H, W, C] uint8, or [T, F] float
      seq02.labels.txt

The clip's name is its file name without the extension. Label files are UTF-8 (a byte-order
mark and ``\\r\\n`` line ends are fine, so is a final newline); each line is stripped of
surrounding spaces. Hidden files (``.name``) and subdirectories are passed over; other files
are listed in ``Splits.info["ignored_files"]``.

Reading is strict: each of these is an error naming the file (and the line, for a label):
a label file whose line count differs from the clip's frame count (both counts given), a
clip without a label file, a label file without a clip, two clips of one name
(``a.npy`` and ``a.mp4``), a blank line in a label file, a video that cannot be decoded or
has no frames, a ``.npy`` that cannot be read or has another shape or dtype, a feature
that is NaN or infinite, and clips that differ: images beside feature vectors, frames of
another size (``H x W x C``; both clips named) or feature vectors of another length. Frames
are never resized silently: ``size=PX`` resizes every frame of every clip to ``PX x PX``
(bilinear, aspect not kept; channels must still agree). With ``bad_rows=skip`` a bad clip
is left out instead, with a warning, and reported in ``Splits.info["skipped_rows"] =
{path: {"count": 1, "lines": [label lines, if any], "reason": "..."}}``; among clips of
different shapes the most common shape is kept.

**A CSV of steps**, ``steps:PATH[,bad_rows=skip]``, for precomputed features or sensor
readings: a header ``clip,step,label,f1,f2,...`` and one row per step::

    clip,step,label,ax,ay,az
    walk01,0,stand,0.01,-0.98,0.05
    walk01,1,walk,0.20,-0.91,0.11
    seq02,0,sit,0.00,-1.00,0.02

Columns ``clip``, ``step`` and ``label`` may stand anywhere (``sequence_id`` and ``t`` are
accepted for ``clip`` and ``step``: ``sequence_id,t,FEATURES...,label``); every other column
is a feature, in header order (at least one). Features are standardised later, inside the
model, with the training split's statistics (the video-labeling task's ``standardize``
option). A clip's rows are together and ordered by step, and its steps run 0, 1, 2, ...
(or 1, 2, 3, ...) without a gap. Errors name the file and line (and the column): a row
with another number of fields than the header, an empty cell, a step that is not a whole
number, a feature that is not a finite number, a duplicate step, a missing step, steps out
of order, a clip whose rows are not together.
With ``bad_rows=skip`` every clip with a bad row is left out whole (its steps would no
longer line up) and reported in ``Splits.info["skipped_rows"] = {path: {"count": rows,
"lines": [...], "clips": [...]}}``. A quote that is never closed stays an error.

Both take named parts like the other readers: ``frames:train=DIR,test=DIR[,validation=DIR]``
and ``steps:train=A.csv,test=B.csv[,validation=C.csv]``. Validation is carved from train
(10%) when absent, and test too (80/10/10) when absent, by a hash of the clip name, so a
clip always lands in the same split. Examples are ``(frames, labels)``: ``frames`` a NumPy
array (``[T, H, W, C]`` uint8 or ``[T, F]`` float32), ``labels`` a list of ``T`` strings.
``Splits.info``: ``labels`` (sorted), ``description``, ``frame_shape`` or ``feature_size``
(and ``feature_names`` for steps), ``clips`` (per part).
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, require
from . import DataSpec, Splits, check_parts
from .files import _quoting_error, line_list, read_text
from .parts import KEPT_LINES, PART_NAMES, Skips, assemble, bad_rows_option, read_parts

STEP_COLUMNS = {"clip": ("clip", "sequence_id"), "step": ("step", "t"), "label": ("label",)}
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
CLIP_EXTENSIONS = (".npy", *VIDEO_EXTENSIONS)
LABELS_SUFFIX = ".labels.txt"
SIZE_RANGE = (2, 4096)

Example = tuple[np.ndarray, list[str]]


@dataclass
class _Clip:
    name: str
    path: str
    frames: np.ndarray
    labels: list[str]
    label_path: str = ""

    @property
    def images(self) -> bool:
        return self.frames.ndim == 4

    @property
    def step_shape(self) -> tuple[int, ...]:
        return tuple(self.frames.shape[1:])


def _describe(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


# ---------------------------------------------------------------------------
# One clip
# ---------------------------------------------------------------------------

def read_video(path: str, where: str) -> np.ndarray:
    """The frames of a video file, ``[T, H, W, 3]`` uint8 RGB, decoded with PyAV."""
    av = require("av", f"{where}: reading the video {path}")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise DataError(f"{where}: {path} has no video stream")
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except DataError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{where}: cannot decode {path} as a video ({type(exc).__name__}: {exc})") from None
    if not frames:
        raise DataError(f"{where}: {path} has no frames")
    if len({f.shape for f in frames}) > 1:
        raise DataError(f"{where}: {path} changes frame size mid-video")
    return np.stack(frames)


def read_npy(path: str, where: str) -> np.ndarray:
    """A clip saved with ``np.save``: ``[T, H, W, C]`` uint8 (C = 1, 3, 4) or ``[T, F]`` features (float32)."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{where}: cannot read {path} as a NumPy array ({type(exc).__name__}: {exc}); "
                        "save clips with np.save") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{where}: {path} is an .npz archive, not one array; save each clip with np.save")
    kinds = "a clip is [T, H, W, C] uint8 frames or [T, F] feature vectors"
    if array.ndim not in (2, 4):
        raise DataError(f"{where}: {path} has shape {array.shape}; {kinds}"
                        + (" (add a channel axis for grey frames: [T, H, W, 1])" if array.ndim == 3 else ""))
    if len(array) == 0 or 0 in array.shape:
        raise DataError(f"{where}: {path} has shape {array.shape}: no frames")
    if array.ndim == 4:
        if array.dtype != np.uint8:
            raise DataError(f"{where}: {path} holds {array.dtype} frames of shape {array.shape}; image clips must "
                            "be uint8 (0-255)")
        if array.shape[-1] not in (1, 3, 4):
            raise DataError(f"{where}: {path} has {array.shape[-1]} channels (shape {array.shape}); frames are "
                            "[T, H, W, C] with C = 1, 3 or 4")
        return array
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise DataError(f"{where}: {path} holds {array.dtype}; feature vectors [T, F] must be real numbers")
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        t, f = np.argwhere(bad)[0]
        raise DataError(f"{where}: {path} frame {t}, feature {f}: {array[t, f]} is not a finite number")
    return array


def read_labels(path: str, where: str) -> list[str]:
    """One label per line; a blank line is an error naming the line."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"{where}: cannot read {path} ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where}: {path} line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                        "re-save it as UTF-8") from None
    if not text.strip():
        raise DataError(f"{where}: {path} is empty; write one label per frame, one a line")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    labels = [line.strip() for line in lines]
    for number, label in enumerate(labels, 1):
        if not label:
            error = DataError(f"{where}: {path} line {number}: empty label; write one label per frame, "
                              "with no blank lines")
            error.line = number
            raise error
    return labels


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    if frames.shape[1:3] == (size, size):
        return frames
    channels = frames.shape[-1]
    out = np.empty((len(frames), size, size, channels), dtype=np.uint8)
    for t, frame in enumerate(frames):
        image = Image.fromarray(frame[..., 0] if channels == 1 else frame)
        resized = np.asarray(image.resize((size, size), Image.BILINEAR))
        out[t] = resized[..., None] if channels == 1 else resized
    return out


# ---------------------------------------------------------------------------
# A directory of clips
# ---------------------------------------------------------------------------

def _clip_files(directory: str, where: str, skips: Skips
                ) -> tuple[dict[str, str], dict[str, str], set[str], list[str]]:
    """``({name: clip path}, {name: label path}, names of several clips, ignored files)`` of a directory."""
    if not os.path.exists(directory):
        raise DataError(f"{where}: directory not found: {directory}")
    if not os.path.isdir(directory):
        raise DataError(f"{where}: {directory} is a file, not a directory; frames: names a directory of clips "
                        "with NAME.labels.txt files beside them")
    clips: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    ignored: list[str] = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if entry.startswith(".") or os.path.isdir(path):
            continue
        lower = entry.lower()
        if lower.endswith(LABELS_SUFFIX):
            labels[entry[: -len(LABELS_SUFFIX)]] = path
            continue
        stem, ext = os.path.splitext(entry)
        if ext.lower() in CLIP_EXTENSIONS:
            clips.setdefault(stem, []).append(path)
        else:
            ignored.append(path)
    single: dict[str, str] = {}
    several = set()
    for name, paths in clips.items():
        if len(paths) > 1:
            several.add(name)
            for path in paths:
                skips.fail(f"{where}: {' and '.join(paths)} are all clip {name!r}; keep one (the labels in "
                           f"{name}{LABELS_SUFFIX} belong to one clip)", path)
        else:
            single[name] = paths[0]
    if not clips and not labels:
        raise DataError(f"{where}: {directory} holds no clips ({', '.join(CLIP_EXTENSIONS)} files, each with "
                        f"NAME{LABELS_SUFFIX} beside it)")
    return single, labels, several, ignored


def _read_clips(directory: str, where: str, size: int | None, skips: Skips, ignored: list[str]) -> list[_Clip]:
    before = len(skips.entries)
    clip_paths, label_paths, several, extra = _clip_files(directory, where, skips)
    ignored.extend(extra)
    out: list[_Clip] = []
    for name, path in label_paths.items():
        if name not in clip_paths and name not in several:
            skips.fail(f"{where}: {path} has no clip beside it (expected {name}.npy, {name}.mp4, ...)", path)
    for name, path in clip_paths.items():
        label_path = label_paths.get(name)
        if label_path is None:
            skips.fail(f"{where}: {path} has no label file: write {os.path.join(directory, name + LABELS_SUFFIX)} "
                       "with one label per frame", path)
            continue
        try:
            if path.lower().endswith(".npy"):
                frames = read_npy(path, where)
            else:
                frames = read_video(path, where)
            if size is not None:
                if frames.ndim != 4:
                    raise DataError(f"{where}: size={size} resizes frames, but {path} holds feature vectors "
                                    f"{list(frames.shape)}")
                frames = _resize(frames, size)
        except DataError as exc:
            skips.fail(str(exc), path)
            continue
        try:
            labels = read_labels(label_path, where)
        except DataError as exc:
            line = getattr(exc, "line", None)
            skips.fail(str(exc), label_path, [line] if line else [])
            continue
        if len(labels) != len(frames):
            skips.fail(f"{where}: {label_path} has {len(labels)} labels (lines) but {path} has {len(frames)} "
                       "frames; write one label per frame, line N for frame N", label_path)
            continue
        out.append(_Clip(name, path, frames, labels, label_path))
    if not out and len(skips.entries) > before:
        first = list(skips.entries.values())[before]["reason"]
        raise DataError(f"{where}: {directory} has no usable clips: bad_rows='skip' left out every one "
                        f"(the first: {first})")
    return out


def _check_shapes(clips: list[_Clip], where: str, skips: Skips, resize_hint: bool) -> list[_Clip]:
    """Keep clips of one kind (images or features) and one step shape: the first clip's with
    ``bad_rows="error"`` (an error names both clips), the most common with ``"skip"``."""
    if not clips:
        return clips
    if skips.bad_rows == "skip":
        kind = Counter(c.images for c in clips).most_common(1)[0][0]
        shape = Counter(c.step_shape for c in clips if c.images == kind).most_common(1)[0][0]
        reference = next(c for c in clips if c.images == kind and c.step_shape == shape)
    else:
        reference = clips[0]
    kept = []
    for clip in clips:
        if clip.images != reference.images:
            kinds = {True: "images [T, H, W, C]", False: "feature vectors [T, F]"}
            skips.fail(f"{where}: {clip.path} holds {kinds[clip.images]} but {reference.path} holds "
                       f"{kinds[reference.images]}; one data set holds one kind", clip.path)
        elif clip.step_shape != reference.step_shape:
            if clip.images:
                hint = ("; give size=PX to resize every frame to PX x PX" if resize_hint
                        and clip.step_shape[-1] == reference.step_shape[-1] else "")
                if clip.step_shape[-1] != reference.step_shape[-1]:
                    hint = "; the channel counts differ (convert the frames to one colour layout)"
                skips.fail(f"{where}: {clip.path} has frames of {_describe(clip.step_shape)} (HxWxC) but "
                           f"{reference.path} has {_describe(reference.step_shape)}{hint}", clip.path)
            else:
                skips.fail(f"{where}: {clip.path} has {clip.step_shape[0]} features per step but "
                           f"{reference.path} has {reference.step_shape[0]}", clip.path)
        else:
            kept.append(clip)
    return kept


def _size(spec: DataSpec) -> int | None:
    if "size" not in spec.parts:
        return None
    value = spec.parts["size"]
    try:
        size = int(value)
    except ValueError:
        raise DataError(f"data spec {spec.text!r}: size must be an integer, got {value!r}") from None
    low, high = SIZE_RANGE
    if not low <= size <= high:
        raise DataError(f"data spec {spec.text!r}: size must be from {low} to {high}, got {size}")
    return size


def _by_name(item) -> str:
    return item.name


def load_frames_dir(spec: DataSpec) -> Splits[Example]:
    """``frames:DIR[,size=PX][,bad_rows=skip]`` or ``frames:train=DIR[,validation=DIR][,test=DIR]
    [,size=PX][,bad_rows=skip]``: clips and their per-frame labels; see the module docstring."""
    check_parts(spec, (*PART_NAMES, "size", "bad_rows"))
    skips = Skips(bad_rows_option(spec), spec.text)
    size = _size(spec)
    ignored: list[str] = []
    read = read_parts(spec, lambda directory, _: _read_clips(directory, spec.text, size, skips, ignored), "dir",
                      "DIR")
    # One shape across every part, checked before splitting.
    kept = {id(c) for c in _check_shapes([c for clips in read.values() for c in clips], spec.text, skips,
                                         size is None)}
    read = {part: [c for c in clips if id(c) in kept] for part, clips in read.items()}
    for part, clips in read.items():
        if not clips:
            raise DataError(f"{spec.text}: no usable clips in {spec.parts.get(part, spec.target)}: bad_rows='skip' "
                            "left out every one (their frames differ from the other clips')")
    parts = assemble(spec, read, _by_name)
    if not parts["train"]:
        raise DataError(f"{spec.text}: no usable training clips" + (" (bad_rows=skip left out every clip)"
                                                                   if skips.entries else ""))
    first = parts["train"][0]
    labels = sorted({label for clips in parts.values() for c in clips for label in c.labels})
    count = sum(len(clips) for clips in parts.values())
    kind = (f"frames {_describe(first.step_shape)}" if first.images
            else f"feature vectors of {first.step_shape[0]}")
    info: dict = {"labels": labels, "description": f"{count} clips of {kind} from {spec.text}, "
                  f"{len(labels)} labels", "clips": {name: len(parts[name]) for name in PART_NAMES}}
    info["frame_shape" if first.images else "feature_size"] = (list(first.step_shape) if first.images
                                                                else first.step_shape[0])
    if ignored:
        info["ignored_files"] = ignored[:KEPT_LINES]
    info.update(skips.report(spec, "clip(s)"))
    return Splits(*([(c.frames, c.labels) for c in parts[name]] for name in PART_NAMES), source=spec.text,
                  info=info)


# ---------------------------------------------------------------------------
# A CSV of steps
# ---------------------------------------------------------------------------

@dataclass
class _StepRow:
    line: int
    step: int
    label: str
    values: list[float]



def read_steps_csv(path: str, *, where: str, bad_rows: str = "error"
                   ) -> tuple[list[_Clip], list[str], dict[str, list]]:
    """Clips of a ``clip,step,label,FEATURES...`` CSV, the feature names, and what
    ``bad_rows="skip"`` left out (``{"lines": [...], "clips": [...]}``); see the module docstring."""
    text = read_text(path, where)
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, strict=True)
    records: list[tuple[int, list[str]]] = []
    end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _quoting_error(lines, end + 1, reader.line_num, path, ",", where, bad_rows, exc) from None
        if row and not (len(row) == 1 and not row[0].strip()):
            records.append((end + 1, row))
        end = reader.line_num
    if not records:
        raise DataError(f"{where}: {path} is empty")
    header_line, header = records[0]
    columns = [c.strip() for c in header]
    shown = ", ".join(map(repr, columns))
    for number, name in enumerate(columns, 1):
        if not name:
            raise DataError(f"{where}: {path} line {header_line}: header column {number} has no name ({shown})")
    duplicated = sorted({c for c in columns if columns.count(c) > 1}, key=columns.index)
    if duplicated:
        raise DataError(f"{where}: {path} line {header_line}: the header names {', '.join(map(repr, duplicated))} "
                        f"more than once ({shown})")
    roles = {}  # role -> the column that plays it
    for role, names in STEP_COLUMNS.items():
        present = [c for c in names if c in columns]
        if len(present) > 1:
            raise DataError(f"{where}: {path} line {header_line}: columns {' and '.join(map(repr, present))} both "
                            f"name the {role}; keep one ({shown})")
        if present:
            roles[role] = present[0]
    missing = [" or ".join(map(repr, names)) for role, names in STEP_COLUMNS.items() if role not in roles]
    if missing:
        raise DataError(f"{where}: {path} has no column {', '.join(missing)} (header has {shown}); "
                        "the header is clip,step,label,FEATURE,... (or sequence_id,t,FEATURE,...,label)")
    features = [c for c in columns if c not in roles.values()]
    if not features:
        raise DataError(f"{where}: {path} has no feature columns (header has {shown}); add one column per "
                        "feature after clip,step,label")
    i_clip, i_step, i_label = (columns.index(roles[r]) for r in ("clip", "step", "label"))
    i_features = [columns.index(c) for c in features]
    width = len(columns)

    clips: dict[str, list[_StepRow]] = {}
    clip_lines: dict[str, list[int]] = {}
    broken: dict[str, str] = {}       # clip -> the first problem (skip mode)
    loose_lines: list[int] = []       # bad rows whose clip cannot be told
    last_clip = None

    def bad(line: int, problem: str, clip: str | None) -> None:
        if bad_rows != "skip":
            raise DataError(f"{where}: {path} line {line}: {problem}")
        if clip is None:
            loose_lines.append(line)
        else:
            broken.setdefault(clip, problem)
            clip_lines.setdefault(clip, []).append(line)

    for line, row in records[1:]:
        if len(row) != width:
            # Whose row? Only trusted when the clip cell names the clip being read.
            owner = row[i_clip].strip() if i_clip < len(row) else None
            bad(line, f"{len(row)} field{'s' if len(row) != 1 else ''}, the header has {width} ({shown}); "
                "every row needs one field per column (quote fields that contain a comma)",
                owner if owner and owner == last_clip else None)
            continue
        clip, label = row[i_clip].strip(), row[i_label].strip()
        if not clip:
            bad(line, f"empty {roles['clip']!r}", None)
            continue
        if clip in clips and clip != last_clip:
            first = clips[clip][0].line if clips[clip] else clip_lines[clip][0]
            bad(line, f"clip {clip!r} continues here after other clips (its rows begin on line {first}); keep each "
                "clip's rows together, ordered by step", clip)
            continue
        clips.setdefault(clip, [])
        last_clip = clip
        problem = None
        step_text = row[i_step].strip()
        try:
            step = int(step_text)
        except ValueError:
            step = -1
            problem = (f"column {roles['step']!r}: {step_text!r} is not a whole number" if step_text
                       else f"empty {roles['step']!r}")
        if problem is None and step < 0:
            problem = f"column {roles['step']!r}: negative step {step}"
        if problem is None and not label:
            problem = "empty 'label'"
        values: list[float] = []
        if problem is None:
            for name, index in zip(features, i_features, strict=True):
                cell = row[index].strip()
                try:
                    value = float(cell)
                except ValueError:
                    problem = (f"column {name!r}: {cell!r} is not a number" if cell else f"empty {name!r}")
                    break
                if not math.isfinite(value):
                    problem = f"column {name!r}: {cell!r} is not a finite number"
                    break
                values.append(value)
        if problem is not None:
            bad(line, problem, clip)
            continue
        rows = clips[clip]
        if rows:
            previous = rows[-1]
            if step == previous.step:
                problem = f"clip {clip!r} has step {step} twice (also on line {previous.line})"
            elif step < previous.step:
                problem = (f"clip {clip!r} goes back from step {previous.step} (line {previous.line}) to step "
                           f"{step}; order each clip's rows by step")
            elif step > previous.step + 1:
                gap = (f"step {previous.step + 1}" if step == previous.step + 2
                       else f"steps {previous.step + 1}-{step - 1}")
                problem = (f"clip {clip!r} jumps from step {previous.step} (line {previous.line}) to step {step}: "
                           f"{gap} missing")
        elif step > 1:
            problem = f"clip {clip!r} starts at step {step}; steps start at 0 (or 1) and go up by 1"
        if problem is not None:
            bad(line, problem, clip)
            continue
        rows.append(_StepRow(line, step, label, values))
        clip_lines.setdefault(clip, []).append(line)

    out = [_Clip(name, path, np.array([r.values for r in rows], dtype=np.float32), [r.label for r in rows])
           for name, rows in clips.items() if name not in broken and rows]
    skipped_lines = sorted(loose_lines + [n for name in broken for n in clip_lines[name]])
    if not out:
        if skipped_lines:
            raise DataError(f"{where}: {path} has no usable clips: bad_rows='skip' left out every clip "
                            f"({line_list(skipped_lines)})")
        raise DataError(f"{where}: {path} has a header but no rows")
    return out, features, {"lines": skipped_lines, "clips": list(broken)}


def load_steps_csv(spec: DataSpec) -> Splits[Example]:
    """``steps:PATH[,bad_rows=skip]`` or ``steps:train=A[,validation=B][,test=C][,bad_rows=skip]``:
    one row per step, ``clip,step,label,FEATURES...``; see the module docstring."""
    check_parts(spec, (*PART_NAMES, "bad_rows"))
    bad_rows = bad_rows_option(spec)
    skipped: dict[str, dict] = {}
    names: dict[str, list[str]] = {}

    def read(path: str, _part: str) -> list[_Clip]:
        clips, features, left_out = read_steps_csv(path, where=spec.text, bad_rows=bad_rows)
        names[path] = features
        if left_out["lines"]:
            skipped[path] = {"count": len(left_out["lines"]), "lines": left_out["lines"][:KEPT_LINES],
                             "clips": left_out["clips"]}
        return clips

    found = read_parts(spec, read)
    (first_path, first_names), *others = names.items()
    for path, features in others:
        if sorted(features) != sorted(first_names):
            raise DataError(f"{spec.text}: {path} has features {', '.join(features)} but {first_path} has "
                            f"{', '.join(first_names)}; every part needs the same feature columns")
        if features != first_names:  # the same columns in another order: follow the first part's
            order = [features.index(name) for name in first_names]
            for clips in found.values():
                for clip in clips:
                    if clip.path == path:
                        clip.frames = clip.frames[:, order]
    parts = assemble(spec, found, _by_name)
    labels = sorted({label for clips in parts.values() for c in clips for label in c.labels})
    info: dict = {"labels": labels, "feature_names": first_names, "feature_size": len(first_names),
                  "description": f"steps of {len(first_names)} features from {spec.text}, {len(labels)} labels",
                  "clips": {name: len(parts[name]) for name in PART_NAMES}}
    if skipped:
        rows = sum(e["count"] for e in skipped.values())
        clips = sum(len(e["clips"]) for e in skipped.values())
        warnings.warn(f"{spec.text}: bad_rows=skip left out {rows} row(s) ({clips} whole clip(s) with a bad row): "
                      + "; ".join(f"{p} {line_list(e['lines'])}" for p, e in skipped.items()), stacklevel=2)
        info["skipped_rows"] = skipped
    return Splits(*([(c.frames, c.labels) for c in parts[name]] for name in PART_NAMES), source=spec.text,
                  info=info)
