"""Language modelling, next-step prediction: predict token t+1 from the tokens up to t.

Many-to-many and aligned: one output per input step. Entries ``lstm`` and ``gru``: an
embedding, a stack of fused recurrent layers (cuDNN-eligible) and a softmax over the
vocabulary. Generation runs the same layers' cells one step at a time
(:meth:`LanguageModel.decode_step`) in one compiled loop (:func:`zoo.decoding.make_generate`, with
any sampler: greedy, beam search, seeded sampling); a test checks that step-by-step logits equal the
fused ones.

Preprocessing: word tokens (:class:`zoo.text.ReversibleTokenizer`, case and punctuation kept,
so generated text reads back) or characters (:class:`CharacterTokenizer`). A document is
``[START] tokens [END]``; it is cut into windows of ``window`` predicted tokens, each window's
inputs starting with the token before it, so every token of a document is predicted exactly
once and the state starts afresh in each window. Padding never counts: its targets have weight
0 in the loss and in every metric.

Metrics: ``perplexity`` (exp of the mean negative log-likelihood per real target token, summed
exactly over all batches), ``token_accuracy`` (next-token argmax) and ``loss`` (the same mean
log-likelihood, ``ln perplexity``). ``val_perplexity`` (min) drives early stopping and tuning.

Generation: a prompt is encoded as ``[START] tokens``; all but its last token are fed through the
cells to make the state, and decoding continues from the last one: greedy (the default), sampling
(``temperature``, ``top_k``, ``seed``; temperature 0 is greedy) or beam search (``beam_width``). The
export's ``generate`` signature samples the same way in the graph.

Transfer (Dai & Le 2015): :func:`zoo.transfer.copy_pretrained` initialises a sentiment model's embedding
and recurrent layers from a trained language model (``--set pretrained=LM_RUN``).
"""

from __future__ import annotations

import collections
import json
import math
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import keras
import numpy as np
from keras import ops

from ..base import Endpoint, FitData, Preprocessor, Serving, Task, Wording, entry
from ..batching import length_batched
from ..data import Splits
from ..decoder import RecurrentDecoder, compile_next_token
from ..decoding import Sampler, TopKSampler, generate_ids, get_sampler, make_generate, model_generate, token_log_prior
from ..errors import DataError, HyperparameterError
from ..folders import read_settings, write_settings
from ..generation import DECODING_OPTIONS, check_decoding_options, sampler_from_options, sampling_checks
from ..recurrent import declare_lr_decay, lr_schedule
from ..text import END, OOV, PAD, SPACE_MARK, START, ReversibleTokenizer, _normalize, _reversible_patterns

PROMPT_LENGTH = 512       # prompt tokens kept (the first ones)
MAX_GENERATE = 10_000     # the most tokens one generation may produce
CHAR_FORMAT = 1


# ---------------------------------------------------------------------------
# Character tokenizer
# ---------------------------------------------------------------------------

