"""Decoders leave the unigram floor on real text (issue 19).

A decoder that reads its own previous tokens must get below the unigram entropy of its targets within a few
hundred updates. The zoo's attention decoders did not on real text: started with a zero output bias, their
hidden layers saturated encoding the unigram distribution and the loss stayed above it for thousands of
updates (``experiments/seq2seq_reference.py``). The text here is real English that every Python ships: the
docstrings of standard-library modules, with the Zipfian vocabulary of real text that the built-in sets lack.
"""

from __future__ import annotations

import collections
import importlib
import inspect
import math
import re

import numpy as np
import pytest

MODULES = ("os", "collections", "argparse", "email.message", "http.client", "json", "logging", "pathlib",
           "subprocess", "threading", "unittest", "urllib.parse", "xml.dom.minidom", "zipfile", "tarfile",
           "asyncio", "csv", "datetime", "decimal", "shutil", "socket", "ssl", "string", "textwrap", "typing")


def docstring_sentences(min_words: int = 4, max_words: int = 16) -> list[str]:
    """Sentences of the docstrings of the standard library's public functions and classes, each once."""
    seen, sentences = set(), []
    for name in MODULES:
        module = importlib.import_module(name)
        for _, obj in sorted(vars(module).items()):
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join((inspect.getdoc(obj) or "").split())):
                if min_words <= len(sentence.split()) <= max_words and sentence not in seen:
                    seen.add(sentence)
                    sentences.append(sentence)
    return sentences


def unigram_entropy(targets: np.ndarray, weights: np.ndarray) -> float:
    counts = collections.Counter(np.asarray(targets)[np.asarray(weights) > 0].tolist())
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values())


@pytest.fixture(scope="module")
def sentences():
    found = docstring_sentences()
    assert len(found) > 600, len(found)  # enough real text for the check to mean something
    return found


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["translation/gru_attention", "translation/lstm_attention"])
def test_attention_decoder_leaves_the_unigram_floor(entry, sentences, tmp_path):
    """Copying real sentences: within about 100 updates the training loss is well below the targets'
    unigram entropy (the zero-bias start stayed above it here)."""
    import zoo

    path = tmp_path / "copy.tsv"
    path.write_text("".join(f"{s}\t{s}\n" for s in sentences), encoding="utf-8")
    run = zoo.train(entry, f"tsv:{path}", epochs=2, batch_size=16, patience=5, verbose=0)
    train = run.task.load_data(f"tsv:{path}").train
    _, targets, weights = run.preprocessor.encode_targets([t for _, t in train])
    floor = unigram_entropy(targets, weights)
    assert run.history["loss"][-1] < floor - 0.5, (run.history["loss"], floor)


@pytest.mark.slow
def test_language_model_leaves_the_unigram_floor(sentences, tmp_path):
    import zoo

    path = tmp_path / "docs.txt"
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    run = zoo.train("language_model/lstm", f"text:{path}", epochs=2, batch_size=16, verbose=0)
    _, targets, weights = run.preprocessor.windows(run.task.load_data(f"text:{path}").train)
    floor = unigram_entropy(targets, weights)
    assert run.history["loss"][-1] < floor - 0.5, (run.history["loss"], floor)


def test_output_layer_starts_at_the_targets_log_frequencies():
    """zoo.train's model predicts the unigram distribution before any update: the loss starts on the floor."""
    import zoo
    from zoo.decoder import logits_layer
    from zoo.decoding import token_log_prior

    task = zoo.get("translation/gru_attention").task
    splits = task.load_data("builtin:dates,n=200")
    from zoo.training import resolve_preprocessing

    preprocessor = task.fit_preprocessor(splits, resolve_preprocessing(zoo.get("translation/gru_attention"), {}))
    model = zoo.build("translation/gru_attention", **preprocessor.problem())
    task.initialize_model(model, preprocessor)
    x, y, w = task._arrays(preprocessor, splits.train)
    prior = token_log_prior(y, w, preprocessor.target.vocab_size)
    np.testing.assert_allclose(logits_layer(model).bias.numpy(), prior, rtol=1e-6)
    loss = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["loss"]
    assert abs(loss - unigram_entropy(y, w)) < 0.1, (loss, unigram_entropy(y, w))


def test_token_log_prior_checks_ids():
    from zoo.decoding import token_log_prior

    prior = token_log_prior(np.array([[4, 4, 5, 0]]), np.array([[1, 1, 1, 0]]), 6)  # add-0.5 counts
    np.testing.assert_allclose(np.exp(prior), np.array([0.5, 0.5, 0.5, 0.5, 2.5, 1.5]) / 6, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        token_log_prior(np.array([[7]]), np.array([[1]]), 6)
