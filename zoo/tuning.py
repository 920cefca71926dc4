"""Hyperparameter tuning with keras-tuner: resumable, reported, distributed.

A search is a folder::

    OUT/
      tune_config.json     what was asked (entry, data, tuner, budget, objective, space)
      search/              keras-tuner's project: oracle.json, trial_*/ (trial.json; zoo_trial.json: each
                           attempt at the trial, its start and end, and the epoch history; the
                           checkpoint of the best few trials only)
      tensorboard/         per-trial logs with HParams (TensorFlow backend)
      trials.csv, trials.json, objective.png
      tuned_hyperparameters.json   the best hyperparameters, score, data and date: ``zoo.build(name, tuned=...)``
      final/               with ``final_fit``: the best configuration retrained on train + validation

Run the same call again with the same ``out`` and it resumes: finished trials
are kept, a trial cut off by a kill runs again from its start. A trial that
fails (NaN loss, out of memory, an impossible combination) is recorded as
failed with its reason and the search goes on, up to ``max_consecutive_failures``.
Each trial is seeded right before its model is built, as ``zoo train`` is, so a trial
with fixed values is the run ``zoo train`` makes with them, and a rerun trial repeats itself.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import gc
import json
import math
import os
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import portalocker

from . import distributed, hparams
from .errors import HyperparameterError, RunDirError, RuntimeFailure, ZooError
from .folders import (
    LOCK,
    MARKER,
    check_output_path,
    check_owned,
    folder_lock,
    read_json,
    read_marker,
    remove_stale_temporaries,
    write_json,
    write_marker,
)
from .precision import check_precision
from .registry import get
from .report import text_table
from .training import check_seed, hypermodel, resolve_preprocessing, split_overrides, train
from .tuned import FILE as TUNED_FILE

TUNERS = ("random", "bayesian", "hyperband")
DISTRIBUTIONS = ("mirrored",)
PROJECT = "search"
TRIAL_META = "zoo_trial.json"


# ---------------------------------------------------------------------------
# Settings: from keyword arguments, the command line and experiment files
# ---------------------------------------------------------------------------

@dataclass
class TuneSettings:
    """Everything that defines a search. Experiment files (TOML) hold the same keys."""

    entry: str
    data: str
    tuner: str = "random"                 # random | bayesian | hyperband
    max_trials: int = 10                  # hyperband: ignored, its budget is epochs and factor 3
    epochs: int | None = None             # per trial (default: the task's)
    executions_per_trial: int = 1
    objective: str | None = None          # default: the task's (sentiment: val_accuracy)
    seed: int = 0
    batch_size: int | None = None
    set: dict[str, Any] = field(default_factory=dict)          # fixed values
    space: dict[str, list[Any]] = field(default_factory=dict)  # narrowed to these choices
    final_fit: bool = False
    keep_best: int = 3                    # trials whose weights are kept on disk
    max_consecutive_failures: int = 3
    distribution: str | None = None       # "mirrored": every local GPU per trial
    precision: str = "float32"            # the dtype policy of every trial (zoo.precision)

    def search_key(self) -> dict[str, Any]:
        """What must match for a rerun to resume the same search (precision only when not the
        default, so a search written before the option existed still resumes)."""
        key = {k: getattr(self, k) for k in ("entry", "data", "tuner", "objective", "seed", "batch_size",
                                             "set", "space", "epochs", "executions_per_trial")}
        if self.precision != "float32":
            key["precision"] = self.precision
        return key


_FIELDS = {f: t for f, t in TuneSettings.__annotations__.items()}


def load_config(path: str) -> dict[str, Any]:
    """Read an experiment file (TOML); errors name the file and the key."""
    if not os.path.exists(path):
        raise ZooError(f"experiment file not found: {path}")
    if os.path.isdir(path):
        raise ZooError(f"experiment file {path} is a folder; give a .toml file")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ZooError(f"{path}: not valid TOML ({exc})") from None
    config: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise ZooError(f"{path}: unknown key {key!r}; allowed: {', '.join(sorted(_FIELDS))}")
        config[name] = value
    for key in ("entry", "data"):
        if key not in config:
            raise ZooError(f"{path}: missing {key!r} (e.g. {key} = "
                           f"{'sentiment/lstm' if key == 'entry' else 'builtin:negation'!r})")
    checks = {"entry": str, "data": str, "tuner": str, "objective": str, "distribution": str,
              "max_trials": int, "epochs": int, "executions_per_trial": int, "seed": int, "batch_size": int,
              "keep_best": int, "max_consecutive_failures": int, "final_fit": bool, "set": dict, "space": dict}
    for key, kind in checks.items():
        if key in config and (not isinstance(config[key], kind) or (kind is int and isinstance(config[key], bool))):
            raise ZooError(f"{path}: {key!r} must be {kind.__name__}, got {config[key]!r}")
    for name, values in config.get("space", {}).items():
        if not isinstance(values, list) or not values:
            raise ZooError(f"{path}: space.{name} must be a non-empty list of values, got {values!r}")
    return config


def parse_space(items: list[str] | None) -> dict[str, list[str]]:
    """``["units=64,128,256"]`` from ``--space`` into ``{"units": ["64", "128", "256"]}``."""
    space = {}
    for key, value in hparams.parse_assignments(items, "--space").items():
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not values:
            raise HyperparameterError(f"--space {key}= lists no values")
        space[key] = values
    return space


def _check_settings(s: TuneSettings, task) -> None:
    for name in ("max_trials", "epochs", "executions_per_trial", "batch_size", "keep_best",
                 "max_consecutive_failures"):
        if getattr(s, name) is not None:
            hparams.positive_int(name, getattr(s, name))
    if s.tuner not in TUNERS:
        raise HyperparameterError(f"unknown tuner {s.tuner!r}; allowed: {', '.join(TUNERS)}")
    objectives = task.objectives
    if s.objective not in objectives:
        raise HyperparameterError(f"unknown objective {s.objective!r} for task {task.name}; allowed: "
                                  + ", ".join(f"{k} ({v})" for k, v in objectives.items()))
    check_precision(s.precision)
    if s.distribution is not None and s.distribution not in DISTRIBUTIONS:
        raise HyperparameterError(f"unknown distribution {s.distribution!r}; allowed: {', '.join(DISTRIBUTIONS)}")


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


# ---------------------------------------------------------------------------
# keras-tuner pieces
# ---------------------------------------------------------------------------

def _rss_mb() -> float:
    """The process's resident memory now (not its peak), in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _previous_attempts(path: str) -> list[dict[str, Any]]:
    """The attempts an earlier process recorded for a trial (empty when none, or unreadable)."""
    try:
        attempts = read_json(path, "trial record").get("attempts", [])
    except (ZooError, AttributeError):
        return []
    return [a for a in attempts if isinstance(a, dict)] if isinstance(attempts, list) else []


