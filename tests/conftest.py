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
def small_run(tmp_path_factory):
    """A sentiment/lstm run trained briefly on small built-in data, saved to disk."""
    import zoo

    out = tmp_path_factory.mktemp("runs") / "lstm"
    return zoo.train("sentiment/lstm", SMALL, str(out), epochs=2, batch_size=32, verbose=0)


def write_csv(path, rows, header=("text", "label"), delimiter=","):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return str(path)
