"""The run directory: its layout, its readers, and every write to it (the one owner of the folder).

Layout (the same for every task)::

    RUN/
      .zoo.json          marker: zoo wrote this folder, and the files it wrote
      config.json        entry, task, resolved hyperparameters, preprocessing options,
                         data spec, seed, epochs, batch size, patience, versions, date
      model.keras        the Keras model (preprocessed inputs in, task outputs out)
      NAME.keras         further models a task keeps (e.g. a frozen image encoder)
      preprocessing/     vocabularies and label names, written by the task
      history.json       per-epoch training logs, every epoch exactly once
      metrics.json       validation and test metrics at the end of training
    RUN.partial/         while training: the backup a crashed run resumes from (config.json,
                         state.json, epoch-N/ checkpoints written by zoo.fitting)

A run directory is written to a temporary sibling and renamed into place (:func:`write_run`, through
``zoo.folders``), so a reader never sees half of one and a crash never destroys an existing run.
:func:`backup` owns ``RUN.partial/``: it is zoo's own, locked while a run trains, resumed only with the same
settings, and removed once the run directory is in place. This module imports no task and no registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

from .errors import RunDirError
from .folders import (
    atomic_directory,
    check_output_path,
    check_sibling,
    folder_lock,
    read_json,
    remove_owned,
    remove_stale_temporaries,
    write_json,
    write_marker,
)

CONFIG, MODEL, PREPROCESSING, HISTORY, METRICS = (
    "config.json", "model.keras", "preprocessing", "history.json", "metrics.json")
MODEL_NAME = MODEL[:-len(".keras")]
EXPORT_GRAPH = "saved_model.pb"  # what marks an export folder instead of a run
PARTIAL_SUFFIX = ".partial"
PARTIAL_FILES = ("config.json", "state.json", "epoch-*", ".tmp-*")  # what zoo writes into RUN.partial

# What must match for a run to resume from its backup; a key missing from an older backup has its default.
RESUME_KEYS = {"entry": None, "data": None, "hyperparameters": None, "preprocessing": None, "seed": None,
               "epochs": None, "batch_size": None, "patience": None, "include_validation": None,
               "precision": "float32"}


def check_run_files(path: str, what: str = "run", needed: tuple[str, ...] = (CONFIG, MODEL, PREPROCESSING)) -> None:
    """``path`` is a folder holding ``needed`` (what loading needs), or a RunDirError names what is missing
    (and ``what`` asked for it, when it is not a plain run: ``pretrained``)."""
    asked = "" if what == "run" else f"{what}: "
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise RunDirError(f"{asked}{path} is a file, not a run directory")
        raise RunDirError(f"{asked}run directory not found: {path}")
    missing = [n for n in needed if not os.path.exists(os.path.join(path, n))]
    if missing:
        hint = " (is it an export? use it with 'zoo predict' or tf.saved_model.load)" \
            if os.path.exists(os.path.join(path, EXPORT_GRAPH)) else ""
        raise RunDirError(f"{asked}{path} is not a run directory: missing {', '.join(missing)}{hint}")


def read_config(path: str, what: str = "run") -> dict[str, Any]:
    """``config.json`` of run directory ``path``; not a run (a file, an export, no config, no ``task`` and
    ``entry``) is a :class:`RunDirError` naming ``what`` asked for it (``pretrained=RUN``)."""
    check_run_files(path, what, (CONFIG,))
    file = os.path.join(path, CONFIG)
    config = read_json(file, "run config")
    if not isinstance(config, dict) or "task" not in config or "entry" not in config:
        raise RunDirError(f"{file} is not a zoo run config (no 'task' and 'entry')")
    return config


def read_optional(path: str | None, name: str, what: str) -> dict:
    """``name`` (history or metrics) of run ``path``: ``{}`` when the run has none or is not on disk."""
    file = os.path.join(path, name) if path else None
    return read_json(file, what) if file and os.path.exists(file) else {}


def write_into(folder: str, model, preprocessor, config: dict, history: dict, metrics: dict,
               extra_models: dict) -> None:
    """Every file of a run into ``folder`` (a temporary folder :func:`write_run` renames into place)."""
    model.save(os.path.join(folder, MODEL))
    for name, extra in extra_models.items():
        extra.save(os.path.join(folder, f"{name}.keras"))
    preprocessor.save(os.path.join(folder, PREPROCESSING))
    write_json(os.path.join(folder, CONFIG), {**config, "extra_models": sorted(extra_models)})
    write_json(os.path.join(folder, HISTORY), history)
    write_json(os.path.join(folder, METRICS), metrics)


def write_run(path: str, write: Callable[[str], None], overwrite: bool = False) -> str:
    """Write a run directory atomically: ``write(tmp)`` fills a temporary sibling that replaces ``path``."""
    with atomic_directory(path, "run", overwrite=overwrite) as tmp:
        write(tmp)
    return os.path.abspath(path)


def check_new_run(out: str, overwrite: bool = False) -> str:
    """Where a run will go, checked before any data is read: ``out`` (absolute) is free or zoo's own run
    (with ``overwrite``), and its backup sibling ``OUT.partial`` holds nothing but zoo's files."""
    out = check_output_path(out, kind="run", overwrite=overwrite)
    check_sibling(out + PARTIAL_SUFFIX, "partial", allowed_top=PARTIAL_FILES)
    return out


def differences(then: dict, now: dict) -> str:
    """The resume settings that differ between two run configs, for the error that refuses to resume."""
    changed = [(k, then.get(k, d), now.get(k, d)) for k, d in RESUME_KEYS.items() if then.get(k, d) != now.get(k, d)]
    return ", ".join(f"{k}: {a!r} then, {b!r} now" for k, a, b in changed)


@contextlib.contextmanager
def backup(out: str, config: dict, overwrite: bool = False) -> Iterator[str]:
    """``OUT.partial/`` for a run being trained into ``out``: made and marked, locked for the run, resumed
    only when its config has the same settings (else a RunDirError, or cleared with ``overwrite``), and
    removed after the body has written the run directory. Yields the folder zoo.fitting checkpoints into."""
    partial = out + PARTIAL_SUFFIX
    os.makedirs(partial, exist_ok=True)
    if not os.path.exists(os.path.join(partial, ".zoo.json")):
        write_marker(partial, "partial", target=os.path.basename(out))
    with folder_lock(partial, "run backup"):
        remove_stale_temporaries(out, "run")  # left by a kill while the run was being written
        previous_path = os.path.join(partial, CONFIG)
        if os.path.exists(previous_path):
            previous = read_json(previous_path, "unfinished run config")
            if differences(previous, config):
                if not overwrite:
                    raise RunDirError(f"{partial} holds an unfinished run with other settings "
                                      f"({differences(previous, config)}); rerun with the same settings to "
                                      "resume it, or pass --overwrite to start afresh")
                for stale in os.listdir(partial):
                    if stale not in (".zoo.json", ".zoo.lock"):
                        _remove(os.path.join(partial, stale))
        write_json(previous_path, config)
        yield partial
    remove_owned(partial, "partial", allowed_top=PARTIAL_FILES)


def _remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
