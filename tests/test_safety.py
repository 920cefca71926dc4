"""Never lose a user's files, never crash on bad input.

Every case drives the command line on real temporary folders and checks the exit
code (2), that no traceback is printed, that the message names the right file,
and that the folder around ``--out`` is exactly as it was. The signal tests run
zoo in real subprocesses and kill it at each stage of a run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import SMALL, assert_refused, cli, snapshot

import zoo
from zoo.folders import folder_lock

TRAIN = ["train", "sentiment/bag_of_embeddings", "--data", SMALL, "--epochs", "1"]


def run_cli(capsys, *argv) -> tuple[int, str]:
    code, out, err = cli(capsys, *argv)
    return code, out + err


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """A finished one-trial search."""
    out = tmp_path_factory.mktemp("searches") / "t1"
    zoo.tune("sentiment/bag_of_embeddings", SMALL, str(out), max_trials=1, epochs=1, verbose=0, tensorboard=False)
    return out


# ---------------------------------------------------------------------------
# 1. Data loss made impossible
# ---------------------------------------------------------------------------

def test_users_folder_named_like_the_backup_is_never_deleted(capsys, tmp_path):
    mine = tmp_path / "run1.partial"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "run1"], "run1.partial", "not written by zoo", folder=tmp_path)
    (tmp_path / "run2.partial").write_text("a file")
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "run2"], "run2.partial", "is a file", folder=tmp_path)


def test_overwrite_refuses_a_keras_project_that_looks_like_a_run(capsys, tmp_path):
    project = tmp_path / "my_project"
    project.mkdir()
    for name in ("config.json", "model.keras", "train.py"):
        (project / name).write_text("precious")
    assert_refused(capsys, [*TRAIN, "--out", project, "--overwrite"], str(project), "not written by zoo",
                   folder=tmp_path)


@pytest.mark.slow
def test_failed_overwrite_of_a_search_keeps_it(capsys, search, tmp_path):
    argv = ["tune", "sentiment/bag_of_embeddings", "--data", f"csv:{tmp_path / 'missing.csv'}", "--out", search,
            "--overwrite", "--max-trials", "1", "--epochs", "1"]
    assert_refused(capsys, argv, "missing.csv", folder=search.parent)


def test_overwrite_refuses_a_run_holding_the_users_files(capsys, small_run):
    notes = os.path.join(small_run.path, "notes.md")
    with open(notes, "w") as f:
        f.write("my analysis")
    try:
        assert_refused(capsys, [*TRAIN, "--out", small_run.path, "--overwrite"], "notes.md", "did not write",
                       folder=os.path.dirname(small_run.path))
    finally:
        os.remove(notes)


@pytest.mark.slow
def test_interrupted_overwrite_leaves_the_old_run_exactly_as_it_was(tmp_path):
    import keras

    out = tmp_path / "run"
    zoo.train("sentiment/bag_of_embeddings", SMALL, str(out), epochs=1, verbose=0)
    before = snapshot(out)

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("crash during the overwrite")

    with pytest.raises(RuntimeError, match="crash during the overwrite"):
        zoo.train("sentiment/bag_of_embeddings", SMALL, str(out), epochs=2, verbose=0, overwrite=True,
                  callbacks=[Crash()])
    assert snapshot(out) == before
    run = zoo.train("sentiment/bag_of_embeddings", SMALL, str(out), epochs=2, verbose=0, overwrite=True)
    assert zoo.load(str(out)).config["epochs"] == 2 and len(run.history["loss"]) == 2
    assert sorted(os.listdir(tmp_path)) == ["run"]  # nothing left beside it


def test_only_out_is_written(capsys, tmp_path):
    (tmp_path / "keep.txt").write_text("keep")
    before = snapshot(tmp_path)
    code, output = run_cli(capsys, *TRAIN, "--out", tmp_path / "run")
    assert code == 0, output
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("run" + os.sep)} == before


# ---------------------------------------------------------------------------
# 3. No tracebacks: exit 2 with one clear line
# ---------------------------------------------------------------------------

def test_bad_seed(capsys, tmp_path):
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "r", "--seed", "-5"], "seed", "-5", folder=tmp_path)


def test_out_that_cannot_be_created(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("notes")
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "notes.txt" / "run"], "notes.txt", "is a file",
                   folder=tmp_path)
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "notes.txt"], "notes.txt", "is a file", folder=tmp_path)
    assert_refused(capsys, [*TRAIN, "--out", "/proc/zoo-run"], "/proc", "cannot")
    assert_refused(capsys, ["tune", "sentiment/gru", "--data", SMALL, "--out", tmp_path / "notes.txt"],
                   "notes.txt", "is a file", folder=tmp_path)


def test_bad_presets_and_configs(capsys, tmp_path):
    (tmp_path / "preset_dir").mkdir()
    (tmp_path / "latin1.json").write_bytes('{"entry": "caf\xe9"}'.encode("latin-1"))
    (tmp_path / "config_dir").mkdir()
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "r", "--preset", tmp_path / "preset_dir"], "preset_dir",
                   "is a folder", folder=tmp_path)
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "r", "--tuned", tmp_path / "latin1.json"], "latin1.json",
                   "UTF-8", folder=tmp_path)  # --tuned, and --preset (above) its old name
    assert_refused(capsys, [*TRAIN, "--out", tmp_path / "r", "--tuned", tmp_path / "missing.json"],
                   "tuned-hyperparameters file not found", "missing.json", folder=tmp_path)
    with pytest.raises(zoo.ZooError, match="not both"):
        zoo.build("sentiment/gru", tuned={"hyperparameters": {}}, preset={"hyperparameters": {}})
    assert_refused(capsys, ["build", "sentiment/gru", "--preset", tmp_path / "latin1.json"], "latin1.json")
    assert_refused(capsys, ["tune", "--config", tmp_path / "config_dir", "--out", tmp_path / "t"], "config_dir",
                   "is a folder", folder=tmp_path)


@pytest.mark.slow
def test_corrupt_search_config_when_resuming(capsys, search):
    config = search / "tune_config.json"
    saved = config.read_bytes()
    config.write_text('{"search": {"entry": "sentiment/bag_')
    try:
        assert_refused(capsys, ["tune", "sentiment/bag_of_embeddings", "--data", SMALL, "--out", search,
                                "--max-trials", "1", "--epochs", "1"], "tune_config.json", "corrupt",
                       folder=search.parent)
    finally:
        config.write_bytes(saved)


def test_evaluating_needs_no_history_and_names_corrupt_files(capsys, small_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(small_run.path, copy)
    (copy / "history.json").write_text("{broken")
    (copy / "metrics.json").write_text("[1, 2")
    code, output = run_cli(capsys, "evaluate", copy)
    test_examples = len(zoo.get("sentiment/lstm").task.load_data(SMALL).test)
    assert code == 0 and json.loads(output.strip().splitlines()[-1])["examples"] == test_examples, output
    (copy / "config.json").write_text("{")
    assert_refused(capsys, ["evaluate", copy], "config.json", "corrupt")


def test_truncated_saved_model_and_mismatched_preprocessing(capsys, small_run, tmp_path):
    import shutil

    export = zoo.export(small_run, str(tmp_path / "export"))
    pb = os.path.join(export, "saved_model.pb")
    with open(pb, "rb") as f:
        data = f.read()
    with open(pb, "wb") as f:
        f.write(data[: len(data) // 3])
    assert_refused(capsys, ["predict", export, "good , not bad"], "export", "cannot load the SavedModel")
    assert_refused(capsys, ["evaluate", export], "export", "is not a run directory")

    copy = tmp_path / "run"
    shutil.copytree(small_run.path, copy)
    vocabulary = copy / "preprocessing" / "vocabulary.txt"
    lines = vocabulary.read_text().splitlines(keepends=True)
    vocabulary.write_text("".join(lines[: len(lines) // 2]))
    assert_refused(capsys, ["predict", copy, "good , not bad"], "does not match the model")
    (copy / "preprocessing" / "preprocessing.json").write_text('{"labels": ["0", "1"],')
    assert_refused(capsys, ["predict", copy, "good , not bad"], "preprocessing.json", "corrupt", "line 1, column")


def test_corrupt_backup_is_named(capsys, tmp_path):
    import keras

    out = tmp_path / "run"

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        zoo.train("sentiment/bag_of_embeddings", SMALL, str(out), epochs=2, verbose=0, callbacks=[Crash()])
    (tmp_path / "run.partial" / "state.json").write_text("{")
    assert_refused(capsys, [*TRAIN[:-1], "2", "--out", out], "state.json", "corrupt")


# ---------------------------------------------------------------------------
# 4. Concurrency and resume
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_a_search_in_use_is_refused(capsys, search):
    argv = ["tune", "sentiment/bag_of_embeddings", "--data", SMALL, "--out", search, "--max-trials", "1",
            "--epochs", "1"]
    with folder_lock(str(search), "search"):
        assert_refused(capsys, argv, "in use by process", str(os.getpid()))
    assert run_cli(capsys, *argv)[0] == 0  # the lock went with its holder


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_never_blocks(capsys, search):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from zoo.folders import folder_lock
        with folder_lock({str(search)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        argv = ["tune", "sentiment/bag_of_embeddings", "--data", SMALL, "--out", search, "--max-trials", "1",
                "--epochs", "1"]
        assert_refused(capsys, argv, f"in use by process {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert run_cli(capsys, *argv)[0] == 0


KILLER = """
import os, signal, sys
import keras
import zoo, zoo.rundir, zoo.serving

