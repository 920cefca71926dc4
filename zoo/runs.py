"""Run directories: a trained model with everything needed to use it again.

Layout (the same for every task)::

    RUN/
      config.json        entry, task, resolved hyperparameters, preprocessing options,
                         data spec, seed, epochs, batch size, versions, date
      model.keras        the Keras model (token ids in, task outputs out)
      preprocessing/     vocabularies and label names, written by the task
      history.json       per-epoch training logs
      metrics.json       validation and test metrics at the end of training

A run directory is written to a temporary sibling and renamed into place, so a
reader never sees half of one and a crash never destroys an existing run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from .errors import RunDirError, ZooError

CONFIG, MODEL, PREPROCESSING, HISTORY, METRICS = (
    "config.json", "model.keras", "preprocessing", "history.json", "metrics.json")


def write_json(path: str, data: Any) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextlib.contextmanager
def atomic_directory(path: str, overwrite: bool = False) -> Iterator[str]:
    """Yield a temporary folder; on success it replaces ``path`` in one rename.

    An existing ``path`` is kept unless ``overwrite``; then it is swapped out and
    deleted only after the new one is in place.
    """
    path = os.path.abspath(path)
    if os.path.exists(path) and not overwrite:
        raise RunDirError(f"{path} already exists; choose another --out or pass --overwrite")
    if os.path.exists(path) and not is_zoo_output(path):
        # --overwrite replaces what zoo wrote, never a folder of the user's own.
        raise RunDirError(f"{path} exists and was not written by zoo (no run or export inside); "
                          "refusing to replace it, choose another --out")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    try:
        yield tmp
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def is_zoo_output(path: str) -> bool:
    """True for an empty folder, a run directory or a zoo export."""
    if not os.path.isdir(path):
        return False
    names = set(os.listdir(path))
    return not names or {CONFIG, MODEL} <= names or {"saved_model.pb", "zoo_export.json"} <= names


class TrainedModel:
    """A trained entry with its preprocessing: what ``zoo.train`` returns and ``zoo.load`` reads.

    Example::

        run = zoo.load("runs/s1")
        run.predict(["good, not bad"])       # [{'label': 'positive', 'probability': 0.99, ...}]
        run.evaluate("csv:reviews.csv")      # {'accuracy': ..., 'macro_f1': ..., 'loss': ...}
        run.export("exported/s1")
    """

    def __init__(self, model, preprocessor, config: dict[str, Any], history: dict | None = None,
                 metrics: dict | None = None, path: str | None = None):
        self.model = model
        self.preprocessor = preprocessor
        self.config = config
        self.history = history or {}
        self.metrics = metrics or {}
        self.path = path

    @property
    def task(self):
        from .tasks import get_task

        return get_task(self.config["task"])

    @property
    def name(self) -> str:
        return self.config["entry"]

    def predict(self, inputs: Sequence, batch_size: int | None = None) -> list[dict[str, Any]]:
        """Predictions for raw inputs (for sentiment: strings)."""
        return self.task.predict(self.model, self.preprocessor, inputs,
                                 batch_size or self.config.get("batch_size", 64))

    def evaluate(self, data: str | None = None, split: str = "test") -> dict[str, Any]:
        """The task's metrics on ``split`` of ``data`` (default: the data it was trained on)."""
        spec = data or self.config["data"]
        examples = self.task.load_data(spec).get(split)
        report = self.task.evaluate(self.model, self.preprocessor, examples,
                                    self.config.get("batch_size", 64), where=spec)
        return {**report, "split": split, "data": spec}

    def save(self, path: str, overwrite: bool = False) -> str:
        """Write the run directory atomically; returns its absolute path."""
        with atomic_directory(path, overwrite=overwrite) as tmp:
            self.write_into(tmp)
        self.path = os.path.abspath(path)
        return self.path

    def write_into(self, folder: str) -> None:
        self.model.save(os.path.join(folder, MODEL))
        self.preprocessor.save(os.path.join(folder, PREPROCESSING))
        write_json(os.path.join(folder, CONFIG), self.config)
        write_json(os.path.join(folder, HISTORY), self.history)
        write_json(os.path.join(folder, METRICS), self.metrics)

    def export(self, path: str, overwrite: bool = False) -> str:
        from .serving import export_saved_model

        return export_saved_model(self, path, overwrite=overwrite)


def load(path: str) -> TrainedModel:
    """Load a run directory written by ``zoo train`` / :meth:`TrainedModel.save`."""
    import keras

    from .tasks import get_task

    if not os.path.isdir(path):
        raise RunDirError(f"run directory not found: {path}")
    missing = [n for n in (CONFIG, MODEL, PREPROCESSING) if not os.path.exists(os.path.join(path, n))]
    if missing:
        hint = " (is it an export? use it with 'zoo predict' or tf.saved_model.load)" \
            if os.path.exists(os.path.join(path, "saved_model.pb")) else ""
        raise RunDirError(f"{path} is not a run directory: missing {', '.join(missing)}{hint}")
    try:
        config = read_json(os.path.join(path, CONFIG))
        task = get_task(config["task"])
        preprocessor = task.load_preprocessor(os.path.join(path, PREPROCESSING))
        model = keras.saving.load_model(os.path.join(path, MODEL))
    except ZooError:
        raise
    except Exception as exc:
        raise RunDirError(f"{path}: cannot load the run ({type(exc).__name__}: {exc})") from None
    history = read_json(os.path.join(path, HISTORY)) if os.path.exists(os.path.join(path, HISTORY)) else {}
    metrics = read_json(os.path.join(path, METRICS)) if os.path.exists(os.path.join(path, METRICS)) else {}
    return TrainedModel(model, preprocessor, config, history, metrics, os.path.abspath(path))
