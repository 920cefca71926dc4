"""Tuned-hyperparameters files: the best values a search found, written by ``zoo tune`` as
``tuned_hyperparameters.json`` and read by build and train (``tuned=``, ``--tuned FILE``).

(Called "presets" before; ``preset=``, ``--preset`` and a search's old ``preset.json`` still work.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .errors import ZooError
from .folders import read_json

FILE = "tuned_hyperparameters.json"  # in a search folder
OLD_FILE = "preset.json"             # what searches wrote before; still read


def load_tuned(tuned: str | os.PathLike | Mapping[str, Any], entry: str) -> dict[str, Any]:
    """The hyperparameters (and preprocessing options) a tuned-hyperparameters file or dict holds for ``entry``.

    Example::

        load_tuned("runs/t1/tuned_hyperparameters.json", "sentiment/gru")   # {'units': 64, ...}
    """
    what = "tuned-hyperparameters file"
    if isinstance(tuned, str | os.PathLike):
        path = os.fspath(tuned)
        if not os.path.exists(path):
            raise ZooError(f"{what} not found: {path}")
        if os.path.isdir(path):
            raise ZooError(f"{what} {path} is a folder; give the {FILE} file a search wrote")
        try:
            tuned = read_json(path, what)
        except ZooError as exc:
            raise ZooError(str(exc)) from None
        where = f"{what} {path}"
    else:
        where = "tuned hyperparameters"
    if not isinstance(tuned, Mapping) or not isinstance(tuned.get("hyperparameters"), Mapping):
        raise ZooError(f"{where}: it holds 'entry' and 'hyperparameters' (written by zoo tune)")
    if tuned.get("entry", entry) != entry:
        raise ZooError(f"{where} was tuned for {tuned['entry']}, not {entry}")
    preprocessing = tuned.get("preprocessing", {})
    if not isinstance(preprocessing, Mapping):
        raise ZooError(f"{where}: 'preprocessing' must be an object, got {preprocessing!r}")
    return {**preprocessing, **tuned["hyperparameters"]}


def either(tuned, preset, what: str = "tuned"):
    """``tuned``, or the old name ``preset`` for it; both given is an error."""
    if tuned is not None and preset is not None:
        raise ZooError(f"give {what}= or its old name preset=, not both")
    return preset if tuned is None else tuned
