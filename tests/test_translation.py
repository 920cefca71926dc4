"""Translation: compiled decoding equals the reference loop (step parity: test_decode_step.py), the
built-in bar, export without zoo, options (greedy, beam, sampling) and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from keras import ops

import zoo
from zoo.decoding import reference_beam, reference_greedy
from zoo.tasks.translation import make_translator

ENTRIES = zoo.list_models(task="translation")
SMALL = zoo.get("translation/gru_attention").task.smoke_data


@pytest.fixture(scope="module")
def dates_run(trained):
    """translation/gru_attention trained on builtin:dates to the issue's bar (the session's cache of runs)."""
    return trained("translation/gru_attention", "builtin:dates,n=4000")


@pytest.mark.slow
def test_compiled_decoding_equals_the_reference_loop(dates_run):
    model, pre = dates_run.model, dates_run.preprocessor
    sources = [s for s, _ in dates_run.task.load_data("builtin:dates,n=4000").test[:12]]
    ids = pre.encode_sources(sources)
    state = model.initial_decoding_state(ids)
    compiled = np.asarray(make_translator(model, pre)(ops.convert_to_tensor(ids)))

    def step(tokens, s):
        logits, new = model.decode_step(ops.convert_to_tensor(tokens), s)
        return ops.convert_to_numpy(logits), new

    reference = reference_greedy(step, state, pre.target.start_id, pre.target.end_id, pre.target_length)
    np.testing.assert_array_equal(compiled, reference)
    beam = np.asarray(make_translator(model, pre, beam_width=3)(ops.convert_to_tensor(ids)))
    beam_reference, _ = reference_beam(step, state, pre.target.start_id, pre.target.end_id, pre.target_length,
                                       beam_width=3)
    np.testing.assert_array_equal(beam, beam_reference)
    width_one = np.asarray(make_translator(model, pre, beam_width=1)(ops.convert_to_tensor(ids)))
    np.testing.assert_array_equal(width_one, compiled)


@pytest.mark.slow
def test_gru_attention_reaches_the_builtin_bar(dates_run):
    """Defaults only: exact match >= 0.95 and BLEU >= 90 on the test split of builtin:dates."""
    test = dates_run.metrics["test"]
    assert test["exact_match"] >= 0.95 and test["bleu"] >= 90, test
    assert set(test) >= {"bleu", "chrf", "exact_match", "token_accuracy", "loss", "examples"}
    history = dates_run.history
    assert len(history["val_bleu"]) == len(history["loss"])  # decoded at every epoch end
    assert dates_run.metrics["best_epoch"] == 1 + int(np.argmax(history["val_bleu"]))


@pytest.mark.slow
def test_predict_evaluate_and_options(dates_run, capsys):
    from zoo.cli import main

    out = dates_run.predict(["March 3, 2021", "the fourth of july , nineteen seventy six"])
    assert [p["output"] for p in out] == ["2021-03-03", "1976-07-04"]
    beam = dates_run.predict(["March 3, 2021"], beam_width=4)
    assert beam[0]["translation"] == "2021-03-03"
    # Empty, unknown and over-long inputs have defined outputs, never a crash.
    odd = dates_run.predict(["", "zzz qqq", "march " * 500])
    assert all(isinstance(p["translation"], str) for p in odd)
    assert all(len(p["translation"]) < 200 for p in odd)
    with pytest.raises(zoo.HyperparameterError, match=r"beam_width \(--beam-width\) must be a positive integer"):
        dates_run.predict(["x"], beam_width=0)
    code = main(["predict", dates_run.path, "March 3, 2021", "--beam-width", "2", "--json"])
    printed = capsys.readouterr().out
    assert code == 0 and json.loads(printed.splitlines()[0])["translation"] == "2021-03-03"
    # Seeded sampling: the same seed, the same translations; temperature 0 is greedy; a hot one samples.
    sources = ["March 3, 2021", "the fourth of july , nineteen seventy six", "3.3.21"]
    greedy = [p["translation"] for p in dates_run.predict(sources)]
    sampled = dates_run.predict(sources, temperature=1.0, top_k=5, seed=3)
    assert dates_run.predict(sources, temperature=1.0, top_k=5, seed=3) == sampled
    assert [p["translation"] for p in dates_run.predict(sources, temperature=0.0, seed=9)] == greedy
    assert any([p["translation"] for p in dates_run.predict(sources, temperature=5.0, seed=s)] != greedy
               for s in range(3))
    code = main(["predict", dates_run.path, *sources, "--temperature", "1", "--top-k", "5", "--seed", "3", "--json"])
    printed = capsys.readouterr().out
    assert code == 0 and [json.loads(line) for line in printed.splitlines()] == sampled
    for flags, message in ((["--temperature", "-1"], "temperature (--temperature) must be a number from 0 to 100"),
                           (["--top-k", "-2"], "top_k (--top-k) must be an integer >= 0"),
                           (["--seed", "-1"], "seed (--seed) must be an integer from 0 to 2147483647"),
                           (["--beam-width", "0"], "beam_width (--beam-width) must be a positive integer"),
                           (["--beam-width", "2", "--temperature", "0.5"], "beam_width (--beam-width) 2 searches")):
        assert main(["predict", dates_run.path, "x", *flags]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("zoo: error: ") and message in err[0], (flags, err)
    code = main(["evaluate", dates_run.path])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["exact_match"] == pytest.approx(dates_run.metrics["test"]["exact_match"])


def test_sentiment_refuses_translation_options(small_run):
    with pytest.raises(zoo.HyperparameterError, match=r"sentiment prediction takes no option 'beam_width'"):
        small_run.predict(["good"], beam_width=4)


@pytest.mark.slow
def test_export_translates_in_a_process_without_zoo(dates_run, tmp_path):
    export = zoo.export(dates_run, str(tmp_path / "export"), beam_width=3)
    sources = ["March 3, 2021", "3.3.21", "", "the third of march in the year two thousand and twenty one"]
    expected = [p["translation"] for p in dates_run.predict(sources)]
    expected_beam = [p["translation"] for p in dates_run.predict(sources, beam_width=3)]
    code = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load({export!r})
        texts = tf.constant({sources!r})
        greedy = [t.decode() for t in loaded.translate(texts)["translation"].numpy()]
        beam = [t.decode() for t in loaded.translate_beam(texts)["translation"].numpy()]
        state = loaded.initial_state(texts)
        state = [state[f"state_{{i}}"] for i in range(len(state))]
        step = loaded.decode_step(tf.fill([4], {dates_run.preprocessor.target.start_id}), *state)
        print(json.dumps({{"greedy": greedy, "beam": beam, "logits": step["logits"].shape.as_list(),
                          "zoo": "zoo" in sys.modules}}))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["greedy"] == expected and result["beam"] == expected_beam and not result["zoo"]
    assert result["logits"] == [4, dates_run.preprocessor.target.vocab_size]
    assert [p["translation"] for p in zoo.predict(export, sources)] == expected
    with pytest.raises(zoo.HyperparameterError, match="export again with --beam-width 5"):
        zoo.predict(export, sources, beam_width=5)
    # Seeded sampling: the export's translate_sample endpoint gives the run's translations.
    sampled = [p["translation"] for p in dates_run.predict(sources, temperature=2.0, top_k=4, seed=7)]
    assert [p["translation"] for p in zoo.predict(export, sources, temperature=2.0, top_k=4, seed=7)] == sampled


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_tuning_on_val_bleu(tmp_path, tuner):
    result = zoo.tune("translation/gru_attention", SMALL, str(tmp_path / "search"), tuner=tuner, max_trials=2,
                      epochs=2, space={"units": [32, 64]}, overrides={"attention_units": 32},
                      final_fit=tuner == "random", verbose=0, tensorboard=False)
    assert result.objective == "val_bleu" and result.direction == "max"
    assert result.trials and all(t["status"] == "COMPLETED" for t in result.trials)
    assert all(0 <= t["score"] <= 100 for t in result.trials)
    preset = json.load(open(result.preset_path))
    assert preset["objective"] == "val_bleu" and preset["hyperparameters"]["units"] in (32, 64)
    if tuner == "random":
        assert set(result.final["test"]) >= {"bleu", "chrf", "exact_match"}


@pytest.mark.slow
def test_zoo_tune_bayesian_on_the_builtin_set(tmp_path, capsys):
    """The command line with the Bayesian tuner: trials scored by val_bleu, table, plot and preset."""
    from zoo.cli import main

    out = tmp_path / "search"
    code = main(["tune", "translation/gru_attention", "--data", SMALL, "--out", str(out), "--tuner", "bayesian",
                 "--max-trials", "2", "--epochs", "1", "--space", "units=32,64", "--set", "attention_units=32"])
    printed, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    summary = json.loads(printed[printed.index("{"):])
    assert summary["objective"] == "val_bleu" and summary["trials"] == 2
    assert 0 <= summary["best"]["score"] <= 100 and summary["best"]["hyperparameters"]["units"] in (32, 64)
    assert "val_bleu" in printed[:printed.index("{")]  # the trials table comes first
    preset = json.load(open(summary["preset"]))
    assert preset["tuner"] == "bayesian" and preset["objective"] == "val_bleu"
    assert preset["hyperparameters"]["attention_units"] == 32
    with open(out / "trials.csv", encoding="utf-8") as f:
        rows = f.read().splitlines()
    assert len(rows) == 3 and all(",COMPLETED," in row for row in rows[1:]), rows
    assert (out / "objective.png").stat().st_size > 0
    oracle = json.load(open(out / "search" / "oracle.json"))
    assert "num_initial_points" in oracle  # keras-tuner's BayesianOptimizationOracle ran the search


def test_tuning_experiment_file_is_valid():
    from zoo.tuning import load_config

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in ("tune_translation_dates.toml", "tune_translation_ted.toml"):
        config = load_config(os.path.join(root, "experiments", name))
        spec = zoo.get(config["entry"])
        known = set(spec.space()) | set(spec.task.preprocessing_options)
        assert set(config.get("set", {})) | set(config.get("space", {})) <= known, name
        assert config["objective"] in spec.task.objectives
