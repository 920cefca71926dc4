"""Training: the accuracy targets on builtin:negation, seeds, atomic and resumable run dirs."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
from conftest import SMALL

import zoo


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sentiment/simple_rnn", "sentiment/lstm", "sentiment/gru", "sentiment/bilstm"])
def test_recurrent_entries_learn_word_order(name):
    """Trained with defaults only (regularised for real text), every recurrent entry reads the
    negation right: all 1,192 test sentences."""
    run = zoo.train(name, "builtin:negation", verbose=0)
    assert run.metrics["test"]["accuracy"] == 1.0, run.metrics


@pytest.mark.slow
def test_bag_of_embeddings_control_cannot():
    """The order-blind control stays near chance on the mirrored pairs."""
    run = zoo.train("sentiment/bag_of_embeddings", "builtin:negation", verbose=0)
    assert 0.5 <= run.metrics["test"]["accuracy"] <= 0.75, run.metrics


@pytest.mark.slow
def test_same_seed_same_run_other_seed_other_run():
    a = zoo.train("sentiment/gru", SMALL, epochs=2, seed=3, verbose=0)
    b = zoo.train("sentiment/gru", SMALL, epochs=2, seed=3, verbose=0)
    c = zoo.train("sentiment/gru", SMALL, epochs=2, seed=4, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)
    assert not np.allclose(a.history["loss"], c.history["loss"], rtol=1e-5)


def test_run_directory_contents(small_run):
    path = small_run.path
    assert sorted(os.listdir(path)) == [".zoo.json", "config.json", "history.json", "metrics.json",
                                        "model.keras", "preprocessing"]
    marker = json.load(open(os.path.join(path, ".zoo.json")))
    assert marker["kind"] == "run" and "model.keras" in marker["files"] and marker["id"]
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


@pytest.mark.slow
def test_interrupted_training_leaves_no_run_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.train("sentiment/gru", SMALL, out, epochs=4, verbose=0, callbacks=[_Crash(2)])
    assert not os.path.exists(out)  # never half a run directory
    assert os.path.isdir(out + ".partial")
    state = json.load(open(os.path.join(out + ".partial", "state.json")))
    assert state["epochs_done"] == 2 and len(state["history"]["loss"]) == 2
    run = zoo.train("sentiment/gru", SMALL, out, epochs=4, verbose=0)
    # Resumed after epoch 2, and the history holds every epoch exactly once, identical to
    # an uninterrupted run (same weights, optimizer state and batch order).
    uninterrupted = zoo.train("sentiment/gru", SMALL, epochs=4, verbose=0)
    assert len(run.history["loss"]) == 4
    np.testing.assert_allclose(run.history["loss"], uninterrupted.history["loss"], rtol=1e-4)
    assert json.load(open(os.path.join(out, "history.json")))["loss"] == run.history["loss"]
    assert not os.path.exists(out + ".partial") and zoo.load(out).config["epochs"] == 4


@pytest.mark.slow
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
    assert run.preprocessor.encode_texts(["a b c d e f g h"]).shape == (1, 5)  # truncated to max_length
    assert run.model.get_layer("embedding").input_dim == run.preprocessor.tokenizer.vocab_size


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
    with pytest.raises(zoo.RunDirError, match="was not written by zoo"):
        zoo.tune("sentiment/bag_of_embeddings", SMALL, str(mine), max_trials=1, epochs=1, verbose=0, overwrite=True)
    assert (mine / "chapter1.tex").read_text() == "precious"


@pytest.mark.slow
def test_resume_keeps_early_stopping_state(tmp_path):
    """A run resumed after a crash stops at the same epoch, on the same best epoch, as one never
    interrupted: the best value, the wait count and the best weights survive the crash."""
    out = str(tmp_path / "run")
    settings = dict(epochs=12, patience=1, verbose=0, overrides={"learning_rate": 0.03})
    whole = zoo.train("sentiment/gru", SMALL, **settings)
    assert whole.metrics["epochs_trained"] < 12  # early stopping did stop it
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.train("sentiment/gru", SMALL, out, callbacks=[_Crash(whole.metrics["epochs_trained"] - 1)], **settings)
    state = json.load(open(os.path.join(out + ".partial", "state.json")))["early_stopping"]
    assert state["best"] is not None and state["wait"] in (0, 1)
    resumed = zoo.train("sentiment/gru", SMALL, out, **settings)
    assert resumed.metrics["epochs_trained"] == whole.metrics["epochs_trained"]
    assert resumed.metrics["best_epoch"] == whole.metrics["best_epoch"]
    assert resumed.metrics["test"]["accuracy"] == pytest.approx(whole.metrics["test"]["accuracy"])


def test_resume_with_other_patience_is_refused(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(RuntimeError):
        zoo.train("sentiment/gru", SMALL, out, epochs=3, patience=2, verbose=0, callbacks=[_Crash(1)])
    with pytest.raises(zoo.RunDirError, match=r"other settings \(patience: 2 then, 3 now\)"):
        zoo.train("sentiment/gru", SMALL, out, epochs=3, patience=3, verbose=0)


def test_bad_rows_skip_is_explicit_and_reported(tmp_path):
    from conftest import write_csv

    rows = [(f"text number {i} is {'good' if i % 2 else 'bad'}", "pos" if i % 2 else "neg") for i in range(60)]
    path = write_csv(tmp_path / "r.csv", rows)
    with open(path, "a", encoding="utf-8") as f:
        f.write("too,many,fields,here,neg\n")
    with pytest.raises(zoo.DataError, match=r"r\.csv line 62: 5 fields, the header has 2"):
        zoo.train("sentiment/bag_of_embeddings", f"csv:{path}", epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="skipped 1 malformed row"):
        run = zoo.train("sentiment/bag_of_embeddings", f"csv:{path},bad_rows=skip", epochs=1, verbose=0)
    assert run.metrics["skipped_rows"] == {path: {"count": 1, "lines": [62]}}
    assert run.preprocessor.label_names == ["neg", "pos"]  # no bogus third class


@pytest.mark.slow
@pytest.mark.parametrize("name", ["language_model/lstm", "video_labeling/lstm", "translation/gru_attention"])
def test_resumed_runs_draw_the_same_dropout_masks_in_every_task(name, tmp_path):
    """Dropout masks depend on the seed and the epoch alone (zoo.fitting), for every task: a run
    resumed after a crash has the losses of one never interrupted."""
    task = zoo.get(name).task
    data = f"{task.smoke_data.split(',')[0]},n=120"
    settings = dict(epochs=2, verbose=0, batch_size=16, overrides={"dropout": 0.4})
    out = str(tmp_path / "run")
    with pytest.raises(RuntimeError, match="simulated crash"):
        zoo.train(name, data, out, callbacks=[_Crash(1)], **settings)
    resumed = zoo.train(name, data, out, **settings)
    whole = zoo.train(name, data, **settings)
    assert len(resumed.history["loss"]) == 2
    np.testing.assert_allclose(resumed.history["loss"], whole.history["loss"], rtol=1e-5)


def _stopping_epochs(scores, losses, mode="max", patience=2):
    """Feed early stopping these validation logs; the epochs it ran and its best epoch."""
    from zoo import callbacks

    stopping = callbacks.EarlyStopping("val_bleu", mode, patience)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    stopping.set_model(model)
    for epoch, (score, loss) in enumerate(zip(scores, losses, strict=True)):
        stopping.on_epoch_end(epoch, {"val_bleu": score, "val_loss": loss})
        if getattr(model, "stop_training", False):
            return epoch + 1, stopping.best_epoch
    return len(scores), stopping.best_epoch


def test_early_stopping_waits_on_a_zero_score_while_the_loss_falls():
    # BLEU 0 for five epochs while the validation loss falls, then it scores: training goes on.
    assert _stopping_epochs([0, 0, 0, 0, 0, 3.1, 2.0, 1.0], [6.9, 6.5, 6.3, 6.2, 6.1, 5.9, 5.8, 5.7]) == (8, 5)
    # On the floor with a loss that stopped falling, patience runs out as before; the best epoch is the
    # one with the lowest loss.
    assert _stopping_epochs([0, 0, 0, 0, 0], [6.9, 6.5, 6.6, 6.7, 6.4]) == (4, 1)
    # Off the floor, ties do not count, whatever the loss does.
    assert _stopping_epochs([2.0, 2.0, 2.0, 2.0], [6.9, 6.5, 6.3, 6.2]) == (3, 0)
    # A zero that is a best possible score (a "min" objective) is not a floor.
    assert _stopping_epochs([0, 0, 0], [0.5, 0.4, 0.3], mode="min") == (3, 0)
