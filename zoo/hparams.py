"""Hyperparameter resolution: defaults, user overrides, validation.

A registry entry declares its hyperparameters inline with keras-tuner
(``hp.Int("units", 16, 512, step=16, default=64)``). This module turns that
declaration into the ready model's values: it reads the declared space,
checks user overrides against it (name, type, range or allowed values) and
returns a ``keras_tuner.HyperParameters`` pre-filled with the overrides, so
the builder's ``hp.Int(...)`` calls return them instead of the defaults.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from .errors import HyperparameterError


def _kt():
    import keras_tuner  # imported on use: it pulls in TensorFlow, slow for 'zoo --help'

    return keras_tuner


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def describe(hp) -> dict[str, Any]:
    """A JSON-ready description of one declared hyperparameter."""
    kt = _kt()
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return {"type": "bool", "default": hp.default}
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return {"type": "fixed", "default": hp.value}
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return {"type": "choice", "values": list(hp.values), "default": hp.default}
    if isinstance(hp, kt.engine.hyperparameters.Int):
        return {"type": "int", "min": hp.min_value, "max": hp.max_value,
                "step": hp.step, "sampling": hp.sampling, "default": hp.default}
    if isinstance(hp, kt.engine.hyperparameters.Float):
        return {"type": "float", "min": hp.min_value, "max": hp.max_value,
                "step": hp.step, "sampling": hp.sampling, "default": hp.default}
    raise TypeError(f"unsupported hyperparameter type {type(hp).__name__}")


def allowed(hp) -> str:
    """Human wording of the values a hyperparameter accepts."""
    d = describe(hp)
    if d["type"] == "bool":
        return "true or false"
    if d["type"] == "fixed":
        return f"only {d['default']!r}"
    if d["type"] == "choice":
        return "one of " + ", ".join(repr(v) for v in d["values"])
    kind = "an integer" if d["type"] == "int" else "a number"
    return f"{kind} from {d['min']} to {d['max']}"


def _coerce(entry: str, hp, value: Any) -> Any:
    """Convert ``value`` (possibly a command-line string) to ``hp``'s type."""
    kt = _kt()
    name = hp.name
    bad = HyperparameterError(
        f"hyperparameter {name!r} of {entry} got {value!r}: allowed values are "
        f"{allowed(hp)} (default {describe(hp)['default']!r})"
    )
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise bad
    if isinstance(hp, kt.engine.hyperparameters.Choice | kt.engine.hyperparameters.Fixed):
        options = list(hp.values) if isinstance(hp, kt.engine.hyperparameters.Choice) else [hp.value]
        for option in options:
            if value == option and type(value) is type(option):
                return option
            if isinstance(value, str) and str(option).lower() == value.lower():
                return option
            if isinstance(value, int | float) and not isinstance(value, bool) and \
                    isinstance(option, int | float) and not isinstance(option, bool) and value == option:
                return option
        raise bad
    if isinstance(hp, kt.engine.hyperparameters.Int | kt.engine.hyperparameters.Float):
        integer = isinstance(hp, kt.engine.hyperparameters.Int)
        if isinstance(value, str):
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                raise bad from None
        if integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
            raise bad
        if not math.isfinite(value) or not hp.min_value <= value <= hp.max_value:
            raise bad
        return value if integer else float(value)
    raise bad


def positive_int(name: str, value: Any, entry: str | None = None) -> int:
    """``value`` as a positive integer (digit strings from the command line accepted)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        where = f" for {entry}" if entry else ""
        raise HyperparameterError(f"{name}{where} must be a positive integer, got {value!r}")
    return value


def unknown_name_error(entry: str, name: str, known: list[str], what: str = "hyperparameter"
                       ) -> HyperparameterError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return HyperparameterError(
        f"unknown {what} {name!r} for {entry}.{hint} Known: {', '.join(sorted(known))}"
    )


def resolve(entry: str, space: Mapping[str, Any], overrides: Mapping[str, Any]):
    """Return HyperParameters holding ``overrides`` (validated) for ``space``.

    Values left out fall back to the declared defaults when the builder runs.
    """
    hp = _kt().HyperParameters()
    for name, value in overrides.items():
        if name not in space:
            raise unknown_name_error(entry, name, list(space))
        hp.values[name] = _coerce(entry, space[name], value)
    return hp


def parse_assignments(items: list[str] | None, what: str = "--set") -> dict[str, str]:
    """Parse ``["units=128", "cell=gru"]`` from the command line (values stay strings)."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HyperparameterError(f"{what} expects KEY=VALUE, got {item!r}")
        result[key.strip()] = value.strip()
    return result
