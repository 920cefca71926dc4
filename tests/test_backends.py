"""The same entries train and tune on JAX and torch; the run then exports from TensorFlow.

Each backend runs in its own process, and so does the TensorFlow export: TensorFlow, JAX and
torch loaded into one long-lived process (this one) crashed it now and then with a segfault.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

TRAIN = """
import json, sys, keras, zoo
run = zoo.train("sentiment/gru", "builtin:negation,n=2000", sys.argv[1] + "/run", epochs=4, verbose=0)
search = zoo.tune("sentiment/bag_of_embeddings", "builtin:negation,n=400", sys.argv[1] + "/tune",
                  max_trials=2, epochs=1, verbose=0)
print(json.dumps({"backend": keras.backend.backend(), "accuracy": run.metrics["test"]["accuracy"],
                  "trials": [t["status"] for t in search.trials]}))
"""

# A TensorFlow process loads the run and exports it. It first tries with the training backend's
# package made unimportable, as on a serving machine that has only TensorFlow.
EXPORT = """
import importlib.abc, json, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed here")

BLOCKED = set(sys.argv[3].split(","))
block = Block()
sys.meta_path.insert(0, block)
import keras, tensorflow as tf, zoo
try:
    run, without = zoo.load(sys.argv[1]), None
except zoo.ZooError as exc:
    without = str(exc)
    sys.meta_path.remove(block)
    run = zoo.load(sys.argv[1])
texts = ["the film was good , not bad", "the film was bad , not good"]
expected = [r["probability"] for r in run.predict(texts)]
exported = tf.saved_model.load(zoo.export(run, sys.argv[2]))
served = exported.serve(tf.constant(texts))["probability"].numpy().tolist()
print(json.dumps({"backend": keras.backend.backend(), "expected": expected, "served": served,
                  "load_without_backend": without}))
"""

PACKAGES = {"jax": "jax,jaxlib", "torch": "torch"}


def _last_json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backend_trains_tunes_and_exports_from_tensorflow(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[test]' brings jax)")
    env = {**os.environ, "KERAS_BACKEND": backend}
    report = _last_json(subprocess.run([sys.executable, "-c", TRAIN, str(tmp_path)], env=env, capture_output=True,
                                       text=True))
    assert report["backend"] == backend and report["trials"] == ["COMPLETED", "COMPLETED"]
    assert report["accuracy"] >= 0.8  # learns on this backend too

    # The .keras file is backend-neutral: a TensorFlow process loads and exports it.
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    exported = _last_json(subprocess.run(
        [sys.executable, "-c", EXPORT, str(tmp_path / "run"), str(tmp_path / "export"), PACKAGES[backend]],
        env=env, capture_output=True, text=True))
    assert exported["backend"] == "tensorflow"
    assert exported["served"] == pytest.approx(exported["expected"], abs=1e-5)
    assert max(exported["expected"]) > 0.5  # real probabilities of the predicted labels
    # model.keras names the training backend's optimizer class (torch's Adam): zoo.load falls back to
    # the weights alone and compiles as the entry does, so a TensorFlow-only machine loads the run.
    assert exported["load_without_backend"] is None, exported["load_without_backend"]
