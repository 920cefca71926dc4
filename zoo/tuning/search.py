"""The search itself: prepare (check everything first), build the tuner, search, write the tuned
hyperparameters, and the optional final fit."""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import distributed, hparams
from ..errors import HyperparameterError, RuntimeFailure, ZooError
from ..folders import (
    check_output_path,
    folder_lock,
    read_marker,
    remove_stale_temporaries,
    write_json,
    write_marker,
)
from ..registry import get
from ..training import check_seed, hypermodel, resolve_preprocessing, split_overrides, train
from ..tuned import FILE as TUNED_FILE
from .config import TuneSettings, check_settings
from .folder import (
    OVERWRITE_SUFFIX,
    PROJECT,
    SEARCH_FILES,
    check_search_folder,
    chief_folder,
    clear_other_overwrite,
    swap_in,
)
from .reports import TuneResult, collect, write_reports
from .trials import TUNER_CLASSES


def _base_hyperparameters(spec, settings: TuneSettings):
    """HyperParameters with the fixed values and narrowed choices registered first, so the
    entry's own declarations of those names return them instead of searching."""
    import keras_tuner as kt

    space = spec.space()
    fixed, prep, _ = split_overrides(spec, settings.set)
    fixed = hparams.resolve(spec.name, space, fixed).values
    hp = kt.HyperParameters()
    for name, value in fixed.items():
        hp.Fixed(name, value)
    for name, values in settings.space.items():
        if name not in space:
            raise hparams.unknown_name_error(spec.name, name, list(space))
        if name in fixed:
            raise HyperparameterError(f"{name!r} is both fixed (set) and searched (space); choose one")
        choices = []
        for value in values:
            coerced = hparams.resolve(spec.name, space, {name: value}).values[name]
            if coerced not in choices:
                choices.append(coerced)
        default = hparams.describe(space[name])["default"]
        hp.Choice(name, choices, default=default if default in choices else choices[0])
    return hp, prep


@dataclass
class _Prepared:
    """A search checked and its data loaded: everything before the disk is touched."""

    spec: Any
    settings: TuneSettings
    base_hp: Any
    preprocessing: dict[str, Any]
    epochs: int
    batch_size: int
    direction: str
    splits: Any
    preprocessor: Any


def _prepare(entry: str, data: str, settings_kwargs: dict[str, Any]) -> _Prepared:
    spec = get(entry)
    task = spec.task
    settings = TuneSettings(entry=entry, data=data, **settings_kwargs)
    settings.objective = settings.objective or task.objective
    check_settings(settings, task)
    base_hp, prep_values = _base_hyperparameters(spec, settings)
    preprocessing = resolve_preprocessing(spec, prep_values)
    epochs = hparams.positive_int("epochs", task.default_epochs if settings.epochs is None else settings.epochs, entry)
    batch_size = settings.batch_size or task.default_batch_size
    splits = task.load_data(data)
    preprocessor = task.fit_preprocessor(splits, preprocessing)
    _check_values_fit_the_data(spec, base_hp, preprocessor.problem())
    return _Prepared(spec, settings, base_hp, preprocessing, epochs, batch_size, task.objectives[settings.objective],
                     splits, preprocessor)


def _check_values_fit_the_data(spec, base_hp, problem) -> None:
    """Build once with the fixed and searched values, before the disk is touched: an entry refuses a value
    the data cannot use (freeze_embeddings=true without vectors) with a HyperparameterError. Other build
    failures are left to the tuner's own first build, which reports them."""
    import keras

    try:
        spec.builder(base_hp.copy(), dict(problem))
    except HyperparameterError:
        raise
    except (ValueError, TypeError):
        pass
    finally:
        keras.backend.clear_session(free_memory=False)


