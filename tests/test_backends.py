"""The same entries train and tune on JAX and torch; the run then exports from TensorFlow."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

import zoo

SCRIPT = """
import json, sys, keras, zoo
run = zoo.train("sentiment/gru", "builtin:negation,n=2000", sys.argv[1] + "/run", epochs=4, verbose=0)
search = zoo.tune("sentiment/bag_of_embeddings", "builtin:negation,n=400", sys.argv[1] + "/tune",
                  max_trials=2, epochs=1, verbose=0)
print(json.dumps({"backend": keras.backend.backend(), "accuracy": run.metrics["test"]["accuracy"],
                  "trials": [t["status"] for t in search.trials]}))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backend_trains_tunes_and_exports_from_tensorflow(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[test]' brings jax)")
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend and report["trials"] == ["COMPLETED", "COMPLETED"]
    assert report["accuracy"] >= 0.8  # learns on this backend too

    # The .keras file is backend-neutral: this TensorFlow process loads and exports it.
    run = zoo.load(str(tmp_path / "run"))
    texts = ["the film was good , not bad", "the film was bad , not good"]
    expected = [r["probability"] for r in run.predict(texts)]
    exported = tf.saved_model.load(zoo.export(run, str(tmp_path / "export")))
    served = exported.serve(tf.constant(texts))
    assert served["probability"].numpy().tolist() == pytest.approx(expected, abs=1e-5)
