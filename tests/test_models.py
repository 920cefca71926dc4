"""Every registry entry, end to end: build, train, save, reload, export, serve.

Driven by each task's own smoke data and sample inputs (``Task.smoke_data``,
``Task.sample_inputs``): a new task's entries are covered by adding the task.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import zoo


def _numbers(predictions):
    """Every float in the predictions, in order: what must survive save and export."""
    out = []

    def walk(value):
        if isinstance(value, dict):
            for key in sorted(value):
                walk(value[key])
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, float):
            out.append(value)

    for p in predictions:
        walk({k: v for k, v in p.items() if k != "input"})
    return np.array(out)


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.list_models())
def test_entry_trains_saves_reloads_and_exports(name, tmp_path, trained):
    task = zoo.get(name).task
    inputs = task.samples()
    run = trained(name, task.smoke_data, epochs=1, batch_size=32)
    assert len(run.history["loss"]) == 1 and np.isfinite(run.history["loss"][0])
    assert set(run.metrics["test"]) >= set(task.metrics)

    before = run.predict(inputs)
    assert len(before) == len(inputs) and all("input" in p and "output" in p for p in before)

    loaded = zoo.load(run.path)
    for saved, restored in zip(run.model.get_weights(), loaded.model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, restored)  # bit for bit
    after = loaded.predict(inputs)
    np.testing.assert_allclose(_numbers(after), _numbers(before), rtol=0, atol=1e-6)  # oneDNN may reorder sums
    assert [p["output"] for p in after] == [p["output"] for p in before]
    # the defaults for this run's data: a hyperparameter that depends on it (freeze_embeddings) is declared or not
    assert loaded.config["entry"] == name
    assert loaded.config["hyperparameters"] == zoo.get(name).defaults(loaded.config["problem"])

    export = zoo.export(run.path, str(tmp_path / "export"))
    served = zoo.predict(export, inputs)  # through the SavedModel's serve endpoint
    assert [p["output"] for p in served] == [p["output"] for p in before]
    np.testing.assert_allclose(_numbers(served), _numbers(before), atol=1e-5)


def test_sentiment_export_tokenizes_like_python(small_run, tmp_path):
    """The graph tokenizer and the Python tokenizer agree id for id."""
    texts = small_run.task.samples()
    served = tf.saved_model.load(zoo.export(small_run, str(tmp_path / "export")))
    ids = served.tokenize(tf.constant(texts))["token_ids"].numpy()
    np.testing.assert_array_equal(ids, small_run.preprocessor.encode_texts(texts))
    out = served.serve(tf.constant(texts))
    labels = [label.decode() for label in out["label"].numpy()]
    assert labels == [p["label"] for p in small_run.predict(texts)]


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention"])
def test_sentiment_pooling_ignores_padding_and_round_trips(pooling, tmp_path):
    """Pooling over time reads only the real steps; the pooled model saves and loads bit for bit."""
    import keras

    model = zoo.build("sentiment/gru", vocab_size=50, units=16, pooling=pooling)
    assert (f"{pooling}_over_time" in [layer.name for layer in model.layers]) == (pooling != "last")

    def run(m, ids):
        return keras.ops.convert_to_numpy(m(np.array([ids], dtype="int32"), training=False))

    short = run(model, [5, 6, 7])
    np.testing.assert_allclose(run(model, [5, 6, 7, 0, 0, 0, 0]), short, atol=1e-6)
    assert not np.allclose(run(model, [7, 6, 5]), short, atol=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_array_equal(run(loaded, [5, 6, 7, 0]), run(model, [5, 6, 7, 0]))


def test_sentiment_regularisation_settings_reach_the_model():
    from conftest import SMALL

    run = zoo.train("sentiment/gru", SMALL, epochs=3, patience=5, batch_size=32, verbose=0,
                    overrides={"learning_rate": 0.004, "lr_decay": 0.5, "weight_decay": 0.05,
                               "embedding_dropout": 0.3, "dropout": 0.2})
    np.testing.assert_allclose(run.history["learning_rate"], [0.004, 0.002, 0.001], rtol=1e-5)
    assert type(run.model.optimizer).__name__ == "AdamW" and run.model.optimizer.weight_decay == 0.05
    assert run.model.get_layer("embedding_dropout").noise_shape == (None, None, 1)  # whole words
    assert run.model.get_layer("embedding_dropout").rate == 0.3
    assert run.model.get_layer("features_dropout").rate == 0.2
    plain = zoo.build("sentiment/gru", vocab_size=50, weight_decay=0, embedding_dropout=0, dropout=0)
    assert type(plain.optimizer).__name__ == "Adam"
    assert not [layer for layer in plain.layers if "dropout" in layer.name]
