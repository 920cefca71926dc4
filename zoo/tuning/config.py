"""Search settings: from keyword arguments, the command line (``--set``, ``--space``) and TOML experiment files."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .. import hparams
from ..errors import HyperparameterError, ZooError
from ..precision import check_precision

TUNERS = ("random", "bayesian", "hyperband")


DISTRIBUTIONS = ("mirrored",)


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


def check_settings(s: TuneSettings, task) -> None:
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
