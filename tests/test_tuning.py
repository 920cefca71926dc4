"""Tuning: a real small search, presets, resume after SIGKILL, failed trials,
distributed chief and workers, experiment files and their errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import keras
import keras_tuner as kt
import pytest
from conftest import cli as _cli
from keras import layers, ops

import zoo
from zoo import registry
from zoo.cli import main

SMALL = "builtin:negation,n=400"
ZOO = [sys.executable, "-m", "zoo.cli"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_small_search_writes_table_plot_preset_and_final_fit(tmp_path, capsys):
    out = str(tmp_path / "search")
    # learning_rate 0.03 and 6 epochs: every trial learns the task (measured: best validation
    # 0.975-1.0 and final-fit test accuracy 0.97-1.0 over seeds 0-3 while freeze_embeddings was still
    # searched; 0.90 on these 40 validation texts since; 2 epochs stay near chance, the control near 0.6).
    # Everything but the two searched values is fixed, so the trials differ only where the test says.
    result = zoo.tune("sentiment/gru", SMALL, out, max_trials=3, epochs=6, verbose=0,
                      overrides={"depth": 1, "learning_rate": 0.03, "dropout": 0.0, "embedding_dropout": 0.0,
                                 "lr_decay": 1.0,  # the real-text regularisation slows this small task down
                                 "pooling": "max", "clipnorm": 1.0, "weight_decay": 0.05},
                      space={"units": [16, 32], "embedding_dim": [16, 32]}, final_fit=True)
    assert len(result.trials) == 3 and all(t["status"] == "COMPLETED" for t in result.trials)
    for t in result.trials:
        assert t["hyperparameters"]["depth"] == 1 and t["hyperparameters"]["learning_rate"] == 0.03
        assert t["hyperparameters"]["units"] in (16, 32) and t["hyperparameters"]["embedding_dim"] in (16, 32)
        assert 0 <= t["score"] <= 1 and t["seconds"] > 0 and t["rss_mb"] > 0
    assert len({tuple(sorted(t["hyperparameters"].items())) for t in result.trials}) == 3  # no repeats
    assert result.best["score"] == max(t["score"] for t in result.trials) >= 0.85
    for name in ("trials.csv", "trials.json", "objective.png", "tuned_hyperparameters.json", "tune_config.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "objective.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "val_accuracy" in result.table() and len(result.table().splitlines()) == 5
    assert os.path.isdir(os.path.join(out, "tensorboard", "0"))

    assert result.preset_path == result.tuned_path  # the old name
    preset = json.load(open(result.tuned_path))
    assert preset["entry"] == "sentiment/gru" and preset["data"] == SMALL and preset["score"] == result.best["score"]
    assert preset["objective"] == "val_accuracy" and preset["date"]
    # The tuned file rebuilds the best model (preset=: the old name): same hyperparameters, same size.
    hp = kt.HyperParameters()
    hp.values.update(result.best["hyperparameters"])
    best = zoo.hypermodel("sentiment/gru").build(hp)
    assert zoo.build("sentiment/gru", preset=result.preset_path).count_params() == best.count_params()
    assert zoo.build("sentiment/gru", tuned=result.tuned_path).count_params() == best.count_params()
    code, printed, _ = _cli(capsys, "build", "sentiment/gru", "--tuned", result.tuned_path)
    assert code == 0 and f"{best.count_params():,}" in printed

    assert result.final["search_score"] == result.best["score"]
    assert result.final["test"]["accuracy"] >= 0.9  # chance is 0.5; the order-blind control stays near 0.6
    final_config = zoo.load(result.final["run"]).config
    assert final_config["include_validation"] is True and final_config["epochs"] == result.best["epochs"]


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_other_tuners(tmp_path, tuner):
    result = zoo.tune("sentiment/bag_of_embeddings", SMALL, str(tmp_path / "s"), tuner=tuner, max_trials=3,
                      epochs=2, verbose=0, space={"units": [16, 32]})
    assert result.trials and all(t["status"] == "COMPLETED" for t in result.trials)
    assert json.load(open(result.preset_path))["tuner"] == tuner


@pytest.mark.slow
def test_mirrored_distribution_runs_a_trial(tmp_path):
    """tf.distribute.MirroredStrategy over the visible devices (one CPU here, every GPU elsewhere)."""
    result = zoo.tune("sentiment/bag_of_embeddings", SMALL, str(tmp_path / "s"), max_trials=1, epochs=1,
                      verbose=0, distribution="mirrored")
    assert [t["status"] for t in result.trials] == ["COMPLETED"]


@pytest.mark.slow
def test_keep_best_bounds_checkpoints(tmp_path):
    out = str(tmp_path / "search")
    zoo.tune("sentiment/bag_of_embeddings", SMALL, out, max_trials=4, epochs=1, verbose=0, keep_best=2)
    checkpoints = [d for d in os.listdir(os.path.join(out, "search")) if d.startswith("trial_")
                   and any(n.startswith("checkpoint") for n in os.listdir(os.path.join(out, "search", d)))]
    assert len(checkpoints) == 2


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_trial_trains_exactly_as_zoo_train_does(tmp_path, monkeypatch):
    """One trial with every hyperparameter fixed is the run ``zoo train`` makes with those values:
    same seed, same epochs, the same scores epoch by epoch and the same early stop."""
    entry = "sentiment/gru"
    task = zoo.get(entry).task
    monkeypatch.setattr(task, "patience", 1)  # early stopping within a few epochs, for both alike
    values = {"embedding_dim": 16, "units": 16, "depth": 2, "dropout": 0.3, "learning_rate": 0.03,
              "clipnorm": 1.0,  # depth 2: the dropout layer, seeded too, is in the model
              "embedding_dropout": 0.25, "weight_decay": 0.05, "lr_decay": 0.7, "pooling": "max",
              "freeze_embeddings": False}  # the learning-rate schedule runs in trials too
    assert set(values) == set(zoo.get(entry).space())  # nothing left for the tuner to choose
    epochs, seed = 8, 7
    run = zoo.train(entry, SMALL, None, epochs=epochs, overrides=values, seed=seed, verbose=0)
    result = zoo.tune(entry, SMALL, str(tmp_path / "search"), max_trials=1, epochs=epochs, seed=seed,
                      overrides=values, verbose=0)
    [trial] = result.trials
    assert trial["status"] == "COMPLETED" and trial["hyperparameters"] == values
    [history] = json.load(open(tmp_path / "search" / "search" / "trial_0" / "zoo_trial.json"))["history"]

    trained = run.metrics["epochs_trained"]
    assert trained < epochs, "early stopping did not stop the run: the test needs it to"
    assert len(history["loss"]) == trained  # the trial stopped on the same epoch
    assert trial["epochs"] == run.metrics["best_epoch"]  # and picked the same best epoch
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert history[key] == pytest.approx(run.history[key][:trained], abs=1e-4), key
    assert trial["score"] == pytest.approx(run.metrics["validation"]["accuracy"], abs=1e-4)
    assert trial["score"] == pytest.approx(max(run.history["val_accuracy"]), abs=1e-4)


def _snapshot(folder: str, skip: tuple[str, ...] = ()) -> dict[str, bytes | None]:
    """Every folder and file under ``folder`` with its bytes (folders: None)."""
    found: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), folder) + os.sep] = None
        for name in files:
            path = os.path.join(root, name)
            if os.path.relpath(path, folder) not in skip:
                with open(path, "rb") as f:
                    found[os.path.relpath(path, folder)] = f.read()
    return found


@pytest.mark.slow
def test_overwrite_with_missing_data_leaves_the_search_untouched(tmp_path, capsys):
    out = str(tmp_path / "search")
    zoo.tune("sentiment/bag_of_embeddings", SMALL, out, max_trials=1, epochs=1, verbose=0)
    before = _snapshot(out)
    missing = str(tmp_path / "missing.csv")
    with pytest.raises(zoo.DataError, match=r"missing\.csv"):
        zoo.tune("sentiment/bag_of_embeddings", f"csv:{missing}", out, max_trials=1, epochs=1, verbose=0,
                 overwrite=True)
    code, _, err = _cli(capsys, "tune", "sentiment/bag_of_embeddings", "--data", f"csv:{missing}", "--out", out,
                        "--max-trials", "1", "--epochs", "1", "--overwrite")
    assert code == 2 and "missing.csv" in err
    assert _snapshot(out) == before  # byte for byte, its lock file included
    assert sorted(os.listdir(tmp_path)) == ["search"]  # and nothing beside it (no search.overwrite)


@pytest.mark.slow
def test_interrupted_overwrites_leave_the_old_search_and_a_later_one_succeeds(tmp_path, monkeypatch,
                                                                              fragile_entry):
    out = str(tmp_path / "search")
    zoo.tune(fragile_entry, SMALL, out, max_trials=1, epochs=1, verbose=0, space={"units": [16]})
    # The lock file is the only one a later search may touch: it holds the current holder's pid.
    before = _snapshot(out, skip=(".zoo.lock",))

    # 1. Stopped by consecutive failures, and again when rerun: the old search stays.
    for _ in range(2):
        with pytest.raises(zoo.ZooError, match="stopped after 2 consecutive failed trials"):
            zoo.tune(fragile_entry, SMALL, out, max_trials=2, epochs=1, verbose=0, space={"units": [48, 32]},
                     max_consecutive_failures=2, overwrite=True)
        assert _snapshot(out, skip=(".zoo.lock",)) == before
    assert os.path.exists(out + ".overwrite/trials.csv")  # the failed search, for its reasons

    # 2. Interrupted (Ctrl-C) after its trials, right before the swap: the old search stays.
    search = zoo.tuning.search._search

    def interrupted(*args, **kwargs):
        search(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo.tuning.search, "_search", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zoo.tune(fragile_entry, SMALL, out, max_trials=1, epochs=2, verbose=0, space={"units": [16]},
                 overwrite=True)
    assert _snapshot(out, skip=(".zoo.lock",)) == before
    monkeypatch.undo()

    # 3. A later overwrite with the same settings resumes the interrupted one and replaces the old search.
    new = zoo.tune(fragile_entry, SMALL, out, max_trials=1, epochs=2, verbose=0, space={"units": [16]},
                   overwrite=True)
    assert [t["status"] for t in new.trials] == ["COMPLETED"]
    assert json.load(open(os.path.join(out, "tune_config.json")))["settings"]["epochs"] == 2
    assert new.tuned_path == os.path.join(out, "tuned_hyperparameters.json") and new.best["score"] is not None
    meta = json.load(open(os.path.join(out, "search", "trial_0", "zoo_trial.json")))
    assert len(meta["attempts"]) == 1  # the interrupted search's trial, kept, not run again
    assert json.load(open(new.preset_path))["name"] == f"{fragile_entry}@search"
    assert sorted(os.listdir(tmp_path)) == ["search"]  # no search.overwrite, no old copy left beside it
    # 4. And the replaced search resumes like any other.
    again = zoo.tune(fragile_entry, SMALL, out, max_trials=1, epochs=2, verbose=0, space={"units": [16]})
    assert again.trials == new.trials


def _json(path):
    """A JSON file zoo or keras-tuner wrote (atomically), or None while it does not exist yet."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    out = str(tmp_path / "search")
    search = os.path.join(out, "search")
    cmd = [*ZOO, "tune", "sentiment/gru", "--data", SMALL, "--out", out, "--max-trials", "3",
           "--epochs", "3", "--set", "depth=1", "--space", "units=16,32,48"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        # zoo_trial.json records each attempt at a trial when it starts, and its end when it ends.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            meta = _json(os.path.join(search, "trial_1", "zoo_trial.json"))
            if meta and "finished" not in meta["attempts"][-1]:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"trial 1 never started (exit status {first.poll()})")
        os.kill(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()

    # Killed in the middle of trial 1: trial 0 finished, trial 1 running, trial 2 never created.
    assert _json(os.path.join(search, "trial_0", "trial.json"))["status"] == "COMPLETED"
    assert _json(os.path.join(search, "trial_1", "trial.json"))["status"] == "RUNNING"
    assert not os.path.exists(os.path.join(search, "trial_2"))
    killed = _json(os.path.join(search, "trial_1", "zoo_trial.json"))["attempts"]
    assert len(killed) == 1 and killed[0]["pid"] == first.pid and "finished" not in killed[0]
    oracle = _json(os.path.join(search, "oracle.json"))
    assert list(oracle["ongoing_trials"].values()) == ["1"] and oracle["end_order"] == ["0"]
    kept = _json(os.path.join(search, "trial_0", "zoo_trial.json"))
    assert not os.path.exists(os.path.join(out, "trials.json"))

    rerun = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err[-2000:]
    trials = json.load(open(os.path.join(out, "trials.json")))
    assert sorted(t["trial_id"] for t in trials) == ["0", "1", "2"]
    assert all(t["status"] == "COMPLETED" for t in trials)
    assert _json(os.path.join(search, "trial_0", "zoo_trial.json")) == kept  # trial 0 kept, not rerun
    # Trial 1 ran again, from its start, to the end; trial 2 ran once, in the rerun.
    attempts = {i: _json(os.path.join(search, f"trial_{i}", "zoo_trial.json"))["attempts"] for i in "012"}
    assert [a["pid"] for a in attempts["1"]] == [first.pid, rerun.pid]
    assert "finished" not in attempts["1"][0] and "finished" in attempts["1"][1]
    assert [a["pid"] for a in attempts["0"]] == [first.pid] and [a["pid"] for a in attempts["2"]] == [rerun.pid]
    for trial_attempts in attempts.values():  # every trial ran to its end exactly once, without error
        finished = [a for a in trial_attempts if "finished" in a]
        assert len(finished) == 1 and "error" not in finished[0]
    oracle = _json(os.path.join(search, "oracle.json"))  # keras-tuner's own count of ended runs
    assert oracle["run_times"] == {"0": 1, "1": 1, "2": 1} and oracle["ongoing_trials"] == {}
    assert sorted(oracle["end_order"]) == ["0", "1", "2"]


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
    registry._MODELS.pop("sentiment/test_fragile")


@pytest.mark.slow
def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path, fragile_entry):
    out = str(tmp_path / "search")
    result = zoo.tune(fragile_entry, SMALL, out, max_trials=3, epochs=3, verbose=0, max_consecutive_failures=3)
    by_units = {t["hyperparameters"]["units"]: t for t in result.trials}
    assert set(by_units) == {16, 32, 48}
    assert by_units[16]["status"] == "COMPLETED" and by_units[16]["score"] is not None
    assert by_units[32]["status"] == "FAILED" and "impossible combination" in by_units[32]["reason"]
    # The NaN guard checks once per compiled call of up to 32 batches (steps_per_execution), so the
    # batch it names is the last of the first call; what matters is that the trial stopped there,
    # in its first epoch, instead of training 3 epochs of NaN.
    assert by_units[48]["status"] == "FAILED" and re.search(r"loss became nan at batch \d+", by_units[48]["reason"])
    assert by_units[48]["epochs"] is None and by_units[48]["score"] is None
    nan_meta = json.load(open(os.path.join(out, "search", f"trial_{by_units[48]['trial_id']}", "zoo_trial.json")))
    assert "history" not in nan_meta and "FailedTrialError" in nan_meta["attempts"][-1]["error"]
    assert result.best["hyperparameters"]["units"] == 16
    rows = open(os.path.join(out, "trials.csv")).read()
    assert "impossible combination" in rows and "loss became nan" in rows