class CharacterTokenizer:
    """Characters (Unicode code points) as tokens, with :class:`ReversibleTokenizer`'s id layout and interface.

    Ids: 0 padding, 1 out-of-vocabulary, 2 ``[START]``, 3 ``[END]``, then the characters of the training
    texts by falling frequency (ties by code point). Text is normalised as by the word tokenizer
    (whitespace runs become one space, ends stripped, optionally lowercased); a space is a character
    like any other, so :meth:`decode` returns the characters as they are (an unknown one as U+FFFD).
    :meth:`tf_encode` / :meth:`tf_decode` do the same in TF ops (``tf.strings.unicode_split`` and a
    lookup table) for the export.
    """

    pad_id, oov_id, start_id, end_id = 0, 1, 2, 3
    RESERVED = (PAD, OOV, START, END)
    kind = "character"
    UNKNOWN = "\ufffd"

    def __init__(self, vocabulary: Sequence[str], lowercase: bool = False):
        vocabulary = list(vocabulary)
        if tuple(vocabulary[:4]) != self.RESERVED:
            raise ValueError(f"a vocabulary starts with the reserved tokens {list(self.RESERVED)}")
        if any(len(c) != 1 for c in vocabulary[4:]) or len(set(vocabulary)) != len(vocabulary):
            raise ValueError("a character vocabulary holds distinct single characters")
        self.vocabulary, self.lowercase = vocabulary, bool(lowercase)
        self._index = {c: i for i, c in enumerate(vocabulary[4:], start=4)}
        self._pieces = ["", self.UNKNOWN, "", "", *vocabulary[4:]]
        self._table = None

    @classmethod
    def fit(cls, texts, max_tokens: int, lowercase: bool = False) -> CharacterTokenizer:
        normal = cls(list(cls.RESERVED), lowercase)
        counts = collections.Counter(c for text in texts for c in normal.normalize(text))
        chars = sorted(counts, key=lambda c: (-counts[c], ord(c)))
        return cls([*cls.RESERVED, *chars[: max(0, max_tokens - 4)]], lowercase)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def normalize(self, text: str) -> str:
        return _normalize(text, self.lowercase)

    def lengths(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(self.normalize(t)) for t in texts], dtype="int32")

    def encode(self, texts: Sequence[str], sequence_length: int, add_start: bool = False,
               add_end: bool = False) -> np.ndarray:
        budget = sequence_length - int(add_start) - int(add_end)
        if budget < 0 or sequence_length < 1:
            raise ValueError(f"sequence_length={sequence_length} has no room for the tokens asked for")
        out = np.zeros((len(texts), sequence_length), dtype="int32")
        for row, text in enumerate(texts):
            content = [self._index.get(c, self.oov_id) for c in self.normalize(text)[:budget]]
            ids = [self.start_id] * add_start + content + [self.end_id] * add_end or [self.oov_id]
            out[row, : len(ids)] = ids
        return out

    def decode(self, ids) -> list[str]:
        texts = []
        for row in np.asarray(ids, dtype="int64").reshape(len(ids), -1):
            pieces = []
            for i in row.tolist():
                i = i if 0 <= i < self.vocab_size else self.oov_id
                if i in (self.end_id, self.pad_id):
                    break
                pieces.append(self._pieces[i])
            texts.append("".join(pieces))
        return texts

    # -- TF side (export) --------------------------------------------------
    def tf_resources(self) -> list:
        if self._table is None:
            import tensorflow as tf

            with tf.init_scope():
                keys = tf.constant(["", *self.vocabulary[4:]], dtype=tf.string)
                values = tf.constant([self.oov_id, *range(4, self.vocab_size)], dtype=tf.int64)
                self._table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values),
                                                        default_value=self.oov_id)
        return [self._table]

    def _tf_normalize(self, texts):
        import tensorflow as tf

        texts = tf.strings.regex_replace(texts, _reversible_patterns("re2")[0], " ")
        texts = tf.strings.regex_replace(texts, "^ | $", "")
        return tf.strings.lower(texts, encoding="utf-8") if self.lowercase else texts

    def tf_encode(self, texts, sequence_length: int, add_start: bool = False, add_end: bool = False):
        import tensorflow as tf

        budget = sequence_length - int(add_start) - int(add_end)
        table = self.tf_resources()[0]
        chars = tf.strings.unicode_split(self._tf_normalize(tf.convert_to_tensor(texts, tf.string)), "UTF-8")
        content = tf.cast(table.lookup(chars), tf.int32)[:, :budget]
        column = tf.concat([tf.shape(texts)[:1], [1]], axis=0)

        def marker(value):
            return tf.RaggedTensor.from_tensor(tf.fill(column, value), row_splits_dtype=content.row_splits.dtype)

        parts = [marker(self.start_id)] * add_start + [content] + [marker(self.end_id)] * add_end
        framed = tf.concat(parts, axis=1) if len(parts) > 1 else content
        return framed.to_tensor(default_value=self.pad_id, shape=[None, sequence_length])

    def tf_decode(self, ids):
        import tensorflow as tf

        ids = tf.cast(tf.convert_to_tensor(ids), tf.int64)
        ids = tf.where((ids >= 0) & (ids < self.vocab_size), ids, tf.cast(self.oov_id, tf.int64))
        stop = tf.equal(ids, self.end_id) | tf.equal(ids, self.pad_id)
        before_stop = tf.equal(tf.cumsum(tf.cast(stop, tf.int32), axis=1), 0)
        pieces = tf.gather(tf.constant(self._pieces, dtype=tf.string), ids)
        return tf.strings.reduce_join(tf.where(before_stop, pieces, ""), axis=1)

    # -- files ----------------------------------------------------------------
    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "vocabulary.txt"), "w", encoding="utf-8") as f:
            for token in self.vocabulary:
                f.write(json.dumps(token, ensure_ascii=False) + "\n")
        with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump({"format": CHAR_FORMAT, "kind": self.kind, "lowercase": self.lowercase,
                       "vocab_size": self.vocab_size}, f, indent=1)

    @classmethod
    def load(cls, directory: str) -> CharacterTokenizer:
        with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
            config = json.load(f)
        with open(os.path.join(directory, "vocabulary.txt"), encoding="utf-8") as f:
            return cls([json.loads(line) for line in f if line.strip()], config["lowercase"])


