"""The registry: the tasks of the taxonomy and their entries, one builder function per entry.

An entry is a function ``build(hp, problem) -> keras.Model`` that declares its
hyperparameters inline with keras-tuner, each with a default. ``problem`` holds
the facts fixed by the data (vocabulary size, number of classes, ...). Calling
the builder with empty hyperparameters gives the ready model; handing it to
keras-tuner gives the search space, so the two can never drift apart.

The built-in task modules (:data:`BUILTIN_TASK_MODULES`) are loaded on first use: the registry registers
each module's :class:`zoo.base.Task` subclasses and the builders it marked with :func:`zoo.base.entry`.
Other packages add entries through the ``zoo.models`` entry-point group: each entry point names a module
(collected the same way, or registering with :func:`register_model`) or a callable to call. Task modules
never import this module; it is the one place that imports them.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .base import ENTRY_MARK, Task
from .errors import UnknownModelError, ZooError
from .hparams import describe

if TYPE_CHECKING:
    import keras
    import keras_tuner as kt

Builder = Callable[["kt.HyperParameters", dict[str, Any]], "keras.Model"]

# The built-in tasks, in the order `zoo list` shows them; importing these modules is slow (Keras).
BUILTIN_TASK_MODULES = ("zoo.tasks.sentiment", "zoo.tasks.translation", "zoo.tasks.video_labeling",
                        "zoo.tasks.captioning", "zoo.tasks.language_model")

_TASKS: dict[str, Task] = {}
_MODELS: dict[str, ModelSpec] = {}
_BUILTINS_LOADED = False
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

    def rebuild(self, hyperparameters: Mapping[str, Any], problem: Mapping[str, Any]) -> keras.Model:
        """The entry's compiled model for recorded values (a run's ``config.json``): the builder itself, with
        every declared hyperparameter fixed at its recorded value (the declared default where none is)."""
        import keras_tuner as kt

        hp = kt.HyperParameters()
        for name, value in hyperparameters.items():
            hp.values[name] = value
        return self.builder(hp, {**self.task.default_problem, **problem})

    def defaults(self, problem: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{name: default}`` of the declared hyperparameters (for ``problem``, as :meth:`space`)."""
        return {name: describe(p)["default"] for name, p in self.space(problem).items()}

    def describe(self) -> dict[str, Any]:
        """Metadata as plain data: what ``zoo describe`` prints."""
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
    """Register ``build(hp, problem) -> keras.Model`` as registry entry ``name`` now.

    The name is ``TASK/ENTRY``; the task must exist. The description defaults to
    the first line of the builder's docstring. (A task module marks its builders
    with :func:`zoo.base.entry` instead; the registry registers them when it loads
    the module.)

    Example::

        @zoo.register_model("sentiment/my_lstm")
        def my_lstm(hp, problem):
            \"\"\"Embedding, LSTM, softmax.\"\"\"
            ...
    """

    def decorator(builder: Builder) -> Builder:
        _add_model(name, builder, description)
        return builder

    return decorator


def _add_model(name: str, builder: Builder, description: str | None) -> None:
    task_name, sep, entry = name.partition("/")
    if not sep or not entry:
        raise ValueError(f"model names look like 'TASK/ENTRY', got {name!r}")
    get_task(task_name)  # fails loudly for an unknown task
    if name in _MODELS and _MODELS[name].builder is not builder:
        raise ValueError(f"model {name!r} is already registered")
    doc = (builder.__doc__ or "").strip().splitlines()
    _MODELS[name] = ModelSpec(name, task_name, builder, description or (doc[0] if doc else ""))


def register_task(task_class: type[Task]) -> type[Task]:
    """Register a :class:`zoo.base.Task` subclass (one instance of it) under its ``name``."""
    if task_class.name in _TASKS and type(_TASKS[task_class.name]) is not task_class:
        raise ValueError(f"task {task_class.name!r} is already registered")
    _TASKS.setdefault(task_class.name, task_class())
    return task_class


def _collect(module) -> None:
    """Register what ``module`` declares: its Task subclasses, then the builders marked with ``entry``."""
    found = vars(module).values()
    for obj in found:
        if isinstance(obj, type) and issubclass(obj, Task) and obj is not Task \
                and obj.__module__ == module.__name__ and "name" in vars(obj):
            register_task(obj)
    for obj in list(found):
        mark = getattr(obj, ENTRY_MARK, None)
        if callable(obj) and isinstance(mark, tuple) and getattr(obj, "__module__", None) == module.__name__:
            _add_model(mark[0], obj, mark[1])


def _load_builtins() -> None:
    """Import the built-in task modules on first use and register what they declare."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    for name in BUILTIN_TASK_MODULES:
        _collect(importlib.import_module(name))


def get_task(name: str) -> Task:
    """The registered task ``name``; an unknown name lists the tasks."""
    _load_builtins()
    if name not in _TASKS:
        raise ZooError(f"unknown task {name!r}; tasks: {', '.join(sorted(_TASKS))}")
    return _TASKS[name]


def list_tasks() -> list[str]:
    """Names of the tasks of the taxonomy the zoo covers."""
    _load_builtins()
    return sorted(_TASKS)


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for ep in importlib.metadata.entry_points(group="zoo.models"):
        try:
            loaded = ep.load()
            if inspect.ismodule(loaded):
                _collect(loaded)
            elif callable(loaded):
                loaded()
        except Exception as exc:  # a broken plugin must not break the registry
            warnings.warn(f"zoo: could not load model plugin {ep.name!r} ({ep.value}): {exc}",
                          stacklevel=2)


def _all() -> dict[str, ModelSpec]:
    _load_builtins()
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
