"""The recurrent decoder every generating task is built on: translation, captioning, language models.

One layer holds the target side of a sequence model: a token embedding, a stack of LSTM or GRU
layers, optional attention over a memory (an encoder's outputs, a grid of image features) and the
output ``Dense`` named ``logits``. Training runs the fused recurrent layers over whole sequences
(teacher forcing, cuDNN-eligible); decoding runs the same layers' cells one token at a time
(:meth:`RecurrentDecoder.step`), which is :mod:`zoo.decoding`'s step-function contract. Attention
reads the recurrent outputs (no input feeding), which is what lets training stay on the fused layers
and the step equal them. A task keeps only what is its own: the encoder and what it hands the decoder
(initial states, a memory), or an extra input merged before the logits (:meth:`RecurrentDecoder.logits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from .errors import HyperparameterError
from .recurrent import optimizer

RNN = {"lstm": layers.LSTM, "gru": layers.GRU}
ATTENTION = (None, "additive", "multiplicative")


@keras.saving.register_keras_serializable(package="zoo")
class TiedLogits(keras.layers.Layer):
    """Next-token logits from an embedding matrix: ``features @ embeddings.T + bias``.

    The layer owns only the bias; the matrix comes with each call (the decoder's own embedding), so
    the weights are one variable, saved once, trained by both ends. ``bias`` is what
    :func:`zoo.decoding.start_logits_at_prior` sets, as on a ``Dense``.

    Example::

        logits = TiedLogits(vocab_size)(features, embedding.embeddings)   # features [..., embedding_dim]
    """

    def __init__(self, vocab_size: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size}

    def build(self, features_shape=None):
        self.bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="bias")
        self.built = True

    def call(self, features, embeddings):
        return ops.matmul(features, ops.transpose(ops.cast(embeddings, features.dtype))) + self.bias


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentDecoder(keras.layers.Layer):
    """Embedding, ``depth`` recurrent layers, optional attention over a memory, next-token logits.

    Teacher-forced: ``decoder(token_ids, initial_state, memory, memory_mask)`` -> logits
    ``[batch, T, vocab_size]`` for right-padded ``token_ids`` ``[batch, T]`` (0 is padding, masked).
    Step by step: ``state = decoder.initial_state(...)``, then ``logits, state = decoder.step(tokens, state)``
    with ``tokens`` ``[batch]``; the same weights give the same logits on every real position.

    Additive attention (Bahdanau et al. 2015) scores ``v . tanh(W_q h_t + W_k m_s)``; multiplicative
    (Luong et al. 2015, "general") scores ``h_t . W m_s``. Either way the context is combined with the
    recurrent output by ``tanh(W_c [h_t; c_t])`` before the logits.

    Args:
        vocab_size: output (and input) vocabulary size, padding (id 0) included.
        cell: ``"lstm"`` or ``"gru"``.
        units: units of every recurrent layer (and of the attention combination).
        depth: number of stacked recurrent layers.
        embedding_dim: size of the token embedding.
        dropout: dropout rate on the embedding and before the logits (one ``Dropout`` layer).
        dropout_between_layers: also drop out each recurrent layer's outputs before the next layer
            (the language models' regularisation, Zaremba et al. 2014).
        attention: ``None``, ``"additive"`` or ``"multiplicative"``; with attention, ``call`` and
            ``initial_state`` take a ``memory`` ``[batch, S, d]``.
        attention_units: size of the additive attention's query and key projections.
        tie_embeddings: make the logits from the embedding matrix itself, ``features @ E.T + b``
            (Press & Wolf 2017; Inan et al. 2017): one matrix for reading and writing tokens, which
            regularises a model trained on little text. When ``units != embedding_dim`` the features go
            through a linear projection (``tie_projection``) to ``embedding_dim`` first.
        **kwargs: standard layer arguments (``name``, ``dtype``).

    Example::

        decoder = RecurrentDecoder(vocab_size=300, cell="gru", units=64, attention="additive")
        logits = decoder(target_ids, initial_state=encoder_states, memory=encoder_outputs, memory_mask=mask)
        state = decoder.initial_state(encoder_states, memory=encoder_outputs, memory_mask=mask)
        logits, state = decoder.step(tokens, state)
    """

    def __init__(self, vocab_size: int, cell: str = "lstm", units: int = 128, depth: int = 1,
                 embedding_dim: int = 64, dropout: float = 0.0, dropout_between_layers: bool = False,
                 attention: str | None = None, attention_units: int = 128, tie_embeddings: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if cell not in RNN:
            raise HyperparameterError(f"cell must be one of {', '.join(RNN)}, got {cell!r}")
        if attention not in ATTENTION:
            raise HyperparameterError(f"attention must be one of {ATTENTION}, got {attention!r}")
        self.vocab_size, self.cell, self.units, self.depth = vocab_size, cell, units, depth
        self.embedding_dim, self.dropout, self.dropout_between_layers = embedding_dim, dropout, dropout_between_layers
        self.attention, self.attention_units = attention, attention_units
        self.tie_embeddings = bool(tie_embeddings)
        self.states_per_layer = 2 if cell == "lstm" else 1

        self.embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
        self.recurrent_layers = [RNN[cell](units, return_sequences=True, return_state=True, name=f"{cell}_{i}")
                                 for i in range(depth)]
        self.dropout_layer = layers.Dropout(dropout, name="dropout")
        self.attention_query = self.attention_key = self.attention_layer = self.attention_combine = None
        if attention == "additive":
            self.attention_key = layers.Dense(attention_units, name="attention_key")
            self.attention_query = layers.Dense(attention_units, use_bias=False, name="attention_query")
            self.attention_layer = layers.AdditiveAttention(name="attention")
        elif attention == "multiplicative":
            self.attention_key = layers.Dense(units, use_bias=False, name="attention_key")
            self.attention_layer = layers.Attention(name="attention")
        if attention:
            self.attention_combine = layers.Dense(units, activation="tanh", name="attention_combine")
        self.output_projection = None
        if self.tie_embeddings:
            if units != embedding_dim:
                self.output_projection = layers.Dense(embedding_dim, use_bias=False, name="tie_projection")
            self.output_layer = TiedLogits(vocab_size, dtype="float32", name="logits")  # float32 in mixed precision
        else:
            self.output_layer = layers.Dense(vocab_size, dtype="float32", name="logits")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "cell": self.cell, "units": self.units,
                "depth": self.depth, "embedding_dim": self.embedding_dim, "dropout": self.dropout,
                "dropout_between_layers": self.dropout_between_layers, "attention": self.attention,
                "attention_units": self.attention_units, "tie_embeddings": self.tie_embeddings}

    def build(self, token_ids_shape, memory_shape=None):
        self.embedding.build(token_ids_shape)
        width = self.embedding_dim
        for layer in self.recurrent_layers:
            layer.build((None, None, width))
            width = self.units
        if self.attention:
            if memory_shape is None:
                raise ValueError(f"{self.name}: attention={self.attention!r} needs a memory to build")
            memory_shape = tuple(memory_shape)
            self.attention_key.build(memory_shape)
            query_shape = (None, None, self.units)
            if self.attention_query is not None:
                self.attention_query.build(query_shape)
                query_shape = (None, None, self.attention_units)
            self.attention_layer.build([query_shape, memory_shape, (*memory_shape[:-1], query_shape[-1])])
            self.attention_combine.build((None, None, self.units + memory_shape[-1]))
        features = (None, None, self.units)
        if self.output_projection is not None:
            self.output_projection.build(features)
            features = (None, None, self.embedding_dim)
        self.output_layer.build(features)
        self.built = True

    @property
    def state_count(self) -> int:
        """Tensors in a step state: the recurrent states, then ``(memory, key, mask)`` with attention."""
        return self.depth * self.states_per_layer + (3 if self.attention else 0)

    def _attend(self, outputs, memory, key, memory_mask, training: bool = False,
                return_attention_scores: bool = False):
        query = self.attention_query(outputs) if self.attention_query is not None else outputs
        out = self.attention_layer([query, memory, key], mask=[None, memory_mask], training=training,
                                   return_attention_scores=return_attention_scores)
        context, scores = out if return_attention_scores else (out, None)
        combined = self.attention_combine(ops.concatenate([outputs, context], axis=-1))
        return (combined, scores) if return_attention_scores else combined

    def call(self, token_ids, initial_state=None, memory=None, memory_mask=None, training: bool = False,
             return_attention_scores: bool = False, return_features: bool = False):
        """Teacher-forced logits (or, with ``return_features``, the features the logits are made from:
        see :meth:`logits`); with ``return_attention_scores``, also the attention ``[batch, T, S]``."""
        n = self.states_per_layer
        mask = ops.not_equal(token_ids, 0)
        x = self.dropout_layer(self.embedding(token_ids), training=training)
        for i, layer in enumerate(self.recurrent_layers):
            states = None if initial_state is None else list(initial_state[i * n:(i + 1) * n])
            x = layer(x, mask=mask, initial_state=states, training=training)[0]
            if self.dropout_between_layers and i < self.depth - 1:
                x = self.dropout_layer(x, training=training)
        scores = None
        if self.attention:
            key = self.attention_key(memory)
            out = self._attend(x, memory, key, memory_mask, training, return_attention_scores)
            x, scores = out if return_attention_scores else (out, None)
        out = x if return_features else self.logits(x, training=training)
        return (out, scores) if return_attention_scores else out

    def logits(self, features, training: bool = False):
        """Dropout, then the output layer: what :meth:`call` and :meth:`step` end with (a model that
        merges its own input into the features calls them with ``return_features`` and then this)."""
        x = self.dropout_layer(features, training=training)
        if not self.tie_embeddings:
            return self.output_layer(x)
        if self.output_projection is not None:
            x = self.output_projection(x)
        return self.output_layer(x, self.embedding.embeddings)

    def initial_state(self, states: Sequence | None = None, memory=None, memory_mask=None,
                      batch_size: Any = None) -> tuple:
        """The step state: ``states`` (``depth * states_per_layer`` tensors ``[batch, units]``, layer by
        layer; zeros of ``batch_size`` rows when None), then with attention ``memory``, its key and
        ``memory_mask`` as floats (all ones when None). Every tensor has a leading batch axis."""
        if states is None:
            if batch_size is None:
                batch_size = ops.shape(memory)[0]
            zeros = ops.zeros((batch_size, self.units), dtype="float32")
            states = [zeros] * (self.depth * self.states_per_layer)
        state = tuple(states)
        if self.attention:
            if memory_mask is None:
                memory_mask = ops.ones(ops.shape(memory)[:2], dtype=memory.dtype)
            state += (memory, self.attention_key(memory), ops.cast(memory_mask, memory.dtype))
        return state

    def step(self, tokens, state, return_features: bool = False) -> tuple:
        """Next-token logits ``[batch, vocab_size]`` for the previous ``tokens`` ``[batch]``, and the new state."""
        state = tuple(state)
        if len(state) != self.state_count:
            raise ValueError(f"{self.name}: a step state has {self.state_count} tensors, got {len(state)}")
        x = ops.take(self.embedding.embeddings, tokens, axis=0)  # a lookup; no mask for the cells
        n = self.states_per_layer
        new_states: list = []
        for i, layer in enumerate(self.recurrent_layers):
            x, layer_states = layer.cell(x, list(state[i * n:(i + 1) * n]))
            new_states.extend(layer_states if isinstance(layer_states, list | tuple) else [layer_states])
        rest = state[len(new_states):]
        if self.attention:
            memory, key, mask = rest
            x = self._attend(x[:, None, :], memory, key, ops.cast(mask, "bool"))[:, 0, :]
        return (x if return_features else self.logits(x)), (*new_states, *rest)


def compile_next_token(model: keras.Model, hp, metrics: Sequence = ()) -> keras.Model:
    """Compile a decoder model for next-token training: Adam (:func:`zoo.recurrent.optimizer`), cross-entropy
    on logits averaged over real target tokens (sample weights), ``token_accuracy`` and ``metrics``."""
    model.compile(optimizer=optimizer(hp),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  reduction="mean_with_sample_weight"),
                  weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy"), *metrics])
    return model


def logits_layer(model: keras.Model) -> layers.Layer:
    """The output ``Dense`` of ``model``: its :class:`RecurrentDecoder`'s, else its layer named ``logits``."""
    for layer in model.layers:
        if isinstance(layer, RecurrentDecoder):
            return layer.output_layer
    return model.get_layer("logits")


__all__ = ["ATTENTION", "RNN", "RecurrentDecoder", "TiedLogits", "compile_next_token", "logits_layer"]