def _make_tuner(prepared: _Prepared, folder: str, verbose):
    import keras
    import keras_tuner as kt

    s = prepared.settings
    task_data = (prepared.preprocessor, prepared.splits.train, prepared.splits.validation)
    common = dict(hypermodel=hypermodel(s.entry, prepared.preprocessor.problem(), task_data=task_data,
                                            precision=s.precision),
                  objective=kt.Objective(s.objective, prepared.direction), hyperparameters=prepared.base_hp,
                  tune_new_entries=True, seed=s.seed, directory=folder, project_name=PROJECT,
                  overwrite=False, max_consecutive_failed_trials=s.max_consecutive_failures)
    if s.tuner == "hyperband":
        common.update(max_epochs=prepared.epochs, factor=3)
    else:
        common.update(max_trials=s.max_trials, executions_per_trial=s.executions_per_trial)
    if s.distribution == "mirrored":
        if keras.backend.backend() != "tensorflow":
            raise ZooError("--distribution mirrored needs KERAS_BACKEND=tensorflow")
        import tensorflow as tf

        common["distribution_strategy"] = tf.distribute.MirroredStrategy()
    try:  # keras-tuner builds once with the default values to learn the space
        tuner = TUNER_CLASSES[s.tuner](**common)
    except HyperparameterError:  # the entry refused a value as it built (freeze_embeddings without vectors)
        raise
    except (ValueError, TypeError) as exc:
        raise ZooError(f"{s.entry} does not build with the search's default values ({exc}); "
                       "fix them with --set or narrow them with --space") from None
    tuner.zoo_keep_best = s.keep_best
    tuner.zoo_seed = s.seed
    return tuner


def _search(tuner, prepared: _Prepared, folder: str, verbose, tensorboard: bool) -> str | None:
    """Run the trials; returns the reason the search stopped early, if it did."""
    import keras

    callbacks = []
    if tensorboard and keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(log_dir=os.path.join(folder, "tensorboard")))
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    kwargs = dict(batch_size=prepared.batch_size, callbacks=callbacks, verbose=verbose,
                  objective=prepared.settings.objective, seed=prepared.settings.seed)
    if prepared.settings.tuner != "hyperband":
        kwargs["epochs"] = prepared.epochs
    try:
        tuner.search(**kwargs)
    except RuntimeError as exc:
        if "consecutive failures" not in str(exc).lower():
            raise
        return str(exc)
    return _failure_streak(tuner.oracle, prepared.settings.max_consecutive_failures)


def _failure_streak(oracle, limit: int) -> str | None:
    """keras-tuner raises at the trial that completes a streak of ``limit`` failures; a rerun
    of a search that stopped so may find no trial left to run. The streak is in the record:
    report it the same way, so a stopped search stays stopped (and is never swapped in)."""
    streak = 0
    for trial_id in getattr(oracle, "end_order", []):
        trial = oracle.trials.get(trial_id)
        streak = streak + 1 if trial is not None and str(trial.status).split(".")[-1] == "FAILED" else 0
        if streak >= limit:
            return f"Number of consecutive failures exceeded the limit of {limit}."
    return None


