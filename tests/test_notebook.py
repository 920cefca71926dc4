"""The quickstart notebook's code runs as written (on a smaller draw of the built-in data)."""

from __future__ import annotations

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_notebook_runs(monkeypatch):
    monkeypatch.setenv("ZOO_QUICKSTART_DATA", "builtin:negation,n=600")
    with open(os.path.join(ROOT, "notebooks", "quickstart.ipynb"), encoding="utf-8") as f:
        notebook = json.load(f)
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "quickstart.ipynb", "exec"), namespace)
    assert namespace["gru"].metrics["test"]["accuracy"] > 0.5
    assert len(namespace["search"].trials) == 3
    import tensorflow as tf

    out = namespace["served"].serve(tf.constant(["the film was bad , not good"]))
    assert out["probabilities"].shape == (1, 2) and namespace["tuned"].count_params() > 0
