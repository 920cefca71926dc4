"""Language models: prime equals the fused layers (step parity: test_decode_step.py), masked metrics,
the built-in bar against a unigram baseline, generation (greedy, seeded sampling, beam search), the
generate verb, export without zoo,
data readers and their errors, character level, transfer to sentiment."""

from __future__ import annotations

import collections
import gzip
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow_datasets as tfds
from keras import ops

import zoo
from zoo.cli import main
from zoo.data import parse_spec
from zoo.data.builtin_text import INTRANSITIVE, NOUNS
from zoo.data.text_files import load_text
from zoo.data.tfds_text import load_tfds_text
from zoo.tasks.language_model import CharacterTokenizer, LanguageModelPreprocessor, Perplexity

TASK = zoo.get("language_model/lstm").task
GRAMMAR = "builtin:grammar,n=1500"
SMALL = {"units": 64, "embedding_dim": 32, "dropout": 0.0, "learning_rate": 0.01}


@pytest.fixture(scope="module")
def grammar_run(trained):
    """language_model/lstm (2 layers of 64) trained on the built-in grammar (the session's cache of runs)."""
    return trained("language_model/lstm", GRAMMAR, epochs=8, overrides=SMALL)


def _unigram_perplexity(train: list[str], test: list[str], preprocessor) -> float:
    """Add-one unigram model of the training tokens (END included), scored on the test tokens."""
    counts = collections.Counter(int(t) for doc in preprocessor.documents(train) for t in doc[1:])
    vocab, total = preprocessor.tokenizer.vocab_size, sum(counts.values())
    targets = [int(t) for doc in preprocessor.documents(test) for t in doc[1:]]
    nll = -sum(math.log((counts[t] + 1) / (total + vocab)) for t in targets)
    return math.exp(nll / len(targets))


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["language_model/lstm", "language_model/gru"])
def test_prime_equals_the_fused_layers(name):
    """prime: the state after all but each row's last token; one more step gives that position's logits
    (step-by-step parity itself: test_decode_step.py)."""
    model = zoo.build(name, vocab_size=30, units=32, embedding_dim=16, depth=2)
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 30, size=(4, 9)).astype("int32")
    ids[:, 0] = 2
    ids[1, 5:] = 0  # right padding of different lengths
    ids[3, 1:] = 0
    fused = ops.convert_to_numpy(model(ids))
    state, last = model.prime(ids)
    lengths = (ids != 0).sum(axis=1)
    np.testing.assert_array_equal(ops.convert_to_numpy(last), ids[np.arange(4), lengths - 1])
    logits, _ = model.decode_step(last, state)
    np.testing.assert_allclose(ops.convert_to_numpy(logits), fused[np.arange(4), lengths - 1], atol=1e-5)


def test_windows_predict_every_token_once_and_padding_never_counts():
    tok = CharacterTokenizer.fit(["abcab", "ba"], max_tokens=20)
    pre = LanguageModelPreprocessor(tok, window=3)
    x, y, w = pre.windows(["abcab", "ba"])
    # "abcab" -> [S a b c a b E]: 6 targets in windows of 3; "ba" -> [S b a E]: 3 targets.
    assert x.shape == (3, 3) and w.sum() == 9
    assert x[0, 0] == tok.start_id and x[1, 0] == y[0, -1]  # a later window starts with the token before it
    np.testing.assert_array_equal(w, (y != 0).astype("float32"))
    # Perplexity sums over real targets only, whatever the logits at padded steps.
    metric = Perplexity()
    logits = np.random.default_rng(0).normal(size=(*y.shape, tok.vocab_size)).astype("float32")
    metric.update_state(y, logits, w)
    first = float(metric.result())
    logits[w == 0] = 50.0 * np.random.default_rng(1).normal(size=(int((w == 0).sum()), tok.vocab_size))
    metric.reset_state()
    metric.update_state(y[:2], logits[:2], w[:2])  # and in two batches
    metric.update_state(y[2:], logits[2:], w[2:])
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
    expected = math.exp(float((nll * w).sum() / w.sum()))
    assert float(metric.result()) == pytest.approx(first, rel=1e-5) == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_evaluate_is_exact_over_batches(grammar_run):
    pre, model = grammar_run.preprocessor, grammar_run.model
    test = grammar_run.task.load_data(GRAMMAR).test
    report = TASK.evaluate(model, pre, test, 64, "test")
    x, y, w = pre.windows(test)
    logits = ops.convert_to_numpy(model(x))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
    assert report["tokens"] == int(w.sum())
    assert report["perplexity"] == pytest.approx(math.exp((nll * w).sum() / w.sum()), rel=1e-4)
    assert report["loss"] == pytest.approx(math.log(report["perplexity"]))
    assert TASK.evaluate(model, pre, test, 7, "test")["perplexity"] == pytest.approx(report["perplexity"], rel=1e-4)