stage, sig = sys.argv[1], getattr(signal, sys.argv[2])
# A process started in the background (`pytest &`, nohup) inherits SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler: restore the handler a user's foreground process has, so the
# SIGINT case tests zoo, not how the test suite was launched.
signal.signal(signal.SIGINT, signal.default_int_handler)
out = sys.argv[3]

class KillAfterEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if stage == "epoch" and epoch == 1:
            signal.raise_signal(sig)

class KillMidEpoch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if stage == "mid-epoch" and self.model.zoo_epoch == 2 and batch >= 1:
            signal.raise_signal(sig)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.zoo_epoch = epoch

def killing(original):
    def wrapper(*args, **kwargs):
        signal.raise_signal(sig)
        return original(*args, **kwargs)
    return wrapper

if stage == "before-write":
    zoo.rundir.atomic_directory = killing(zoo.rundir.atomic_directory)  # the run directory's one writer
if stage == "export":  # killed after the SavedModel is written, before its metadata
    zoo.serving.write_json = killing(zoo.serving.write_json)
from zoo.cli import main
if stage == "export":
    sys.exit(main(["export", out, "--out", out + "-export"]))
sys.exit(0 if zoo.train("sentiment/gru", sys.argv[4], out, epochs=4, batch_size=32, verbose=0,
                        callbacks=[KillAfterEpoch(), KillMidEpoch()]) else 1)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "sig"), [("epoch", "SIGKILL"), ("mid-epoch", "SIGKILL"),
                                            ("before-write", "SIGKILL"), ("epoch", "SIGINT")])
