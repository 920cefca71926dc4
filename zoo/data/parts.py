"""The one reader of named parts, splits and bad rows, for every file kind (csv:/tsv:, parallel:,
frames:, steps:, coco:).

A file spec names either one target (``tsv:pairs.tsv``), split 80/10/10 by a stable hash of each
example's key, or named parts (``tsv:train=A,validation=B,test=C``): train is required; without a
validation part 10% of train becomes validation; without a test part, train is split 80/10/10 (and a
given validation part replaces the carved one, whose examples go back to train). ``bad_rows=skip``
leaves malformed rows out instead of failing, with a warning, and reports them in
``Splits.info["skipped_rows"] = {path: {"count": N, "lines": [...], ...}}``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from . import DataSpec, split_by_key
from .files import BAD_ROWS, line_list

PART_NAMES = ("train", "validation", "test")
KEPT_LINES = 100  # line numbers kept per file in Splits.info["skipped_rows"]


def bad_rows_option(spec: DataSpec, parts: dict[str, str] | None = None) -> str:
    """``bad_rows=`` of the spec (or of ``parts``): ``error`` (the default) or ``skip``."""
    bad_rows = (spec.parts if parts is None else parts).get("bad_rows", "error")
    if bad_rows not in BAD_ROWS:
        raise DataError(f"{spec.text}: bad_rows must be {' or '.join(map(repr, BAD_ROWS))}, not {bad_rows!r}")
    return bad_rows


def read_parts(spec: DataSpec, read: Callable[[str, str], list], one: str = "file", value: str = "FILE", *,
               target: str | None = None, parts: dict[str, str] | None = None) -> dict[str, list]:
    """What each part names, read with ``read(value, part)``: ``{"": items}`` for a single target (part
    ``""``), else ``{part: items}``. ``one`` and ``value`` name what a part holds in the errors ("pair of
    files", ``SRC+TGT``); ``target`` and ``parts`` replace the spec's own (a reader that parsed more)."""
    target = spec.target if target is None else target
    parts = spec.parts if parts is None else parts
    if target is not None:
        if any(name in parts for name in PART_NAMES):
            raise DataError(f"data spec {spec.text!r}: give one {one} or named parts "
                            f"(train={value},test={value}), not both")
        return {"": read(target, "")}
    if "train" not in parts:
        raise DataError(f"data spec {spec.text!r} names no train part (train={value})")
    return {name: read(parts[name], name) for name in PART_NAMES if name in parts}


def assemble(spec: DataSpec, read: dict[str, list], key: Callable[[Any], str]) -> dict[str, list]:
    """Train, validation and test from :func:`read_parts`' result, by the rules of the module notes."""
    if "" in read:
        train, validation, test = split_by_key(read[""], key=key, where=spec.text)
        return {"train": train, "validation": validation, "test": test}
    parts = dict(read)
    train = parts["train"]
    if "test" in parts:
        if "validation" not in parts:
            train, parts["validation"], _ = split_by_key(train, key=key, fractions=(0.9, 0.1, 0.0), where=spec.text)
    else:
        train, validation, parts["test"] = split_by_key(train, key=key, where=spec.text)
        if "validation" in parts:
            train = train + validation
        else:
            parts["validation"] = validation
    parts["train"] = train
    return parts


def named_parts(spec: DataSpec, read: Callable[[str, str], list], key: Callable[[Any], str], one: str = "file",
                value: str = "FILE", **where) -> tuple[list, list, list]:
    """``(train, validation, test)``: :func:`read_parts`, then :func:`assemble`."""
    parts = assemble(spec, read_parts(spec, read, one, value, **where), key)
    return parts["train"], parts["validation"], parts["test"]


def report_lines(spec: DataSpec, skipped: dict[str, list[int]], what: str = "malformed line(s)") -> dict:
    """Warn about the lines ``bad_rows=skip`` left out (``{path: line numbers}``) and return the
    ``skipped_rows`` info for :class:`zoo.data.Splits` (empty when nothing was left out)."""
    if not skipped:
        return {}
    warnings.warn(f"{spec.text}: skipped {sum(len(v) for v in skipped.values())} {what} (bad_rows=skip): "
                  + "; ".join(f"{p} {line_list(v)}" for p, v in skipped.items()), stacklevel=3)
    return {"skipped_rows": {p: {"count": len(v), "lines": v[:KEPT_LINES]} for p, v in skipped.items()}}


@dataclass
class Skips:
    """Collects the items (clips, images) ``bad_rows="skip"`` left out, with a reason each; raises at once
    with ``bad_rows="error"``."""

    bad_rows: str
    where: str = ""
    entries: dict[str, dict] = field(default_factory=dict)

    def fail(self, message: str, path: str, lines: list[int] | None = None) -> None:
        if self.bad_rows != "skip":
            raise DataError(message)
        message = message.removeprefix(f"{self.where}: ")  # the reason, without the spec
        entry = self.entries.setdefault(path, {"count": 0, "lines": [], "reason": message})
        entry["count"] += 1
        entry["lines"] = (entry["lines"] + list(lines or []))[:KEPT_LINES]

    def report(self, spec: DataSpec, what: str) -> dict:
        if not self.entries:
            return {}
        total = sum(e["count"] for e in self.entries.values())
        shown = "; ".join(f"{path}: {entry['reason']}" for path, entry in list(self.entries.items())[:3])
        more = f"; ... ({len(self.entries)} files in all)" if len(self.entries) > 3 else ""
        warnings.warn(f"{spec.text}: skipped {total} {what} (bad_rows=skip): {shown}{more}", stacklevel=3)
        return {"skipped_rows": self.entries}