def _write_tuned(folder: str, prepared: _Prepared, best: dict, trials: list) -> str:
    import keras

    s = prepared.settings
    path = os.path.join(folder, TUNED_FILE)
    write_json(path, {
        "name": f"{s.entry}@{os.path.basename(folder.removesuffix(OVERWRITE_SUFFIX))}", "entry": s.entry,
        "hyperparameters": best["hyperparameters"], "preprocessing": prepared.preprocessing,
        "score": best["score"], "objective": s.objective, "direction": prepared.direction,
        "data": s.data, "tuner": s.tuner, "trials": len(trials), "trial_id": best["trial_id"],
        "epochs": best["epochs"], "backend": keras.backend.backend(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    })
    return path


def _final_fit(folder: str, prepared: _Prepared, best: dict, verbose) -> dict[str, Any]:
    final = train(prepared.settings.entry, prepared.settings.data, os.path.join(folder, "final"),
                  epochs=best["epochs"] or prepared.epochs, batch_size=prepared.batch_size,
                  overrides={**best["hyperparameters"], **prepared.preprocessing}, seed=prepared.settings.seed,
                  overwrite=os.path.isdir(os.path.join(folder, "final")), verbose=verbose, include_validation=True,
                  precision=prepared.settings.precision)
    return {"run": final.path, "test": final.metrics["test"], "search_score": best["score"]}


def tune(entry: str, data: str, out: str, *, tuner: str = "random", max_trials: int = 10,
         epochs: int | None = None, executions_per_trial: int = 1, objective: str | None = None,
         seed: int = 0, batch_size: int | None = None, overrides: Mapping[str, Any] | None = None,
         space: Mapping[str, list[Any]] | None = None, final_fit: bool = False, keep_best: int = 3,
         max_consecutive_failures: int = 3, distribution: str | None = None, overwrite: bool = False,
         verbose: int | str = "auto", tensorboard: bool = True, precision: str = "float32") -> TuneResult:
    """Search entry ``entry``'s hyperparameters on ``data``; results and the tuned-hyperparameters file go
    to ``out``.

    ``overrides`` fix values (``{"units": 128}``), ``space`` narrows a
    hyperparameter to a list of choices (``{"units": [64, 128, 256]}``).
    Rerunning with the same ``out`` resumes the search. Each trial trains
    exactly as ``zoo train`` does (the same fit path). With ``overwrite``, the
    new search runs beside the old one and replaces it only once it finished.

    Example::

        result = zoo.tune("sentiment/gru", "builtin:negation", "runs/t1", max_trials=8, epochs=3)
        print(result.table())
        model = zoo.build("sentiment/gru", tuned=result.tuned_path)
    """
    import keras
    settings_kwargs = dict(tuner=tuner, max_trials=max_trials, epochs=epochs,
                           executions_per_trial=executions_per_trial, objective=objective, seed=check_seed(seed),
                           batch_size=batch_size, set={k: v for k, v in (overrides or {}).items() if v is not None},
                           space={k: list(v) for k, v in (space or {}).items()}, final_fit=final_fit,
                           keep_best=keep_best, max_consecutive_failures=max_consecutive_failures,
                           distribution=distribution, precision=precision)
    out = os.path.abspath(out)
    chief_or_alone = not distributed.is_worker()
    # Everything that can fail runs before the disk is touched: settings, folder, data.
    if chief_or_alone:
        check_search_folder(out, TuneSettings(entry=entry, data=data, **{
            **settings_kwargs, "objective": objective or get(entry).task.objective}), overwrite)
    keras.utils.set_random_seed(settings_kwargs["seed"])
    prepared = _prepare(entry, data, settings_kwargs)
    settings = prepared.settings

    if not chief_or_alone:  # a worker writes its trials into the folder its chief runs in
        distributed.wait_for_chief()
        working = chief_folder(out, overwrite, settings)
        search_tuner = _make_tuner(prepared, working, verbose)
        _search(search_tuner, prepared, working, verbose, tensorboard)
        return TuneResult(out, settings.objective, prepared.direction, [], None, None)
    working = out + OVERWRITE_SUFFIX if overwrite and os.path.isdir(out) and os.listdir(out) else out
    if working != out and os.path.isdir(working) and os.listdir(working):
        # Left by an interrupted overwrite: zoo's own search folder, or refused.
        check_output_path(working, kind="search", overwrite=True, resumable=True, allowed_top=SEARCH_FILES)
    os.makedirs(working, exist_ok=True)
    if read_marker(working) is None:
        write_marker(working, "search")
    with contextlib.ExitStack() as locks:
        locks.enter_context(folder_lock(working, "search"))
        if working != out:
            locks.enter_context(folder_lock(out, "search"))
            clear_other_overwrite(working, settings)
        remove_stale_temporaries(out, "search")  # an old search moved aside by a killed swap
        write_json(os.path.join(working, "tune_config.json"),
                   {"search": settings.search_key(), "settings": settings.__dict__,
                    "preprocessing": prepared.preprocessing})
        search_tuner = _make_tuner(prepared, working, verbose)
        stopped = _search(search_tuner, prepared, working, verbose, tensorboard)
        trials = collect(search_tuner, settings.objective)
        write_reports(working, trials, settings.objective, prepared.direction)
        done = [t for t in trials if t["score"] is not None]
        best = (max if prepared.direction == "max" else min)(done, key=lambda t: t["score"]) if done else None
        tuned_path = _write_tuned(working, prepared, best, trials) if best is not None else None
        if stopped:
            failures = [t["reason"] for t in trials if t["status"] in ("FAILED", "INVALID") and t["reason"]]
            raise RuntimeFailure(f"search stopped after {settings.max_consecutive_failures} consecutive failed trials; "
                           f"last reason: {failures[-1] if failures else 'unknown'} (table in {working}/trials.csv)")
        final = None
        if settings.final_fit and best is not None:
            final = _final_fit(working, prepared, best, verbose)
            if working != out:
                final["run"] = os.path.join(out, "final")  # where it will be once swapped in
            write_json(os.path.join(working, "final_fit.json"), final)
        if working != out:  # still holding both locks: nobody resumes either folder meanwhile
            swap_in(working, out)
            tuned_path = tuned_path and os.path.join(out, TUNED_FILE)
    return TuneResult(out, settings.objective, prepared.direction, trials, best, tuned_path, final)
