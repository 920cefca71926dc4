"""Mixed precision (issue 22): ``--precision`` builds under a 16-bit dtype policy, outputs stay float32,
the model trains to the float32 model's mark, the run saves, loads and resumes with its precision."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

import zoo
from zoo.cli import main

DATA = "builtin:negation,n=2000"  # float32 lstm, units 32, 4 epochs: about 0.76 test accuracy (0.74-0.87 seen)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("precision")
    return {p: zoo.train("sentiment/lstm", DATA, str(folder / p), epochs=4, overrides={"units": 32}, verbose=0,
                         precision=p) for p in ("float32", "mixed_float16", "mixed_bfloat16")}


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_to_the_float32_mark(runs, precision):
    """Measured (2 cores): float32 0.764, mixed_float16 0.868, mixed_bfloat16 0.736 test accuracy; the
    order-blind control stays near 0.5 on this set, so 0.65 means the recurrent model learnt word order."""
    run = runs[precision]
    assert run.metrics["test"]["accuracy"] >= 0.65, run.metrics["test"]
    assert run.metrics["test"]["accuracy"] >= runs["float32"].metrics["test"]["accuracy"] - 0.12
    assert np.isfinite(run.metrics["test"]["loss"])


@pytest.mark.slow
@pytest.mark.parametrize("precision, compute", [("float32", "float32"), ("mixed_float16", "float16"),
                                                ("mixed_bfloat16", "bfloat16")])
def test_layers_compute_in_16_bits_with_float32_weights_and_outputs(runs, precision, compute):
    run = runs[precision]
    assert run.config["precision"] == precision
    lstm = next(layer for layer in run.model._flatten_layers() if isinstance(layer, keras.layers.LSTM))
    assert lstm.compute_dtype == compute and all(w.dtype == "float32" for w in lstm.weights)
    classifier = run.model.get_layer("classifier")
    assert classifier.compute_dtype == "float32"
    probabilities = run.model.predict(run.preprocessor.encode_texts(["good , not bad"]), verbose=0)
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    # Saved and loaded, the run computes as it was trained; the process's own policy is untouched.
    loaded = zoo.load(run.path)
    lstm = next(layer for layer in loaded.model._flatten_layers() if isinstance(layer, keras.layers.LSTM))
    assert lstm.compute_dtype == compute
    texts = ["the plot was good , not bad", "the plot was bad , not good"]
    assert [p["label"] for p in loaded.predict(texts)] == [p["label"] for p in run.predict(texts)]
    assert keras.config.dtype_policy().name == "float32"
    with open(os.path.join(run.path, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["precision"] == precision


def test_decoder_logits_stay_float32_under_mixed_precision():
    from zoo.precision import policy

    zoo.get("language_model/lstm").space()  # learnt once, ending in clear_session, which resets Keras's policy
    with policy("mixed_bfloat16"):
        model = zoo.build("language_model/lstm", vocab_size=50, units=32, embedding_dim=16)
    assert keras.config.dtype_policy().name == "float32"
    logits = model(np.ones((2, 5), "int32"))
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert any(layer.compute_dtype == "bfloat16" for layer in model._flatten_layers()
               if isinstance(layer, keras.layers.LSTM))


def test_a_bad_precision_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(zoo.HyperparameterError, match=r"precision must be one of float32, mixed_float16, "
                                                       r"mixed_bfloat16, got 'half'"):
        zoo.train("sentiment/lstm", "builtin:negation,n=200", str(tmp_path / "run"), epochs=1, precision="half")
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()
    with pytest.raises(SystemExit) as info:
        main(["train", "sentiment/lstm", "--data", "builtin:negation,n=200", "--out", str(tmp_path / "r"),
              "--precision", "half"])
    assert info.value.code == 2 and "invalid choice: 'half'" in capsys.readouterr().err


def test_a_backup_resumes_only_with_its_precision(tmp_path):
    """An unfinished run (OUT.partial) with another precision is not resumed as if it were the same run."""
    from zoo.rundir import differences

    before = {"entry": "sentiment/lstm", "data": "d", "seed": 0}  # written before the option existed
    assert differences(before, {**before, "precision": "float32"}) == ""
    assert differences(before, {**before, "precision": "mixed_float16"}) == \
        "precision: 'float32' then, 'mixed_float16' now"


@pytest.mark.slow
def test_a_search_trains_every_trial_in_its_precision_and_resumes_only_with_it(tmp_path):
    out = str(tmp_path / "search")
    result = zoo.tune("sentiment/lstm", "builtin:negation,n=300", out, max_trials=1, epochs=1, verbose=0,
                      overrides={"units": 16}, precision="mixed_bfloat16")
    assert len(result.trials) == 1 and np.isfinite(result.trials[0]["score"])
    with pytest.raises(zoo.ZooError, match=r"holds a search with other settings \(precision: 'mixed_bfloat16' "
                                           r"then, 'float32' now\)"):
        zoo.tune("sentiment/lstm", "builtin:negation,n=300", out, max_trials=1, epochs=1, verbose=0,
                 overrides={"units": 16})
