"""Training: the accuracy targets on builtin:negation, seeds, atomic and resumable run dirs."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
from conftest import SMALL

import zoo


@pytest.mark.parametrize("name", ["sentiment/lstm", "sentiment/gru", "sentiment/bilstm"])
def test_recurrent_entries_learn_word_order(name):
    """Trained with defaults only, a recurrent entry reads the negation right."""
    run = zoo.train(name, "builtin:negation", verbose=0)
    assert run.metrics["test"]["accuracy"] >= 0.97, run.metrics
    assert run.metrics["test"]["macro_f1"] >= 0.97


def test_bag_of_embeddings_control_cannot():
    """The order-blind control stays near chance on the mirrored pairs."""
    run = zoo.train("sentiment/bag_of_embeddings", "builtin:negation", verbose=0)
    assert 0.5 <= run.metrics["test"]["accuracy"] <= 0.75, run.metrics


def test_same_seed_same_run_other_seed_other_run():
    a = zoo.train("sentiment/gru", SMALL, epochs=2, seed=3, verbose=0)
    b = zoo.train("sentiment/gru", SMALL, epochs=2, seed=3, verbose=0)
    c = zoo.train("sentiment/gru", SMALL, epochs=2, seed=4, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)
    assert not np.allclose(a.history["loss"], c.history["loss"], rtol=1e-5)


def test_run_directory_contents(small_run):
    path = small_run.path
    assert sorted(os.listdir(path)) == ["config.json", "history.json", "metrics.json", "model.keras",
                                        "preprocessing"]
    config = json.load(open(os.path.join(path, "config.json")))
    assert config["entry"] == "sentiment/lstm" and config["data"] == SMALL and config["seed"] == 0
    assert config["hyperparameters"]["units"] == 64 and config["preprocessing"]["max_tokens"] == 20000
    metrics = json.load(open(os.path.join(path, "metrics.json")))
    assert set(metrics["test"]) >= {"accuracy", "macro_f1", "loss"}
    assert not os.path.exists(path + ".partial")


def test_existing_run_is_never_overwritten_silently(small_run, tmp_path):
    before = {n: os.path.getmtime(os.path.join(small_run.path, n)) for n in os.listdir(small_run.path)}
    with pytest.raises(zoo.RunDirError, match="already exists; choose another --out or pass --overwrite"):
        zoo.train("sentiment/lstm", SMALL, small_run.path, epochs=1, verbose=0)
    after = {n: os.path.getmtime(os.path.join(small_run.path, n)) for n in os.listdir(small_run.path)}
    assert before == after


def test_overwrite_replaces_atomically(tmp_path):
    out = str(tmp_path / "run")
    zoo.train("sentiment/bag_of_embeddings", SMALL, out, epochs=1, verbose=0)
    run = zoo.train("sentiment/bag_of_embeddings", SMALL, out, epochs=2, verbose=0, overwrite=True)
    assert zoo.load(out).config["epochs"] == 2 and run.path == os.path.abspath(out)
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no temporary folders left behind


class _Crash(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after_epoch:
            raise RuntimeError("simulated crash")


def test_interrupted_training_leaves_no_run_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.train("sentiment/gru", SMALL, out, epochs=4, verbose=0, callbacks=[_Crash(2)])
    assert not os.path.exists(out)  # never half a run directory
    assert os.path.isdir(out + ".partial")
    run = zoo.train("sentiment/gru", SMALL, out, epochs=4, verbose=0)
    assert len(run.history["loss"]) == 2  # epochs 3 and 4 only: resumed from the backup
    assert not os.path.exists(out + ".partial") and zoo.load(out).config["epochs"] == 4


def test_unfinished_run_with_other_settings_is_not_clobbered(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(RuntimeError):
        zoo.train("sentiment/gru", SMALL, out, epochs=3, verbose=0, callbacks=[_Crash(1)])
    with pytest.raises(zoo.RunDirError, match=r"\.partial holds an unfinished run with other settings"):
        zoo.train("sentiment/gru", SMALL, out, epochs=3, verbose=0, overrides={"units": 32})
    run = zoo.train("sentiment/gru", SMALL, out, epochs=1, verbose=0, overrides={"units": 32}, overwrite=True)
    assert run.config["hyperparameters"]["units"] == 32


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"epochs": 0}, "epochs for sentiment/lstm must be a positive integer, got 0"),
    ({"batch_size": -1}, "batch_size for sentiment/lstm must be a positive integer"),
    ({"patience": 0}, "patience for sentiment/lstm must be a positive integer"),
    ({"overrides": {"max_tokens": 5}}, r"'max_tokens' .* an integer from 100 to 500000"),
    ({"overrides": {"vocab_size": 10}}, r"unknown hyperparameter 'vocab_size'"),
])
def test_bad_training_arguments(kwargs, pattern):
    with pytest.raises(zoo.ZooError, match=pattern):
        zoo.train("sentiment/lstm", SMALL, **kwargs)


def test_preprocessing_options_apply(tmp_path):
    run = zoo.train("sentiment/lstm", SMALL, epochs=1, verbose=0, overrides={"max_tokens": 100, "max_length": 5})
    assert run.preprocessor.tokenizer.vocab_size <= 100 and run.preprocessor.sequence_length == 5
    assert run.model.input_shape == (None, 5)


def test_evaluate_splits(small_run):
    test = zoo.evaluate(small_run.path)
    assert test["split"] == "test" and test["data"] == SMALL
    assert test["accuracy"] == pytest.approx(small_run.metrics["test"]["accuracy"])
    every = zoo.evaluate(small_run.path, split="all")
    assert every["examples"] == 400
    with pytest.raises(zoo.DataError, match="unknown split 'dev'"):
        zoo.evaluate(small_run.path, split="dev")
    with pytest.raises(zoo.RunDirError, match="run directory not found"):
        zoo.load("/nonexistent/run")


def test_overwrite_never_replaces_a_folder_zoo_did_not_write(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("precious")
    with pytest.raises(zoo.RunDirError, match="was not written by zoo"):
        zoo.train("sentiment/bag_of_embeddings", SMALL, str(mine), epochs=1, verbose=0, overwrite=True)
    with pytest.raises(zoo.RunDirError, match="is not a zoo search"):
        zoo.tune("sentiment/bag_of_embeddings", SMALL, str(mine), max_trials=1, epochs=1, verbose=0, overwrite=True)
    assert (mine / "chapter1.tex").read_text() == "precious"