@pytest.mark.slow
def test_beats_the_unigram_baseline_on_the_builtin_grammar(grammar_run):
    splits = grammar_run.task.load_data(GRAMMAR)
    unigram = _unigram_perplexity(splits.train, splits.test, grammar_run.preprocessor)
    test = grammar_run.metrics["test"]
    assert unigram > 15 and test["perplexity"] < unigram / 3, (test, unigram)
    assert set(test) >= {"perplexity", "token_accuracy", "loss"}
    history = grammar_run.history
    assert grammar_run.metrics["best_epoch"] == 1 + int(np.argmin(history["val_perplexity"]))


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_generation_greedy_and_seeded(grammar_run):
    prompts = ["the dog", "the cats that the king", ""]
    greedy = grammar_run.predict(prompts, max_length=12)
    assert [p["text"] for p in grammar_run.predict(prompts, max_length=12, top_k=1, temperature=1.5)] == \
        [p["text"] for p in greedy]
    assert all(p["text"].startswith(p["prompt"]) for p in greedy)
    assert greedy[0]["text"] == f"the dog {greedy[0]['continuation']}"
    sampled = grammar_run.predict(prompts, max_length=12, temperature=1.0, seed=5)
    assert grammar_run.predict(prompts, max_length=12, temperature=1.0, seed=5) == sampled
    others = [grammar_run.predict(prompts, max_length=12, temperature=1.0, seed=s) for s in (6, 7)]
    assert any(o != sampled for o in others)
    # What it learned: a singular subject takes a singular verb (greedy, after "the dog").
    words = greedy[0]["continuation"].split()
    assert words[0] in {"runs", "sleeps", "sings", "waits", "sees", "likes", "chases", "follows", "that"}, greedy[0]
    with pytest.raises(zoo.HyperparameterError, match=r"temperature \(--temperature\) must be a number from 0"):
        grammar_run.predict(["x"], temperature=-1.0)


@pytest.mark.slow
def test_beam_search_generation_equals_the_reference_beam(grammar_run):
    from zoo.decoding import reference_beam

    model, pre = grammar_run.model, grammar_run.preprocessor
    prompts = ["the dog", "the cats that the king", ""]
    beam = grammar_run.predict(prompts, max_length=10, beam_width=3)
    assert grammar_run.predict(prompts, max_length=10, beam_width=1) == grammar_run.predict(prompts, max_length=10)
    ids = pre.encode_prompts(prompts)
    state, last = model.prime(ids[:, :8])

    def step(tokens, s):
        logits, new = model.decode_step(ops.convert_to_tensor(tokens), s)
        return ops.convert_to_numpy(logits), new

    tokens, _ = reference_beam(step, state, last, pre.tokenizer.end_id, 10, beam_width=3)
    assert [p["text"] for p in beam] == [pre.join(p, t)[1] for p, t in zip(prompts, tokens, strict=True)]
    assert all(p["text"].startswith(p["prompt"]) for p in beam)


