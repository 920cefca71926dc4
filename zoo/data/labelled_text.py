"""Labelled texts for sentiment: ``csv:`` and ``tsv:`` files with a header row, one text and one label a row.

``csv:reviews.csv`` or ``tsv:train=A,validation=B,test=C`` (the named parts of :mod:`zoo.data.parts`), with
``text=COLUMN`` and ``label=COLUMN`` naming the columns (default ``text`` and ``label``), ``quoting=csv|none``
and ``bad_rows=skip``. Rows are read strictly (:func:`zoo.data.files.read_table_report`): a bad row names
the file, the line and the column.
"""

from __future__ import annotations

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .files import read_table_report
from .parts import bad_rows_option, named_parts, report_lines

Example = tuple[str, str]  # (text, label name)

QUOTING = ("csv", "none")


def load_table(spec: DataSpec, delimiter: str) -> Splits[Example]:
    """``csv:``/``tsv:`` files with a header row. ``text=COLUMN`` and ``label=COLUMN`` name the columns
    (default ``text`` and ``label``); ``quoting=csv`` reads ``"``-quoted fields (the default for csv:),
    ``quoting=none`` reads every ``"`` as plain text (the default for tsv:, as GLUE's files need)."""
    check_parts(spec, ("train", "validation", "test", "bad_rows", "text", "label", "quoting"))
    bad_rows = bad_rows_option(spec)
    text_column, label_column = spec.parts.get("text", "text").strip(), spec.parts.get("label", "label").strip()
    if not text_column or not label_column:
        raise DataError(f"data spec {spec.text!r}: text= and label= must name a column, not only spaces")
    if text_column == label_column:
        raise DataError(f"data spec {spec.text!r}: text and label both name column {text_column!r}; "
                        "choose two columns with text=COLUMN,label=COLUMN")
    quoting = spec.parts.get("quoting", "csv" if delimiter == "," else "none")
    if quoting not in QUOTING:
        raise DataError(f"data spec {spec.text!r}: quoting must be {' or '.join(map(repr, QUOTING))}, not {quoting!r}")
    skipped: dict[str, list[int]] = {}

    def read(path: str, _part: str) -> list[Example]:
        table = read_table_report(path, delimiter=delimiter, required=(text_column, label_column), where=spec.text,
                                  bad_rows=bad_rows, quoting=quoting == "csv",
                                  column_options={text_column: "text", label_column: "label"})
        if table.skipped:
            skipped[path] = table.skipped
        return [(row[text_column], row[label_column].strip()) for row in table.rows]

    train, validation, test = named_parts(spec, read, key=lambda ex: ex[0])
    return Splits(train, validation, test, source=spec.text, info=report_lines(spec, skipped, "malformed row(s)"))




def load_csv(spec: DataSpec) -> Splits[Example]:
    """``csv:`` files (``"``-quoted fields by default)."""
    return load_table(spec, ",")


def load_tsv(spec: DataSpec) -> Splits[Example]:
    """``tsv:`` files (no quoting by default, as GLUE's files need)."""
    return load_table(spec, "\t")
