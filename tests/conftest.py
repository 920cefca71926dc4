"""Shared fixtures. Tests run offline on data the zoo generates or the tests write."""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow when installed (the full suite); a JAX-only install (.ci/run) runs tests/test_no_tensorflow.py on JAX.
os.environ.setdefault("KERAS_BACKEND", "tensorflow" if importlib.util.find_spec("tensorflow") else "jax")

import pytest

SMALL = "builtin:negation,n=400"  # a few hundred examples: one quick epoch


@pytest.fixture(autouse=True)
def _isolated_tuner_environment():
    """`zoo tune --chief/--worker` sets keras-tuner's KERASTUNER_* variables for its process; a test
    that runs the command line in-process must not turn every later search into a worker."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("KERASTUNER_") or k == "ZOO_CHIEF_TIMEOUT"}
    yield
    for key in [k for k in os.environ if k.startswith("KERASTUNER_") or k == "ZOO_CHIEF_TIMEOUT"]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def small_run(trained):
    """A sentiment/lstm run trained briefly on small built-in data, saved to disk."""
    return trained("sentiment/lstm", SMALL, epochs=2, batch_size=32)


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run the command line in this process: ``(exit code, stdout, stderr)``."""
    from zoo.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes."""
    import hashlib

    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


def assert_refused(capsys, argv, *names, folder=None, code: int = 2) -> str:
    """The command line refuses ``argv``: exit ``code`` (2: bad input), one ``zoo: error:`` line naming every
    one of ``names``, no traceback, and ``folder`` (when given) byte for byte as it was. Returns the output."""
    before = snapshot(folder) if folder else None
    got, out, err = cli(capsys, *argv)
    output = out + err
    assert got == code, output
    assert "Traceback" not in output and "zoo: error:" in output, output
    for name in names:
        assert str(name) in output, (name, output)
    if folder:
        assert snapshot(folder) == before
    return output


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """``trained(name, data, **settings)``: the run ``zoo.train`` makes for those arguments, trained once per
    test session and shared by every test file that asks for the same arguments (saved to disk; tests read
    it and never change it)."""
    import json

    import zoo

    cache: dict = {}
    root = tmp_path_factory.mktemp("trained")

    def get(name: str, data: str, **settings):
        key = (name, data, json.dumps(settings, sort_keys=True, default=str))
        if key not in cache:
            out = root / f"{len(cache):02d}-{name.replace('/', '_')}"
            cache[key] = zoo.train(name, data, str(out), verbose=0, **settings)
        return cache[key]

    return get


def write_csv(path, rows, header=("text", "label"), delimiter=","):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return str(path)
