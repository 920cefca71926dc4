"""Plain text for language models: ``text:PATH`` (a file or a folder of ``.txt`` files).

``text:PATH[,document=line|paragraph|file]``: what one document is. A file's documents are its
non-blank lines by default (``line``); ``paragraph`` splits on blank lines; ``file`` keeps the
whole file as one. A folder's ``.txt`` files (top level, sorted by name) are one document each
by default; ``line`` or ``paragraph`` splits each of them. Documents are split 80/10/10 by a
stable hash of their text, so equal documents share a split.

``text:train=A,validation=B,test=C`` names the parts (files or folders) instead; ``train`` alone
is split 80/10/10, ``train`` and ``test`` carve validation from 10% of train.

Each file must be UTF-8 (a BOM is allowed) with some text: an empty file or undecodable bytes is
a :class:`~zoo.errors.DataError` naming the file (and the line of the bad byte).
"""

from __future__ import annotations

import os
import re

from ..errors import DataError
from . import DataSpec, Splits, check_parts
from .files import read_text
from .parts import named_parts

DOCUMENT_KINDS = ("line", "paragraph", "file")
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")


def _files(path: str, where: str) -> list[str]:
    if not os.path.exists(path):
        raise DataError(f"{where}: file or folder not found: {path}")
    if not os.path.isdir(path):
        return [path]
    names = sorted(n for n in os.listdir(path) if n.endswith(".txt") and os.path.isfile(os.path.join(path, n)))
    if not names:
        raise DataError(f"{where}: the folder {path} holds no .txt files")
    return [os.path.join(path, n) for n in names]


def read_documents(path: str, document: str | None, where: str) -> list[str]:
    """The documents of a file or folder (see the module docstring)."""
    kind = document or ("file" if os.path.isdir(path) else "line")
    documents: list[str] = []
    for file in _files(path, where):
        text = read_text(file, where).replace("\r\n", "\n").replace("\r", "\n")
        if kind == "file":
            pieces = [text]
        elif kind == "paragraph":
            pieces = _BLANK_LINES.split(text)
        else:
            pieces = text.split("\n")
        documents.extend(p.strip() for p in pieces if p.strip())
    return documents


def load_text(spec: DataSpec) -> Splits[str]:
    check_parts(spec, ("train", "validation", "test", "document"))
    document = spec.parts.get("document")
    if document is not None and document not in DOCUMENT_KINDS:
        raise DataError(f"data spec {spec.text!r}: document must be one of {', '.join(DOCUMENT_KINDS)}, "
                        f"got {document!r}")

    def read(path: str, _part: str) -> list[str]:
        return read_documents(path, document, spec.text)

    train, validation, test = named_parts(spec, read, key=lambda d: d, one="path", value="PATH")
    return Splits(train, validation, test, source=spec.text)
