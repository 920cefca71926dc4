"""Tasks of the sequence taxonomy. Each module holds one task: its registry entries,
its data loading and preprocessing, its metrics, prediction and serving functions.

The shared machinery (training, run directories, evaluation, export, tuning)
talks to a task only through the :class:`Task` interface below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..errors import ZooError

_TASKS: dict[str, Task] = {}


class Task:
    """What the shared machinery needs to know about one task of the taxonomy."""

    name: ClassVar[str]
    kind: ClassVar[str]                    # one-to-many, many-to-one, many-to-many, synced many-to-many
    description: ClassVar[str]
    input_description: ClassVar[str]
    output_description: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]     # keys of evaluate()'s result
    objective: ClassVar[str]               # Keras log name the tuner and early stopping watch
    objective_direction: ClassVar[str]     # "max" or "min"
    objectives: ClassVar[dict[str, str]]   # every objective a search may use, with its direction
    default_problem: ClassVar[dict[str, Any]]  # facts from data, for building without data
    data_kinds: ClassVar[tuple[str, ...]]
    default_epochs: ClassVar[int] = 10
    default_batch_size: ClassVar[int] = 64
    patience: ClassVar[int] = 3

    def __init__(self) -> None:
        self._preprocessing_space: dict | None = None

    # Preprocessing options are declared like hyperparameters, so ``--set`` checks them
    # with the same code and a tuner may search them.
    def declare_preprocessing(self, hp) -> None:
        """Declare preprocessing options on ``hp`` (none by default)."""

    @property
    def preprocessing_options(self) -> dict[str, Any]:
        if self._preprocessing_space is None:
            import keras_tuner as kt

            hp = kt.HyperParameters()
            self.declare_preprocessing(hp)
            self._preprocessing_space = {p.name: p for p in hp.space}
        return self._preprocessing_space

    def load_data(self, spec: str):
        """Parse ``spec`` and return :class:`zoo.data.Splits` of raw examples."""
        raise NotImplementedError

    def fit_preprocessor(self, splits, options: dict[str, Any]):
        """Learn preprocessing (vocabularies, label names) from the training split."""
        raise NotImplementedError

    def load_preprocessor(self, directory: str):
        raise NotImplementedError

    def arrays(self, preprocessor, examples: Sequence) -> tuple[Any, Any]:
        """Model inputs and targets for raw examples."""
        raise NotImplementedError

    def evaluate(self, model, preprocessor, examples: Sequence, batch_size: int) -> dict[str, float]:
        raise NotImplementedError

    def predict(self, model, preprocessor, inputs: Sequence, batch_size: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def serving(self, model, preprocessor) -> tuple[dict[str, tuple[Any, list]], list, dict[str, Any]]:
        """Endpoints ``{name: (tf_fn, input_signature)}``, resources to track, and metadata."""
        raise NotImplementedError


def register_task(task_class: type[Task]) -> type[Task]:
    _TASKS[task_class.name] = task_class()
    return task_class


_BUILTIN_TASKS = ("sentiment",)


def _ensure_loaded() -> None:
    """Import the built-in task modules on first use (they import Keras, which is slow)."""
    import importlib

    for module in _BUILTIN_TASKS:
        importlib.import_module(f"{__name__}.{module}")


def get_task(name: str) -> Task:
    _ensure_loaded()
    if name not in _TASKS:
        raise ZooError(f"unknown task {name!r}; tasks: {', '.join(sorted(_TASKS))}")
    return _TASKS[name]


def list_tasks() -> list[str]:
    """Names of the tasks of the taxonomy the zoo covers."""
    _ensure_loaded()
    return sorted(_TASKS)
