"""Building and training registry entries: the one training loop of the zoo."""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from . import hparams
from ._registry import ModelSpec, get
from .errors import RunDirError
from .runs import TrainedModel, atomic_directory, is_zoo_output, read_json, write_json

PARTIAL_SUFFIX = ".partial"


def split_overrides(spec: ModelSpec, overrides: Mapping[str, Any], allow_problem: bool = False
                    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sort ``overrides`` into (model hyperparameters, preprocessing options, problem facts)."""
    task = spec.task
    space, prep_space = spec.space(), task.preprocessing_options
    model, prep, problem = {}, {}, {}
    for key, value in overrides.items():
        if key in space:
            model[key] = value
        elif key in prep_space:
            prep[key] = value
        elif allow_problem and key in task.default_problem:
            problem[key] = value
        else:
            known = list(space) + list(prep_space) + (list(task.default_problem) if allow_problem else [])
            raise hparams.unknown_name_error(spec.name, key, known)
    return model, prep, problem


def build(name: str, preset: str | Mapping[str, Any] | None = None, **overrides: Any):
    """Build the ready, compiled ``keras.Model`` of entry ``name``.

    Keyword arguments override hyperparameters (``units=128``) and the facts
    that usually come from data (``vocab_size=20000``, ``num_classes=3``).
    ``None`` values are ignored, so unset command-line flags never override
    a default. ``preset`` (a file written by ``zoo tune``, or its dict) supplies
    tuned values; explicit keywords win over it.

    Example::

        model = zoo.build("sentiment/bilstm", vocab_size=20000, units=128)
        model = zoo.build("sentiment/gru", preset="runs/t1/preset.json")
    """
    spec = get(name)
    overrides = _with_preset(name, preset, overrides)
    model_values, _, problem_values = split_overrides(spec, overrides, allow_problem=True)
    problem = dict(spec.task.default_problem)
    for key, value in problem_values.items():
        problem[key] = hparams.positive_int(key, value, name)
    hp = hparams.resolve(name, spec.space(), model_values)
    return spec.builder(hp, problem)


def hypermodel(name: str, problem: Mapping[str, Any] | None = None, fit_callbacks=None):
    """A ``keras_tuner.HyperModel`` over entry ``name``'s declared search space.

    ``problem`` fixes the data facts (vocabulary size, classes, ...); the task's
    defaults are used when it is left out. ``fit_callbacks``, a function returning
    a list of callbacks, adds fresh ones to every trial's ``fit``.

    Example::

        tuner = keras_tuner.RandomSearch(zoo.hypermodel("sentiment/gru"), objective="val_accuracy")
    """
    import keras_tuner as kt

    spec = get(name)
    facts = {**spec.task.default_problem, **(problem or {})}

    class EntryHyperModel(kt.HyperModel):
        def build(self, hp):
            return spec.builder(hp, facts)

        def fit(self, hp, model, *args, callbacks=None, **kwargs):
            extra = fit_callbacks() if fit_callbacks else []
            return model.fit(*args, callbacks=[*(callbacks or []), *extra], **kwargs)

    return EntryHyperModel(name=name.replace("/", "_"))


def _with_preset(name: str, preset, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    values = {}
    if preset is not None:
        from .tuning import load_preset

        values.update(load_preset(preset, name))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return values


def _same_run(a: dict, b: dict) -> bool:
    keys = ("entry", "data", "hyperparameters", "preprocessing", "seed", "epochs", "batch_size", "include_validation")
    return all(a.get(k) == b.get(k) for k in keys)


def train(name: str, data: str, out: str | None = None, *, epochs: int | None = None,
          batch_size: int | None = None, overrides: Mapping[str, Any] | None = None, seed: int = 0,
          overwrite: bool = False, verbose: int | str = "auto", callbacks: Sequence = (),
          preset: str | Mapping[str, Any] | None = None, include_validation: bool = False,
          patience: int | None = None) -> TrainedModel:
    """Train entry ``name`` on data spec ``data``; write a run directory to ``out``.

    The entry is built with its defaults plus ``overrides`` (hyperparameters and
    preprocessing options such as ``max_tokens``). Training stops early when
    the task's objective stops improving and keeps the best weights. When
    ``out`` is given, progress is backed up each epoch to ``OUT.partial``: run
    the same call again after a crash and it resumes from the last epoch.
    ``preset`` supplies tuned values (a ``zoo tune`` preset file or dict).
    ``patience`` is the early-stopping patience in epochs (default: the task's).
    ``include_validation`` trains on train + validation for exactly ``epochs``
    (no early stopping): the final fit of a tuned configuration.

    Example::

        run = zoo.train("sentiment/lstm", "builtin:negation", out="runs/s1")
        run.metrics["test"]["accuracy"]
    """
    import keras

    spec = get(name)
    task = spec.task
    overrides = _with_preset(name, preset, overrides)
    model_values, prep_values, _ = split_overrides(spec, overrides)
    hp = hparams.resolve(name, spec.space(), model_values)
    prep_hp = hparams.resolve(name, task.preprocessing_options, prep_values)
    preprocessing = {n: prep_hp.values.get(n, p.default) for n, p in task.preprocessing_options.items()}
    epochs = hparams.positive_int("epochs", task.default_epochs if epochs is None else epochs, name)
    batch_size = hparams.positive_int("batch_size", task.default_batch_size if batch_size is None else batch_size, name)
    patience = hparams.positive_int("patience", task.patience if patience is None else patience, name)
    seed = int(seed)
    if out is not None and os.path.exists(out):
        if not overwrite:
            raise RunDirError(f"{out} already exists; choose another --out or pass --overwrite")
        if not is_zoo_output(out):  # fail before training, not after
            raise RunDirError(f"{out} exists and was not written by zoo (no run or export inside); "
                              "refusing to replace it, choose another --out")

    splits = task.load_data(data)
    keras.utils.set_random_seed(seed)
    preprocessor = task.fit_preprocessor(splits, preprocessing)
    problem = preprocessor.problem()
    model = spec.builder(hp, problem)
    config = {
        "entry": name, "task": task.name, "kind": task.kind, "data": data,
        "hyperparameters": dict(hp.values), "preprocessing": preprocessing, "problem": problem,
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "include_validation": include_validation,
        "patience": patience,
        "backend": keras.backend.backend(), "keras_version": keras.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }

    train_examples = splits.train + splits.validation if include_validation else splits.train
    x_train, y_train = task.arrays(preprocessor, train_examples, where=f"{data} (train)")
    x_val, y_val = task.arrays(preprocessor, splits.validation, where=f"{data} (validation)")
    all_callbacks = [] if include_validation else [
        keras.callbacks.EarlyStopping(monitor=task.objective, mode=task.objective_direction,
                                      patience=patience, restore_best_weights=True)]
    partial = None
    if out is not None:
        partial = os.path.abspath(out) + PARTIAL_SUFFIX
        previous = os.path.join(partial, "config.json")
        if os.path.exists(partial):
            if overwrite or not os.path.exists(previous) or not _same_run(read_json(previous), config):
                if not overwrite and os.path.exists(previous):
                    raise RunDirError(f"{partial} holds an unfinished run with other settings; "
                                      "remove it, or pass --overwrite to start afresh")
                shutil.rmtree(partial)
        os.makedirs(partial, exist_ok=True)
        write_json(previous, config)
        all_callbacks.append(keras.callbacks.BackupAndRestore(os.path.join(partial, "backup")))
    all_callbacks.extend(callbacks)  # after the backup, so an epoch they see is already saved

    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    started = time.perf_counter()
    fit = model.fit(x_train, y_train, validation_data=None if include_validation else (x_val, y_val), epochs=epochs,
                    batch_size=batch_size, verbose=verbose, callbacks=all_callbacks)
    seconds = time.perf_counter() - started
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    history["seconds"] = seconds
    reported = ("test",) if include_validation else ("validation", "test")  # validation was trained on
    metrics = {
        split: task.evaluate(model, preprocessor, getattr(splits, split), batch_size, where=f"{data} ({split})")
        for split in reported if getattr(splits, split)
    }
    metrics["train_seconds"] = seconds
    trained = TrainedModel(model, preprocessor, config, history, metrics)
    if out is not None:
        with atomic_directory(out, overwrite=overwrite) as tmp:
            trained.write_into(tmp)
        trained.path = os.path.abspath(out)
        shutil.rmtree(partial, ignore_errors=True)
    return trained
