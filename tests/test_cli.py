"""The zoo command: every verb, and bad input exits 2 with a message, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import SMALL, write_csv
from conftest import cli as run_cli

ZOO = [sys.executable, "-m", "zoo.cli"]


def test_list_and_describe(capsys):
    code, out, _ = run_cli(capsys, "list", "--task", "sentiment")
    assert code == 0 and "sentiment/bilstm" in out and "many-to-one" in out
    code, out, _ = run_cli(capsys, "list", "--json")
    listed = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and listed["sentiment/gru"]["kind"] == "many-to-one" and listed["sentiment/gru"]["description"]
    code, out, _ = run_cli(capsys, "describe", "sentiment/lstm")
    d = json.loads(out)
    assert code == 0 and d["kind"] == "many-to-one" and d["hyperparameters"]["units"]["default"] == 64


@pytest.mark.slow
def test_train_evaluate_predict_export(capsys, tmp_path):
    run_dir, export_dir = str(tmp_path / "run"), str(tmp_path / "export")
    code, out, _ = run_cli(capsys, "train", "sentiment/gru", "--data", SMALL, "--out", run_dir, "--epochs", "2",
                           "--batch-size", "32", "--set", "units=32", "--set", "max_tokens=500", "--seed", "1")
    assert code == 0 and json.loads(out)["run"] == run_dir
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["hyperparameters"]["units"] == 32 and config["seed"] == 1 and config["epochs"] == 2

    code, out, _ = run_cli(capsys, "evaluate", run_dir, "--split", "validation")
    metrics = json.loads(out)
    assert code == 0 and set(metrics) >= {"accuracy", "macro_f1", "loss"} and metrics["split"] == "validation"

    texts = ["the film was good , not bad", "the film was bad , not good"]
    code, out, _ = run_cli(capsys, "predict", run_dir, "--json", *texts)
    from_run = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["text"] for r in from_run] == texts

    code, out, _ = run_cli(capsys, "export", run_dir, "--out", export_dir)
    assert code == 0 and out.strip() == export_dir
    code, out, _ = run_cli(capsys, "predict", export_dir, "--json", *texts)
    from_export = [json.loads(line) for line in out.splitlines()]
    for a, b in zip(from_run, from_export, strict=True):
        assert a["label"] == b["label"] and a["probability"] == pytest.approx(b["probability"], abs=1e-5)

    code, out, _ = run_cli(capsys, "predict", run_dir, *texts)
    assert code == 0 and out.splitlines()[0].split() == ["label", "probability", "input"]
    piped = subprocess.run([sys.executable, "-m", "zoo.cli", "predict", run_dir, "--json"], input="\n".join(texts),
                           capture_output=True, text=True)
    assert piped.returncode == 0 and [json.loads(line)["label"] for line in piped.stdout.splitlines()] == \
        [r["label"] for r in from_run]

    # The export serves in a process that never imports zoo, with the same numbers.
    script = (
        "import json, sys, tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "out = m.serve(tf.constant(json.loads(sys.argv[2])))\n"
        "assert 'zoo' not in sys.modules\n"
        "print(json.dumps(out['probabilities'].numpy().tolist()))\n"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", script, export_dir, json.dumps(texts)], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), check=True)
    served = json.loads(done.stdout.strip().splitlines()[-1])
    for row, r in zip(served, from_run, strict=True):
        assert max(row) == pytest.approx(r["probability"], abs=1e-5)
    meta = json.load(open(os.path.join(export_dir, "zoo_export.json")))
    assert meta["labels"] == ["negative", "positive"] and meta["entry"] == "sentiment/gru"


@pytest.mark.parametrize(("argv", "message"), [
    (["describe", "sentiment/lstmm"], "unknown model 'sentiment/lstmm'. Did you mean: sentiment/lstm"),
    (["train", "sentiment/lstm", "--data", SMALL, "--out", "{tmp}/r", "--set", "units=9999"],
     "'units' of sentiment/lstm got '9999': allowed values are an integer from 16 to 512"),
    (["train", "sentiment/lstm", "--data", SMALL, "--out", "{tmp}/r", "--set", "cell=gru"],
     "unknown hyperparameter 'cell'"),
    (["train", "sentiment/lstm", "--data", SMALL, "--out", "{tmp}/r", "--set", "units"],
     "--set expects KEY=VALUE, got 'units'"),
    (["train", "sentiment/lstm", "--data", "csv:{tmp}/nope.csv", "--out", "{tmp}/r"], "file not found"),
    (["train", "sentiment/lstm", "--data", "csv:{tmp}/bad.csv", "--out", "{tmp}/r"], "has no column 'label'"),
    (["train", "sentiment/lstm", "--data", SMALL, "--out", "{tmp}/r", "--epochs", "0"],
     "epochs for sentiment/lstm must be a positive integer"),
    (["evaluate", "{tmp}/nothing"], "run directory not found"),
    (["export", "{tmp}/nothing", "--out", "{tmp}/e"], "run directory not found"),
    (["list", "--task", "poetry"], "unknown task 'poetry'"),
])
def test_bad_input_exits_2_with_a_message(capsys, tmp_path, argv, message):
    (tmp_path / "bad.csv").write_text("text,score\nfine,1\n")
    code, _, err = run_cli(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2 and message in err and err.startswith("zoo: error: ")
    assert "Traceback" not in err and not os.path.exists(tmp_path / "r")


@pytest.mark.slow
def test_console_script_exit_status_and_no_traceback(tmp_path):
    write_csv(tmp_path / "one.csv", [(f"only one class {i}", "pos") for i in range(40)])
    done = subprocess.run([*ZOO, "train", "sentiment/lstm", "--data", f"csv:{tmp_path}/one.csv", "--out",
                           str(tmp_path / "r")], capture_output=True, text=True)
    assert done.returncode == 2
    assert "single class ('pos')" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([*ZOO, "train", "sentiment/lstm"], capture_output=True, text=True)
    assert done.returncode == 2 and "--data" in done.stderr and "Traceback" not in done.stderr