@pytest.mark.slow
@pytest.mark.parametrize(("flags", "pattern"), [
    (["--temperature", "-1"], r"temperature \(--temperature\) must be a number from 0 to 100"),
    (["--top-k", "-2"], r"top_k \(--top-k\) must be an integer >= 0"),
    (["--max-length", "0"], r"max_length \(--max-length\) must be an integer from 1 to 10000"),
    (["--seed", "-1"], r"seed \(--seed\) must be an integer from 0 to 2147483647"),
    (["--beam-width", "0"], r"beam_width \(--beam-width\) must be a positive integer"),
    (["--beam-width", "2", "--temperature", "0.5"], r"beam_width \(--beam-width\) 2 searches .* give one of them"),
])
def test_generate_cli_rejects_bad_values(grammar_run, flags, pattern, capsys):
    assert main(["generate", grammar_run.path, "--prompt", "the dog", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zoo: error: ") and __import__("re").search(pattern, err[0])


@pytest.mark.slow
def test_generate_cli(grammar_run, tmp_path, capsys):
    code = main(["generate", grammar_run.path, "--prompt", "the dog", "--prompt", "the cats",
                 "--temperature", "0.8", "--top-k", "5", "--seed", "3", "--max-length", "10", "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    expected = grammar_run.predict(["the dog", "the cats"], max_length=10, temperature=0.8, top_k=5, seed=3)
    assert [json.loads(line)["text"] for line in lines] == [p["text"] for p in expected]
    code = main(["generate", grammar_run.path, "--prompt", "the dog", "--beam-width", "3", "--max-length", "10"])
    assert code == 0 and capsys.readouterr().out.strip() == \
        grammar_run.predict(["the dog"], max_length=10, beam_width=3)[0]["text"]
    other = tmp_path / "sentiment_run"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"task": "sentiment", "entry": "sentiment/lstm"}))
    assert main(["generate", str(other), "--prompt", "x"]) == 2
    assert "is a sentiment one" in capsys.readouterr().err


@pytest.mark.slow
def test_export_generates_in_a_process_without_zoo(grammar_run, tmp_path):
    export = zoo.export(grammar_run, str(tmp_path / "export"))
    prompts = ["the dog", "", "the cats that the king", "zzz unknown"]
    greedy = [p["text"] for p in grammar_run.predict(prompts, max_length=15)]
    sampled = [p["text"] for p in grammar_run.predict(prompts, max_length=15, temperature=0.9, top_k=10, seed=11)]
    code = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load({export!r})
        prompts = tf.constant({prompts!r})
        def texts(out):
            return [t.decode() for t in out["text"].numpy()]
        greedy = texts(loaded.generate(prompts, tf.constant(15), tf.constant(0.0), tf.constant(0), tf.constant(0)))
        sampled = texts(loaded.generate(prompts, tf.constant(15), tf.constant(0.9), tf.constant(10), tf.constant(11)))
        served = loaded.serve(prompts)["token_ids"].shape.as_list()
        print(json.dumps({{"greedy": greedy, "sampled": sampled, "served": served, "zoo": "zoo" in sys.modules}}))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["greedy"] == greedy and result["sampled"] == sampled and not result["zoo"]
    assert result["served"] == [4, grammar_run.preprocessor.window]
    assert [p["text"] for p in zoo.predict(export, prompts, max_length=15, temperature=0.9, top_k=10, seed=11)] \
        == sampled
    with pytest.raises(zoo.HyperparameterError, match=r"beam search runs with the run directory"):
        zoo.predict(export, prompts, beam_width=3)
    assert main(["generate", export, "--prompt", "the dog", "--max-length", "0"]) == 2


@pytest.mark.slow
def test_character_level_trains_and_exports(tmp_path):
    run = zoo.train("language_model/gru", "builtin:grammar,n=100", str(tmp_path / "run"), epochs=1,
                    overrides={"tokenizer": "character", "window": 48, "units": 32, "embedding_dim": 16,
                               "depth": 1}, verbose=0)
    tok = run.preprocessor.tokenizer
    assert isinstance(tok, CharacterTokenizer) and tok.vocab_size < 40  # letters, space, '.', reserved
    prompts = ["the do", "", "Ünïcode ☃ chars"]
    local = run.predict(prompts, max_length=20, temperature=1.0, seed=2)
    assert all(len(p["continuation"]) <= 20 for p in local)
    export = zoo.export(run, str(tmp_path / "export"))
    assert zoo.predict(export, prompts, max_length=20, temperature=1.0, seed=2) == local
    import tensorflow as tf

    loaded = tf.saved_model.load(export)
    ids = loaded.tokenize(tf.constant(prompts))["token_ids"].numpy()
    np.testing.assert_array_equal(ids, run.preprocessor.encode_prompts(prompts))
    reloaded = zoo.load(run.path)
    assert reloaded.predict(prompts, max_length=20, temperature=1.0, seed=2) == local


@pytest.mark.slow
def test_tuning_minimises_val_perplexity(tmp_path):
    result = zoo.tune("language_model/gru", "builtin:grammar,n=100", str(tmp_path / "search"), max_trials=2,
                      epochs=1, space={"units": [32, 64]}, overrides={"depth": 1, "embedding_dim": 16}, verbose=0,
                      tensorboard=False)
    assert result.objective == "val_perplexity" and result.direction == "min"
    assert [t["status"] for t in result.trials] == ["COMPLETED", "COMPLETED"]
    assert result.best["score"] == min(t["score"] for t in result.trials) > 1


def test_recorded_grammar_results_beat_the_ngram_baselines():
    """The recorded builtin:grammar results (rendered on the language-model page, checked by tests/test_docs.py):
    every entry below the bigram model's perplexity, which is below the unigram model's."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "experiments", "results", "lm_grammar.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    assert recorded["data"] == "builtin:grammar" and recorded["results"]
    for r in recorded["results"]:
        assert r["median_perplexity"] < r["median_bigram_perplexity"] < r["median_unigram_perplexity"]


def test_character_tokenizer_round_trip_in_python_and_tf(tmp_path):
    import tensorflow as tf

    texts = ["Hello,  world!", "  ünï\tcode\n", "", "x" * 30]
    tok = CharacterTokenizer.fit(texts[:2], max_tokens=100)
    ids = tok.encode(texts, 12, add_start=True, add_end=True)
    np.testing.assert_array_equal(tok.tf_encode(tf.constant(texts), 12, add_start=True, add_end=True).numpy(), ids)
    assert tok.decode(ids[:2]) == ["Hello, wor", "ünï code"]  # 10 characters fit with START and END
    assert [t.decode() for t in tok.tf_decode(ids).numpy()] == tok.decode(ids)
    assert tok.decode([[2, 1, 3]]) == ["\ufffd"]  # "x" is unknown
    tok.save(str(tmp_path / "tok"))
    assert CharacterTokenizer.load(str(tmp_path / "tok")).vocabulary == tok.vocabulary


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def _text(spec: str):
    return load_text(parse_spec(spec))


def test_text_file_folder_paragraphs_and_parts(tmp_path):
    lines = [f"line number {i} of the file" for i in range(60)]
    (tmp_path / "doc.txt").write_text("\n".join(lines[:30]) + "\n\n  \n" + "\n".join(lines[30:]) + "\n",
                                      encoding="utf-8")
    s = _text(f"text:{tmp_path / 'doc.txt'}")
    assert sorted(s.get("all")) == sorted(lines) and s.train and s.validation and s.test
    assert _text(f"text:{tmp_path / 'doc.txt'}").test == s.test  # a stable hash split
    paragraphs = tmp_path / "paragraphs.txt"
    paragraphs.write_text("\n\n".join(f"paragraph {i}\nits second line" for i in range(40)), encoding="utf-8")
    assert "paragraph 3\nits second line" in _text(f"text:{paragraphs},document=paragraph").get("all")
    folder = tmp_path / "books"
    folder.mkdir()
    for i in range(60):
        (folder / f"book{i:02d}.txt").write_text(f"book {i}\nsecond line", encoding="utf-8")
    (folder / "notes.md").write_text("not a text file")
    docs = _text(f"text:{folder}").get("all")
    assert len(docs) == 60 and "book 7\nsecond line" in docs
    assert sum(d == "second line" for d in _text(f"text:{folder},document=line").get("all")) == 60
    parts = _text(f"text:train={folder},test={tmp_path / 'doc.txt'}")
    assert len(parts.train) + len(parts.validation) == 60 and len(parts.test) == 60


@pytest.mark.parametrize(("content", "spec_suffix", "pattern"), [
    (b"", "", r"empty\.txt is empty"),
    (b"  \n\n", "", r"empty\.txt is empty"),
    (b"good line\nbad \xff byte\n", "", r"empty\.txt is not valid UTF-8 \(byte 0xff on line 2\)"),
    (b"fine", ",document=page", r"document must be one of line, paragraph, file, got 'page'"),
    (b"fine", ",lines=3", r"unknown part 'lines'"),
])
def test_text_errors_name_the_file_and_line(tmp_path, content, spec_suffix, pattern):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(zoo.DataError, match=pattern):
        _text(f"text:{path}{spec_suffix}")


def test_text_folder_errors(tmp_path):
    with pytest.raises(zoo.DataError, match=r"holds no \.txt files"):
        _text(f"text:{tmp_path}")
    (tmp_path / "a.txt").write_text("some text")
    (tmp_path / "b.txt").write_text("")
    with pytest.raises(zoo.DataError, match=r"b\.txt is empty"):
        _text(f"text:{tmp_path}")
    with pytest.raises(zoo.DataError, match="file or folder not found"):
        _text(f"text:{tmp_path / 'missing.txt'}")
    with pytest.raises(zoo.DataError, match="too few examples"):
        _text(f"text:{tmp_path / 'a.txt'}")
    with pytest.raises(zoo.DataError, match="unknown kind 'csv'"):
        TASK.load_data("csv:x.csv")


def test_builtin_grammar_is_seeded_and_checked():
    a, b = TASK.load_data("builtin:grammar,n=200"), TASK.load_data("builtin:grammar,n=200")
    assert a.train == b.train and a.train != TASK.load_data("builtin:grammar,n=200,seed=1").train
    assert len(a.get("all")) == 200
    checked = 0
    for doc in a.train:
        for sentence in doc.split(" . "):
            words = sentence.rstrip(" .").split()
            assert words[0] == "the"
            if "that" not in words and words[-1] in INTRANSITIVE["sg"] + INTRANSITIVE["pl"]:
                number = "sg" if words[-2] in NOUNS["sg"] else "pl"
                assert words[-1] in INTRANSITIVE[number], sentence  # the verb agrees with its subject
                checked += 1
    assert checked > 50
    with pytest.raises(zoo.DataError, match="unknown built-in corpus 'poems'"):
        TASK.load_data("builtin:poems")
    with pytest.raises(zoo.DataError, match="n must be an integer from 20"):
        TASK.load_data("builtin:grammar,n=5")


def test_tfds_text_offline_with_mock_data():
    with tfds.testing.mock_data(num_examples=12):
        s = load_tfds_text(parse_spec("tfds:lm1b"))
        assert s.info["feature"] == "text" and s.train and s.validation and s.test
        assert all(isinstance(t, str) and t for t in s.get("all"))
        reviews = load_tfds_text(parse_spec("tfds:imdb_reviews"))
        assert reviews.info["feature"] == "text"
        with pytest.raises(zoo.DataError, match=r"'label' is not a Text feature"):
            load_tfds_text(parse_spec("tfds:imdb_reviews,text=label"))
        with pytest.raises(zoo.DataError, match="TFDS has no set"):
            load_tfds_text(parse_spec("tfds:no_such_set_here"))


def test_gzip_is_not_text(tmp_path):
    path = tmp_path / "doc.txt"
    with gzip.open(path, "wt") as f:
        f.write("compressed")
    with pytest.raises(zoo.DataError, match="not valid UTF-8"):
        _text(f"text:{path}")


# ---------------------------------------------------------------------------
# Transfer to sentiment (Dai & Le 2015)
# ---------------------------------------------------------------------------

NEGATION = "builtin:negation,n=400"


def _sentiment_start(lm_path: str, name: str = "sentiment/lstm", **overrides):
    """A sentiment model initialised from the language model, as zoo.train makes it (before training)."""
    from zoo.training import resolve_preprocessing

    spec = zoo.get(name)
    pre = spec.task.fit_preprocessor(spec.task.load_data(NEGATION),
                                     resolve_preprocessing(spec, {"pretrained": lm_path}))
    model = zoo.build(name, **{"vocab_size": pre.tokenizer.vocab_size, **overrides})
    spec.task.initialize_model(model, pre)
    return model, pre


@pytest.mark.slow
def test_pretrained_copies_the_embedding_and_recurrent_weights(grammar_run):
    model, pre = _sentiment_start(grammar_run.path, units=64, embedding_dim=32, depth=2)
    lm, lm_tok = grammar_run.model, grammar_run.preprocessor.tokenizer
    vocabulary = pre.tokenizer.vocabulary
    assert {"the", "dog", "dogs", "runs", "."} <= set(vocabulary) and len(vocabulary) < lm_tok.vocab_size
    embedding = model.get_layer("embedding").get_weights()[0]
    lm_embedding = lm.embedding.get_weights()[0]
    lm_ids = {token: i for i, token in enumerate(lm_tok.vocabulary)}
    for word in ("the", "dog", "runs", "."):
        lm_row = lm_ids.get("▁" + word, lm_ids.get(word))
        np.testing.assert_array_equal(embedding[vocabulary.index(word)], lm_embedding[lm_row])
    for i, name in enumerate(("rnn_lstm_0", "rnn_lstm_1")):
        for mine, theirs in zip(model.get_layer(name).get_weights(), lm.rnn_layers[i].get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs)
    # Through zoo.train: the option is validated like any other and recorded in the run's config.
    run = zoo.train("sentiment/lstm", NEGATION, epochs=1, batch_size=64, verbose=0,
                    overrides={"pretrained": grammar_run.path, "units": 64, "embedding_dim": 32})
    assert run.config["preprocessing"]["pretrained"] == grammar_run.path
    assert run.preprocessor.tokenizer.vocabulary == vocabulary


@pytest.mark.slow
@pytest.mark.parametrize(("name", "overrides", "pattern"), [
    ("sentiment/lstm", {"units": 64, "embedding_dim": 64},
     r"the language model's embedding is \(\d+, 32\), sentiment_lstm's embedding is \(\d+, 64\); "
     r"set embedding_dim=32"),
    ("sentiment/lstm", {"units": 32, "embedding_dim": 32},
     r"sentiment_lstm's rnn_lstm_0 \(LSTM, weights \[\(32, 128\), \(32, 128\), \(128,\)\]\) does not match the "
     r"language model's lstm_0 \(LSTM, weights \[\(32, 256\), \(64, 256\), \(256,\)\]\); set units=64"),
    ("sentiment/gru", {"units": 64, "embedding_dim": 32}, r"rnn_gru_0 \(GRU, .*\) does not match .*lstm_0 \(LSTM"),
    ("sentiment/bilstm", {"units": 64, "embedding_dim": 32}, "is bidirectional"),
    ("sentiment/lstm", {"units": 64, "embedding_dim": 32, "depth": 3}, r"has 3 recurrent layers, the language "
                                                                       r"model 2; set depth=2 or less"),
])
def test_pretrained_mismatch_names_layers_and_shapes(grammar_run, name, overrides, pattern):
    with pytest.raises(zoo.HyperparameterError, match=pattern):
        _sentiment_start(grammar_run.path, name, **overrides)


def test_pretrained_bad_paths(tmp_path, capsys):
    code = main(["train", "sentiment/lstm", "--data", NEGATION, "--out", str(tmp_path / "run"),
                 "--set", f"pretrained={tmp_path / 'nowhere'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [f"zoo: error: pretrained: folder not found: {tmp_path / 'nowhere'}"]
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(zoo.DataError, match=r"pretrained: .*file\.txt is a file, not a folder"):
        zoo.train("sentiment/lstm", NEGATION, overrides={"pretrained": str(tmp_path / "file.txt")})
    sentiment = tmp_path / "sentiment_run"
    sentiment.mkdir()
    (sentiment / "config.json").write_text(json.dumps({"task": "sentiment", "entry": "sentiment/lstm"}))
    with pytest.raises(zoo.RunDirError, match="is a sentiment run; it must be a language_model run"):
        _sentiment_start(str(sentiment))
    with pytest.raises(zoo.HyperparameterError, match=r"unknown hyperparameter 'pretrainde'.*Did you mean "
                                                      r"'pretrained'"):
        zoo.train("sentiment/lstm", NEGATION, overrides={"pretrainde": str(sentiment)})
    assert not os.path.exists(tmp_path / "run")


def test_text_splits_like_csv_so_pretraining_never_sees_sentiment_test_texts(tmp_path):
    from conftest import write_csv

    texts = [f"review number {i} , {'good' if i % 2 else 'bad'} film" for i in range(200)]
    csv_path = write_csv(tmp_path / "reviews.csv", [(t, str(i % 2)) for i, t in enumerate(texts)])
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    sentiment = zoo.get("sentiment/lstm").task.load_data(f"csv:{csv_path}")
    lm = _text(f"text:{tmp_path / 'texts.txt'}")
    for part in ("train", "validation", "test"):
        assert getattr(lm, part) == [t for t, _ in getattr(sentiment, part)]
