"""Errors raised for bad input, and for work that failed when it ran.

Every error a user can cause derives from :class:`ZooError`. The command line
prints its message without a traceback and exits with status 2 for bad input, or 1
for a :class:`RuntimeFailure` (the input was valid, the run failed: a NaN loss, a
search whose trials kept failing, a chief that never answered); the Python API lets
it propagate, so callers can catch one base class.
"""

from __future__ import annotations


class ZooError(Exception):
    """Base class for every user-facing error of keras-seq-zoo."""


class UnknownModelError(ZooError, LookupError):
    """A model name that is not in the registry (the message lists the closest)."""


class HyperparameterError(ZooError, ValueError):
    """An unknown hyperparameter, or a value of the wrong type or out of range."""


class DataError(ZooError, ValueError):
    """A data spec or data file that cannot be used (the message names the file)."""


class RunDirError(ZooError):
    """A run or export directory that is missing, incomplete or already taken."""


class RuntimeFailure(ZooError, RuntimeError):
    """Valid input, but the work failed when it ran (a NaN loss, a search whose trials kept failing, a chief
    that never answered): the command line exits with 1, not 2, and keeps what was written (backups, trials)."""


class MissingDependencyError(ZooError, ImportError):
    """A feature needs an optional package that cannot be imported (the message names the fix)."""


# module -> (the name people know it by, the pip install that brings it: the project's extra)
_PACKAGES = {
    "tensorflow": ("TensorFlow", '"keras-seq-zoo[tensorflow]"'),
    "tensorflow_text": ("TensorFlow Text", '"keras-seq-zoo[tensorflow]"'),
    "tensorflow_datasets": ("TensorFlow Datasets", '"keras-seq-zoo[tfds]"'),
    "av": ("PyAV", '"keras-seq-zoo[video]"'),
    "jax": ("JAX", '"keras-seq-zoo[jax]"'),
    "torch": ("PyTorch", '"keras-seq-zoo[torch]"'),
    "PIL": ("Pillow", "pillow"),
}


def require(module: str, feature: str, hint: str = ""):
    """``import module`` and return it, or raise :class:`MissingDependencyError`
    ``"FEATURE needs NAME: pip install PIP[; HINT]"`` when it cannot be imported.

    >>> tf = require("tensorflow", "zoo export (a SavedModel)")  # doctest: +SKIP
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        name, pip = _PACKAGES.get(module.split(".")[0], (module, module))
        raise MissingDependencyError(f"{feature} needs {name}: pip install {pip}"
                                     + (f"; {hint}" if hint else "")) from exc


def importable(module: str) -> bool:
    """Whether ``import module`` works (it is imported, once, to find out)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
