"""Transfer from a language model to a sentiment model (Dai & Le 2015): ``--set pretrained=LM_RUN``.

A word-level ``language_model`` run gives a sentiment model its vocabulary (:func:`pretrained_vocabulary`),
its embedding rows and its first recurrent layers (:func:`copy_pretrained`). The one module that joins two
tasks, so that no task module imports another: the sentiment task calls it, it reads the language model's
run through :mod:`zoo.rundir` and its preprocessing through :mod:`zoo.tasks.language_model`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
from keras import layers, ops

from .errors import HyperparameterError, RunDirError
from .rundir import MODEL, PREPROCESSING, check_run_files, read_config
from .tasks.language_model import LanguageModelPreprocessor
from .text import SPACE_MARK, tokenize


def _pretrained_run(run_dir: str) -> LanguageModelPreprocessor:
    task = read_config(run_dir, "pretrained").get("task")
    if task != "language_model":
        raise RunDirError(f"pretrained={run_dir} is a {task} run; it must be a language_model run")
    preprocessor = LanguageModelPreprocessor.load(os.path.join(run_dir, PREPROCESSING))
    if preprocessor.tokenizer.kind != "word":
        raise HyperparameterError(f"pretrained={run_dir} is a {preprocessor.tokenizer.kind}-level language model; "
                                  "a sentiment model reads words: train it with tokenizer=word")
    return preprocessor


def _word_rows(tokenizer) -> dict[str, int]:
    """Each word the sentiment tokenizer can produce -> the language model's id for it: its tokens lowercased
    without the space mark, the most frequent spelling first (``▁The`` and ``the`` both give ``the``)."""
    rows: dict[str, int] = {}
    for i, token in enumerate(tokenizer.vocabulary[4:], start=4):
        word = token.lstrip(SPACE_MARK).lower()
        if word and tokenize(word) == [word]:
            rows.setdefault(word, i)
    return rows


def pretrained_vocabulary(run_dir: str) -> list[str]:
    """The words of a word-level language-model run, as a sentiment vocabulary (after padding and OOV)."""
    return list(_word_rows(_pretrained_run(run_dir).tokenizer))


def copy_pretrained(model, run_dir: str, vocabulary: Sequence[str]) -> dict[str, int]:
    """Initialise ``model``'s ``embedding`` and recurrent layers from language-model run ``run_dir``.

    Embedding row of word ``w`` (of ``vocabulary``, made by :func:`pretrained_vocabulary`) <- the language
    model's row for ``w``; the out-of-vocabulary row <- its OOV row. The model's recurrent layers, in
    order, <- the language model's first layers (same cell, units and input size). Shapes that differ
    raise a HyperparameterError naming both layers and both shapes. Returns what was copied.

    Example::

        copy_pretrained(zoo.build("sentiment/lstm", vocab_size=len(vocab)), "runs/lm", vocab)
    """
    rows = _word_rows(_pretrained_run(run_dir).tokenizer)
    check_run_files(run_dir, "pretrained", (MODEL,))
    lm = keras.saving.load_model(os.path.join(run_dir, MODEL), compile=False)  # the weights; no optimizer
    source, target = lm.embedding.embeddings, model.get_layer("embedding").embeddings
    if source.shape[1] != target.shape[1]:
        raise HyperparameterError(
            f"pretrained={run_dir}: the language model's embedding is {tuple(source.shape)}, {model.name}'s "
            f"embedding is {tuple(target.shape)}; set embedding_dim={source.shape[1]}")
    missing = [w for w in vocabulary[2:] if w not in rows]
    if missing:
        raise HyperparameterError(f"pretrained={run_dir}: the vocabulary is not the language model's "
                                  f"({len(missing)} words it lacks, e.g. {missing[:3]})")
    matrix = ops.convert_to_numpy(target).copy()
    lm_matrix = ops.convert_to_numpy(source)
    matrix[1] = lm_matrix[1]
    matrix[2:] = lm_matrix[[rows[w] for w in vocabulary[2:]]]
    target.assign(matrix)
    recurrent = [layer for layer in model.layers
                 if isinstance(layer, layers.RNN | layers.Bidirectional)]
    for i, layer in enumerate(recurrent):
        if isinstance(layer, layers.Bidirectional):
            raise HyperparameterError(f"pretrained: {model.name}'s {layer.name} is bidirectional; a language model "
                                      "reads forwards only: use sentiment/lstm or sentiment/gru")
        if i >= len(lm.rnn_layers):
            raise HyperparameterError(f"pretrained={run_dir}: {model.name} has {len(recurrent)} recurrent layers, "
                                      f"the language model {len(lm.rnn_layers)}; set depth={len(lm.rnn_layers)} "
                                      "or less")
        donor = lm.rnn_layers[i]
        mine, theirs = [tuple(w.shape) for w in layer.weights], [tuple(w.shape) for w in donor.weights]
        if type(layer.cell) is not type(donor.cell) or mine != theirs:
            raise HyperparameterError(
                f"pretrained={run_dir}: {model.name}'s {layer.name} ({type(layer).__name__}, weights {mine}) does "
                f"not match the language model's {donor.name} ({type(donor).__name__}, weights {theirs}); set "
                f"units={donor.units}")
        layer.set_weights(donor.get_weights())
    return {"embedding_rows": len(vocabulary) - 1, "recurrent_layers": len(recurrent)}


__all__ = ["copy_pretrained", "pretrained_vocabulary"]
