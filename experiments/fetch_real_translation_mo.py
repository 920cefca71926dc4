#!/usr/bin/env python3
"""Fetch software localisation catalogs from Debian and write their English->French pairs as a TSV.

This machine (and the project's CI) can reach only package registries, Debian's
apt archive among them. Debian packages ship compiled gettext catalogs
(``usr/share/locale/LANG/LC_MESSAGES/*.mo``): each one pairs the program's English
messages (``msgid``) with a human translation (``msgstr``) made by the
project's translation team. Taken from many programs, they are the same kind of
data as OPUS's "GNOME", "KDE4" and "Ubuntu" corpora: real translations of
short segments (menu items, labels, settings descriptions, error messages).

The script downloads a pinned list of Debian 12 (bookworm) packages with
``apt-get download`` (nothing is installed; apt checks the archive signatures),
checks each ``.deb`` against the SHA-256 recorded here, reads the catalogs out
of it (``dpkg-deb --fsys-tarfile``, then Python's ``tarfile``) and parses the
``.mo`` format with the standard library. It writes ``source<TAB>target`` lines,
UTF-8, for ``zoo train ... --data tsv:FILE``.

The packages are GNOME and Xfce desktop programs and libraries (GTK 2 and 3,
GLib, Nautilus, gedit, Evince, Evolution, GIMP, Gnumeric, Rhythmbox, Totem,
the Settings, Shell and Software apps, Thunar): one catalog set, close to OPUS's
GNOME corpus. Catalogs that are lists of names (places, languages, time zones:
the packages ``libgweather-4-common`` and ``iso-codes``, and the catalog
``gnome-control-center-2.0-timezones.mo``) are left out: they teach
transliteration, not translation.

Rules, applied in this order:

- Entries with a plural form (``msgid_plural``) are dropped: their French forms
  depend on a number the pair does not show. The header entry (empty ``msgid``)
  is dropped.
- A message context (``msgctxt``) is dropped and the message kept.
- Fuzzy translations never reach a ``.mo`` file (``msgfmt`` leaves them out by
  default), nor do untranslated messages.
- Whitespace runs (newlines included) become one space; ends are stripped.
- Keyboard accelerators: on each side separately, a ``_`` is removed when it is
  the only one in the text, the text has no ``://`` or ``=`` (a URL, a setting),
  and the ``_`` is followed by a letter or digit, unless it joins an alphanumeric
  character to a capital letter: ``"_Open"``, ``"Save _As"``, ``"E_xit"``,
  ``"A_jouter"`` lose it; ``"KP_Up"``, ``"TYPE_MIME"``, ``"Sys_Req"`` and every text
  with two or more keep theirs. (GTK's ``_`` is the only accelerator mark in
  these catalogs; Qt's ``&`` is not touched.)
- Format placeholders (``%s``, ``%d``, ``%1$s``, ``{name}``), markup (``<b>``) and
  quotes are kept as they are: the model has to copy them, as a translator does.
- Pairs whose English has no letter are dropped (``"10×15"``, ``"150%"``, ``"; "``); a placeholder
  counts as letters (``"%s"`` is kept).
- ``--max-words N`` keeps pairs with at most N whitespace-separated words on
  both sides (default 15).
- Pairs are deduplicated by their English text: the first one in package order
  (the order below, then catalog paths in sorted order) is kept. The zoo's
  ``tsv:`` reader splits 80/10/10 by a hash of the source, so no English text is
  in two splits.

Terms: the catalogs are parts of free software (GPL, LGPL and compatible
licences) and carry their packages' licences; see each package's
``/usr/share/doc/PACKAGE/copyright``. Credit the GNOME and Xfce French
translation teams.

Usage::

    python experiments/fetch_real_translation_mo.py --out data/gnome_en_fr.tsv

The ``.deb`` files (about 45 MB) are kept in ``--cache-dir`` (default
``~/.cache/keras-seq-zoo/real_translation_mo``); a later run needs no network.
When Debian replaces a pinned version (a point release), ``apt-get download``
can no longer fetch it and the script stops with the versions it wanted; the
files are also on snapshot.debian.org.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import struct
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fetch_real_translation import write_tsv  # the same TSV writer as the Quran corpus
from harness import sha256

# (package, version, SHA-256 of the .deb): Debian 12 "bookworm", architecture all.
PACKAGES = (
    ("libgtk-3-common", "3.24.38-2~deb12u3", "f2642d127d85440acbfc2ed404d3932d8b2fbe8a576ead7f93f35ac1fa999c92"),
    ("libgtk2.0-common", "2.24.33-2+deb12u1", "f55a9800d3721b1de246e4bfaf94a63ca50efdfa49eb5fa2362ed4fa79258299"),
    ("libglib2.0-data", "2.74.6-2+deb12u9", "d98434e097009dedd2f2382c48b7debab5b14261966c0e0506a991b2496bea5f"),
    ("nautilus-data", "43.2-1", "2b0ba8ce95bbd9007ab4ff34070f67c2d41ca5c0b155bf8a12776f2ebb9b1481"),
    ("gedit-common", "44.2-1", "3d9446b4ddcc7db0df41d9ee7f71b60a1d29ad688b6acbe04fe6fbea3461d5ef"),
    ("evince-common", "43.1-2+deb12u1", "777ea7d094db2acd7b385e272b0ba6cf03c7e45d574e6f2c689b507de3d95dbb"),
    ("gnome-control-center-data", "1:43.6-2~deb12u1",
     "f76430c1f6db2be884bbc0e37cfa43752b49d252abb94d9cce494e8cdd8882a1"),
    ("gnome-shell-common", "43.9-0+deb12u2", "9e70b13b77e684b024732b10be4998474cede77f633b06bc35e483b06a678d9f"),
    ("gnome-desktop3-data", "43.2-2", "526929af724a04e43b9d26d128a72e2eaa400285ea8a924240d4ca211b9432ad"),
    ("gnome-settings-daemon-common", "43.0-4", "5ce49712de82e10d77c60908738c8786c586840acc8b7601313b455c9cff8726"),
    ("gnome-software-common", "43.5-1~deb12u2", "eea880e5fbf282d281f9e2e5fca7217763733ceb76076a597ab049a0cff6efa5"),
    ("totem-common", "43.0-2", "23190cc8726d7b8bfe9a4362260cdb2c98d304b195104ffc7ea382593c991ad8"),
    ("rhythmbox-data", "3.4.6-2", "9eb244e46496ee6f7f0710d82a62b6fa1129e08eff198022a914f6b621c91a70"),
    ("evolution-common", "3.46.4-2+deb12u1", "52e3a67ba3f2815fa864f600f5e3c2afd6ebc0b3487b50525df75006d4172b46"),
    ("gimp-data", "2.10.34-1+deb12u10", "89007a69d4ef2b0440e5419e75d4112cfd1c49e97db38220d210b9f86322be7c"),
    ("gnumeric-common", "1.12.55-1", "b474f0a67a781bdb41374110b54fe679c690f981dac356a9ca6260688df9f6b8"),
    ("thunar-data", "4.18.4-1", "8837817dbb7bf69c031360cbbc6923a85e5f4ee95b807d103b971751fd3f4852"),
    ("libxfce4ui-common", "4.18.2-2", "f16a5a73125e32aaf04a6541592358c4448552b8d5bf4d7f7a89468bd39a4360"),
)
NAME_LISTS = {"gnome-control-center-2.0-timezones.mo"}  # catalogs of names, left out
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras-seq-zoo", "real_translation_mo")
_LETTER = re.compile(r"[^\W\d_]")


def deb_name(package: str, version: str) -> str:
    """The file name ``apt-get download`` gives (an epoch's ``:`` written ``%3a``)."""
    return f"{package}_{version.replace(':', '%3a')}_all.deb"


def fetch(cache_dir: str, check: bool = True) -> list[str]:
    """Paths of the pinned ``.deb`` files, downloaded when missing, each checked against its SHA-256."""
    os.makedirs(cache_dir, exist_ok=True)
    missing = [f"{p}={v}" for p, v, _ in PACKAGES if not os.path.exists(os.path.join(cache_dir, deb_name(p, v)))]
    if missing:
        print("fetching: apt-get download " + " ".join(missing), file=sys.stderr)
        done = subprocess.run(["apt-get", "download", *missing], cwd=cache_dir, stdout=sys.stderr)
        if done.returncode:
            raise SystemExit(f"apt-get download failed (exit {done.returncode}); the pinned versions are "
                             f"{', '.join(missing)}: Debian may have replaced some (see snapshot.debian.org)")
    paths = []
    for package, version, expected in PACKAGES:
        path = os.path.join(cache_dir, deb_name(package, version))
        if not os.path.exists(path):
            raise SystemExit(f"{path}: not downloaded")
        if check and sha256(path) != expected:
            raise SystemExit(f"{path}: SHA-256 {sha256(path)} is not the pinned {expected}")
        paths.append(path)
    return paths


def mo_entries(data: bytes, where: str = "catalog") -> list[tuple[str | None, str, str | None, list[str]]]:
    """``[(context, msgid, msgid_plural, [msgstr, ...])]`` of one ``.mo`` file (GNU gettext's format)."""
    if len(data) < 28:
        raise ValueError(f"{where}: too short for a .mo file")
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else None
    if order is None:
        raise ValueError(f"{where}: not a .mo file (magic {magic:#x})")
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])

    def string(table: int, i: int) -> bytes:
        length, offset = struct.unpack(order + "2I", data[table + 8 * i: table + 8 * i + 8])
        return data[offset:offset + length]

    raw = [(string(originals, i), string(translations, i)) for i in range(count)]
    charset = "utf-8"
    for msgid, msgstr in raw:
        if msgid == b"":
            match = re.search(rb"charset=([\w-]+)", msgstr)
            if match and match.group(1).lower() != b"charset":
                charset = match.group(1).decode("ascii")
    out = []
    for msgid, msgstr in raw:
        original = msgid.decode(charset)
        context, _, original = original.rpartition("\x04") if "\x04" in original else (None, "", original)
        singular, _, plural = original.partition("\x00")
        out.append((context, singular, plural if "\x00" in original else None, msgstr.decode(charset).split("\x00")))
    return out


