"""Tuning: a real small search, presets, resume after SIGKILL, failed trials,
distributed chief and workers, experiment files and their errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import keras_tuner as kt
import pytest
from keras import layers, ops

import zoo
from zoo import _registry
from zoo.cli import main

SMALL = "builtin:negation,n=400"
ZOO = [sys.executable, "-m", "zoo.cli"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_small_search_writes_table_plot_preset_and_final_fit(tmp_path, capsys):
    out = str(tmp_path / "search")
    result = zoo.tune("sentiment/gru", SMALL, out, max_trials=3, epochs=2, verbose=0,
                      overrides={"depth": 1}, space={"units": [16, 32], "embedding_dim": [16, 32]},
                      final_fit=True)
    assert len(result.trials) == 3 and all(t["status"] == "COMPLETED" for t in result.trials)
    for t in result.trials:
        assert t["hyperparameters"]["depth"] == 1
        assert t["hyperparameters"]["units"] in (16, 32) and t["hyperparameters"]["embedding_dim"] in (16, 32)
        assert 0 <= t["score"] <= 1 and t["seconds"] > 0 and t["rss_mb"] > 0
    for name in ("trials.csv", "trials.json", "objective.png", "preset.json", "tune_config.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "objective.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "val_accuracy" in result.table() and len(result.table().splitlines()) == 5
    assert os.path.isdir(os.path.join(out, "tensorboard", "0"))

    preset = json.load(open(result.preset_path))
    assert preset["entry"] == "sentiment/gru" and preset["data"] == SMALL and preset["score"] == result.best["score"]
    assert preset["objective"] == "val_accuracy" and preset["date"]
    # The preset rebuilds the best model: same hyperparameters, same parameter count.
    hp = kt.HyperParameters()
    hp.values.update(result.best["hyperparameters"])
    best = zoo.hypermodel("sentiment/gru").build(hp)
    assert zoo.build("sentiment/gru", preset=result.preset_path).count_params() == best.count_params()
    code, printed, _ = _cli(capsys, "build", "sentiment/gru", "--preset", result.preset_path)
    assert code == 0 and f"{best.count_params():,}" in printed

    assert result.final["test"]["accuracy"] >= 0 and result.final["search_score"] == result.best["score"]
    assert zoo.load(result.final["run"]).config["include_validation"] is True


@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_other_tuners(tmp_path, tuner):
    result = zoo.tune("sentiment/bag_of_embeddings", SMALL, str(tmp_path / "s"), tuner=tuner, max_trials=3,
                      epochs=2, verbose=0, space={"units": [16, 32]})
    assert result.trials and all(t["status"] == "COMPLETED" for t in result.trials)
    assert json.load(open(result.preset_path))["tuner"] == tuner


def test_mirrored_distribution_runs_a_trial(tmp_path):
    """tf.distribute.MirroredStrategy over the visible devices (one CPU here, every GPU elsewhere)."""
    result = zoo.tune("sentiment/bag_of_embeddings", SMALL, str(tmp_path / "s"), max_trials=1, epochs=1,
                      verbose=0, distribution="mirrored")
    assert [t["status"] for t in result.trials] == ["COMPLETED"]


def test_keep_best_bounds_checkpoints(tmp_path):
    out = str(tmp_path / "search")
    zoo.tune("sentiment/bag_of_embeddings", SMALL, out, max_trials=4, epochs=1, verbose=0, keep_best=2)
    checkpoints = [d for d in os.listdir(os.path.join(out, "search")) if d.startswith("trial_")
                   and any(n.startswith("checkpoint") for n in os.listdir(os.path.join(out, "search", d)))]
    assert len(checkpoints) == 2


def test_rerun_resumes_and_other_settings_are_refused(tmp_path):
    out = str(tmp_path / "search")
    first = zoo.tune("sentiment/bag_of_embeddings", SMALL, out, max_trials=2, epochs=1, verbose=0)
    stamps = {t["trial_id"]: json.load(open(os.path.join(out, "search", f"trial_{t['trial_id']}",
                                                          "zoo_trial.json")))["started"] for t in first.trials}
    more = zoo.tune("sentiment/bag_of_embeddings", SMALL, out, max_trials=3, epochs=1, verbose=0)
    assert len(more.trials) == 3
    for trial_id, started in stamps.items():  # finished trials were not run again
        meta = json.load(open(os.path.join(out, "search", f"trial_{trial_id}", "zoo_trial.json")))
        assert meta["started"] == started
    with pytest.raises(zoo.RunDirError, match="holds a search with other settings"):
        zoo.tune("sentiment/bag_of_embeddings", SMALL, out, max_trials=3, epochs=2, verbose=0)


def test_resume_after_sigkill(tmp_path):
    out = str(tmp_path / "search")
    cmd = [*ZOO, "tune", "sentiment/gru", "--data", SMALL, "--out", out, "--max-trials", "3",
           "--epochs", "3", "--set", "depth=1", "--space", "units=16,32,48"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    first = os.path.join(out, "search", "trial_0", "zoo_trial.json")
    deadline = time.time() + 240
    while not os.path.exists(first) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert os.path.exists(first), "the first trial never finished"
    time.sleep(1.5)  # the second trial is training now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    started = json.load(open(first))["started"]
    assert not os.path.exists(os.path.join(out, "trials.json"))

    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    trials = json.load(open(os.path.join(out, "trials.json")))
    assert sorted(t["trial_id"] for t in trials) == ["0", "1", "2"]
    assert all(t["status"] == "COMPLETED" for t in trials)
    assert json.load(open(first))["started"] == started  # trial 0 kept, not rerun


@pytest.fixture
def fragile_entry():
    """A test-only entry: units=32 is an impossible combination, units=48 diverges to NaN."""

    def fragile(hp, problem):
        units = hp.Choice("units", [16, 32, 48], default=16)
        if units == 32:
            raise ValueError("impossible combination: units=32 is not supported")
        tokens = keras.Input(shape=(problem["sequence_length"],), dtype="int32")
        x = layers.Embedding(problem["vocab_size"], 8)(tokens)
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dense(units, activation="relu")(x)
        outputs = layers.Dense(problem["num_classes"], activation="softmax")(x)
        model = keras.Model(tokens, outputs)

        def nan_loss(y_true, y_pred):
            return ops.mean(y_pred) * float("nan")

        loss = nan_loss if units == 48 else "sparse_categorical_crossentropy"
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        return model

    zoo.register_model("sentiment/test_fragile")(fragile)
    yield "sentiment/test_fragile"
    _registry._MODELS.pop("sentiment/test_fragile")


def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path, fragile_entry):
    out = str(tmp_path / "search")
    result = zoo.tune(fragile_entry, SMALL, out, max_trials=3, epochs=3, verbose=0, max_consecutive_failures=3)
    by_units = {t["hyperparameters"]["units"]: t for t in result.trials}
    assert set(by_units) == {16, 32, 48}
    assert by_units[16]["status"] == "COMPLETED" and by_units[16]["score"] is not None
    assert by_units[32]["status"] == "FAILED" and "impossible combination" in by_units[32]["reason"]
    assert by_units[48]["status"] == "FAILED" and "loss became nan at batch 0" in by_units[48]["reason"]
    assert result.best["hyperparameters"]["units"] == 16
    rows = open(os.path.join(out, "trials.csv")).read()
    assert "impossible combination" in rows and "loss became nan" in rows


def test_consecutive_failures_stop_the_search(tmp_path, fragile_entry):
    with pytest.raises(zoo.ZooError, match=r"stopped after 2 consecutive failed trials; last reason: .*"):
        zoo.tune(fragile_entry, SMALL, str(tmp_path / "s"), max_trials=3, epochs=1, verbose=0,
                 space={"units": [48, 32]}, max_consecutive_failures=2)
    assert os.path.exists(tmp_path / "s" / "trials.csv")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_chief_and_two_workers(tmp_path):
    out, port = str(tmp_path / "search"), _free_port()
    base = [*ZOO, "tune", "sentiment/bag_of_embeddings", "--data", SMALL, "--out", out, "--max-trials", "4",
            "--epochs", "1", "--oracle", f"127.0.0.1:{port}"]
    chief = subprocess.Popen([*base, "--chief"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    time.sleep(3)
    workers = [subprocess.Popen([*base, "--worker", "--tuner-id", f"worker{i}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT) for i in range(2)]
    try:
        for w in workers:
            _, err = w.communicate(timeout=300)
            assert w.returncode == 0, err[-2000:]
        out_text, err = chief.communicate(timeout=120)
        assert chief.returncode == 0, err[-2000:]
    finally:
        for p in [chief, *workers]:
            if p.poll() is None:
                p.kill()
    trials = json.load(open(os.path.join(out, "trials.json")))
    assert len(trials) == 4 and all(t["status"] == "COMPLETED" for t in trials)
    assert len({t["trial_id"] for t in trials}) == 4  # each ran exactly once
    runners = {t["tuner_id"] for t in trials}
    assert runners <= {"worker0", "worker1"} and runners
    assert "val_accuracy" in out_text


@pytest.mark.parametrize(("toml", "message"), [
    ('entry = "sentiment/lstm"\ndata = "builtin:negation"\nmax_trails = 3\n', "unknown key 'max_trails'; allowed:"),
    ('entry = "sentiment/lstm"\ndata = "builtin:negation"\nmax_trials = "three"\n',
     "'max_trials' must be int, got 'three'"),
    ('data = "builtin:negation"\n', "missing 'entry'"),
    ('entry = "sentiment/lstm"\ndata = "builtin:negation"\ntuner = "grid"\n',
     "unknown tuner 'grid'; allowed: random, bayesian, hyperband"),
    ('entry = "sentiment/lstm"\ndata = "builtin:negation"\nobjective = "val_bleu"\n',
     "unknown objective 'val_bleu' for task sentiment; allowed: val_accuracy (max), val_loss (min)"),
    ('entry = "sentiment/lstm"\ndata = "builtin:negation"\n[space]\nunits = [64, 9999]\n',
     "'units' of sentiment/lstm got 9999"),
    ('entry = "sentiment/lstm"\ndata = "builtin:negation"\n[set]\ncell = "gru"\n', "unknown hyperparameter 'cell'"),
    ('entry = "sentiment/lstm"\ndata = "builtin:negation\n', "not valid TOML"),
])
def test_bad_experiment_files(tmp_path, capsys, toml, message):
    path = tmp_path / "exp.toml"
    path.write_text(toml)
    code, _, err = _cli(capsys, "tune", "--config", str(path), "--out", str(tmp_path / "s"))
    assert code == 2 and message in err and "Traceback" not in err


def test_shipped_experiment_files_are_valid():
    from zoo.tuning import load_config

    folder = os.path.join(ROOT, "experiments")
    files = [f for f in os.listdir(folder) if f.endswith(".toml")]
    assert files
    for name in files:
        config = load_config(os.path.join(folder, name))
        spec = zoo.get(config["entry"])
        assert config["data"].split(":")[0] in spec.task.data_kinds


def test_config_file_with_overriding_flags(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text('entry = "sentiment/bag_of_embeddings"\ndata = "builtin:negation,n=400"\n'
                    'max_trials = 5  # overridden below\nepochs = 1\n[space]\nunits = [16, 32]\n')
    code, out, err = _cli(capsys, "tune", "--config", str(path), "--out", str(tmp_path / "s"), "--max-trials", "2")
    assert code == 0, err
    summary = json.loads(out[out.index("{"):])
    assert summary["trials"] == 2 and summary["preset"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--worker"], "--worker needs --oracle HOST:PORT"),
    (["--chief", "--worker", "--oracle", "h:1"], "choose --chief or --worker, not both"),
    (["--worker", "--oracle", "nohost"], "--oracle expects HOST:PORT"),
    (["--space", "units="], "--space units= lists no values"),
    (["--max-trials", "0"], "max_trials must be a positive integer"),
])
def test_bad_tune_flags(tmp_path, capsys, monkeypatch, argv, message):
    for var in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = _cli(capsys, "tune", "sentiment/gru", "--data", SMALL, "--out", str(tmp_path / "s"), *argv)
    assert code == 2 and message in err
    for var in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(var, raising=False)