def _tuner_class(kind: str):
    import keras_tuner as kt

    base = {"random": kt.RandomSearch, "bayesian": kt.BayesianOptimization, "hyperband": kt.Hyperband}[kind]

    class ZooTuner(base):
        """keras-tuner's tuner plus seeding, timing, memory, failure reasons and bounded disk use."""

        zoo_seed = 0
        zoo_keep_best = 3

        def run_trial(self, trial, *args, **kwargs):
            """Run one trial; ``zoo_trial.json`` records every attempt at it.

            The file is written when an attempt starts and again when it ends, so an
            attempt cut off by a kill shows as started and never finished; the rerun
            that resumes the search adds a second attempt."""
            started = time.perf_counter()
            folder = self.get_trial_dir(trial.trial_id)
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, TRIAL_META)
            attempt = {"pid": os.getpid(), "tuner_id": self.tuner_id, "started": _now()}
            meta = {"trial_id": trial.trial_id, "tuner_id": self.tuner_id, "pid": os.getpid(),
                    "started": attempt["started"], "attempts": [*_previous_attempts(path), attempt]}
            write_json(path, meta)
            self.zoo_execution = 0
            try:
                results = super().run_trial(trial, *args, **kwargs)
                meta["history"] = [r.history for r in results if hasattr(r, "history")]
                return results
            except BaseException as exc:
                attempt["error"] = f"{type(exc).__name__}: {exc}"[:500]
                raise
            finally:
                meta["seconds"] = attempt["seconds"] = time.perf_counter() - started
                gc.collect()
                meta["rss_mb"] = _rss_mb()
                attempt["finished"] = _now()
                write_json(path, meta)

        def _build_and_fit_model(self, trial, *args, **kwargs):
            self.zoo_execution = getattr(self, "zoo_execution", 0) + 1
            return super()._build_and_fit_model(trial, *args, **kwargs)

        def _build_hypermodel(self, hp):
            # Seeded right before each build, as ``zoo train`` seeds right before its build:
            # a trial's first execution starts from the weights ``zoo train`` would, whatever
            # ran before it in this process (the space's own build, other trials, a resume).
            import keras

            execution = max(0, getattr(self, "zoo_execution", 1) - 1)
            keras.utils.set_random_seed((self.zoo_seed + execution) % 2**32)
            return super()._build_hypermodel(hp)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            self._prune_checkpoints()

        def _prune_checkpoints(self):
            """Delete the weights of finished trials outside the best ``keep_best``.

            Reads trial states from disk, so it works in a distributed worker too (whose
            oracle is a client) and never touches a trial another worker is running."""
            keep = getattr(self, "zoo_keep_best", 3)
            best = {t.trial_id for t in self.oracle.get_best_trials(keep)}
            project = self.project_dir
            for folder in os.listdir(project):
                trial_json = os.path.join(project, folder, "trial.json")
                if not folder.startswith("trial_") or not os.path.exists(trial_json):
                    continue
                try:
                    state = read_json(trial_json)
                except (OSError, ValueError):
                    continue  # being written right now
                if state.get("trial_id") in best or state.get("status") not in ("COMPLETED", "FAILED", "INVALID"):
                    continue
                for name in os.listdir(os.path.join(project, folder)):
                    if name.startswith("checkpoint"):
                        with contextlib.suppress(FileNotFoundError):
                            os.remove(os.path.join(project, folder, name))

    ZooTuner.__name__ = f"Zoo{base.__name__}"
    return ZooTuner


