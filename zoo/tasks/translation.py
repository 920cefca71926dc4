"""Machine translation, the many-to-many task: a sequence in, a sequence of another length out.

An encoder reads the source; a decoder writes the target one token at a time.
Entries: ``lstm_seq2seq`` (the encoder's final states start the decoder,
Sutskever et al. 2014, with the source read backwards), ``gru_attention``
(additive attention over a bidirectional encoder's outputs, Bahdanau et al. 2015)
and ``lstm_attention`` (multiplicative "general" attention, Luong et al. 2015).

Training runs the fused recurrent layers over whole sequences (teacher forcing,
cuDNN-eligible); decoding runs the same layers' cells one step at a time
(:meth:`Seq2Seq.decode_step`) inside one compiled loop (``zoo.decoding``). Attention
reads the decoder's outputs (no input feeding), which is what keeps training on
the fused layers; a test checks that step-by-step logits equal the fused ones.
Validation and test metrics come from free-running decoding, never teacher forcing. Every
sampler of :mod:`zoo.decoding` decodes: greedy (the default), beam search and seeded sampling.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import keras
import numpy as np
from keras import layers, ops

from .. import generation
from ..base import Endpoint, FitData, Preprocessor, Serving, Task, Wording, entry
from ..batching import length_batched
from ..data import Splits
from ..decoder import RNN, RecurrentDecoder, compile_next_token
from ..decoding import BeamSampler, Sampler, TopKSampler, token_log_prior
from ..errors import DataError, HyperparameterError
from ..folders import read_settings, write_settings
from ..metrics import normalize_text as normalize
from ..metrics import translation_scores
from ..text import ReversibleTokenizer

Example = tuple[str, str]  # (source text, target text)
VALIDATION_DECODE_LIMIT = 512  # validation examples decoded at each epoch end for val_bleu


# ---------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------

class TranslationPreprocessor(Preprocessor):
    """Source and target tokenizers and lengths: everything between raw text and the model.

    The source is truncated to ``source_length`` tokens; a target to ``target_length``
    tokens including its end token (what decoding may produce at most)."""

    def __init__(self, source: ReversibleTokenizer, target: ReversibleTokenizer, source_length: int,
                 target_length: int, options: dict[str, Any] | None = None):
        self.source, self.target = source, target
        self.source_length, self.target_length = int(source_length), int(target_length)
        self.options = dict(options or {})
        self.output_prior: np.ndarray | None = None  # set by fit_preprocessor; not saved (only a start)

    def problem(self) -> dict[str, int]:
        return {"source_vocab_size": self.source.vocab_size, "target_vocab_size": self.target.vocab_size,
                "source_length": self.source_length, "target_length": self.target_length}

    def encode_sources(self, texts: Sequence[str]) -> np.ndarray:
        return self.source.encode(list(texts), self.source_length)

    def encode_targets(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoder inputs (start, tokens), decoder targets (tokens, end) and their weights (1 on real steps)."""
        return self.target.teacher_forcing(texts, self.target_length)

    def decode(self, ids) -> list[str]:
        return self.target.decode(np.asarray(ids))

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.source.save(os.path.join(directory, "source"))
        self.target.save(os.path.join(directory, "target"))
        write_settings(directory, {"source_length": self.source_length, "target_length": self.target_length,
                                   "options": self.options})

    @classmethod
    def load(cls, directory: str) -> TranslationPreprocessor:
        config = read_settings(directory)
        return cls(ReversibleTokenizer.load(os.path.join(directory, "source")),
                   ReversibleTokenizer.load(os.path.join(directory, "target")),
                   config["source_length"], config["target_length"], config.get("options"))


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

def reverse_valid(ids, mask):
    """Reverse each right-padded row's tokens, keeping the padding on the right."""
    length = ops.sum(ops.cast(mask, "int32"), axis=1, keepdims=True)
    positions = ops.expand_dims(ops.arange(ops.shape(ids)[1], dtype="int32"), 0)
    index = ops.where(positions < length, length - 1 - positions, positions)
    return ops.take_along_axis(ids, index, axis=1)