def catalogs(deb: str, language: str) -> list[tuple[str, bytes]]:
    """``[(path, bytes)]`` of the ``.mo`` files for ``language`` in one ``.deb``, by sorted path."""
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, capture_output=True).stdout
    prefix = f"usr/share/locale/{language}/LC_MESSAGES/"
    found = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if member.isfile() and name.startswith(prefix) and name.endswith(".mo") \
                    and os.path.basename(name) not in NAME_LISTS:
                found.append((name, tar.extractfile(member).read()))
    return sorted(found)


def strip_accelerator(text: str) -> str:
    """``text`` without its keyboard accelerator mark, by the rule in the module docstring."""
    if text.count("_") != 1 or "://" in text or "=" in text:
        return text
    before, after = text.split("_")
    if after[:1].isalnum() and not (before[-1:].isalnum() and after[:1].isupper()):
        return before + after
    return text


def clean_pair(source: str, target: str) -> tuple[str, str]:
    """Whitespace collapsed, and keyboard accelerators removed (see the module docstring)."""
    return strip_accelerator(" ".join(source.split())), strip_accelerator(" ".join(target.split()))


def pairs(debs: list[str], language: str, max_words: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Deduplicated (English, translation) pairs and counts of what each rule dropped."""
    counts = dict(catalogs=0, entries=0, plural=0, no_letter=0, empty=0, long=0, duplicate=0)
    out: dict[str, str] = {}
    for deb in debs:
        for path, data in catalogs(deb, language):
            counts["catalogs"] += 1
            for _, msgid, plural, msgstrs in mo_entries(data, f"{os.path.basename(deb)}:{path}"):
                if msgid == "":
                    continue  # the header
                counts["entries"] += 1
                if plural is not None:
                    counts["plural"] += 1
                    continue
                source, target = clean_pair(msgid, msgstrs[0])
                if not source or not target:
                    counts["empty"] += 1
                elif not _LETTER.search(source):
                    counts["no_letter"] += 1
                elif max_words and max(len(source.split()), len(target.split())) > max_words:
                    counts["long"] += 1
                elif source in out:
                    counts["duplicate"] += 1
                else:
                    out[source] = target
    counts["kept"] = len(out)
    return list(out.items()), counts


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/gnome_en_fr.tsv", help="TSV to write (source<TAB>target, no header)")
    ap.add_argument("--language", default="fr", help="catalog language, as in usr/share/locale/LANG (default fr)")
    ap.add_argument("--max-words", type=int, default=15,
                    help="keep pairs of at most this many words on both sides (default 15; 0: all)")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE, help="where the .deb files are kept")
    ap.add_argument("--print-pins", action="store_true",
                    help="print the PACKAGES table with the downloaded files' SHA-256 (to update the pins)")
    args = ap.parse_args(argv)
    if args.max_words < 0:
        ap.error("--max-words must be 0 (all) or positive")
    if not re.fullmatch(r"[A-Za-z]{2,3}(_[A-Z]{2})?(@\w+)?", args.language):
        ap.error(f"--language {args.language!r} is not a locale name such as fr or pt_BR")

    debs = fetch(args.cache_dir, check=not args.print_pins)
    if args.print_pins:
        for (package, version, _), deb in zip(PACKAGES, debs, strict=True):
            print(f'    ("{package}", "{version}", "{sha256(deb)}"),')
        return
    rows, counts = pairs(debs, args.language, args.max_words)
    if not rows:
        raise SystemExit(f"no {args.language} pairs in the pinned packages")
    write_tsv(rows, args.out)
    words = [sum(len(r[i].split()) for r in rows) / len(rows) for i in (0, 1)]
    same = sum(s == t for s, t in rows) / len(rows)
    print(f"{len(PACKAGES)} Debian packages, {counts['catalogs']} {args.language} catalogs, {counts['entries']} "
          f"entries -> {args.out}: {counts['kept']} pairs (dropped: {counts['plural']} plural, {counts['empty']} "
          f"empty, {counts['no_letter']} without a letter, {counts['long']} over {args.max_words} words, "
          f"{counts['duplicate']} repeated sources), {words[0]:.1f}/{words[1]:.1f} words per pair, "
          f"{same:.1%} identical on both sides")


if __name__ == "__main__":
    main()