def load_tokenizer(directory: str):
    with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
        kind = json.load(f).get("kind")
    return CharacterTokenizer.load(directory) if kind == "character" else ReversibleTokenizer.load(directory)


# ---------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------

class LanguageModelPreprocessor(Preprocessor):
    """The tokenizer and the window length: everything between raw documents and the model."""

    def __init__(self, tokenizer, window: int, options: dict[str, Any] | None = None):
        self.tokenizer, self.window = tokenizer, int(window)
        self.options = dict(options or {})
        self.output_prior: np.ndarray | None = None  # set by fit_preprocessor; not saved (only a start)

    def problem(self) -> dict[str, int]:
        return {"vocab_size": self.tokenizer.vocab_size}

    def documents(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text as ``[START] ids [END]``, whole."""
        out = []
        for start in range(0, len(texts), 256):
            chunk = list(texts[start:start + 256])
            lengths = self.tokenizer.lengths(chunk)
            ids = self.tokenizer.encode(chunk, int(lengths.max(initial=0)) + 2, add_start=True, add_end=True)
            out.extend(row[: n + 2] for row, n in zip(ids, lengths, strict=True))
        return out

    def windows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, next-token targets ``[N, window]`` and their weights (1 on real targets, 0 on padding)."""
        rows_x, rows_y = [], []
        for doc in self.documents(texts):
            for j in range(0, len(doc) - 1, self.window):
                rows_x.append(doc[j:j + self.window])
                rows_y.append(doc[j + 1:j + 1 + self.window])
        x = np.zeros((len(rows_x), self.window), dtype="int32")
        y = np.zeros_like(x)
        for i, (a, b) in enumerate(zip(rows_x, rows_y, strict=True)):
            x[i, : len(a)], y[i, : len(b)] = a, b
        return x, y, (y != 0).astype("float32")

    def encode_prompts(self, prompts: Sequence[str]) -> np.ndarray:
        return self.tokenizer.encode(list(prompts), PROMPT_LENGTH + 1, add_start=True)

    def join(self, prompt: str, generated_ids: np.ndarray) -> tuple[str, str]:
        """``(continuation, prompt + continuation)`` as text; a word continuation is spaced as generated."""
        tok = self.tokenizer
        continuation = tok.decode(np.asarray(generated_ids)[None, :])[0]
        prompt = tok.normalize(prompt)
        if tok.kind == "character":
            return continuation, prompt + continuation
        first = int(generated_ids[0]) if len(generated_ids) else 0
        spaced = first == tok.oov_id or not 0 <= first < tok.vocab_size or tok.vocabulary[first].startswith(SPACE_MARK)
        separator = " " if spaced and prompt and continuation else ""
        return continuation, prompt + separator + continuation

    def tf_join(self, prompts, generated_ids):
        """:meth:`join` in TF ops, for a batch."""
        import tensorflow as tf

        tok = self.tokenizer
        continuation = tok.tf_decode(generated_ids)
        prompts = tok._tf_normalize(prompts)
        if tok.kind == "character":
            return continuation, prompts + continuation
        marks = [i == tok.oov_id or tok.vocabulary[i].startswith(SPACE_MARK) for i in range(tok.vocab_size)]
        first = tf.clip_by_value(tf.cast(generated_ids[:, 0], tf.int32), 0, tok.vocab_size - 1)
        out_of_range = (generated_ids[:, 0] < 0) | (generated_ids[:, 0] >= tok.vocab_size)
        spaced = tf.gather(tf.constant(marks), first) | out_of_range
        spaced &= (tf.strings.length(prompts) > 0) & (tf.strings.length(continuation) > 0)
        return continuation, prompts + tf.where(spaced, " ", "") + continuation

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.tokenizer.save(os.path.join(directory, "tokenizer"))
        write_settings(directory, {"window": self.window, "options": self.options})

    @classmethod
    def load(cls, directory: str) -> LanguageModelPreprocessor:
        config = read_settings(directory)
        return cls(load_tokenizer(os.path.join(directory, "tokenizer")), config["window"], config.get("options"))


# ---------------------------------------------------------------------------
# The model and its metric
# ---------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="zoo.language_model")
class Perplexity(keras.metrics.Metric):
    """exp(summed weighted cross-entropy / summed weights), over every batch seen: exact, not a mean of
    per-batch perplexities. ``y_pred`` are logits."""

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        weight = ops.ones_like(nll) if sample_weight is None else ops.cast(sample_weight, nll.dtype)
        self.total.assign_add(ops.sum(nll * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return ops.exp(self.total / ops.maximum(self.count, 1e-12))

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="zoo.language_model")
class LanguageModel(keras.Model):
    """A :class:`zoo.decoder.RecurrentDecoder` without a memory: embedding, ``depth`` fused recurrent
    layers (dropout between them), next-token logits.

    ``call(token_ids [batch, T])`` -> logits ``[batch, T, vocab_size]`` (right-padded, 0 masked).
    ``decode_step(tokens [batch], state)`` -> ``(logits [batch, vocab], state)`` runs the same
    weights through the layers' cells (``zoo.decoding``'s step-function contract);
    ``prime(prompt_ids)`` feeds prompts through them.

    Example::

        model = zoo.build("language_model/lstm", vocab_size=1000)
        logits = model(ids)
        state, last = model.prime(prompt_ids)
    """

    def __init__(self, vocab_size: int, cell: str = "lstm", units: int = 256, depth: int = 2,
                 embedding_dim: int = 128, dropout: float = 0.0, tie_embeddings: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config_values = dict(vocab_size=vocab_size, cell=cell, units=units, depth=depth,
                                  embedding_dim=embedding_dim, dropout=dropout, tie_embeddings=tie_embeddings)
        self.decoder = RecurrentDecoder(vocab_size, cell=cell, units=units, depth=depth, embedding_dim=embedding_dim,
                                        dropout=dropout, dropout_between_layers=True, tie_embeddings=tie_embeddings,
                                        name="decoder")

    @property
    def embedding(self):
        """The token embedding (what :func:`zoo.transfer.copy_pretrained` gives a sentiment model)."""
        return self.decoder.embedding

    @property
    def rnn_layers(self) -> list:
        """The recurrent layers, first to last."""
        return self.decoder.recurrent_layers

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config_values}

    def build(self, input_shape=None):
        if self.built:
            return
        self.call(ops.ones((1, 2), dtype="int32"))
        super().build(input_shape)

    def call(self, token_ids, training: bool = False):
        return self.decoder(token_ids, training=training)

    def initial_state(self, batch) -> tuple:
        return self.decoder.initial_state(batch_size=batch)

    def decode_step(self, tokens, state) -> tuple:
        return self.decoder.step(tokens, state)

    def prime(self, prompt_ids) -> tuple[tuple, Any]:
        """The state after each row's prompt but its last token, and that token (int32 ``[batch]``).

        ``prompt_ids`` are right-padded ``[START] tokens`` rows; the cells step over them in one loop,
        each row's state frozen once its own prompt is done."""
        prompt_ids = ops.cast(prompt_ids, "int32")
        lengths = ops.maximum(ops.sum(ops.cast(prompt_ids != 0, "int32"), axis=1), 1)
        last = ops.take_along_axis(prompt_ids, ops.expand_dims(lengths - 1, 1), axis=1)[:, 0]
        steps = ops.max(lengths) - 1

        def body(t, state):
            _, new = self.decode_step(prompt_ids[:, t], state)
            keep = ops.expand_dims(t < lengths - 1, 1)
            return t + 1, tuple(ops.where(keep, n, s) for n, s in zip(new, state, strict=True))

        _, state = ops.while_loop(lambda t, state: t < steps, body,
                                  (ops.convert_to_tensor(0, "int32"), self.initial_state(ops.shape(prompt_ids)[0])))
        return tuple(state), last


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

def check_generation(max_length: Any = None, temperature: Any = None, top_k: Any = None, seed: Any = None,
                     beam_width: Any = None) -> None:
    """Bad values name the option (and its command-line flag) and what it allows."""
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int | np.integer)
                                   or not 1 <= max_length <= MAX_GENERATE):
        raise HyperparameterError(f"max_length (--max-length) must be an integer from 1 to {MAX_GENERATE}, "
                                  f"got {max_length!r}")
    check_decoding_options(beam_width, temperature, top_k, seed)