@keras.saving.register_keras_serializable(package="zoo.translation")
class Seq2Seq(keras.Model):
    """A recurrent encoder and a :class:`zoo.decoder.RecurrentDecoder`; ``call`` trains with teacher
    forcing, ``decode_step`` decodes.

    Inputs of ``call``: ``{"source_ids": int32 [batch, S], "decoder_ids": int32 [batch, T]}``
    (right-padded; the decoder ids start with the start token). Output: next-token
    logits ``[batch, T, target_vocab_size]``. The encoder's final states start every decoder
    layer; with attention, the decoder attends over the encoder's outputs.

    Example::

        model = zoo.build("translation/gru_attention", source_vocab_size=500, target_vocab_size=300)
        state = model.initial_decoding_state(source_ids)
        logits, state = model.decode_step(tokens, state)
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, cell: str = "lstm", units: int = 128,
                 encoder_depth: int = 1, decoder_depth: int = 1, bidirectional_encoder: bool = False,
                 source_embedding_dim: int = 64, target_embedding_dim: int = 64, dropout: float = 0.0,
                 attention: str | None = None, attention_units: int = 128, reverse_source: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if cell not in RNN:
            raise HyperparameterError(f"cell must be one of {', '.join(RNN)}, got {cell!r}")
        self.config_values = dict(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size, cell=cell, units=units,
            encoder_depth=encoder_depth, decoder_depth=decoder_depth, bidirectional_encoder=bidirectional_encoder,
            source_embedding_dim=source_embedding_dim, target_embedding_dim=target_embedding_dim, dropout=dropout,
            attention=attention, attention_units=attention_units, reverse_source=reverse_source)
        self.bidirectional_encoder, self.reverse_source = bidirectional_encoder, reverse_source
        self.states_per_layer = 2 if cell == "lstm" else 1
        self.source_embedding = layers.Embedding(source_vocab_size, source_embedding_dim, mask_zero=True,
                                                 name="source_embedding")
        self.encoder_layers = []
        for i in range(encoder_depth):
            layer = RNN[cell](units, return_sequences=True, return_state=True, name=f"encoder_{cell}_{i}")
            if bidirectional_encoder:
                layer = layers.Bidirectional(layer, name=f"encoder_bidirectional_{i}")
            self.encoder_layers.append(layer)
        # A bidirectional encoder's two final states are merged into the decoder's size.
        self.bridges = [layers.Dense(units, activation="tanh", name=f"bridge_{k}")
                        for k in range(self.states_per_layer)] if bidirectional_encoder else []
        self.decoder = RecurrentDecoder(target_vocab_size, cell=cell, units=units, depth=decoder_depth,
                                        embedding_dim=target_embedding_dim, dropout=dropout, attention=attention,
                                        attention_units=attention_units, name="decoder")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config_values}

    def build(self, input_shape=None):
        if self.built:
            return
        ids = ops.ones((1, 2), dtype="int32")
        self.call({"source_ids": ids, "decoder_ids": ids})  # creates every sublayer's weights
        super().build(input_shape)

    # -- encoder ----------------------------------------------------------
    def encode(self, source_ids, training: bool = False):
        """Encoder outputs ``[batch, S, d]``, the decoder's initial states (every layer's), and the source mask."""
        mask = ops.not_equal(source_ids, 0)
        if self.reverse_source:
            source_ids = reverse_valid(source_ids, mask)
        # One dropout layer (one rate, one seed stream) for the source and the target side.
        x = self.decoder.dropout_layer(self.source_embedding(source_ids), training=training)
        states = []
        for layer in self.encoder_layers:
            out = layer(x, mask=mask, training=training)
            x, states = out[0], list(out[1:])
        if self.bidirectional_encoder:
            n = self.states_per_layer
            states = [bridge(ops.concatenate([states[k], states[n + k]], axis=-1))
                      for k, bridge in enumerate(self.bridges)]
        return x, [s for _ in range(self.decoder.depth) for s in states], mask

    def call(self, inputs, training: bool = False):
        memory, states, source_mask = self.encode(inputs["source_ids"], training=training)
        return self.decoder(inputs["decoder_ids"], initial_state=states, memory=memory, memory_mask=source_mask,
                            training=training)

    # -- step-by-step decoding (zoo.decoding's step-function contract) -----
    def initial_decoding_state(self, source_ids) -> tuple:
        """``(*decoder states, [memory, key, mask])``: every tensor with a leading batch axis."""
        memory, states, mask = self.encode(source_ids)
        return self.decoder.initial_state(states, memory=memory, memory_mask=mask)

    def decode_step(self, tokens, state) -> tuple:
        """Next-token logits ``[batch, vocab]`` for the previous ``tokens`` ``[batch]``, and the new state."""
        return self.decoder.step(tokens, state)


# ---------------------------------------------------------------------------
# Decoding a batch of sources
# ---------------------------------------------------------------------------

def make_translator(model: Seq2Seq, preprocessor: TranslationPreprocessor, beam_width: int = 1,
                    length_penalty: float = generation.LENGTH_PENALTY, sampler: Sampler | None = None):
    """A function ``source_ids -> target ids [batch, target_length]`` decoding in one compiled loop
    (:func:`zoo.decoding.make_generate`), by ``sampler`` (default: beam search of ``beam_width``,
    greedy for 1). One trace serves every batch size and source length; made once per model and
    setting (:func:`zoo.decoding.model_generate`)."""
    return generation.encoder_decoder_generate(model, preprocessor.target, preprocessor.target_length,
                                               sampler or BeamSampler(beam_width, length_penalty), open_axes=(0, 1))


def translate_texts(model, preprocessor, texts: Sequence[str], batch_size: int, beam_width: int = 1,
                    translator=None, sampler: Sampler | None = None) -> list[str]:
    """Free-running translations of raw source texts, batch by batch (sources sorted by length), by
    ``translator`` or one made by :func:`make_translator` (``sampler``, else ``beam_width``)."""
    if not texts:
        return []
    translator = translator or make_translator(model, preprocessor, beam_width, sampler=sampler)
    ids = preprocessor.encode_sources(texts)
    lengths = np.maximum(1, (ids != 0).sum(axis=1))
    # Sorted by length, batches pad less; a sampled row keeps its place (its noise follows its row).
    order = np.arange(len(texts)) if isinstance(sampler, TopKSampler) else np.argsort(lengths, kind="stable")
    out: list[str] = [""] * len(texts)
    for start in range(0, len(texts), batch_size):
        rows = order[start:start + batch_size]
        # Cut to a multiple of 8 (padding is masked): few distinct shapes, few traces of the loop.
        longest = min(ids.shape[1], -(-int(lengths[rows].max()) // 8) * 8)
        decoded = preprocessor.decode(np.asarray(translator(ops.convert_to_tensor(ids[rows, :longest]))))
        for row, text in zip(rows, decoded, strict=True):
            out[row] = text
    return out


# ---------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------

class TranslationTask(Task):
    name = "translation"
    kind = "many-to-many"
    description = "Machine translation: a text in, a text of another length out (encoder-decoder)."
    input_description = "raw source text strings"
    output_description = "target text strings, decoded in the graph (greedy or beam search)"
    metrics = ("bleu", "chrf", "exact_match", "token_accuracy", "loss")
    objective = "val_bleu"
    objectives: ClassVar[dict[str, str]] = {"val_bleu": "max", "val_chrf": "max", "val_exact_match": "max",
                                            "val_loss": "min"}
    default_problem: ClassVar[dict[str, int]] = {"source_vocab_size": 8000, "target_vocab_size": 8000,
                                                 "source_length": 32, "target_length": 32}
    data_kinds = ("builtin", "tsv", "parallel", "tfds")
    preprocessor_class = TranslationPreprocessor
    loaders: ClassVar[dict[str, str]] = {"builtin": "builtin_translation:load_builtin_translation",
                                         "tsv": "parallel:load_tsv_pairs", "parallel": "parallel:load_parallel",
                                         "tfds": "tfds_translation:load_tfds_translation"}
    default_epochs = 40
    default_batch_size = 64
    patience = 5
    smoke_data = "builtin:dates,n=400"
    sample_inputs = ("March 3, 2021", "the third of march in the year two thousand and twenty one",
                     "3.3.21", "", "completely unknown words here")
    words = Wording(input_name="SOURCE", examples="pairs", table=(("translation", "translation"), ("source", "source")))
    predict_options: ClassVar[dict[str, str]] = dict(generation.DECODING_OPTIONS)
    export_options: ClassVar[dict[str, str]] = {"beam_width": "width of the translate_beam endpoint (default 4)"}

    def declare_preprocessing(self, hp) -> None:
        hp.Choice("tokenizer", ["word", "subword"], default="word")
        hp.Int("source_max_tokens", 100, 200_000, default=16_000)   # vocabulary sizes, reserved ids included
        hp.Int("target_max_tokens", 100, 200_000, default=16_000)
        hp.Int("source_max_length", 4, 1024, default=64)            # longer sources are truncated
        hp.Int("target_max_length", 4, 1024, default=64)            # decoding stops here
        hp.Boolean("lowercase_source", default=True)

    def check_data(self, splits: Splits[Example], spec: str) -> None:
        for split in ("train", "validation", "test"):
            for i, example in enumerate(getattr(splits, split)):
                if not (isinstance(example, tuple) and len(example) == 2):
                    raise DataError(f"{spec}: {split} example {i} is not a (source, target) pair")
        super().check_data(splits, spec)

    def fit_preprocessor(self, splits: Splits[Example], options: dict[str, Any]) -> TranslationPreprocessor:
        sources = [s for s, _ in splits.train]
        targets = [t for _, t in splits.train]
        source = ReversibleTokenizer.fit(sources, max_tokens=options["source_max_tokens"], kind=options["tokenizer"],
                                         lowercase=options["lowercase_source"])
        target = ReversibleTokenizer.fit(targets, max_tokens=options["target_max_tokens"], kind=options["tokenizer"])
        source_length = min(int(source.lengths(sources).max(initial=1)), options["source_max_length"])
        target_length = min(int(target.lengths(targets).max(initial=1)) + 1, options["target_max_length"])
        preprocessor = TranslationPreprocessor(source, target, max(1, source_length), max(2, target_length), options)
        _, outputs, weights = preprocessor.encode_targets(targets)
        preprocessor.output_prior = token_log_prior(outputs, weights, target.vocab_size)
        return preprocessor


    def _arrays(self, preprocessor, examples: Sequence[Example]):
        sources = preprocessor.encode_sources([s for s, _ in examples])
        decoder_in, decoder_out, weights = preprocessor.encode_targets([t for _, t in examples])
        return {"source_ids": sources, "decoder_ids": decoder_in}, decoder_out, weights

    def fit_data(self, preprocessor, examples: Sequence[Example], where: str, *, batch_size: int,
                 training: bool, seed: int = 0, epoch: int = 0) -> FitData:
        if not examples:
            raise DataError(f"{where}: no examples")
        x, y, weights = self._arrays(preprocessor, examples)
        lengths = np.stack([np.maximum(1, (x["source_ids"] != 0).sum(axis=1)),
                            np.maximum(1, (x["decoder_ids"] != 0).sum(axis=1))], axis=1)
        return length_batched(x, y, lengths, sample_weight=weights, batch_size=batch_size,
                              padded_length=(preprocessor.source_length, preprocessor.target_length),
                              training=training, seed=seed, epoch=epoch)

    def callbacks(self, model, preprocessor, validation: Sequence[Example], batch_size: int) -> list:
        """``val_bleu``, ``val_chrf`` and ``val_exact_match`` of a fixed validation subset, greedy decoding."""
        examples = list(validation)[:VALIDATION_DECODE_LIMIT]
        if not examples:
            return []
        sources, references = [s for s, _ in examples], [normalize(t) for _, t in examples]
        translator = make_translator(model, preprocessor)
        return [generation.DecodedMetrics(
            lambda m: translate_texts(m, preprocessor, sources, batch_size, translator=translator),
            lambda hypotheses: translation_scores(hypotheses, references))]

    def evaluate(self, model, preprocessor, examples: Sequence[Example], batch_size: int, where: str
                 ) -> dict[str, float]:
        if not examples:
            raise DataError(f"{where}: no examples to evaluate")
        data = self.fit_data(preprocessor, examples, where, batch_size=batch_size, training=False)
        logs = model.evaluate(data.x, verbose=0, return_dict=True)
        hypotheses = translate_texts(model, preprocessor, [s for s, _ in examples], batch_size)
        scores = translation_scores(hypotheses, [normalize(t) for _, t in examples])
        return {**scores, "token_accuracy": float(logs["token_accuracy"]), "loss": float(logs["loss"]),
                "examples": len(examples)}

    def predict_outputs(self, model, preprocessor, inputs: Sequence[str], batch_size: int, **options
                        ) -> dict[str, Any]:
        """Options: ``beam_width``, or ``temperature``, ``top_k`` and ``seed`` (``zoo.generation``)."""
        bad = [i for i, text in enumerate(inputs) if not isinstance(text, str)]
        if bad:
            raise DataError(f"input {bad[0]} is {type(inputs[bad[0]]).__name__}, not a string")
        sampler = generation.sampler_from_options(**options)
        return {"translation": translate_texts(model, preprocessor, list(inputs), batch_size, sampler=sampler)}

    def format_predictions(self, inputs, outputs, meta) -> list[dict[str, Any]]:
        translations = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in outputs["translation"]]
        return [{"input": source, "output": t, "source": source, "translation": t}
                for source, t in zip(inputs, translations, strict=True)]

    def serving(self, model, preprocessor, beam_width: int = 4) -> Serving:
        import tensorflow as tf

        source, target = preprocessor.source, preprocessor.target
        greedy = make_translator(model, preprocessor, 1)
        beam = make_translator(model, preprocessor, beam_width)

        def encode(texts):
            return {"source_ids": source.tf_encode(texts, preprocessor.source_length)}

        def run(translator, texts):
            ids = source.tf_encode(texts, preprocessor.source_length)
            longest = tf.maximum(1, tf.reduce_max(tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)))
            tokens = translator(ids[:, :longest])
            return {"translation": target.tf_decode(tokens), "token_ids": tokens}

        def decode_step(tokens, *states):
            logits, new = model.decode_step(tokens, tuple(states))
            return {"logits": logits, **{f"state_{i}": s for i, s in enumerate(new)}}

        def initial_state(texts):
            state = model.initial_decoding_state(source.tf_encode(texts, preprocessor.source_length))
            return {f"state_{i}": s for i, s in enumerate(state)}

        texts = [tf.TensorSpec([None], tf.string, name="texts")]
        # Axes that change with the source length (encoder memory, its mask) are left open.
        short, long = (model.initial_decoding_state(tf.ones([1, n], tf.int32)) for n in (2, 3))
        state_specs = []
        for i, (a, b) in enumerate(zip(short, long, strict=True)):
            shape = [d if d == e else None for d, e in zip(a.shape[1:], b.shape[1:], strict=True)]
            state_specs.append(tf.TensorSpec([None, *shape], a.dtype, name=f"state_{i}"))
        endpoints = {
            "serve": Endpoint(lambda t: run(greedy, t), texts, "texts: string [batch] -> translation: string "
                                                               "[batch]; token_ids: int32 [batch, length] (greedy)"),
            "translate": Endpoint(lambda t: run(greedy, t), texts, "the same as serve: greedy decoding"),
            "translate_beam": Endpoint(lambda t: run(beam, t), texts,
                                       f"texts -> translation, token_ids (beam search, width {beam_width})"),
            "translate_sample": Endpoint(generation.sampling_endpoint(run, model, target,
                                                                      preprocessor.target_length),
                                         [*texts, *generation.sampling_signature()],
                                         "texts, temperature: float32 [] (0: greedy), top_k: int32 [] (0: all), "
                                         "seed: int32 [] -> translation, token_ids (seeded sampling)"),
            "encode": Endpoint(encode, texts, "texts -> source_ids: int32 [batch, source_length]"),
            "initial_state": Endpoint(initial_state, texts, "texts -> state_0, state_1, ...: the decoder's "
                                                            "initial state (recurrent states, then attention memory)"),
            "decode_step": Endpoint(decode_step, [tf.TensorSpec([None], tf.int32, name="tokens"), *state_specs],
                                    "tokens: int32 [batch], state_0, ... -> logits: float32 [batch, vocab], "
                                    "state_0, ..."),
        }
        metadata = {"beam_width": beam_width, "start_id": target.start_id, "end_id": target.end_id,
                    "source_length": preprocessor.source_length, "target_length": preprocessor.target_length}
        return Serving(endpoints, source.tf_resources() + target.tf_resources(), metadata)

    def serve_exported(self, loaded, inputs: Sequence, meta: dict | None = None, **options) -> dict[str, Any]:
        import tensorflow as tf

        out = generation.call_exported(loaded, tf.constant(list(inputs)), meta, "translate", "translate_beam",
                                       "translate_sample", **options)
        return {"translation": [t.decode("utf-8") for t in out["translation"].numpy()]}


# ---------------------------------------------------------------------------
# Registry entries
# ---------------------------------------------------------------------------

def _translator(hp, problem, *, name: str, cell: str, attention: str | None, bidirectional: bool,
                reverse: bool, units: int = 128, embedding_dim: int = 64) -> Seq2Seq:
    cell = hp.Choice("cell", ["lstm", "gru"], default=cell)
    values = dict(
        units=hp.Int("units", 32, 512, step=32, default=units),
        encoder_depth=hp.Int("encoder_depth", 1, 3, default=1),
        decoder_depth=hp.Int("decoder_depth", 1, 3, default=1),
        bidirectional_encoder=hp.Boolean("bidirectional_encoder", default=bidirectional),
        source_embedding_dim=hp.Int("source_embedding_dim", 16, 512, step=16, default=embedding_dim),
        target_embedding_dim=hp.Int("target_embedding_dim", 16, 512, step=16, default=embedding_dim),
        dropout=hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.0),
    )
    if attention == "additive":
        values["attention_units"] = hp.Int("attention_units", 32, 512, step=32, default=128)
    if attention is None:
        values["reverse_source"] = hp.Boolean("reverse_source", default=reverse)
    model = Seq2Seq(problem["source_vocab_size"], problem["target_vocab_size"], cell=cell, attention=attention,
                    name=name.replace("/", "_"), **values)
    model.build()
    return compile_next_token(model, hp)


@entry("translation/lstm_seq2seq")
def lstm_seq2seq(hp, problem):
    """LSTM encoder-decoder: the encoder's final states start the decoder; the source is read backwards."""
    return _translator(hp, problem, name="translation/lstm_seq2seq", cell="lstm", attention=None,
                       bidirectional=False, reverse=True)


@entry("translation/gru_attention")
def gru_attention(hp, problem):
    """Bidirectional GRU encoder, GRU decoder with additive (Bahdanau) attention over the source."""
    # 256 units and 128-wide embeddings: on two real corpora (software messages, Quran verses) they learn
    # faster per epoch than 128/64 (experiments/results/translation_*_3_epochs*.json, *_6_epochs*.json).
    return _translator(hp, problem, name="translation/gru_attention", cell="gru", attention="additive",
                       bidirectional=True, reverse=False, units=256, embedding_dim=128)


@entry("translation/lstm_attention")
def lstm_attention(hp, problem):
    """LSTM encoder-decoder with multiplicative (Luong "general") attention over the source."""
    return _translator(hp, problem, name="translation/lstm_attention", cell="lstm", attention="multiplicative",
                       bidirectional=False, reverse=False)
