"""The localisation-catalog reader of experiments/fetch_real_translation_mo.py, on catalogs built here
(no download: the script's network step is apt-get, which tests never run)."""

import gettext
import io
import os
import re
import struct
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "experiments"))

import fetch_real_translation_mo as mo


def build_mo(entries: list[tuple[bytes, bytes]], big_endian: bool = False) -> bytes:
    """A GNU .mo file holding ``(original, translation)`` byte strings (no hash table)."""
    order = ">" if big_endian else "<"
    entries = sorted(entries)
    count = len(entries)
    originals, translations = 28, 28 + 8 * count
    data_start = 28 + 16 * count
    blob, table_o, table_t = b"", [], []
    for original, _ in entries:
        table_o.append((len(original), data_start + len(blob)))
        blob += original + b"\x00"
    for _, translation in entries:
        table_t.append((len(translation), data_start + len(blob)))
        blob += translation + b"\x00"
    header = struct.pack(order + "7I", 0x950412DE, 0, count, originals, translations, 0, 0)
    tables = b"".join(struct.pack(order + "2I", *t) for t in table_o + table_t)
    return header + tables + blob


CATALOG = [
    (b"", b"Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"),
    (b"_Open", b"_Ouvrir"),
    (b"menu\x04Quit", b"Quitter"),
    (b"%d file\x00%d files", b"%d fichier\x00%d fichiers"),
    (b"Cannot  open\n%s", "Impossible d\u2019ouvrir\n%s".encode()),
]


@pytest.mark.parametrize("big_endian", [False, True])
def test_mo_entries_reads_context_plurals_and_the_charset(big_endian):
    entries = {e[1]: e for e in mo.mo_entries(build_mo(CATALOG, big_endian))}
    assert entries["_Open"] == (None, "_Open", None, ["_Ouvrir"])
    assert entries["Quit"] == ("menu", "Quit", None, ["Quitter"])
    assert entries["%d file"] == (None, "%d file", "%d files", ["%d fichier", "%d fichiers"])
    assert entries["Cannot  open\n%s"][3] == ["Impossible d\u2019ouvrir\n%s"]


def test_mo_entries_agrees_with_the_standard_library():
    data = build_mo(CATALOG)
    catalog = gettext.GNUTranslations(io.BytesIO(data))._catalog
    for context, msgid, plural, msgstrs in mo.mo_entries(data):
        key = msgid if context is None else f"{context}\x04{msgid}"
        if plural is None:
            assert catalog[key] == msgstrs[0]
        else:
            assert [catalog[(key, i)] for i in range(len(msgstrs))] == msgstrs


def test_mo_entries_rejects_what_is_not_a_catalog():
    with pytest.raises(ValueError, match=r"not a \.mo file"):
        mo.mo_entries(b"\x00" * 40, "x.mo")
    with pytest.raises(ValueError, match="too short"):
        mo.mo_entries(b"\xde\x12\x04\x95", "x.mo")


@pytest.mark.parametrize("text, expected", [
    ("_Open", "Open"), ("Save _As", "Save As"), ("E_xit", "Exit"), ("A_jouter", "Ajouter"),
    ("KP_Up", "KP_Up"), ("TYPE_MIME", "TYPE_MIME"), ("Sys_Req", "Sys_Req"),      # identifiers keep theirs
    ("gtk_widget_show", "gtk_widget_show"),                                     # two or more: kept
    ("https://x.org/a_b", "https://x.org/a_b"), ("GDK_GL=always", "GDK_GL=always"),
    ("_%d. %s", "_%d. %s"), ("trailing_", "trailing_"),
])
def test_strip_accelerator(text, expected):
    assert mo.strip_accelerator(text) == expected


def test_clean_pair_collapses_whitespace_and_keeps_placeholders():
    assert mo.clean_pair(" Cannot  open\n%s ", "_Impossible d\u2019ouvrir\n%s") == \
        ("Cannot open %s", "Impossible d\u2019ouvrir %s")


def test_deb_name_writes_the_epoch_as_apt_does():
    assert mo.deb_name("gnome-control-center-data", "1:43.6-2~deb12u1") == \
        "gnome-control-center-data_1%3a43.6-2~deb12u1_all.deb"


def test_every_pin_has_a_sha256():
    assert len({p for p, _, _ in mo.PACKAGES}) == len(mo.PACKAGES)
    for _, _, digest in mo.PACKAGES:
        assert re.fullmatch(r"[0-9a-f]{64}", digest), digest  # lower-case hex, as sha256sum prints
