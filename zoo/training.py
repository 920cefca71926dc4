"""Building and training registry entries.

``train`` checks everything that can fail (entry, hyperparameters, tuned values, output
folder, data) before it touches the disk, trains through the one fit path
(``zoo.fitting``), backs every epoch up to ``OUT.partial/`` and writes the run
directory atomically at the end.
"""

from __future__ import annotations

import datetime
import importlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from . import fitting, hparams, rundir
from . import tuned as tuned_files
from .errors import DataError, HyperparameterError
from .precision import check_precision
from .precision import policy as dtype_policy
from .registry import ModelSpec, get
from .runs import TrainedModel


def split_overrides(spec: ModelSpec, overrides: Mapping[str, Any], allow_problem: bool = False
                    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sort ``overrides`` into (model hyperparameters, preprocessing options, problem facts)."""
    task = spec.task
    space, prep_space = spec.space(), task.preprocessing_options
    model, prep, problem = {}, {}, {}
    for key, value in overrides.items():
        if key in space:
            model[key] = value
        elif allow_problem and key in task.default_problem:  # a fact like image_size, also an option of data
            problem[key] = value
        elif key in prep_space or key in task.file_options:
            prep[key] = value
        else:
            known = list(dict.fromkeys([*space, *prep_space, *task.file_options,
                                        *(task.default_problem if allow_problem else ())]))
            raise hparams.unknown_name_error(spec.name, key, known)
    return model, prep, problem


def with_tuned(name: str, tuned, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Tuned values (zoo.tuned), then explicit overrides on top (``None`` overrides ignored)."""
    values = dict(tuned_files.load_tuned(tuned, name)) if tuned is not None else {}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return values


def resolve_preprocessing(spec: ModelSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Preprocessing options with defaults filled in; a file option must name an existing file."""
    options, files = spec.task.preprocessing_options, spec.task.file_options
    resolved = hparams.resolve(spec.name, options, {k: v for k, v in values.items() if k not in files})
    result = {n: resolved.values.get(n, p.default) for n, p in options.items()}
    for name in files:
        folder = name in spec.task.folder_options
        value = values.get(name)
        if value in (None, ""):
            result[name] = None
        elif name in spec.task.named_files and isinstance(value, str) and \
                importlib.import_module(spec.task.named_files[name]).looks_like_a_name(value):
            result[name] = importlib.import_module(spec.task.named_files[name]).check_name(value)
        else:
            result[name] = _existing_file(name, value, folder)
    return result


def _existing_file(option: str, path: Any, folder: bool = False) -> str:
    if not isinstance(path, str):
        raise HyperparameterError(f"{option} must be the path of a {'folder' if folder else 'file'}, got {path!r}")
    if not os.path.exists(path):
        raise DataError(f"{option}: {'folder' if folder else 'file'} not found: {path}")
    if os.path.isdir(path) != folder:
        raise DataError(f"{option}: {path} is a {'file' if folder else 'directory'}, not a "
                        f"{'folder' if folder else 'file'}")
    return path


def build(name: str, tuned: str | Mapping[str, Any] | None = None, *, preset: str | Mapping[str, Any] | None = None,
          **overrides: Any):
    """Build the ready, compiled ``keras.Model`` of entry ``name``.

    Keyword arguments override hyperparameters (``units=128``) and the facts
    that usually come from data (``vocab_size=20000``, ``num_classes=3``).
    ``None`` values are ignored, so unset command-line flags never override
    a default. ``tuned`` (a tuned-hyperparameters file written by ``zoo tune``, or
    its dict; ``preset`` is its old name) supplies tuned values; explicit keywords win over it.

    Example::

        model = zoo.build("sentiment/bilstm", vocab_size=20000, units=128)
        model = zoo.build("sentiment/gru", tuned="runs/t1/tuned_hyperparameters.json")
    """
    spec = get(name)
    overrides = with_tuned(name, tuned_files.either(tuned, preset), overrides)
    model_values, _, problem_values = split_overrides(spec, overrides, allow_problem=True)
    problem = dict(spec.task.default_problem)
    for key, value in problem_values.items():
        if problem[key] is None or isinstance(problem[key], str):  # a path, a name (checked by the builder)
            problem[key] = value if problem[key] is None else str(value)
        elif isinstance(problem[key], list):  # a shape, e.g. step_shape=[32, 32, 3] or "32,32,3"
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not items:
                raise HyperparameterError(f"{key} for {name} must be a list of positive integers, got {value!r}")
            problem[key] = [hparams.positive_int(key, v.strip() if isinstance(v, str) else v, name) for v in items]
        else:
            problem[key] = hparams.positive_int(key, value, name)
    hp = hparams.resolve(name, spec.space(), model_values)
    return spec.builder(hp, problem)


def hypermodel(name: str, problem: Mapping[str, Any] | None = None, *, task_data=None,
               precision: str | None = None):
    """A ``keras_tuner.HyperModel`` over entry ``name``'s declared search space.

    ``problem`` fixes the data facts (vocabulary size, classes, ...); the task's
    defaults are used when it is left out. Its ``fit`` is the zoo's one fit path
    (early stopping on the task's objective, NaN guard, task callbacks): pass
    ``(preprocessor, train_examples, validation_examples)`` as ``task_data`` and
    call ``tuner.search(epochs=..., batch_size=...)`` with no arrays; without
    ``task_data`` it falls back to Keras's ``model.fit`` on the arrays given.
    ``precision`` is the dtype policy each trial's model is built under (zoo.precision).

    Example::

        tuner = keras_tuner.RandomSearch(zoo.hypermodel("sentiment/gru"), objective="val_accuracy")
    """
    import keras
    import keras_tuner as kt
    spec = get(name)
    facts = {**spec.task.default_problem, **(problem or {})}
    precision = check_precision(precision)

    class EntryHyperModel(kt.HyperModel):
        def build(self, hp):
            with dtype_policy(precision):
                model = spec.builder(hp, facts)
            if task_data is not None:
                spec.task.initialize_model(model, task_data[0])
            return model

        def fit(self, hp, model, *args, callbacks=None, epochs=1, batch_size=None, objective=None,
                patience=None, seed=0, initial_epoch=0, verbose=0, **kwargs):
            if task_data is None:
                cbs = [fitting.nan_guard(kt.errors.FailedTrialError), *(callbacks or [])]
                return model.fit(*args, callbacks=cbs, epochs=epochs, batch_size=batch_size,
                                 initial_epoch=initial_epoch, verbose=verbose, **kwargs)
            preprocessor, train_examples, validation_examples = task_data
            result = fitting.fit(model, spec.task, preprocessor, train_examples, validation_examples,
                                 epochs=epochs, batch_size=batch_size or spec.task.default_batch_size,
                                 objective=objective, patience=patience, seed=seed, callbacks=callbacks or [],
                                 verbose=verbose, initial_epoch=initial_epoch, nan_error=kt.errors.FailedTrialError)
            history = keras.callbacks.History()  # keras-tuner picks the best epoch from it
            history.history = result.history
            return history

    return EntryHyperModel(name=name.replace("/", "_"))


def train(name: str, data: str, out: str | None = None, *, epochs: int | None = None,
          batch_size: int | None = None, overrides: Mapping[str, Any] | None = None, seed: int = 0,
          overwrite: bool = False, verbose: int | str = "auto", callbacks: Sequence = (),
          tuned: str | Mapping[str, Any] | None = None, include_validation: bool = False,
          patience: int | None = None, precision: str | None = None,
          preset: str | Mapping[str, Any] | None = None) -> TrainedModel:
    """Train entry ``name`` on data spec ``data``; write a run directory to ``out``.

    The entry is built with its defaults plus ``overrides`` (hyperparameters and
    preprocessing options such as ``max_tokens``). Training stops early when
    the task's objective stops improving and ends on the best epoch's weights.
    When ``out`` is given, each epoch is backed up to ``OUT.partial``: run the
    same call again after a crash and it resumes after the last finished epoch.
    ``tuned`` supplies tuned values (a tuned-hyperparameters file written by ``zoo tune``, or its dict;
    ``preset`` is its old name).
    ``patience`` is the early-stopping patience in epochs (default: the task's).
    ``include_validation`` trains on train + validation for exactly ``epochs``
    (no early stopping): the final fit of a tuned configuration. ``precision``
    is ``float32`` (default), ``mixed_float16`` or ``mixed_bfloat16`` (zoo.precision).

    Example::

        run = zoo.train("sentiment/lstm", "builtin:negation", out="runs/s1")
        run.metrics["test"]["accuracy"]
    """
    import keras
    # 1. Everything that can be checked without data, before anything else.
    spec = get(name)
    task = spec.task
    overrides = with_tuned(name, tuned_files.either(tuned, preset), overrides)
    model_values, prep_values, _ = split_overrides(spec, overrides)
    hp = hparams.resolve(name, spec.space(), model_values)
    preprocessing = resolve_preprocessing(spec, prep_values)
    epochs = hparams.positive_int("epochs", task.default_epochs if epochs is None else epochs, name)
    batch_size = hparams.positive_int("batch_size", task.default_batch_size if batch_size is None else batch_size, name)
    patience = hparams.positive_int("patience", task.patience if patience is None else patience, name)
    seed = check_seed(seed)
    precision = check_precision(precision)
    if out is not None:
        out = rundir.check_new_run(out, overwrite=overwrite)

    # 2. Data and model: still nothing written.
    splits = task.load_data(data)
    keras.utils.set_random_seed(seed)
    preprocessor = task.fit_preprocessor(splits, preprocessing)
    problem = preprocessor.problem()
    with dtype_policy(precision):
        model = spec.builder(hp, problem)
    task.initialize_model(model, preprocessor)
    config = {
        "entry": name, "task": task.name, "kind": task.kind, "data": data,
        "hyperparameters": dict(hp.values), "preprocessing": preprocessing, "problem": problem,
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "include_validation": include_validation,
        "patience": patience, "objective": task.objective, "precision": precision,
        "backend": keras.backend.backend(), "keras_version": keras.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    train_examples = splits.train + splits.validation if include_validation else splits.train
    validation_examples = None if include_validation else splits.validation
    fit_args = dict(epochs=epochs, batch_size=batch_size, patience=patience, seed=seed, callbacks=callbacks,
                    verbose=verbose, where=data)
    if out is None:
        result = fitting.fit(model, task, preprocessor, train_examples, validation_examples, **fit_args)
        return _finish(model, preprocessor, config, result, task, splits, batch_size, data, include_validation)

    # 3. The backup folder (zoo.rundir.backup): zoo's own, locked, resumed only with the same settings.
    with rundir.backup(out, config, overwrite=overwrite) as partial:
        result = fitting.fit(model, task, preprocessor, train_examples, validation_examples,
                             checkpoint_dir=partial, **fit_args)
        trained = _finish(model, preprocessor, config, result, task, splits, batch_size, data, include_validation)
        trained.save(out, overwrite=overwrite)
    return trained


def _finish(model, preprocessor, config, result, task, splits, batch_size, data, include_validation
            ) -> TrainedModel:
    history = {**result.history, "seconds": result.seconds}
    reported = ("test",) if include_validation else ("validation", "test")  # validation was trained on
    metrics = {
        split: task.evaluate(model, preprocessor, getattr(splits, split), batch_size, where=f"{data} ({split})")
        for split in reported if getattr(splits, split)
    }
    metrics["train_seconds"] = result.seconds
    metrics["epochs_trained"] = len(result.history.get("loss", []))
    if result.best_epoch is not None:
        metrics["best_epoch"] = result.best_epoch + 1
    if splits.info.get("skipped_rows"):
        metrics["skipped_rows"] = splits.info["skipped_rows"]
    return TrainedModel(model, preprocessor, config, history, metrics)


def check_seed(seed: Any) -> int:
    """A seed for NumPy, Python and the backend: an integer from 0 to 2**32 - 1."""
    if isinstance(seed, str) and seed.strip().lstrip("-").isdigit():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise HyperparameterError(f"seed must be an integer from 0 to {2**32 - 1}, got {seed!r}")
    return seed
