"""Data specs: one string names where the data comes from, for the API and the CLI.

``KIND:REST``, where ``REST`` is either a single target (a path, a TFDS name,
a built-in generator) or named parts ``part=value,part=value``:

- ``builtin:negation``: generated offline by the zoo, seeded;
- ``tfds:NAME`` (``tfds:glue/sst2,test=validation``): a TensorFlow Datasets set;
- ``csv:PATH`` / ``tsv:PATH`` / ``csv:train=a.csv,test=b.csv``: files.

Each task declares which kinds it reads and what a part may be called; this
module only parses, and splits one collection into train/validation/test.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import DataError

SPLITS = ("train", "validation", "test")
_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")

T = TypeVar("T")


@dataclass(frozen=True)
class DataSpec:
    """A parsed data spec: ``kind``, an optional plain ``target`` and named ``parts``."""

    kind: str
    target: str | None
    parts: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def __str__(self) -> str:
        return self.text


def parse_spec(spec: str, allowed_kinds: tuple[str, ...] | None = None) -> DataSpec:
    """Parse ``"csv:train=a.csv,test=b.csv"`` into a :class:`DataSpec`.

    A value after the colon that does not start with ``NAME=`` is one plain
    target, commas and all (so a file name may hold a comma).
    """
    if not isinstance(spec, str) or ":" not in spec:
        kinds = f" ({', '.join(k + ':' for k in allowed_kinds)})" if allowed_kinds else ""
        raise DataError(f"data spec {spec!r} has no kind: write KIND:VALUE{kinds}")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if allowed_kinds is not None and kind not in allowed_kinds:
        raise DataError(f"data spec {spec!r}: unknown kind {kind!r}; this task reads "
                        + ", ".join(k + ":" for k in allowed_kinds))
    if not rest.strip():
        raise DataError(f"data spec {spec!r} names nothing after {kind + ':'!r}")
    pieces = rest.split(",")
    target = None
    parts: dict[str, str] = {}
    first = _PART.match(pieces[0])
    if first is None:
        # "tfds:glue/sst2,test=validation": a target followed by named options.
        target = pieces[0]
        pieces = pieces[1:]
        if pieces and any(_PART.match(p) is None for p in pieces):
            target, pieces = rest, []  # a comma inside a path
    for piece in pieces:
        match = _PART.match(piece)
        if match is None:
            raise DataError(f"data spec {spec!r}: expected NAME=VALUE, got {piece!r}")
        name, value = match.groups()
        if name in parts:
            raise DataError(f"data spec {spec!r} gives {name!r} twice")
        if not value:
            raise DataError(f"data spec {spec!r}: {name!r} has no value")
        parts[name] = value
    return DataSpec(kind, target.strip() if target else None, parts, spec)


def check_parts(spec: DataSpec, allowed: tuple[str, ...]) -> None:
    for name in spec.parts:
        if name not in allowed:
            raise DataError(f"data spec {spec.text!r}: unknown part {name!r}; allowed: {', '.join(allowed)}")


def int_options(spec: DataSpec, defaults: dict[str, int], ranges: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Integer options of a built-in set (``builtin:NAME,n=500,seed=3``): unknown names, values that
    are not integers and values out of ``ranges`` (inclusive) are errors naming the spec."""
    options = dict(defaults)
    for key, value in spec.parts.items():
        if key not in options:
            raise DataError(f"data spec {spec.text!r}: unknown option {key!r}; allowed: {', '.join(options)}")
        try:
            options[key] = int(value)
        except ValueError:
            raise DataError(f"data spec {spec.text!r}: {key} must be an integer, got {value!r}") from None
    for key, (low, high) in ranges.items():
        if not low <= options[key] <= high:
            raise DataError(f"data spec {spec.text!r}: {key} must be from {low} to {high}, got {options[key]}")
    return options


def stable_bucket(key: str) -> int:
    """A bucket in [0, 100) that depends only on ``key``: the same text always lands in
    the same split, so duplicates never leak from train into test."""
    return zlib.crc32(key.encode("utf-8")) % 100


@dataclass
class Splits(Generic[T]):
    """Train, validation and test examples of one data spec."""

    train: list[T]
    validation: list[T]
    test: list[T]
    source: str = ""
    info: dict = field(default_factory=dict)

    def get(self, split: str) -> list[T]:
        if split == "all":
            return self.train + self.validation + self.test
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}, all")
        return getattr(self, split)


def split_by_key(items: list[T], key, fractions=(0.8, 0.1, 0.1), where: str = "data"
                 ) -> tuple[list[T], list[T], list[T]]:
    """Split deterministically by a hash of ``key(item)`` (default 80/10/10)."""
    cut1 = round(fractions[0] * 100)
    cut2 = cut1 + round(fractions[1] * 100)
    parts: tuple[list[T], list[T], list[T]] = ([], [], [])
    for item in items:
        b = stable_bucket(key(item))
        parts[0 if b < cut1 else 1 if b < cut2 else 2].append(item)
    names = [s for s, f, p in zip(SPLITS, fractions, parts, strict=True) if f > 0 and not p]
    if names:
        distinct = len({key(item) for item in items})
        count = f"{len(items)}" if distinct == len(items) else f"{len(items)}, {distinct} distinct"
        raise DataError(f"{where}: too few examples ({count}) to carve a {' and '.join(names)} "
                        f"split (equal texts always share a split); give the parts by name (train=...,test=...)")
    return parts
