"""Reading parallel text for translation: ``(source, target)`` pairs from files a user names.

Two layouts:

- ``tsv:PATH``: one pair a line, ``source<TAB>target[<TAB>more columns, ignored]``, no
  header: the Tatoeba / manythings.org Anki format (``Go.<TAB>Va !<TAB>CC-BY 2.0 ...``).
  There are no quoting rules: commas and quotes are ordinary characters, and a field
  cannot hold a tab. Blank lines are skipped, and so are comment lines at the top of
  the file that start with ``#`` and hold no tab (Anki's ``#separator:tab`` header).
- ``parallel:SRC,TGT``: two line-aligned files, line N of one translating line N of the
  other (the Multi30k / WMT / Europarl layout). No line may be blank.

Any file may be gzipped: gzip is recognised by its magic bytes, whatever the name. A
UTF-8 byte-order mark is dropped, ``\\r\\n`` line ends are accepted, a final newline is
fine, and fields are stripped of surrounding whitespace.

Named parts ``train=``, ``validation=``, ``test=`` work as for the sentiment files:
validation is carved from train (10%) when absent, test too (80/10/10) when absent, by
a hash of the source text, so every pair with the same source lands in the same split
(one source with several translations, common in Tatoeba, never straddles train and test).
For ``parallel:`` a part names its two files joined by ``+``:
``parallel:train=train.en+train.de,validation=val.en+val.de,test=test.en+test.de``.

Reading is strict. A missing file, a directory, an empty file, undecodable bytes, a TSV
line with one field or an empty source or target, a blank line in a parallel file and
parallel files of different lengths are errors naming the file and line (or both files
and both line counts). With ``bad_rows=skip`` malformed lines are dropped instead and
reported in ``Splits.info["skipped_rows"] = {path: {"count": n, "lines": [first 100]}}``
and a warning; different line counts stay an error, as alignment can no longer be trusted.
Long pairs are not errors here: the translation task truncates to its ``max_length``.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .files import line_list
from .parts import PART_NAMES, bad_rows_option, named_parts, report_lines

Pair = tuple[str, str]
_OPTION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def _read_lines(path: str, where: str) -> list[bytes]:
    """The lines of a plain or gzipped file as bytes, without line ends."""
    if not os.path.exists(path):
        raise DataError(f"{where}: file not found: {path}")
    if os.path.isdir(path):
        raise DataError(f"{where}: {path} is a directory, not a file")
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{where}: {path} is a damaged gzip file ({exc})") from None
    elif raw[:4] == b"PK\x03\x04":
        raise DataError(f"{where}: {path} is a zip archive; unzip it and name the text file inside")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise DataError(f"{where}: {path} is empty")
    lines = raw.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the final newline
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _decode(line: bytes) -> tuple[str, str | None]:
    """``(text, None)``, or ``("", problem)`` for bytes that are not UTF-8."""
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", f"not valid UTF-8 (byte 0x{line[exc.start]:02x}); re-save the file as UTF-8"


def _preview(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")



def read_tsv_pairs(path: str, *, where: str, delimiter: str = "\t", bad_rows: str = "error"
                   ) -> tuple[list[Pair], list[int]]:
    """Pairs of one ``source<TAB>target[<TAB>...]`` file and the line numbers skipped
    (``bad_rows="skip"``); see the module docstring for the rules."""
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    shown = "<TAB>" if delimiter == "\t" else delimiter
    pairs: list[Pair] = []
    skipped: list[int] = []
    at_top = True
    for number, raw in enumerate(_read_lines(path, where), 1):
        text, problem = _decode(raw)
        if problem is None:
            if not text.strip():
                continue  # a blank line
            if at_top and text.startswith("#") and delimiter not in text:
                continue  # a comment in the header, e.g. Anki's "#separator:tab"
            fields = [field.strip() for field in text.split(delimiter)]
            if len(fields) < 2:
                problem = (f"1 field ({_preview(text)}), need at least 2: source{shown}target; "
                           f"is the separator a {sep}?")
            elif not fields[0]:
                problem = "empty source (field 1)"
            elif not fields[1]:
                problem = "empty target (field 2)"
            else:
                pairs.append((fields[0], fields[1]))
        at_top = False
        if problem is None:
            continue
        if bad_rows == "skip":
            skipped.append(number)
            continue
        raise DataError(f"{where}: {path} line {number}: {problem}")
    if not pairs:
        if skipped:
            raise DataError(f"{where}: {path} has no usable lines: bad_rows='skip' skipped all {len(skipped)} "
                            f"({line_list(skipped)})")
        raise DataError(f"{where}: {path} has no pairs (only comment lines)")
    return pairs, skipped


def read_parallel_pair(source_path: str, target_path: str, *, where: str, bad_rows: str = "error"
                       ) -> tuple[list[Pair], dict[str, list[int]]]:
    """Pairs of two line-aligned files and the skipped line numbers per file
    (``bad_rows="skip"``; a line bad on both sides is listed under both)."""
    sources = _read_lines(source_path, where)
    targets = _read_lines(target_path, where)
    if len(sources) != len(targets):
        raise DataError(f"{where}: {source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
                        "the files must be line-aligned (line N of one translates line N of the other)")
    pairs: list[Pair] = []
    skipped: dict[str, list[int]] = {}
    sides = ((source_path, target_path), (target_path, source_path))
    for number, (raw_source, raw_target) in enumerate(zip(sources, targets, strict=True), 1):
        texts, problems = [], []
        for raw in (raw_source, raw_target):
            text, problem = _decode(raw)
            text = text.strip()
            if problem is None and not text:
                problem = "empty line"
            texts.append(text)
            problems.append(problem)
        if problems == [None, None]:
            pairs.append((texts[0], texts[1]))
            continue
        if bad_rows == "skip":
            for (path, _), problem in zip(sides, problems, strict=True):
                if problem is not None:
                    skipped.setdefault(path, []).append(number)
            continue
        side = 0 if problems[0] is not None else 1
        path, other = sides[side]
        if problems[side] == "empty line":
            if problems[1 - side] is None:
                partner = f"{other} line {number} has {_preview(texts[1 - side])}"
            elif problems[1 - side] == "empty line":
                partner = "both files are blank there"
            else:
                partner = f"{other} line {number} is not valid UTF-8 either"
            raise DataError(f"{where}: {path} line {number}: empty line ({partner})")
        raise DataError(f"{where}: {path} line {number}: {problems[side]}")
    if not pairs:
        count = len(sources)
        raise DataError(f"{where}: {source_path} and {target_path} have no usable lines: bad_rows='skip' "
                        f"skipped all {count}")
    return pairs, skipped


# ---------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------

def _by_source(pair: Pair) -> str:
    return pair[0]


def load_tsv_pairs(spec: DataSpec, delimiter: str = "\t") -> Splits[Pair]:
    """``tsv:PATH[,bad_rows=skip]`` or ``tsv:train=A[,validation=B][,test=C][,bad_rows=skip]``:
    ``source<TAB>target`` lines, no header (the Tatoeba / Anki format)."""
    check_parts(spec, (*PART_NAMES, "bad_rows"))
    bad_rows = bad_rows_option(spec)
    skipped: dict[str, list[int]] = {}

    def read(path: str, _part: str) -> list[Pair]:
        pairs, lines = read_tsv_pairs(path, where=spec.text, delimiter=delimiter, bad_rows=bad_rows)
        if lines:
            skipped.setdefault(path, []).extend(lines)
        return pairs

    train, validation, test = named_parts(spec, read, _by_source)
    return Splits(train, validation, test, source=spec.text, info=report_lines(spec, skipped))


def _split_two(spec: DataSpec, value: str, sep: str, what: str) -> tuple[str, str]:
    """``"a.en+a.de"`` -> ``("a.en", "a.de")``. With more than one ``sep`` the one split
    whose both halves are existing files wins (a file name may hold the separator)."""
    pieces = value.split(sep)
    if len(pieces) == 2 and all(p.strip() for p in pieces):
        return pieces[0].strip(), pieces[1].strip()
    if len(pieces) > 2:
        found = [(sep.join(pieces[:k]).strip(), sep.join(pieces[k:]).strip()) for k in range(1, len(pieces))]
        found = [(a, b) for a, b in found if os.path.isfile(a) and os.path.isfile(b)]
        if len(found) == 1:
            return found[0]
    raise DataError(f"data spec {spec.text!r}: {what} must be two files, SOURCE_FILE{sep}TARGET_FILE; "
                    f"got {value!r}")


def load_parallel(spec: DataSpec) -> Splits[Pair]:
    """``parallel:SRC,TGT[,bad_rows=skip]`` or ``parallel:train=SRC+TGT[,validation=SRC+TGT]
    [,test=SRC+TGT][,bad_rows=skip]``: two line-aligned files per part, plain or gzipped."""
    parts = dict(spec.parts)
    single = spec.target
    if single is not None:
        # parse_spec keeps "a.en,a.de,bad_rows=skip" whole: pull the trailing options out of it.
        pieces = single.split(",")
        while len(pieces) > 1 and (match := _OPTION.match(pieces[-1].strip())) is not None:
            name, value = match.groups()
            if name in parts:
                raise DataError(f"data spec {spec.text!r} gives {name!r} twice")
            if not value:
                raise DataError(f"data spec {spec.text!r}: {name!r} has no value")
            parts[name] = value
            pieces.pop()
        single = ",".join(pieces)
    check_parts(DataSpec(spec.kind, single, parts, spec.text), (*PART_NAMES, "bad_rows"))
    bad_rows = bad_rows_option(spec, parts)
    skipped: dict[str, list[int]] = {}

    def read(value: str, part: str) -> list[Pair]:
        sep, what = ("+", f"part {part!r}") if part else (",", "the value")
        source_path, target_path = _split_two(spec, value, sep, what)
        pairs, lines = read_parallel_pair(source_path, target_path, where=spec.text, bad_rows=bad_rows)
        for path, numbers in lines.items():
            skipped.setdefault(path, []).extend(numbers)
        return pairs

    train, validation, test = named_parts(spec, read, _by_source, "pair of files", "SRC+TGT", target=single,
                                          parts=parts)
    return Splits(train, validation, test, source=spec.text, info=report_lines(spec, skipped))
