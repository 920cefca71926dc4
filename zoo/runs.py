"""Trained runs: a trained entry with everything needed to use it again (:class:`TrainedModel`), and
:func:`load`, which reads one back from its run directory (layout and writes: :mod:`zoo.rundir`).

Loading and predicting import neither the training nor the tuning module: a model whose optimizer cannot be
restored is recompiled from the registry's builder with the run's recorded values.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from . import rundir
from .errors import RunDirError, ZooError
from .folders import check_new_file, read_json
from .precision import policy as dtype_policy
from .registry import get, get_task
from .rundir import CONFIG, HISTORY, METRICS, MODEL_NAME, PREPROCESSING
from .serving import METADATA, export_saved_model, is_export


class TrainedModel:
    """A trained entry with its preprocessing: what ``zoo.train`` returns and ``zoo.load`` reads.

    ``model`` is the trained model; ``extra_models`` holds any further models the
    task keeps with the run (saved as ``NAME.keras``).

    Example::

        run = zoo.load("runs/s1")
        run.predict(["good, not bad"])       # [{'input': ..., 'output': 'positive', 'probability': 0.99, ...}]
        run.evaluate("csv:reviews.csv")      # {'accuracy': ..., 'macro_f1': ..., 'loss': ...}
        run.export("exported/s1")
    """

    def __init__(self, model, preprocessor, config: dict[str, Any], history: dict | None = None,
                 metrics: dict | None = None, path: str | None = None, extra_models: dict | None = None):
        self.model = model
        self.preprocessor = preprocessor
        self.config = config
        self._history = history
        self._metrics = metrics
        self.path = path
        self.extra_models = dict(extra_models or {})

    @property
    def history(self) -> dict:
        """Per-epoch logs; read from the run directory only when asked for."""
        if self._history is None:
            self._history = rundir.read_optional(self.path, HISTORY, "training history")
        return self._history

    @property
    def metrics(self) -> dict:
        """Validation and test metrics at the end of training; read only when asked for."""
        if self._metrics is None:
            self._metrics = rundir.read_optional(self.path, METRICS, "run metrics")
        return self._metrics

    @property
    def task(self):
        """The run's :class:`zoo.base.Task` (from the registry, by the name ``config.json`` records)."""
        return get_task(self.config["task"])

    @property
    def name(self) -> str:
        """The registry entry the run trained, e.g. ``sentiment/lstm``."""
        return self.config["entry"]

    def predict(self, inputs: Sequence, batch_size: int | None = None, **options) -> list[dict[str, Any]]:
        """Predictions for raw inputs: one dict per input with ``input``, ``output`` and task keys.
        ``options`` are the task's (translation: ``beam_width``)."""
        return self.task.predict(self.model, self.preprocessor, inputs,
                                 batch_size or self.config.get("batch_size", 64), **options)

    def evaluate(self, data: str | None = None, split: str = "test", plot: str | None = None) -> dict[str, Any]:
        """The task's metrics on ``split`` of ``data`` (default: the data it was trained on).
        ``plot``: a new PNG file for the task's picture of the split (video labeling: timelines of
        predicted against true labels); an existing file is never replaced."""
        if plot is not None:
            check_new_file(plot, "--plot", ".png")
            if not self.task.plots:
                raise ZooError(f"--plot: the {self.task.name} task draws no plot")
        spec = data or self.config["data"]
        examples = self.task.load_data(spec).get(split)
        where = f"{spec} ({split})"
        batch_size = self.config.get("batch_size", 64)
        report = self.task.evaluate(self.model, self.preprocessor, examples, batch_size, where=where)
        if plot is not None:
            self.task.plot(self.model, self.preprocessor, examples, batch_size, plot, where)
        return {**report, "split": split, "data": spec, **({"plot": os.path.abspath(plot)} if plot else {})}

    def save(self, path: str, overwrite: bool = False) -> str:
        """Write the run directory atomically; returns its absolute path."""
        self.path = rundir.write_run(path, self.write_into, overwrite=overwrite)
        return self.path

    def write_into(self, folder: str) -> None:
        """Every file of the run into ``folder`` (see :func:`zoo.rundir.write_into`)."""
        rundir.write_into(folder, self.model, self.preprocessor, self.config, self.history, self.metrics,
                          self.extra_models)

    def export(self, path: str, overwrite: bool = False, **options) -> str:
        """Export as a SavedModel serving raw inputs (see :func:`zoo.export`); returns the export's path."""
        return export_saved_model(self, path, overwrite=overwrite, **options)


def _load_uncompiled(file: str, config: dict, name: str, error: Exception):
    """A model saved under another backend may name that backend's optimizer class (torch's Adam):
    load the weights without it, and compile as the entry does."""
    import keras

    try:
        model = keras.saving.load_model(file, compile=False)
        if name == MODEL_NAME and config.get("entry"):
            fresh = get(config["entry"]).rebuild(config.get("hyperparameters", {}), config.get("problem", {}))
            model.compile_from_config(fresh.get_compile_config())
        return model
    except Exception:
        raise RunDirError(f"{file}: cannot load the model ({type(error).__name__}: {error})") from None


def load(path: str) -> TrainedModel:
    """Load a run directory written by ``zoo train`` / :meth:`TrainedModel.save`."""
    import keras

    rundir.check_run_files(path)
    config = rundir.read_config(path)
    task = get_task(config["task"])
    try:
        preprocessor = task.load_preprocessor(os.path.join(path, PREPROCESSING))
    except ZooError:
        raise
    except Exception as exc:
        raise RunDirError(f"{path}: cannot read {PREPROCESSING}/ ({type(exc).__name__}: {exc})") from None
    models = {}
    for name in [MODEL_NAME, *config.get("extra_models", [])]:
        file = os.path.join(path, f"{name}.keras")
        try:
            # Under the run's precision: compile then wraps the optimizer as training did (mixed_float16's
            # loss scaling), so its saved state loads too.
            with dtype_policy(config.get("precision", "float32")):
                models[name] = keras.saving.load_model(file)
        except Exception as exc:
            models[name] = _load_uncompiled(file, config, name, exc)
    expected = config.get("problem")
    found = preprocessor.problem()
    # Only the facts the run recorded: a fact added later (sentiment's pretrained_embedding) is not a mismatch.
    if expected is not None and {key: found.get(key) for key in expected} != expected:
        raise RunDirError(f"{path}: {PREPROCESSING}/ does not match the model (the model was built for "
                          f"{expected}, the preprocessing gives {preprocessor.problem()})")
    model = models.pop(MODEL_NAME)
    return TrainedModel(model, preprocessor, config, None, None, os.path.abspath(path), extra_models=models)


def task_of(path: str):
    """The task of a run directory or an export, from its metadata (no model loaded)."""
    if not os.path.exists(path):
        raise RunDirError(f"run directory or export not found: {path}")
    if not os.path.isdir(path):
        raise RunDirError(f"{path} is a file; give a run directory or an export folder")
    if is_export(path):
        meta_path = os.path.join(path, METADATA)
        if not os.path.exists(meta_path):
            raise RunDirError(f"{path} is a SavedModel but not a zoo export (no {METADATA})")
        meta = read_json(meta_path, "export metadata")
    else:
        config_path = os.path.join(path, CONFIG)
        if not os.path.exists(config_path):
            raise RunDirError(f"{path} is neither a run directory (no {CONFIG}) nor an export (no saved_model.pb)")
        meta = read_json(config_path, "run config")
    if not isinstance(meta, dict) or "task" not in meta:
        raise RunDirError(f"{path}: its metadata names no task")
    return get_task(meta["task"])