def test_killed_run_resumes_without_repeating_epochs(tmp_path, stage, sig):
    out = str(tmp_path / "run")
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    killed = subprocess.run([sys.executable, str(script), stage, sig, out, SMALL], env=env, capture_output=True,
                            text=True, timeout=300)
    expected = -signal.SIGKILL if sig == "SIGKILL" else None
    if expected is not None:
        assert killed.returncode == expected, killed.stderr[-2000:]
    else:
        assert killed.returncode != 0 and "KeyboardInterrupt" in killed.stderr
    assert not os.path.exists(out) and os.path.isdir(out + ".partial")
    done = json.load(open(os.path.join(out + ".partial", "state.json")))["epochs_done"]
    assert done == {"epoch": 2, "mid-epoch": 2, "before-write": 4}[stage]
    started = time.perf_counter()
    run = zoo.train("sentiment/gru", SMALL, out, epochs=4, batch_size=32, verbose=0)
    history = json.load(open(os.path.join(out, "history.json")))
    assert len(history["loss"]) == 4 and len(history["val_accuracy"]) == 4  # every epoch exactly once
    assert run.metrics["test"]["examples"] == len(zoo.get("sentiment/gru").task.load_data(SMALL).test)
    assert not os.path.exists(out + ".partial")
    assert sorted(os.listdir(tmp_path)) == ["killer.py", "run"]
    if stage == "before-write":
        assert time.perf_counter() - started < 60  # nothing retrained


@pytest.mark.slow
def test_killed_export_leaves_nothing_half_written(tmp_path, small_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(small_run.path, run)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    killed = subprocess.run([sys.executable, str(script), "export", "SIGKILL", str(run), SMALL],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not os.path.exists(f"{run}-export")
    assert [n for n in os.listdir(tmp_path) if n.startswith(".run-export.tmp-")]  # killed mid-write
    export = zoo.export(str(run), f"{run}-export")
    assert zoo.predict(export, ["good , not bad"])[0]["output"] in ("positive", "negative")
    assert sorted(os.listdir(tmp_path)) == ["killer.py", "run", "run-export"]  # the stale half is gone
