"""Reading the standard files a user names: CSV and TSV with a header row."""

from __future__ import annotations

import csv
import io
import os

from ..errors import DataError


def read_table(path: str, *, delimiter: str, required: tuple[str, ...], where: str) -> list[dict[str, str]]:
    """Rows of a delimited text file with a header, as dicts of the ``required`` columns.

    Errors name the file and the problem: missing file, undecodable bytes, empty
    file, missing column, a row whose required cell is empty.
    """
    if not os.path.exists(path):
        raise DataError(f"{where}: file not found: {path}")
    if os.path.isdir(path):
        raise DataError(f"{where}: {path} is a directory, not a file")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where}: {path} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} "
                        f"on line {line}); re-save it as UTF-8") from None
    if not text.strip():
        raise DataError(f"{where}: {path} is empty")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in required if c not in columns]
    if missing:
        sep = "tab" if delimiter == "\t" else repr(delimiter)
        raise DataError(f"{where}: {path} has no column {', '.join(map(repr, missing))} "
                        f"(header has {', '.join(map(repr, columns))}; separator {sep})")
    reader.fieldnames = columns
    rows = []
    for row in reader:
        line_no = reader.line_num
        out = {}
        for column in required:
            value = row.get(column)
            if value is None or not value.strip():
                raise DataError(f"{where}: {path} line {line_no}: empty {column!r}")
            out[column] = value
        rows.append(out)
    if not rows:
        raise DataError(f"{where}: {path} has a header but no rows")
    return rows
