"""experiments/gpu_check.py: the quick measurement on the CPUs (with a distributed search), --prepare without
the network (pip stubbed out), the size limit, and bad input (exit 2, a message, no traceback)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "experiments", "gpu_check.py")


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_quick_run_on_the_cpus_with_two_workers(tmp_path):
    out = tmp_path / "result.json"
    done = _script("--quick", "--entries", "sentiment/lstm", "--epochs", "2", "--workers", "2", "--out", str(out),
                   timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert json.loads(done.stdout.strip().splitlines()[-1]) == report  # the last line of stdout is the result
    assert report["errors"] == []
    assert report["gpu"] is None and report["ratios"] is None  # no GPU here: said so, and the CPUs measured
    assert "no GPU found" in done.stderr
    machine = report["machine"]
    assert machine["cpu_count"] >= 1 and machine["platform"]
    assert [d["platform"] for d in machine["backend_devices"]["devices"]] == ["cpu"]
    assert machine["cpu_child"]["backend"] == "jax" and machine["cpu_child"]["keras"]
    assert "--quick" in report["command"] and report["settings"]["epochs"] == 2

    assert list(report["results"]) == ["sentiment/lstm"] and list(report["results"]["sentiment/lstm"]) == ["cpu"]
    train = report["results"]["sentiment/lstm"]["cpu"]
    assert train["data"] == "builtin:negation,n=400" and train["epochs"] == 2
    for key in ("train_examples", "first_epoch_seconds", "first_epoch_train_seconds", "first_epoch_examples_per_s",
                "steady_examples_per_s", "seconds"):
        assert _positive(train[key]), (key, train[key])
    assert len(train["train_seconds"]) == len(train["epoch_seconds"]) == 2
    assert all(_positive(s) for s in train["train_seconds"] + train["epoch_seconds"])
    assert all(t <= e for t, e in zip(train["train_seconds"], train["epoch_seconds"], strict=True))
    assert train["objective"] == "val_accuracy" and 0 <= train["validation_metric"] <= 1
    assert train["validation_metric"] == train["validation"]["accuracy"]

    tune = report["tune"]["cpu"]
    assert tune["entry"] == "sentiment/lstm" and tune["max_trials"] == 2
    assert tune["trials"] == tune["completed"] == 2
    assert _positive(tune["trials_per_hour"]) and _positive(tune["seconds"]) and _positive(tune["median_trial_seconds"])

    distributed = report["distributed"]
    assert distributed["workers"] == 2 and distributed["gpus"] == 0
    assert distributed["pinning"] == {"chief": "cpu", "worker0": "cpu", "worker1": "cpu"}
    assert distributed["trials"] == distributed["completed"] == 2
    assert sum(distributed["by_worker"].values()) == 2 and set(distributed["by_worker"]) <= {"worker0", "worker1"}
    assert _positive(distributed["trials_per_hour"]) and _positive(distributed["speedup_over_one_process"])
    assert sorted(os.listdir(tmp_path)) == ["result.json"]  # the work folders were temporary


def test_quick_data_specs_are_valid(gpu_check):
    """The --quick specs load with examples in every split (the slow test trains only one of them)."""
    import zoo

    for entry, _, quick in gpu_check.TRAIN:
        splits = zoo.get(entry).task.load_data(quick)
        assert splits.train and splits.validation and splits.test, (entry, quick)


def _stub_pip(monkeypatch, module, sizes: dict[str, int]):
    """resolve, download and the wheel build without pip: fake wheels of the given sizes."""
    calls = {"resolve": [], "download": []}

    def resolve(requirements, python_version, platforms):
        calls["resolve"].append((list(requirements), python_version, list(platforms)))
        return [{"name": name, "version": "1.0", "file": f"{name}-1.0-py3-none-any.whl"} for name in sizes]

    def download(pins, folder, python_version, platforms):
        calls["download"].append(list(pins))
        for pin in pins:
            name = pin.split("==")[0]
            with open(os.path.join(folder, f"{name.replace('-', '_')}-1.0-py3-none-any.whl"), "wb") as f:
                f.truncate(sizes[name])  # sparse: a "large" wheel takes no disk

    def build_self_wheel(folder):
        with open(os.path.join(folder, "keras_seq_zoo-0.1.0-py3-none-any.whl"), "wb") as f:
            f.write(b"zoo wheel")

    monkeypatch.setattr(module, "resolve", resolve)
    monkeypatch.setattr(module, "download", download)
    monkeypatch.setattr(module, "build_self_wheel", build_self_wheel)
    return calls


def test_prepare_writes_the_manifest_and_skips_what_the_device_has(gpu_check, monkeypatch, tmp_path, capsys):
    sizes = {"keras": 2000, "ml_dtypes": 10, "numpy": 100, "Pillow": 50, "scipy": 300, "grpcio": 700, "pip": 40}
    calls = _stub_pip(monkeypatch, gpu_check, sizes)
    folder = tmp_path / "wheels"
    assert gpu_check.main(["--prepare", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "4 wheels" in printed and str(folder) in printed

    requirements, version, platforms = calls["resolve"][0]
    assert requirements == [*gpu_check.core_requirements(), "pip"] and "keras>=3.5,<4" in requirements
    assert version == "3.11" and platforms == ["manylinux2014_x86_64"]
    assert calls["download"] == [["keras==1.0", "grpcio==1.0", "pip==1.0"]]  # not numpy, scipy, ml_dtypes, Pillow

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["python_versions"] == ["3.11"] and manifest["platforms"] == ["manylinux2014_x86_64"]
    assert set(manifest["skipped"]) == {"numpy", "scipy", "jax", "jaxlib", "ml-dtypes", "pillow"}
    files = {e["file"]: e for e in manifest["files"]}
    assert sorted(files) == sorted(name for name in os.listdir(folder) if name.endswith(".whl"))
    assert "keras_seq_zoo-0.1.0-py3-none-any.whl" in files and "numpy-1.0-py3-none-any.whl" not in files
    for name, e in files.items():
        data = (folder / name).read_bytes()
        assert e["bytes"] == len(data) and e["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["total_bytes"] == sum(e["bytes"] for e in files.values()) == 2000 + 700 + 40 + 9

    # The folder passes the device side's checks, and names the Python it is for.
    assert gpu_check.check_wheels(str(folder))["python_versions"] == ["3.11"]


def test_prepare_options_reach_pip(gpu_check, monkeypatch, tmp_path):
    calls = _stub_pip(monkeypatch, gpu_check, {"keras": 10, "numpy": 10, "six": 10})
    assert gpu_check.main(["--prepare", str(tmp_path / "w"), "--python-version", "3.12", "--platform",
                           "manylinux_2_28_x86_64,manylinux2014_x86_64", "--skip", "six,keras"]) == 0
    assert calls["resolve"][0][1:] == ("3.12", ["manylinux_2_28_x86_64", "manylinux2014_x86_64"])
    assert calls["download"] == [["numpy==1.0"]]


def test_prepare_dry_run_downloads_nothing(gpu_check, monkeypatch, tmp_path, capsys):
    calls = _stub_pip(monkeypatch, gpu_check, {"keras": 10, "numpy": 10, "sacrebleu": 10})
    folder = tmp_path / "wheels"
    assert gpu_check.main(["--prepare", str(folder), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "keras==1.0" in printed and "sacrebleu==1.0" in printed and "numpy" not in printed
    assert "keras-seq-zoo" in printed
    assert calls["download"] == [] and not folder.exists()


def test_prepare_over_the_size_limit_fails_and_leaves_nothing(gpu_check, monkeypatch, tmp_path, capsys):
    _stub_pip(monkeypatch, gpu_check, {"keras": 2 * 2**20, "scikit-learn": 59 * 2**20})
    folder = tmp_path / "wheels"
    assert gpu_check.main(["--prepare", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "61.0 MiB, over the 60.0 MiB limit" in err and "scikit_learn-1.0-py3-none-any.whl (59.0 MiB)" in err
    assert "--skip" in err and not folder.exists()

    existing = tmp_path / "empty"  # an empty folder given is kept, emptied again
    existing.mkdir()
    assert gpu_check.main(["--prepare", str(existing)]) == 2
    assert existing.is_dir() and os.listdir(existing) == []


def test_finished_trials_of_a_stopped_search(gpu_check, tmp_path):
    for i, status in enumerate(["COMPLETED", "RUNNING", "COMPLETED"]):
        (tmp_path / "search" / f"trial_{i}").mkdir(parents=True)
        (tmp_path / "search" / f"trial_{i}" / "trial.json").write_text(json.dumps({"status": status}))
    numbers = gpu_check.search_numbers(gpu_check.finished_trials(str(tmp_path)), 360.0)
    assert numbers["trials"] == 3 and numbers["completed"] == 2 and numbers["trials_per_hour"] == pytest.approx(20)


def _wheels(tmp_path, names, manifest=None):
    folder = tmp_path / "w"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"x")
    if manifest is not None:
        (folder / "manifest.json").write_text(manifest)
    return str(folder)


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda t: ["--wheels", str(t / "missing")], "no such folder"),
    (lambda t: ["--wheels", _wheels(t, ["notes.txt"])], "no wheels (*.whl) in it"),
    (lambda t: ["--wheels", _wheels(t, ["keras-3.5-py3-none-any.whl"])], "no keras-seq-zoo wheel in it"),
    (lambda t: ["--wheels", _wheels(t, ["keras_seq_zoo-0.1.0-py3-none-any.whl"], '{"python_versions": ["3.1"]}')],
     "holds wheels for Python 3.1, this is Python"),
    (lambda t: ["--wheels", _wheels(t, ["keras_seq_zoo-0.1.0-py3-none-any.whl"], "{not json")],
     "unreadable manifest.json"),
    (lambda t: ["--backend", "cntk"], "invalid choice: 'cntk'"),
    (lambda t: ["--workers", "0"], "--workers must be at least 1"),
    (lambda t: ["--epochs", "0"], "--epochs must be at least 1"),
    (lambda t: ["--trials", "-1"], "--trials must be at least 1"),
    (lambda t: ["--epochs", "two"], "invalid int value: 'two'"),
    (lambda t: ["--entries", "sentiment/gru"], "--entries expects some of sentiment/lstm,"),
    (lambda t: ["--budget-s", "0"], "--budget-s must be positive"),
    (lambda t: ["--out", str(t)], "is a folder; name a file"),
    (lambda t: ["--dry-run"], "--dry-run goes with --prepare"),
    (lambda t: ["--prepare", str(t / "a"), "--wheels", str(t / "b")], "not allowed with argument"),
    (lambda t: ["--prepare", str(t / "a"), "--python-version", "three"], "--python-version expects 3.X"),
    (lambda t: ["--prepare", _wheels(t, ["old.whl"])], "not empty; name a new or empty folder"),
    (lambda t: ["--prepare", str(t / "a"), "--platform", ","], "--platform names no platform"),
])
def test_bad_input_exits_2_with_a_message(tmp_path, make_args, message):
    done = _script(*make_args(tmp_path))
    assert done.returncode == 2, (done.stdout[-1000:], done.stderr[-2000:])
    assert message in done.stderr and "error:" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