def make_generator(model: LanguageModel, preprocessor: LanguageModelPreprocessor, max_length: int,
                   sampler: Sampler | None = None):
    """``prompt_ids -> generated ids [batch, max_length]`` in one compiled loop
    (:func:`zoo.decoding.make_generate`) by ``sampler`` (default: greedy): the prompt but its last token
    makes the state (:meth:`LanguageModel.prime`), decoding starts from that token. One trace serves
    every batch size and prompt length; made once per model and setting (:func:`zoo.decoding.model_generate`)."""
    end, sampler = preprocessor.tokenizer.end_id, get_sampler(sampler or "greedy")
    return model_generate(model, ("generate", end, max_length, sampler), lambda m:
                          make_generate(lambda ids: m.prime(ids), lambda tokens, state: m.decode_step(tokens, state),
                                        end, max_length, sampler, open_axes=(0, 1)))


def generate_texts(model, preprocessor, prompts: Sequence[str], batch_size: int, max_length: int,
                   temperature: float = 0.0, top_k: int = 0, seed: int = 0, generator=None,
                   sampler: Sampler | None = None) -> list[tuple[str, str]]:
    """``(continuation, full text)`` for each prompt, batch by batch (rows keep their batch index), by
    ``generator``, or one made by :func:`make_generator` with ``sampler`` (default: sampling with
    ``temperature``, ``top_k`` and ``seed``; temperature 0 is greedy)."""
    generator = generator or make_generator(model, preprocessor, max_length,
                                            sampler or TopKSampler(temperature, top_k, seed))
    ids = preprocessor.encode_prompts(prompts)
    out = []
    for start in range(0, len(prompts), batch_size):
        rows = ids[start:start + batch_size]
        longest = -(-int((rows != 0).sum(axis=1).max()) // 8) * 8  # few distinct shapes, few traces
        generated = np.asarray(generator(ops.convert_to_tensor(rows[:, :longest])))
        out.extend(preprocessor.join(p, g) for p, g in zip(prompts[start:start + batch_size], generated, strict=True))
    return out


# ---------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------

class LanguageModelTask(Task):
    name = "language_model"
    kind = "many-to-many"
    description = "Language modelling: predict each next token of a text (aligned many-to-many); generate text."
    input_description = "a prompt string (may be empty)"
    output_description = "the prompt continued by sampled or greedy tokens, as text"
    metrics = ("perplexity", "token_accuracy", "loss")
    objective = "val_perplexity"
    objectives: ClassVar[dict[str, str]] = {"val_perplexity": "min", "val_loss": "min", "val_token_accuracy": "max"}
    default_problem: ClassVar[dict[str, int]] = {"vocab_size": 10000}
    data_kinds = ("builtin", "text", "tfds")
    preprocessor_class = LanguageModelPreprocessor
    loaders: ClassVar[dict[str, str]] = {"builtin": "builtin_text:load_builtin_text", "text": "text_files:load_text",
                                         "tfds": "tfds_text:load_tfds_text"}
    default_epochs = 20
    default_batch_size = 64
    patience = 3
    smoke_data = "builtin:grammar,n=200"
    sample_inputs = ("the dog", "", "the cats that the king sees", "unknown words zzz")
    words = Wording(input_name="PROMPT", examples="documents", table=(("text", "text"), ("prompt", "prompt")))
    predict_options: ClassVar[dict[str, str]] = {
        "max_length": f"tokens to generate, 1 to {MAX_GENERATE} (default: the training window)",
        **DECODING_OPTIONS}
    export_options: ClassVar[dict[str, str]] = {}

    def declare_preprocessing(self, hp) -> None:
        hp.Choice("tokenizer", ["word", "character"], default="word")
        hp.Int("max_tokens", 10, 200_000, default=10_000)   # vocabulary size, the 4 reserved ids included
        hp.Int("window", 4, 2048, default=64)               # predicted tokens per training window
        hp.Boolean("lowercase", default=False)

    def fit_preprocessor(self, splits: Splits[str], options: dict[str, Any]) -> LanguageModelPreprocessor:
        if options["tokenizer"] == "character":
            tokenizer = CharacterTokenizer.fit(splits.train, options["max_tokens"], options["lowercase"])
        else:
            tokenizer = ReversibleTokenizer.fit(splits.train, max_tokens=options["max_tokens"],
                                                lowercase=options["lowercase"])
        preprocessor = LanguageModelPreprocessor(tokenizer, options["window"], options)
        _, targets, weights = preprocessor.windows(splits.train)
        preprocessor.output_prior = token_log_prior(targets, weights, tokenizer.vocab_size)
        return preprocessor


    def callbacks(self, model, preprocessor, validation: Sequence[str], batch_size: int) -> list:
        """The per-epoch learning-rate decay (``lr_decay``), when it is below 1."""
        return lr_schedule(model)

    def fit_data(self, preprocessor, examples: Sequence[str], where: str, *, batch_size: int,
                 training: bool, seed: int = 0, epoch: int = 0) -> FitData:
        if not examples:
            raise DataError(f"{where}: no documents")
        x, y, weights = preprocessor.windows(examples)
        lengths = np.maximum(1, (x != 0).sum(axis=1))
        return length_batched(x, y, lengths, sample_weight=weights, batch_size=batch_size,
                              padded_length=preprocessor.window, training=training, seed=seed, epoch=epoch)

    def evaluate(self, model, preprocessor, examples: Sequence[str], batch_size: int, where: str
                 ) -> dict[str, float]:
        if not examples:
            raise DataError(f"{where}: no documents to evaluate")
        data = self.fit_data(preprocessor, examples, where, batch_size=batch_size, training=False)
        logs = model.evaluate(data.x, verbose=0, return_dict=True)
        tokens = int(sum(len(d) - 1 for d in preprocessor.documents(examples)))
        return {"perplexity": float(logs["perplexity"]), "token_accuracy": float(logs["token_accuracy"]),
                "loss": math.log(float(logs["perplexity"])), "tokens": tokens, "examples": len(examples)}

    def _options(self, window: int, options: dict[str, Any]) -> dict[str, Any]:
        values = {"max_length": window, "temperature": 0.0, "top_k": 0, "seed": 0, "beam_width": 1,
                  **{k: v for k, v in options.items() if v is not None}}
        check_generation(**values)
        values["temperature"] = float(values["temperature"])
        return values

    def predict_outputs(self, model, preprocessor, inputs: Sequence[str], batch_size: int, **options
                        ) -> dict[str, Any]:
        bad = [i for i, text in enumerate(inputs) if not isinstance(text, str)]
        if bad:
            raise DataError(f"input {bad[0]} is {type(inputs[bad[0]]).__name__}, not a string")
        o = self._options(preprocessor.window, options)
        sampler = sampler_from_options(o["beam_width"], o["temperature"], o["top_k"], o["seed"])
        pairs = generate_texts(model, preprocessor, list(inputs), batch_size, o["max_length"], sampler=sampler)
        return {"continuation": [c for c, _ in pairs], "text": [t for _, t in pairs]}

    def format_predictions(self, inputs, outputs, meta) -> list[dict[str, Any]]:
        def text(value):
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)

        return [{"input": prompt, "output": text(full), "prompt": prompt, "continuation": text(more),
                 "text": text(full)}
                for prompt, more, full in zip(inputs, outputs["continuation"], outputs["text"], strict=True)]

    def serving(self, model, preprocessor) -> Serving:
        import tensorflow as tf

        tok = preprocessor.tokenizer
        def run(prompts, max_length, temperature, top_k, seed):
            ids = tok.tf_encode(prompts, PROMPT_LENGTH + 1, add_start=True)
            longest = tf.maximum(1, tf.reduce_max(tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)))
            state, last = model.prime(ids[:, :longest])
            tokens = generate_ids(model.decode_step, state, last, tok.end_id, max_length,
                                  TopKSampler(temperature, top_k, seed))
            continuation, text = preprocessor.tf_join(prompts, tokens)
            return {"text": text, "continuation": continuation, "token_ids": tokens}

        def generate(prompts, max_length, temperature, top_k, seed):
            checks = [tf.debugging.assert_greater_equal(max_length, 1, message="max_length must be >= 1"),
                      tf.debugging.assert_less_equal(max_length, MAX_GENERATE, message="max_length too large"),
                      *sampling_checks(temperature, top_k, seed)]
            with tf.control_dependencies(checks):
                return run(prompts, max_length, temperature, top_k, seed)

        def greedy(prompts):
            return run(prompts, tf.constant(preprocessor.window), tf.constant(0.0), tf.constant(0),
                       tf.constant(0))

        def tokenize(prompts):
            return {"token_ids": tok.tf_encode(prompts, PROMPT_LENGTH + 1, add_start=True)}

        prompts = tf.TensorSpec([None], tf.string, name="prompts")
        scalars = [tf.TensorSpec([], tf.int32, name="max_length"), tf.TensorSpec([], tf.float32, name="temperature"),
                   tf.TensorSpec([], tf.int32, name="top_k"), tf.TensorSpec([], tf.int32, name="seed")]
        outputs = ("text: string [batch] (prompt + continuation); continuation: string [batch]; "
                   "token_ids: int32 [batch, max_length]")
        endpoints = {
            "serve": Endpoint(greedy, [prompts], f"prompts: string [batch] -> {outputs} (greedy, "
                                                 f"{preprocessor.window} tokens)"),
            "generate": Endpoint(generate, [prompts, *scalars],
                                 "prompts: string [batch], max_length: int32 [], temperature: float32 [] "
                                 "(0: greedy), top_k: int32 [] (0: all), seed: int32 [] -> " + outputs),
            "tokenize": Endpoint(tokenize, [prompts], "prompts -> token_ids: int32 [batch, "
                                                      f"{PROMPT_LENGTH + 1}] ([START] tokens)"),
        }
        metadata = {"window": preprocessor.window, "tokenizer": tok.kind, "start_id": tok.start_id,
                    "end_id": tok.end_id, "vocab_size": tok.vocab_size}
        return Serving(endpoints, tok.tf_resources(), metadata)

    def serve_exported(self, loaded, inputs: Sequence, meta: dict | None = None, **options) -> dict[str, Any]:
        import tensorflow as tf

        o = self._options((meta or {}).get("window", 64), options)
        if o["beam_width"] > 1:
            raise HyperparameterError("beam_width (--beam-width): an export samples or decodes greedily; "
                                      "beam search runs with the run directory")
        out = loaded.generate(tf.constant(list(inputs), tf.string), tf.constant(o["max_length"], tf.int32),
                              tf.constant(o["temperature"], tf.float32), tf.constant(o["top_k"], tf.int32),
                              tf.constant(o["seed"], tf.int32))
        return {"continuation": [t.decode("utf-8") for t in out["continuation"].numpy()],
                "text": [t.decode("utf-8") for t in out["text"].numpy()]}


