"""Reading the standard files a user names: CSV and TSV with a header row.

Reading is strict: a row with the wrong number of fields, an empty required
cell, a quote that is never closed or a duplicated header name is an error
naming the file and line, never data silently trained on. Malformed rows can be
dropped on request (``bad_rows="skip"``), and the caller is told which.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import DataError

BAD_ROWS = ("error", "skip")
_MAX_FIELD = 2**31 - 1  # csv.field_size_limit takes a C long: 32 bits on some platforms
_SHOWN_LINES = 10  # line numbers listed in a message before "..."


@dataclass(frozen=True)
class Table:
    """What :func:`read_table_report` read.

    ``rows``: one dict per kept row, holding the required columns only.
    ``skipped``: the (first) line number of each malformed row dropped by
    ``bad_rows="skip"``, in file order; empty with ``bad_rows="error"``.
    """

    rows: list[dict[str, str]]
    skipped: list[int] = field(default_factory=list)


def read_table(path: str, *, delimiter: str, required: tuple[str, ...], where: str) -> list[dict[str, str]]:
    """Rows of a delimited text file with a header, as dicts of the ``required`` columns.

    Errors name the file and the problem: missing file, undecodable bytes, empty
    file, missing or duplicated column, a row with the wrong number of fields, a
    row whose required cell is empty, a quoted field that is never closed. Any
    malformed row is an error; :func:`read_table_report` can skip them instead.
    """
    return read_table_report(path, delimiter=delimiter, required=required, where=where).rows


def read_table_report(path: str, *, delimiter: str, required: Sequence[str], where: str,
                      bad_rows: str = "error", quoting: bool = True,
                      column_options: Mapping[str, str] | None = None) -> Table:
    """Read a delimited text file with a header, strictly; see :class:`Table` for the result.

    The header is the first non-blank line; its names are stripped of whitespace
    and must be distinct. Columns beyond ``required`` are allowed and ignored.
    Blank lines are skipped. Every other row must have exactly one field per
    header column and a non-blank value in each required column. Such a
    malformed row raises :class:`DataError` with ``bad_rows="error"`` (the
    default); with ``bad_rows="skip"`` it is dropped and its line number listed
    in ``Table.skipped``. Broken quoting (a quoted field never closed, or text
    after a closing quote) is always an error: nothing after it can be trusted.
    Fields of any size are read. Line numbers are physical lines, counted from 1
    and including the header; a row spanning lines is named by its first line.
    ``quoting=False`` reads a file without quoting (GLUE's TSV files): a ``"`` is
    plain text and a field cannot hold the separator or a line break.
    ``column_options`` maps a required column to the spec option that chooses it
    (``{"sentence": "text"}``), for the missing-column error to say how.
    """
    if bad_rows not in BAD_ROWS:
        raise DataError(f"{where}: bad_rows must be {' or '.join(map(repr, BAD_ROWS))}, not {bad_rows!r}")
    text = read_text(path, where)
    # The lines exactly as csv sees them (\n, \r\n and \r end a line), kept to locate quoting errors.
    lines = io.StringIO(text, newline="").readlines()
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, min(len(text) + 1, _MAX_FIELD)))
    try:
        return _parse(lines, path, delimiter, tuple(required), where, bad_rows, quoting, column_options or {})
    finally:
        csv.field_size_limit(old_limit)


def _parse(lines: list[str], path: str, delimiter: str, required: tuple[str, ...], where: str,
           bad_rows: str, quoting: bool = True, column_options: Mapping[str, str] | None = None) -> Table:
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    reader = csv.reader(lines, delimiter=delimiter, strict=True,
                        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
    end = 0  # the last line of the previous record

    def records():
        nonlocal end
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if not quoting:  # no quote can be at fault
                    raise DataError(f"{where}: {path} {_lines(end + 1, reader.line_num)}: cannot parse the row "
                                    f"({exc})") from None
                raise _quoting_error(lines, end + 1, reader.line_num, path, delimiter, where, bad_rows,
                                     exc) from None
            yield end + 1, reader.line_num, row
            end = reader.line_num

    rows_in = records()
    header, header_line = None, 0
    for start, _, row in rows_in:
        if row and not (len(row) == 1 and not row[0].strip()):
            header, header_line = row, start
            break
    if header is None:  # nothing but blank lines and empty quoted cells
        raise DataError(f"{where}: {path} is empty")
    columns = [c.strip() for c in header]
    named = [c for c in columns if c]
    duplicated = sorted({c for c in named if named.count(c) > 1}, key=columns.index)
    if duplicated:
        raise DataError(f"{where}: {path} line {header_line}: the header names column "
                        f"{', '.join(map(repr, duplicated))} more than once "
                        f"(header has {', '.join(map(repr, columns))}; separator {sep})")
    missing = [c for c in required if c not in columns]
    if missing:
        options = [column_options[c] for c in missing if column_options and c in column_options]
        hint = f"; choose with {','.join(f'{o}=COLUMN' for o in options)}" if options else ""
        raise DataError(f"{where}: {path} has no column {', '.join(map(repr, missing))} "
                        f"(header has {', '.join(map(repr, columns))}; separator {sep}){hint}")

    width = len(columns)
    wanted = [(name, columns.index(name)) for name in required]
    shown_header = ", ".join(map(repr, columns))
    rows: list[dict[str, str]] = []
    skipped: list[int] = []
    for start, stop, row in rows_in:
        problem = None
        if len(row) != width:
            if not row or (len(row) == 1 and width > 1 and not row[0].strip()):
                continue  # a blank (or whitespace-only) line
            count = f"{len(row)} field{'s' if len(row) != 1 else ''}, the header has {width} ({shown_header})"
            if len(row) > width and not quoting:
                problem = (f"{count}; read without quoting, a field cannot contain the separator ({sep}); "
                           "quoting=csv reads quoted fields")
            elif len(row) > width:
                problem = f"{count}; quote fields that contain the separator ({sep})"
            else:
                problem = f"{count}; every row needs one field per column, separated by {sep}"
        else:
            for name, index in wanted:
                if not row[index].strip():
                    problem = f"empty {name!r}"
                    break
            else:
                rows.append({name: row[index] for name, index in wanted})
                continue
        if bad_rows == "skip":
            skipped.append(start)
            continue
        raise DataError(f"{where}: {path} {_lines(start, stop)}: {problem}")
    if not rows:
        if skipped:
            raise DataError(f"{where}: {path} has no usable rows: bad_rows='skip' skipped all {len(skipped)} "
                            f"({line_list(skipped)})")
        raise DataError(f"{where}: {path} has a header but no rows")
    return Table(rows, skipped)


def _lines(start: int, stop: int) -> str:
    return f"line {start}" if start >= stop else f"lines {start}-{stop}"


def read_text(path: str, where: str) -> str:
    """A UTF-8 text file (BOM allowed) the user named; a missing file, a folder, undecodable bytes
    (with the line) and an empty file are errors naming the file."""
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
    return text


def line_list(numbers: list[int]) -> str:
    """``lines 2, 5, 9`` (at most 10 shown, then the count): for messages about skipped rows."""
    shown = ", ".join(map(str, numbers[:_SHOWN_LINES]))
    more = f", ... ({len(numbers)} in all)" if len(numbers) > _SHOWN_LINES else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _quoting_error(lines: list[str], start: int, stop: int, path: str, delimiter: str, where: str,
                   bad_rows: str, exc: csv.Error) -> DataError:
    """The DataError for a csv.Error in the record starting on line ``start``: where the quote opened."""
    fatal = "; bad_rows='skip' cannot skip this: nothing after it can be trusted" if bad_rows == "skip" else ""
    found = _find_bad_quote(lines, start, delimiter)
    if found is None:  # not a quoting problem this scan knows: report what csv says
        return DataError(f"{where}: {path} {_lines(start, stop)}: cannot parse the row ({exc}){fatal}")
    opened, closed = found
    if closed is None:
        return DataError(f"{where}: {path} line {opened}: a quoted field opened here is never closed "
                         f"(the rest of the file, to line {len(lines)}, would be read as one field); "
                         f'close the quote, and write a quote inside a quoted field as ""{fatal}')
    after = lines[closed - 1].rstrip("\r\n")
    if len(after) > 60:
        after = after[:57] + "..."
    if closed == opened:
        return DataError(f"{where}: {path} line {opened}: text follows the closing quote of a quoted field "
                         f'({after!r}); write a quote inside a quoted field as ""{fatal}')
    return DataError(f"{where}: {path} line {opened}: a quoted field opened here ends with a quote on line "
                     f"{closed} that is followed by text ({after!r}); is a quote on line {opened} never closed? "
                     f'Write a quote inside a quoted field as ""{fatal}')


def _find_bad_quote(lines: list[str], start: int, delimiter: str) -> tuple[int, int | None] | None:
    """Scan the record starting on line ``start`` as csv's strict mode does (quote char ``"``, doubled
    to escape). Returns (line the bad quoted field opened on, line where text follows its closing
    quote, or None if it never closes), or None if the record is well-formed."""
    rest = "".join(lines[start - 1:])
    offsets = list(itertools.accumulate(len(line) for line in lines[start - 1:]))

    def line_of(pos: int) -> int:
        return start + bisect.bisect_right(offsets, pos)

    quoted = re.compile(r'[^"]*(?:""[^"]*)*')
    unquoted = re.compile(f"[^{re.escape(delimiter)}\r\n]*")
    pos, n = 0, len(rest)
    while pos < n:  # at the start of a field
        if rest[pos] == '"':
            opened = pos
            pos = quoted.match(rest, pos + 1).end()
            if pos >= n:
                return line_of(opened), None
            pos += 1  # the closing quote
            if pos < n and rest[pos] not in (delimiter, "\r", "\n"):
                return line_of(opened), line_of(pos)
        else:
            pos = unquoted.match(rest, pos).end()
        if pos >= n or rest[pos] != delimiter:
            return None  # the record ends: no quoting problem
        pos += 1
    return None
