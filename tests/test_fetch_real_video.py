"""experiments/fetch_real_video.py, offline: the archive is a small fabricated one in the bnpy layout."""

from __future__ import annotations

import io
import os
import sys
import tarfile

import pytest

from zoo.data import parse_spec
from zoo.data.frames import load_steps_csv

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "experiments"))

import fetch_real_video as frv

TRIALS = ["13_29", "13_30", "13_31", "14_06", "14_14", "14_20"]


def _archive(path, sensors=None, actions=None):
    """A tar.gz holding the three mocap6 files: six recordings of 3 to 8 steps, two features."""
    meta = ["seq_id,subj_uid,trial_id,file_name,url"]
    meta += [f"{i},{t[:2]},{int(t[3:])},{t},http://example.invalid" for i, t in enumerate(TRIALS)]
    if sensors is None:
        sensors, actions = ["seq_id,tstep_id,root.ty,lowerback.rx"], ["seq_id,tstep_id,action_name"]
        for i in range(len(TRIALS)):
            for t in range(3 + i):
                sensors.append(f"{i},{t},{i + t / 10:.1f},-{t}.5")
                actions.append(f"{i},{t},{'Jog' if t < 2 else 'Squat'}")
    with tarfile.open(path, "w:gz") as tar:
        for name, lines in ((frv.METADATA, meta), (frv.SENSORS, sensors), (frv.ACTIONS, actions)):
            data = ("\n".join(lines) + "\n").encode("utf-8")
            info = tarfile.TarInfo(frv.MEMBER_DIR + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_recordings_become_steps_csvs_the_zoo_reads(tmp_path, monkeypatch):
    archive = _archive(tmp_path / "bnpy-0.1.7.tar.gz")
    monkeypatch.setattr(frv, "fetch", lambda spec, cache_dir: archive)
    out = tmp_path / "out"
    frv.main(["--out-dir", str(out), "--cache-dir", str(tmp_path / "cache")])

    spec = ",".join(f"{part}={out / (part + '.csv')}" for part in ("train", "validation", "test"))
    splits = load_steps_csv(parse_spec("steps:" + spec, ("steps",)))
    assert splits.info["feature_names"] == ["root.ty", "lowerback.rx"]
    assert splits.info["labels"] == ["Jog", "Squat"]
    assert splits.info["clips"] == {"train": 3, "validation": 1, "test": 2}
    # train = 13_29, 14_06, 14_20: seq_ids 0, 3, 5 with 3, 6, 8 steps
    assert [len(labels) for _x, labels in splits.train] == [3, 6, 8]
    frames, labels = splits.test[1]  # 14_14 = seq_id 4: 7 steps
    assert frames.shape == (7, 2) and labels == ["Jog", "Jog"] + ["Squat"] * 5
    assert frames[2].tolist() == pytest.approx([4.2, -2.5])
    assert (out / "test.csv").read_text().splitlines()[1] == "13_31,0,Jog,2.0,-0.5"


def test_clip_steps_cuts_recordings_within_their_part(tmp_path):
    _features, recordings = frv.load_recordings(_archive(tmp_path / "a.tar.gz"))
    cut = frv.clips(recordings, ["14_20"], clip_steps=3)
    assert [name for name, _ in cut] == ["14_20_c00", "14_20_c01", "14_20_c02"]
    assert [len(steps) for _, steps in cut] == [3, 3, 2]
    assert cut[1][1][0] == recordings["14_20"][3]


@pytest.mark.parametrize("change, message", [
    (lambda s, a: (s, a[:-1]), "steps"),                                 # a label row missing
    (lambda s, a: (s[:3] + s[4:], a[:3] + a[4:]), "expected"),           # a gap in the steps
    (lambda s, a: (s, [*a[:2], "0,5,Jog", *a[3:]]), "has step"),         # files out of step
    (lambda s, a: ([*s[:2], "0,1,nan,1", *s[3:]], a), "not finite"),     # a NaN feature
])
def test_inconsistent_files_stop_the_script(tmp_path, change, message):
    sensors, actions = ["seq_id,tstep_id,f1,f2"], ["seq_id,tstep_id,action_name"]
    for t in range(4):
        sensors.append(f"0,{t},1.0,2.0")
        actions.append(f"0,{t},Jog")
    sensors, actions = change(sensors, actions)
    with pytest.raises(SystemExit, match=message):
        frv.load_recordings(_archive(tmp_path / "bad.tar.gz", sensors, actions))