# ---------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------

@dataclass
class TuneResult:
    """What ``zoo.tune`` returns: every trial, the best one, and the files written."""

    path: str
    objective: str
    direction: str
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None
    tuned_path: str | None  # the tuned-hyperparameters file (zoo.tuned)
    final: dict[str, Any] | None = None

    @property
    def preset_path(self) -> str | None:
        """The old name of :attr:`tuned_path`."""
        return self.tuned_path

    def table(self) -> str:
        names = sorted({k for t in self.trials for k in t["hyperparameters"]})
        header = ["trial", "status", self.objective, "epochs", "seconds", *names]
        rows = []
        for t in self.trials:
            score = "" if t["score"] is None else f"{t['score']:.4f}"
            rows.append([t["trial_id"], t["status"], score, str(t["epochs"] or ""),
                         "" if t["seconds"] is None else f"{t['seconds']:.1f}",
                         *[_fmt(t["hyperparameters"].get(n)) for n in names]])
        return text_table(rows, header)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _collect(tuner, objective: str) -> list[dict[str, Any]]:
    trials = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        meta_path = os.path.join(tuner.get_trial_dir(trial_id), TRIAL_META)
        meta = read_json(meta_path) if os.path.exists(meta_path) else {}
        score = trial.score
        history = trial.metrics.get_history(objective) if trial.metrics.exists(objective) else []
        reason = None
        if trial.message:
            lines = [line for line in str(trial.message).strip().splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else None
        trials.append({
            "trial_id": trial_id, "status": str(trial.status).split(".")[-1],
            "score": None if score is None or not math.isfinite(score) else float(score),
            "epochs": (trial.best_step + 1) if trial.best_step is not None and history else None,
            "seconds": meta.get("seconds"), "rss_mb": meta.get("rss_mb"), "tuner_id": meta.get("tuner_id"),
            "hyperparameters": dict(trial.hyperparameters.values), "reason": reason,
        })
    return trials


def _write_reports(out: str, result_trials: list[dict], objective: str, direction: str) -> None:
    write_json(os.path.join(out, "trials.json"), result_trials)
    names = sorted({k for t in result_trials for k in t["hyperparameters"]})
    tmp = os.path.join(out, ".trials.csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["trial_id", "status", objective, "epochs", "seconds", "rss_mb", "reason", *names])
        for t in result_trials:
            writer.writerow([t["trial_id"], t["status"], t["score"], t["epochs"], t["seconds"], t["rss_mb"],
                             t["reason"], *[t["hyperparameters"].get(n) for n in names]])
    os.replace(tmp, os.path.join(out, "trials.csv"))
    _plot(os.path.join(out, "objective.png"), result_trials, objective, direction)


def _plot(path: str, trials: list[dict], objective: str, direction: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [i for i, t in enumerate(trials) if t["score"] is not None]
    ys = [trials[i]["score"] for i in xs]
    best, best_so_far = None, []
    for y in ys:
        best = y if best is None or (y > best if direction == "max" else y < best) else best
        best_so_far.append(best)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(xs, ys, label=f"{objective} of each trial", color="tab:blue")
    ax.step(xs, best_so_far, where="post", label="best so far", color="tab:orange")
    failed = [i for i, t in enumerate(trials) if t["score"] is None]
    if failed:
        ax.scatter(failed, [min(ys) if ys else 0] * len(failed), marker="x", color="tab:red", label="failed")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


SEARCH_FILES = ("tune_config.json", "search", "tensorboard", "trials.csv", "trials.json", "objective.png",
                "tuned_hyperparameters.json", "preset.json", "final", "final.partial", "final_fit.json", ".tmp-*",
                ".trials.csv.tmp",
                "objective.png.tmp.png", ".final.tmp-*", ".final.old-*")
OVERWRITE_SUFFIX = ".overwrite"


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
    _check_settings(settings, task)
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


def _check_search_folder(out: str, settings: TuneSettings, overwrite: bool) -> None:
    """Refuse a folder that is not zoo's own search, or a search with other settings (unless overwriting)."""
    filled = os.path.isdir(out) and bool(os.listdir(out))  # an empty folder is as good as none
    check_output_path(out, kind="search", overwrite=overwrite and filled, resumable=True, allowed_top=SEARCH_FILES)
    if not filled:
        return
    marker = read_marker(out)
    config_path = os.path.join(out, "tune_config.json")
    if marker is None and not os.path.exists(config_path):
        raise RunDirError(f"{out} exists and is not a zoo search (no tune_config.json, no .zoo.json marker); "
                          "choose another --out")
    check_owned(out, "search", SEARCH_FILES, action="resume or replace")
    if overwrite or not os.path.exists(config_path):
        return
    if not _holds_search(out, settings):
        raise RunDirError(f"{out} holds a search with other settings ({_search_differences(out, settings)}); "
                          "resume it with the same settings, choose another --out, or pass --overwrite")


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
        tuner = _tuner_class(s.tuner)(**common)
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


def _swap_in(working: str, out: str) -> None:
    """Put a finished overwrite search in place of the old one; the old one goes only then."""
    old = None
    if os.path.exists(out):
        check_owned(out, "search", SEARCH_FILES)  # again: files may have been added meanwhile
        parent, base = os.path.split(out)
        old = tempfile.mkdtemp(prefix=f".{base}.old-", dir=parent)  # a fresh name: never a folder of the user's
        os.rmdir(old)
        os.replace(out, old)
    os.replace(working, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _holds_search(folder: str, settings: TuneSettings) -> bool:
    """Whether ``folder``'s tune_config.json is a search with these settings."""
    path = os.path.join(folder, "tune_config.json")
    if not os.path.exists(path):
        return False
    previous = read_json(path, "search config")
    return isinstance(previous, dict) and previous.get("search") == json.loads(
        json.dumps(settings.search_key(), default=str))


def _search_differences(folder: str, settings: TuneSettings) -> str:
    """The settings by which ``folder``'s search differs from ``settings``: ``key: then, now``."""
    previous = read_json(os.path.join(folder, "tune_config.json"), "search config").get("search") or {}
    now = json.loads(json.dumps(settings.search_key(), default=str))
    default = {"precision": "float32"}  # left out of the key when it has its default
    then_, now_ = {**default, **previous}, {**default, **now}
    keys = [k for k in {**then_, **now_} if then_.get(k) != now_.get(k)]
    return ", ".join(f"{k}: {then_.get(k)!r} then, {now_.get(k)!r} now" for k in keys) or "unreadable"


def _lock_held(folder: str) -> bool | None:
    """Whether a process holds ``folder``'s lock now (None: no lock file there)."""
    try:
        f = open(os.path.join(folder, LOCK), "rb")
    except OSError:
        return None
    try:
        portalocker.lock(f, portalocker.LOCK_SH | portalocker.LOCK_NB)
    except portalocker.exceptions.LockException:
        return True
    finally:
        f.close()  # releases the probe's shared lock, if it got it
    return False


def _chief_folder(out: str, overwrite: bool, settings: TuneSettings) -> str:
    """The folder a worker's chief runs in: ``OUT``, or ``OUT.overwrite`` when the chief
    replaces an earlier search. The chief holds its folder's lock while it serves trials."""
    side = out + OVERWRITE_SUFFIX
    if not overwrite or not os.path.isdir(side):
        return out
    if _lock_held(side):
        return side
    if _lock_held(out):  # the chief runs in OUT itself: there was nothing to replace
        return out
    # No lock to be seen from here (the chief on another machine's file system): the side
    # folder when it holds this very search (its chief wrote the config before listening).
    return side if _holds_search(side, settings) else out


def _clear_other_overwrite(working: str, settings: TuneSettings) -> None:
    """An interrupted overwrite with the same settings is resumed; one with other settings is
    cleared. Runs under the folder's lock, so it never clears a search another process runs."""
    if not os.path.exists(os.path.join(working, "tune_config.json")) or _holds_search(working, settings):
        return
    check_owned(working, "search", SEARCH_FILES, action="replace")
    for name in os.listdir(working):
        if name not in (MARKER, LOCK):
            path = os.path.join(working, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


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
        _check_search_folder(out, TuneSettings(entry=entry, data=data, **{
            **settings_kwargs, "objective": objective or get(entry).task.objective}), overwrite)
    keras.utils.set_random_seed(settings_kwargs["seed"])
    prepared = _prepare(entry, data, settings_kwargs)
    settings = prepared.settings

    if not chief_or_alone:  # a worker writes its trials into the folder its chief runs in
        distributed.wait_for_chief()
        working = _chief_folder(out, overwrite, settings)
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
            _clear_other_overwrite(working, settings)
        remove_stale_temporaries(out, "search")  # an old search moved aside by a killed swap
        write_json(os.path.join(working, "tune_config.json"),
                   {"search": settings.search_key(), "settings": settings.__dict__,
                    "preprocessing": prepared.preprocessing})
        search_tuner = _make_tuner(prepared, working, verbose)
        stopped = _search(search_tuner, prepared, working, verbose, tensorboard)
        trials = _collect(search_tuner, settings.objective)
        _write_reports(working, trials, settings.objective, prepared.direction)
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
            _swap_in(working, out)
            tuned_path = tuned_path and os.path.join(out, TUNED_FILE)
    return TuneResult(out, settings.objective, prepared.direction, trials, best, tuned_path, final)