@pytest.mark.slow
def test_consecutive_failures_stop_the_search(tmp_path, fragile_entry):
    with pytest.raises(zoo.ZooError, match=r"stopped after 2 consecutive failed trials; last reason: .*"):
        zoo.tune(fragile_entry, SMALL, str(tmp_path / "s"), max_trials=3, epochs=1, verbose=0,
                 space={"units": [48, 32]}, max_consecutive_failures=2)
    assert os.path.exists(tmp_path / "s" / "trials.csv")


def test_a_search_that_keeps_failing_exits_1_not_2_and_keeps_its_trials(tmp_path, fragile_entry, capsys):
    """Valid input whose work failed (every trial diverged or could not build): exit 1, one line, no
    traceback; bad input stays exit 2."""
    out = tmp_path / "s"
    argv = ["tune", fragile_entry, "--data", SMALL, "--out", str(out), "--max-trials", "3", "--epochs", "1",
            "--space", "units=48,32", "--max-consecutive-failures", "2"]
    assert main(argv) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after keras-tuner's own report of each trial
    assert last.startswith("zoo: error: search stopped after 2 consecutive failed trials; last reason:"), last
    assert os.path.exists(out / "trials.csv")
    assert main([*argv[:-1], "-3"]) == 2


def test_tune_json_prints_one_document(tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["tune", "sentiment/bag_of_embeddings", "--data", SMALL, "--out", str(out), "--max-trials", "2",
                 "--epochs", "1", "--space", "embedding_dim=16,32", "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)  # the whole of stdout: no table around it
    assert document["search"] == str(out.resolve()) and document["objective"] == "val_accuracy"
    assert document["direction"] == "max" and len(document["trials"]) == 2
    assert {t["hyperparameters"]["embedding_dim"] for t in document["trials"]} <= {16, 32}  # random draws
    assert document["best"]["score"] == max(t["score"] for t in document["trials"])
    assert os.path.exists(document["tuned"]) and document["preset"] == document["tuned"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: str, timeout: float = 240) -> None:
    """Return once something accepts connections on ``port`` (the chief's oracle); fail if the
    chief exits first or nothing listens within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the chief exited with status {process.returncode} before listening: "
                        f"{open(log).read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the chief did not listen on port {port} within {timeout} s")


@pytest.mark.slow
def test_distributed_chief_and_two_workers(tmp_path):
    out, port = str(tmp_path / "search"), _free_port()
    # --overwrite on a new --out, as a script that always passes it does: the chief runs in OUT
    # itself (there is nothing to replace), and the workers must write their trials there too.
    base = [*ZOO, "tune", "sentiment/bag_of_embeddings", "--data", SMALL, "--out", out, "--max-trials", "4",
            "--epochs", "1", "--oracle", f"127.0.0.1:{port}", "--overwrite"]

    def start(name, *flags):  # output to files: a full pipe nobody reads would block the process
        stdout, stderr = open(tmp_path / f"{name}.out", "w"), open(tmp_path / f"{name}.err", "w")
        with stdout, stderr:
            return subprocess.Popen([*base, *flags], stdout=stdout, stderr=stderr, text=True, cwd=ROOT)

    processes = [start("chief", "--chief")]
    try:
        _wait_for_port(port, processes[0], str(tmp_path / "chief.err"))
        processes += [start(f"worker{i}", "--worker", "--tuner-id", f"worker{i}") for i in range(2)]
        for i, worker in enumerate(processes[1:]):
            assert worker.wait(timeout=300) == 0, (tmp_path / f"worker{i}.err").read_text()[-2000:]
        assert processes[0].wait(timeout=120) == 0, (tmp_path / "chief.err").read_text()[-2000:]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    trials = json.load(open(os.path.join(out, "trials.json")))
    assert len(trials) == 4 and all(t["status"] == "COMPLETED" for t in trials)
    assert len({t["trial_id"] for t in trials}) == 4
    runners = {t["tuner_id"] for t in trials}
    assert runners <= {"worker0", "worker1"} and runners
    for t in trials:  # each ran exactly once, to its end, in one worker
        attempts = json.load(open(os.path.join(out, "search", f"trial_{t['trial_id']}", "zoo_trial.json")))["attempts"]
        assert len(attempts) == 1 and "finished" in attempts[0] and "error" not in attempts[0]
        assert attempts[0]["tuner_id"] == t["tuner_id"]
    assert "val_accuracy" in (tmp_path / "chief.out").read_text()
    assert sorted(os.listdir(tmp_path)) == ["chief.err", "chief.out", "search", "worker0.err", "worker0.out",
                                            "worker1.err", "worker1.out"]  # no search.overwrite
    for i in range(2):
        assert json.loads((tmp_path / f"worker{i}.out").read_text())["worker"] == f"worker{i}"


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


@pytest.mark.slow
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
    (["--chief", "--oracle", "127.0.0.1:1", "--tuner-id", "w1"], "--tuner-id names a worker"),
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


def test_worker_without_chief_waits_then_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOO_CHIEF_TIMEOUT", "1")
    try:
        started = time.monotonic()
        code, _, err = _cli(capsys, "tune", "sentiment/gru", "--data", SMALL, "--out", str(tmp_path / "s"),
                            "--worker", "--oracle", f"127.0.0.1:{_free_port()}", "--tuner-id", "w1")
        assert code == 1 and "no chief answers at 127.0.0.1" in err and "ZOO_CHIEF_TIMEOUT" in err
        assert time.monotonic() - started >= 1
        assert not os.path.exists(tmp_path / "s")  # nothing written
    finally:
        for var in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
            monkeypatch.delenv(var, raising=False)
