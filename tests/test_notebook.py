"""The notebooks' code runs as written (on smaller draws of the built-in data)."""

from __future__ import annotations

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_notebook(name: str) -> dict:
    """Execute every code cell of notebooks/NAME in one namespace, as Jupyter would; return it."""
    with open(os.path.join(ROOT, "notebooks", name), encoding="utf-8") as f:
        notebook = json.load(f)
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), name, "exec"), namespace)
    return namespace


def test_quickstart_notebook_runs(monkeypatch):
    monkeypatch.setenv("ZOO_QUICKSTART_DATA", "builtin:negation,n=600")
    namespace = run_notebook("quickstart.ipynb")
    assert namespace["gru"].metrics["test"]["accuracy"] > 0.5
    assert len(namespace["search"].trials) == 3
    import tensorflow as tf

    out = namespace["served"].serve(tf.constant(["the film was bad , not good"]))
    assert out["probabilities"].shape == (1, 2) and namespace["tuned"].count_params() > 0


def test_tasks_tour_notebook_runs(monkeypatch):
    monkeypatch.setenv("ZOO_TOUR_SMALL", "1")
    ns = run_notebook("tasks_tour.ipynb")
    import tensorflow as tf

    # Each export serves raw inputs and agrees with its run.
    assert [t.decode() for t in ns["mt_served"].translate(tf.constant(["March 3, 2021"]))["translation"].numpy()] \
        == [ns["mt"].predict(["March 3, 2021"])[0]["output"]]
    assert [c.decode() for c in ns["caption_served"].caption(tf.constant(ns["png"]))["caption"].numpy()] \
        == [p["caption"] for p in ns["captioner"].predict(ns["images"])]
    assert [x.decode() for x in ns["out"]["label"].numpy()[0]] == ns["predicted"]["labels"]
    assert ns["generated"]["text"].numpy()[0].decode() == ns["sampled"] and ns["sampled"].startswith("the dog")
