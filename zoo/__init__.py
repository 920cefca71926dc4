"""keras-seq-zoo: a registry of ready, tunable recurrent Keras models for sequence tasks.

Example::

    import zoo

    zoo.list_models(task="sentiment")          # ['sentiment/bag_of_embeddings', 'sentiment/bilstm', ...]
    zoo.get("sentiment/lstm").describe()        # task, taxonomy kind, hyperparameters, metrics
    model = zoo.build("sentiment/lstm", units=128)             # a compiled keras.Model
    run = zoo.train("sentiment/lstm", "builtin:negation", out="runs/s1")
    run.predict(["good, not bad"])
    zoo.export("runs/s1", "exported/s1")        # SavedModel: raw strings in, probabilities out
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._backend import CHOSEN_BACKEND  # noqa: F401 - first, before Keras: JAX or torch without TensorFlow
from ._version import __version__  # noqa: F401 - from the package metadata
from .errors import (
    DataError,
    HyperparameterError,
    MissingDependencyError,
    RunDirError,
    RuntimeFailure,
    UnknownModelError,
    ZooError,
)
from .registry import ModelSpec, get, list_models, list_tasks, register_model
from .runs import TrainedModel, load
from .serving import is_export, predict_exported

if TYPE_CHECKING:
    from .training import build, hypermodel, train
    from .tuning import TuneResult, tune

# Imported on first use, so that loading a run and predicting imports neither training nor tuning.
_TRAINING, _TUNING = ("build", "hypermodel", "train"), ("tune", "TuneResult")


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        from . import training as module
    elif name in _TUNING:
        from . import tuning as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(module, name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_TRAINING, *_TUNING})

__all__ = [
    "DataError",
    "HyperparameterError",
    "MissingDependencyError",
    "ModelSpec",
    "RunDirError",
    "RuntimeFailure",
    "TrainedModel",
    "TuneResult",
    "UnknownModelError",
    "ZooError",
    "build",
    "evaluate",
    "export",
    "get",
    "hypermodel",
    "list_models",
    "list_tasks",
    "load",
    "predict",
    "register_model",
    "train",
    "tune",
]


def evaluate(run: str | TrainedModel, data: str | None = None, split: str = "test",
             plot: str | None = None) -> dict[str, Any]:
    """The task's metrics for a run (directory or object) on ``split`` of ``data``; ``plot`` names a
    new PNG file for the task's picture of the split (video labeling: label timelines)."""
    return (load(run) if isinstance(run, str) else run).evaluate(data, split, plot=plot)


def predict(run: str | TrainedModel, inputs, **options) -> list[dict[str, Any]]:
    """Predictions for raw inputs from a run directory, a loaded run, or an export: one dict per
    input with ``input``, ``output`` and the task's own keys, the same from a run and its export."""
    if isinstance(run, str) and is_export(run):
        return predict_exported(run, list(inputs), **options)
    return (load(run) if isinstance(run, str) else run).predict(inputs, **options)


def export(run: str | TrainedModel, out: str, overwrite: bool = False, **options) -> str:
    """Export a run as a SavedModel serving raw inputs; returns the export path.
    ``options`` are the task's export options (translation: ``beam_width``)."""
    return (load(run) if isinstance(run, str) else run).export(out, overwrite=overwrite, **options)
