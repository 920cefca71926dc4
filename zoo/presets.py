"""Presets: named sets of tuned values, written by ``zoo tune`` and read by build and train."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .errors import ZooError
from .folders import read_json


def load_preset(preset: str | Mapping[str, Any], entry: str) -> dict[str, Any]:
    """The hyperparameters (and preprocessing options) a preset file or dict holds for ``entry``."""
    if isinstance(preset, str | os.PathLike):
        path = os.fspath(preset)
        if not os.path.exists(path):
            raise ZooError(f"preset file not found: {path}")
        if os.path.isdir(path):
            raise ZooError(f"preset {path} is a folder; give the preset.json file a search wrote")
        try:
            preset = read_json(path, "preset")
        except ZooError as exc:
            raise ZooError(str(exc)) from None
        where = f"preset {path}"
    else:
        where = "preset"
    if not isinstance(preset, Mapping) or not isinstance(preset.get("hyperparameters"), Mapping):
        raise ZooError(f"{where}: a preset holds 'entry' and 'hyperparameters' (written by zoo tune)")
    if preset.get("entry", entry) != entry:
        raise ZooError(f"{where} was tuned for {preset['entry']}, not {entry}")
    preprocessing = preset.get("preprocessing", {})
    if not isinstance(preprocessing, Mapping):
        raise ZooError(f"{where}: 'preprocessing' must be an object, got {preprocessing!r}")
    return {**preprocessing, **preset["hyperparameters"]}
