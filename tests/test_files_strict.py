"""Strict reading of CSV/TSV files: field counts, quoting, huge fields, skipping bad rows, headers."""

from __future__ import annotations

import csv
import re
import time

import pytest

from zoo.data.files import Table, read_table, read_table_report
from zoo.errors import DataError

REQ = ("text", "label")


def _write(tmp_path, content: str | bytes, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def _error(path: str, delimiter: str = ",", **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_table_report(path, delimiter=delimiter, required=REQ, where="csv:x", **kwargs)
    message = str(info.value)
    assert message.startswith(f"csv:x: {path} ")  # every error names the spec and the file
    assert "Traceback" not in message and "csv.Error" not in message
    return message


def test_too_many_fields_names_file_line_and_both_counts(tmp_path):
    path = _write(tmp_path, "text,label\ngood,pos\ntoo,many,fields,here,neg\nfine,neg\n")
    message = _error(path)
    assert message == (f"csv:x: {path} line 3: 5 fields, the header has 2 ('text', 'label'); "
                       "quote fields that contain the separator (',')")
    with pytest.raises(DataError, match="line 3: 5 fields"):  # the compatible API is strict too
        read_table(path, delimiter=",", required=REQ, where="csv:x")


def test_too_few_fields(tmp_path):
    path = _write(tmp_path, "text,label,source\na,pos,web\nb,neg,web\nno label here\n")
    message = _error(path)
    assert "line 4: 1 field, the header has 3 ('text', 'label', 'source')" in message
    assert "one field per column, separated by ','" in message
    # Two of three fields: formerly the missing extra column went unnoticed.
    path = _write(tmp_path, "text,label,source\na,pos,web\nb,neg\n")
    assert "line 3: 2 fields, the header has 3" in _error(path)


def test_unclosed_quote_names_the_line_where_it_opens(tmp_path):
    lines = ["text,label", "good,pos", '"this quote never closes,neg'] + [f"row {i},pos" for i in range(20)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    message = _error(path)
    assert f"{path} line 3: a quoted field opened here is never closed" in message
    assert "to line 23" in message and "cannot skip" not in message
    # Fatal even when skipping bad rows, and the message says so.
    message = _error(path, bad_rows="skip")
    assert "line 3: a quoted field opened here is never closed" in message
    assert "bad_rows='skip' cannot skip this" in message
    # Opened in the second field, on the second line of a row that starts with a multi-line field.
    path = _write(tmp_path, 'text,label\n"two\nlines","open\nrest,pos\n')
    assert "line 3: a quoted field opened here is never closed" in _error(path)
    # No newline at the end of the file.
    path = _write(tmp_path, 'text,label\nok,pos\n"x,neg')
    assert "line 3: a quoted field opened here is never closed" in _error(path)


def test_quote_closed_much_later_is_caught(tmp_path):
    # The quote on line 3 is "closed" by the one on line 6, which is followed by text.
    path = _write(tmp_path, 'text,label\nok,pos\n"unclosed,neg\na,pos\nb,neg\nhe said "hi",pos\n')
    message = _error(path, bad_rows="skip")
    assert "line 3: a quoted field opened here ends with a quote on line 6 that is followed by text" in message
    assert "bad_rows='skip' cannot skip this" in message
    path = _write(tmp_path, 'text,label\n"say "hi" now",pos\n')
    assert "line 2: text follows the closing quote of a quoted field" in _error(path)


def test_field_over_128_kib_is_read_and_the_limit_is_restored(tmp_path):
    big = "word " * (300 * 1024 // 5)
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([REQ, ("small", "pos"), (big, "neg"), (f'with "quotes"\n{big}', "pos")])
    before = csv.field_size_limit()
    rows = read_table(str(path), delimiter=",", required=REQ, where="csv:x")
    assert csv.field_size_limit() == before
    assert [r["label"] for r in rows] == ["pos", "neg", "pos"]
    assert rows[1]["text"] == big and len(big) > 300_000
    assert rows[2]["text"] == f'with "quotes"\n{big}'


def test_skip_bad_rows_reports_their_lines(tmp_path):
    content = ("text,label\n"
               "good one,pos\n"        # 2
               "too,many,neg\n"        # 3: too many fields
               "\n"                    # 4: blank, skipped silently
               "   ,neg\n"             # 5: empty text
               '"multi\nline",pos\n'   # 6-7: fine
               "lonely\n"              # 8: too few fields
               "bad,\n"                # 9: empty label
               '"two\nlines",pos,x\n'  # 10-11: too many fields, named by its first line
               "last one,neg\n")       # 12
    path = _write(tmp_path, content)
    table = read_table_report(path, delimiter=",", required=REQ, where="csv:x", bad_rows="skip")
    assert isinstance(table, Table)
    assert table.rows == [{"text": "good one", "label": "pos"}, {"text": "multi\nline", "label": "pos"},
                          {"text": "last one", "label": "neg"}]
    assert table.skipped == [3, 5, 8, 9, 10]
    # The default is to refuse the first bad row.
    assert "line 3: 3 fields" in _error(path)
    clean = read_table_report(_write(tmp_path, "text,label\na,pos\n", "ok.csv"), delimiter=",", required=REQ,
                              where="csv:x", bad_rows="skip")
    assert clean == Table([{"text": "a", "label": "pos"}], [])
    # Everything skipped: an error, not an empty table.
    path = _write(tmp_path, "text,label\na,b,c\n,x\n", "all_bad.csv")
    assert "no usable rows: bad_rows='skip' skipped all 2 (lines 2, 3)" in _error(path, bad_rows="skip")


def test_bad_rows_value_is_checked(tmp_path):
    path = _write(tmp_path, "text,label\na,pos\n")
    with pytest.raises(DataError, match=r"csv:x: bad_rows must be 'error' or 'skip', not 'bogus'"):
        read_table_report(path, delimiter=",", required=REQ, where="csv:x", bad_rows="bogus")


def test_duplicate_header_names_are_named(tmp_path):
    path = _write(tmp_path, "text, label ,id,label,id\na,pos,1,neg,2\n")
    message = _error(path)
    assert "line 1: the header names column 'label', 'id' more than once" in message
    assert "(header has 'text', 'label', 'id', 'label', 'id'; separator ',')" in message


def test_extra_columns_are_ignored_and_header_names_stripped(tmp_path):
    path = _write(tmp_path, "id, text ,label ,\n1,a,pos,\n2,b,neg,x\n")
    rows = read_table(path, delimiter=",", required=REQ, where="csv:x")
    assert rows == [{"text": "a", "label": "pos"}, {"text": "b", "label": "neg"}]


def test_tsv(tmp_path):
    path = _write(tmp_path, "text\tlabel\nhas, commas, inside\tpos\n\"quoted\ttab\"\tneg\n", "d.tsv")
    rows = read_table(path, delimiter="\t", required=REQ, where="tsv:x")
    assert rows == [{"text": "has, commas, inside", "label": "pos"}, {"text": "quoted\ttab", "label": "neg"}]
    path = _write(tmp_path, "text\tlabel\na\tpos\nb\tneg\textra\n", "bad.tsv")
    message = _error(path, delimiter="\t")
    assert message.endswith("line 3: 3 fields, the header has 2 ('text', 'label'); "
                            "quote fields that contain the separator (tab)")
    path = _write(tmp_path, "text label\na pos\n", "spaces.tsv")
    assert "has no column 'text', 'label' (header has 'text label'; separator tab)" in _error(path, delimiter="\t")


def test_quoted_separators_and_newlines_keep_line_numbers_right(tmp_path):
    content = ('text,label\n'                          # 1
               '"a, b, and c",pos\n'                   # 2
               '"first line\nsecond, line\n""third""",neg\n'   # 3-5
               '"",pos\n'                              # 6: empty text, after the multi-line field
               'ok,neg\n')
    path = _write(tmp_path, content)
    assert re.search(r"line 6: empty 'text'$", _error(path))
    table = read_table_report(path, delimiter=",", required=REQ, where="csv:x", bad_rows="skip")
    assert table.rows[:2] == [{"text": "a, b, and c", "label": "pos"},
                              {"text": 'first line\nsecond, line\n"third"', "label": "neg"}]
    assert table.skipped == [6]
    # A malformed row that itself spans lines is named by its span; CRLF line ends count the same.
    path = _write(tmp_path, 'text,label\r\nok,pos\r\n"x\r\ny",pos,extra\r\nz,neg\r\n', "crlf.csv")
    assert "lines 3-4: 3 fields, the header has 2" in _error(path)


def test_utf8_bom_and_leading_blank_lines(tmp_path):
    path = _write(tmp_path, "\ufefftext,label\nçafé,pos\n".encode())
    assert read_table(path, delimiter=",", required=REQ, where="csv:x") == [{"text": "çafé", "label": "pos"}]
    path = _write(tmp_path, "\n\ntext,label\nok,pos\n\nno,neg,x\n", "blank.csv")
    assert "line 6: 3 fields" in _error(path)


def test_blank_and_whitespace_lines_are_skipped_silently(tmp_path):
    path = _write(tmp_path, "text,label\na,pos\n\n   \nb,neg\n\n")
    table = read_table_report(path, delimiter=",", required=REQ, where="csv:x", bad_rows="skip")
    assert table == Table([{"text": "a", "label": "pos"}, {"text": "b", "label": "neg"}], [])


def test_existing_errors_keep_their_wording(tmp_path):
    assert "is empty" in _error(_write(tmp_path, " \n\n"))
    assert "has a header but no rows" in _error(_write(tmp_path, "text,label\n\n"))
    assert "is not valid UTF-8 (byte 0xff on line 3)" in _error(_write(tmp_path, b"text,label\na,b\n\xff,c\n"))
    with pytest.raises(DataError, match="file not found"):
        read_table(str(tmp_path / "nope.csv"), delimiter=",", required=REQ, where="csv:x")
    with pytest.raises(DataError, match="is a directory"):
        read_table(str(tmp_path), delimiter=",", required=REQ, where="csv:x")


def test_large_file_reads_quickly(tmp_path):
    path = tmp_path / "large.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("id", "text", "label"))
        writer.writerows((i, f"review number {i}, which says things", "pos" if i % 2 else "neg")
                         for i in range(100_000))
    began = time.perf_counter()
    rows = read_table(str(path), delimiter=",", required=REQ, where="csv:x")
    elapsed = time.perf_counter() - began
    assert len(rows) == 100_000 and rows[-1] == {"text": "review number 99999, which says things", "label": "pos"}
    assert elapsed < 2.0, elapsed
