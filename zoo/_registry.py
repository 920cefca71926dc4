"""The model registry: one builder function per entry, registered by decorator.

An entry is a function ``build(hp, problem) -> keras.Model`` that declares its
hyperparameters inline with keras-tuner, each with a default. ``problem`` holds
the facts fixed by the data (vocabulary size, number of classes, ...). Calling
the builder with empty hyperparameters gives the ready model; handing it to
keras-tuner gives the search space, so the two can never drift apart.

Other packages add entries through the ``zoo.models`` entry-point group: each
entry point names a module (or a callable) whose import registers models.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib.metadata
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UnknownModelError

if TYPE_CHECKING:
    import keras
    import keras_tuner as kt

    from .tasks import Task

Builder = Callable[["kt.HyperParameters", dict[str, Any]], "keras.Model"]

_MODELS: dict[str, ModelSpec] = {}
_PLUGINS_LOADED = False


@dataclass(eq=False)
class ModelSpec:
    """A registry entry: its name, its task and the builder that makes it."""

    name: str
    task_name: str
    builder: Builder
    description: str
    _space: dict | None = field(default=None, repr=False)

    @property
    def task(self) -> Task:
        from .tasks import get_task

        return get_task(self.task_name)

    @property
    def kind(self) -> str:
        """The entry's place in the sequence-task taxonomy (e.g. ``many-to-one``)."""
        return self.task.kind

    def space(self, problem: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The declared hyperparameters, ``{name: keras_tuner HyperParameter}``.

        Found by building once with the defaults, as keras-tuner itself does, for ``problem`` (the facts a
        run's data gives, ``Run.config["problem"]``) or, without one, the task's default problem, where a
        hyperparameter that depends on the data (``freeze_embeddings``) is declared.
        """
        if problem is not None:
            return self._declared({**self.task.default_problem, **problem})
        if self._space is None:
            self._space = self._declared(dict(self.task.default_problem))
        return self._space

    def _declared(self, problem: dict[str, Any]) -> dict[str, Any]:
        import keras
        import keras_tuner as kt

        hp = kt.HyperParameters()
        self.builder(hp, problem)
        keras.backend.clear_session(free_memory=False)
        return {p.name: p for p in hp.space}

    def defaults(self, problem: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{name: default}`` of the declared hyperparameters (for ``problem``, as :meth:`space`)."""
        from .hparams import describe

        return {name: describe(p)["default"] for name, p in self.space(problem).items()}

    def describe(self) -> dict[str, Any]:
        """Metadata as plain data: what ``zoo describe`` prints."""
        from .hparams import describe

        task = self.task
        return {
            "name": self.name,
            "task": task.name,
            "kind": task.kind,
            "description": self.description,
            "input": task.input_description,
            "output": task.output_description,
            "metrics": list(task.metrics),
            "objective": {"name": task.objective, "direction": task.objective_direction},
            "objectives": dict(task.objectives),
            "problem": dict(task.default_problem),
            "preprocessing": {**{k: v.default for k, v in task.preprocessing_options.items()},
                              **dict.fromkeys(task.file_options)},
            "hyperparameters": {n: describe(p) for n, p in self.space().items()},
            "data": list(task.data_kinds),
        }


def register_model(name: str, *, description: str | None = None) -> Callable[[Builder], Builder]:
    """Register ``build(hp, problem) -> keras.Model`` as registry entry ``name``.

    The name is ``TASK/ENTRY``; the task must exist. The description defaults to
    the first line of the builder's docstring.

    Example::

        @register_model("sentiment/lstm")
        def lstm(hp, problem):
            \"\"\"Embedding, LSTM, softmax.\"\"\"
            ...
    """

    def decorator(builder: Builder) -> Builder:
        from .tasks import get_task

        task_name, sep, entry = name.partition("/")
        if not sep or not entry:
            raise ValueError(f"model names look like 'TASK/ENTRY', got {name!r}")
        get_task(task_name)  # fails loudly for an unknown task
        if name in _MODELS and _MODELS[name].builder is not builder:
            raise ValueError(f"model {name!r} is already registered")
        doc = (builder.__doc__ or "").strip().splitlines()
        _MODELS[name] = ModelSpec(name, task_name, builder, description or (doc[0] if doc else ""))
        return builder

    return decorator


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for ep in importlib.metadata.entry_points(group="zoo.models"):
        try:
            loaded = ep.load()
            if callable(loaded):
                loaded()
        except Exception as exc:  # a broken plugin must not break the registry
            warnings.warn(f"zoo: could not load model plugin {ep.name!r} ({ep.value}): {exc}",
                          stacklevel=2)


def _all() -> dict[str, ModelSpec]:
    from .tasks import _ensure_loaded

    _ensure_loaded()  # importing the task modules registers their entries
    _load_plugins()
    return _MODELS


def list_models(task: str | None = None, pattern: str | None = None) -> list[str]:
    """Names of registered models, sorted; filter by task and by a glob pattern.

    Example::

        >>> zoo.list_models(task="sentiment")
        ['sentiment/bag_of_embeddings', 'sentiment/bilstm', 'sentiment/gru', ...]
    """
    models = _all()
    if task is not None:
        from .tasks import get_task

        get_task(task)
    names = sorted(n for n, s in models.items() if task is None or s.task_name == task)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(n, f"*{pattern}*")]
    return names


def get(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; an unknown name lists the closest."""
    models = _all()
    if name in models:
        return models[name]
    names = sorted(models)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    close += [n for n in names if n.split("/", 1)[-1] == name and n not in close]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownModelError(f"unknown model {name!r}.{hint} Available: {', '.join(names)}")
