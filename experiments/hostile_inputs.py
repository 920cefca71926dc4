#!/usr/bin/env python3
"""Feed the zoo command line wrong and hostile inputs; each must exit 2, print no traceback,
and leave every file around it untouched.

    python experiments/hostile_inputs.py            # prints OK/BAD per case, exits 1 on any BAD

It works in a fresh temporary folder and trains one tiny run to have something to break.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SMALL = "builtin:negation,n=400"
TRAIN = ["train", "sentiment/lstm", "--data", SMALL, "--out", "r1"]
CASES = [
    [*TRAIN, "--epochs", "-1"],
    [*TRAIN, "--batch-size", "0"],
    [*TRAIN, "--set", "units"],
    [*TRAIN, "--set", "units=abc"],
    [*TRAIN, "--set", "learning_rate=inf"],
    [*TRAIN, "--set", "max_length=0"],
    ["train", "sentiment/nope", "--data", SMALL, "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:empty.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:header_only.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:one_class.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:semicolons.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:quote.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:emptydir", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:quote.csv,bad_rows=maybe", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "tfds:", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "builtin:negation,n=-3", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", SMALL, "--out", "run"],
    ["train", "sentiment/lstm", "--data", SMALL, "--out", "emptydir/../notes.txt"],
    [*TRAIN, "--preset", "preset_other_entry.json"],
    ["train", "sentiment/gru", "--data", SMALL, "--out", "r1", "--preset", "preset_list.json"],
    ["train", "sentiment/gru", "--data", SMALL, "--out", "r1", "--preset", "preset_bad_value.json"],
    ["train", "translation/gru_attention", "--data", "parallel:a.en,missing.de", "--out", "r1"],
    ["train", "translation/gru_attention", "--data", "tsv:one_field.tsv", "--out", "r1"],
    ["tune", "--config", "bad.toml", "--out", "t1"],
    ["tune", "--config", "unknown_key.toml", "--out", "t1"],
    ["tune", "sentiment/gru", "--data", SMALL, "--out", "t1", "--objective", "val_f1"],
    ["tune", "sentiment/gru", "--data", SMALL, "--out", "t1", "--space", "units=7,8"],
    ["tune", "sentiment/gru", "--data", SMALL, "--out", "t1", "--set", "units=32", "--space", "units=32,64"],
    ["tune", "sentiment/gru", "--data", SMALL, "--out", "run"],
    ["evaluate", "run", "--data", "csv:missing.csv"],
    ["evaluate", "notes.txt"],
    ["evaluate", "emptydir"],
    ["predict", "run"],
    ["predict", "run", "good", "--beam-width", "3"],
    ["predict", "nothing_here", "text"],
    ["export", "run", "--out", "notes.txt"],
    ["export", "run", "--out", "run"],
    ["export", "run", "--out", "exp", "--beam-width", "4"],
    ["describe", "sentiment/lsmt"],
    ["list", "--task", "poetry"],
    ["build", "sentiment/gru", "--set", "vocab_size=0"],
]


def _files() -> None:
    with open("notes.txt", "w") as f:
        f.write("x")
    with open("empty.csv", "w") as f:
        f.write("")
    with open("header_only.csv", "w") as f:
        f.write("text,label\n")
    with open("one_class.csv", "w") as f:
        f.write("text,label\n" + "".join(f"t{i},pos\n" for i in range(50)))
    with open("semicolons.csv", "wb") as f:
        f.write(b"\xef\xbb\xbftext;label\nhello;pos\n")
    with open("quote.csv", "w") as f:
        f.write('text,label\n"good movie,pos\nbad,neg\n')
    with open("a.en", "w") as f:
        f.write("hello\n")
    with open("one_field.tsv", "w") as f:
        f.write("hello\tbonjour\nno tab here\n")
    with open("bad.toml", "w") as f:
        f.write("entry = 'sentiment/gru'\ndata = \n")
    with open("unknown_key.toml", "w") as f:
        f.write("entry='sentiment/gru'\ndata='builtin:negation'\nmax_trails=3\n")
    for name, preset in {"preset_other_entry.json": {"entry": "sentiment/gru", "hyperparameters": {"units": 32}},
                         "preset_list.json": [1, 2],
                         "preset_bad_value.json": {"entry": "sentiment/gru", "hyperparameters": {"units": 9999}}
                         }.items():
        with open(name, "w") as f:
            json.dump(preset, f)
    os.makedirs("emptydir", exist_ok=True)


def _snapshot() -> dict[str, str]:
    found = {}
    for root, _, names in os.walk("."):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[path] = hashlib.md5(f.read()).hexdigest()
    return found


def main() -> int:
    import zoo
    from zoo.cli import main as zoo_main

    os.chdir(tempfile.mkdtemp(prefix="zoo-hostile-"))
    _files()
    zoo.train("sentiment/bag_of_embeddings", SMALL, "run", epochs=1, verbose=0)
    bad = 0
    for argv in CASES:
        before = _snapshot()
        captured = io.StringIO()
        sys.stdin = io.StringIO("")
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            try:
                code = zoo_main(argv)
            except BaseException:
                traceback.print_exc()
                code = "exception"
        text = captured.getvalue().strip()
        ok = code == 2 and "Traceback" not in text and _snapshot() == before
        bad += not ok
        lines = [line for line in text.splitlines() if line.strip()]
        print(("OK  " if ok else "BAD ") + " ".join(argv)[:90], "->", code, "|", (lines[-1] if lines else "")[:200])
    print(f"{len(CASES) - bad} of {len(CASES)} handled")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
