"""Run directories: a trained model with everything needed to use it again.

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

A run directory is written to a temporary sibling and renamed into place (see
``zoo.folders``), so a reader never sees half of one and a crash never destroys
an existing run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .errors import RunDirError, ZooError
from .folders import atomic_directory, check_new_file, read_json, write_json
from .precision import policy as dtype_policy

CONFIG, MODEL, PREPROCESSING, HISTORY, METRICS = (
    "config.json", "model.keras", "preprocessing", "history.json", "metrics.json")


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
            path = os.path.join(self.path, HISTORY) if self.path else None
            self._history = read_json(path, "training history") if path and os.path.exists(path) else {}
        return self._history

    @property
    def metrics(self) -> dict:
        """Validation and test metrics at the end of training; read only when asked for."""
        if self._metrics is None:
            path = os.path.join(self.path, METRICS) if self.path else None
            self._metrics = read_json(path, "run metrics") if path and os.path.exists(path) else {}
        return self._metrics

    @property
    def task(self):
        from .tasks import get_task

        return get_task(self.config["task"])

    @property
    def name(self) -> str:
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
        with atomic_directory(path, "run", overwrite=overwrite) as tmp:
            self.write_into(tmp)
        self.path = os.path.abspath(path)
        return self.path

    def write_into(self, folder: str) -> None:
        self.model.save(os.path.join(folder, MODEL))
        for name, model in self.extra_models.items():
            model.save(os.path.join(folder, f"{name}.keras"))
        self.preprocessor.save(os.path.join(folder, PREPROCESSING))
        write_json(os.path.join(folder, CONFIG), {**self.config, "extra_models": sorted(self.extra_models)})
        write_json(os.path.join(folder, HISTORY), self.history)
        write_json(os.path.join(folder, METRICS), self.metrics)

    def export(self, path: str, overwrite: bool = False, **options) -> str:
        from .serving import export_saved_model

        return export_saved_model(self, path, overwrite=overwrite, **options)


def _load_uncompiled(file: str, config: dict, name: str, error: Exception):
    """A model saved under another backend may name that backend's optimizer class (torch's Adam):
    load the weights without it, and compile as the entry does."""
    import keras

    try:
        model = keras.saving.load_model(file, compile=False)
        if name == MODEL[:-6] and config.get("entry"):
            from .training import build

            fresh = build(config["entry"], **config.get("hyperparameters", {}), **config.get("problem", {}))
            model.compile(**fresh._compile_config.config)
        return model
    except Exception:
        raise RunDirError(f"{file}: cannot load the model ({type(error).__name__}: {error})") from None


def load(path: str) -> TrainedModel:
    """Load a run directory written by ``zoo train`` / :meth:`TrainedModel.save`."""
    import keras

    from .tasks import get_task

    if not os.path.isdir(path):
        if os.path.exists(path):
            raise RunDirError(f"{path} is a file, not a run directory")
        raise RunDirError(f"run directory not found: {path}")
    missing = [n for n in (CONFIG, MODEL, PREPROCESSING) if not os.path.exists(os.path.join(path, n))]
    if missing:
        hint = " (is it an export? use it with 'zoo predict' or tf.saved_model.load)" \
            if os.path.exists(os.path.join(path, "saved_model.pb")) else ""
        raise RunDirError(f"{path} is not a run directory: missing {', '.join(missing)}{hint}")
    config = read_json(os.path.join(path, CONFIG), "run config")
    if not isinstance(config, dict) or "task" not in config or "entry" not in config:
        raise RunDirError(f"{os.path.join(path, CONFIG)} is not a zoo run config (no 'task' and 'entry')")
    task = get_task(config["task"])
    try:
        preprocessor = task.load_preprocessor(os.path.join(path, PREPROCESSING))
    except ZooError:
        raise
    except Exception as exc:
        raise RunDirError(f"{path}: cannot read {PREPROCESSING}/ ({type(exc).__name__}: {exc})") from None
    models = {}
    for name in [MODEL[:-6], *config.get("extra_models", [])]:
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
    model = models.pop(MODEL[:-6])
    return TrainedModel(model, preprocessor, config, None, None, os.path.abspath(path), extra_models=models)


def task_of(path: str):
    """The task of a run directory or an export, from its metadata (no model loaded)."""
    from .serving import METADATA, is_export
    from .tasks import get_task

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
