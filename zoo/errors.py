"""Errors raised for bad input.

Every error a user can cause derives from :class:`ZooError`. The command line
prints its message and exits with status 2, without a traceback; the Python API
lets it propagate, so callers can catch one base class.
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
