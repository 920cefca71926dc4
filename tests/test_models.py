"""Every registry entry, end to end: build, train, save, reload, export, serve."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL

import zoo

TEXTS = ["the movie was good , not bad", "i expected the plot to be bad and it was not",
         "Overall, the acting was DULL!", "", "completely unseen words here"]


@pytest.mark.parametrize("name", zoo.list_models())
def test_entry_trains_saves_reloads_and_exports(name, tmp_path):
    run = zoo.train(name, SMALL, str(tmp_path / "run"), epochs=1, batch_size=32, verbose=0)
    assert len(run.history["loss"]) == 1 and np.isfinite(run.history["loss"][0])
    assert set(run.metrics["test"]) >= {"accuracy", "macro_f1", "loss"}

    before = np.array([list(r["probabilities"].values()) for r in run.predict(TEXTS)])
    assert np.allclose(before.sum(axis=1), 1.0, atol=1e-5)

    loaded = zoo.load(run.path)
    after = np.array([list(r["probabilities"].values()) for r in loaded.predict(TEXTS)])
    for saved, restored in zip(run.model.get_weights(), loaded.model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, restored)  # bit for bit
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)  # oneDNN may reorder float sums
    assert loaded.config["entry"] == name and loaded.config["hyperparameters"] == zoo.get(name).defaults()

    export = zoo.export(run.path, str(tmp_path / "export"))
    served = tf.saved_model.load(export)
    out = served.serve(tf.constant(TEXTS))
    np.testing.assert_allclose(out["probabilities"].numpy(), before, atol=1e-5)
    labels = [label.decode() for label in out["label"].numpy()]
    assert labels == [r["label"] for r in loaded.predict(TEXTS)]
    # The graph tokenizer and the Python tokenizer agree id for id.
    ids = served.tokenize(tf.constant(TEXTS))["token_ids"].numpy()
    np.testing.assert_array_equal(ids, loaded.preprocessor.encode_texts(TEXTS))
