"""The tuner: keras-tuner's tuners plus seeding, timing, memory, failure reasons and bounded disk use.

This module imports keras-tuner (and so Keras); only zoo.tuning.search imports it."""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
import time
from typing import Any

import keras
import keras_tuner as kt

from ..errors import ZooError
from ..folders import (
    read_json,
    write_json,
)
from .folder import TRIAL_META


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


class ZooTrials:
    """Mixed into keras-tuner's tuners: seeding, timing, memory, failure reasons and bounded disk use."""

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


class ZooRandomSearch(ZooTrials, kt.RandomSearch):
    """Random search with the zoo's trials."""


class ZooBayesianOptimization(ZooTrials, kt.BayesianOptimization):
    """Bayesian optimisation (a Gaussian process over the space) with the zoo's trials."""


class ZooHyperband(ZooTrials, kt.Hyperband):
    """Hyperband (successive halving of epochs) with the zoo's trials."""


TUNER_CLASSES = {"random": ZooRandomSearch, "bayesian": ZooBayesianOptimization, "hyperband": ZooHyperband}