# ---------------------------------------------------------------------------
# Registry entries
# ---------------------------------------------------------------------------

def _language_model(hp, problem, *, name: str, cell: str) -> LanguageModel:
    model = LanguageModel(
        problem["vocab_size"], cell=cell,
        units=hp.Int("units", 32, 1024, step=32, default=256),
        depth=hp.Int("depth", 1, 4, default=2),
        embedding_dim=hp.Int("embedding_dim", 16, 512, step=16, default=128),
        dropout=hp.Float("dropout", 0.0, 0.6, step=0.1, default=0.1),
        tie_embeddings=hp.Boolean("tie_embeddings", default=False),
        name=name.replace("/", "_"))
    model.build()
    compile_next_token(model, hp, [Perplexity()])
    declare_lr_decay(hp, model)
    return model


@entry("language_model/lstm")
def lstm(hp, problem):
    """Embedding, two stacked LSTMs, softmax over the next token (Zaremba et al. 2014)."""
    return _language_model(hp, problem, name="language_model/lstm", cell="lstm")


@entry("language_model/gru")
def gru(hp, problem):
    """Embedding, two stacked GRUs, softmax over the next token."""
    return _language_model(hp, problem, name="language_model/gru", cell="gru")


__all__ = ["CharacterTokenizer", "LanguageModel", "LanguageModelPreprocessor", "Perplexity", "check_generation",
           "generate_texts", "make_generator"]
