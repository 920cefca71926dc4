"""The shared recurrent stack and optimizer every entry is built from.

Recurrent nets share one set of weights across time steps and are trained by
backpropagation through time; over long sequences the gradient is a product
of many Jacobians, so it vanishes or explodes. The stack here keeps the gated
cells (LSTM: input, forget, output gates; GRU: reset, update gates) that let
information cross long spans, and the optimizer clips the gradient norm by
default, the standard remedy for the explosion.

Layers keep the defaults that make them eligible for the fused cuDNN kernel on
a GPU: tanh/sigmoid activations, no recurrent dropout, no unrolling, biases
on. Masks come from ``Embedding(mask_zero=True)`` over right-padded ids.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

CELLS = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}


def recurrent_stack(x, *, cell: str, units: int, depth: int = 1, bidirectional: bool = False,
                    dropout: float = 0.0, return_sequences: bool = False, name: str = "rnn"):
    """Apply ``depth`` recurrent layers of ``cell`` to ``x`` (``[batch, time, features]``).

    Dropout sits between layers (not on the recurrent connections, which would
    rule out cuDNN). The last layer returns the final state, or every step when
    ``return_sequences`` (for per-step outputs and encoders).
    """
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; allowed: {', '.join(CELLS)}")
    for i in range(depth):
        last = i == depth - 1
        rnn = CELLS[cell](units, return_sequences=return_sequences or not last, name=f"{name}_{cell}_{i}")
        if bidirectional:
            rnn = layers.Bidirectional(rnn, name=f"{name}_bidirectional_{i}")
        x = rnn(x)
        if dropout > 0 and not last:
            x = layers.Dropout(dropout, name=f"{name}_dropout_{i}")(x)
    return x


def declare_stack(hp, *, units: int = 64, depth: int = 1, dropout: float = 0.0,
                  bidirectional: bool = False) -> dict[str, Any]:
    """Declare the recurrent hyperparameters with entry-specific defaults."""
    return {
        "units": hp.Int("units", 16, 512, step=16, default=units),
        "depth": hp.Int("depth", 1, 4, default=depth),
        "dropout": hp.Float("dropout", 0.0, 0.6, step=0.1, default=dropout),
        "bidirectional": bidirectional,
    }


def optimizer(hp, *, learning_rate: float = 3e-3, clipnorm: float = 1.0,
              weight_decay: float | None = None, half_life: int | None = None) -> keras.optimizers.Optimizer:
    """Adam with gradient-norm clipping on by default (``clipnorm=0`` turns it off).

    An entry that passes ``weight_decay`` declares it as a hyperparameter: above 0 the
    optimizer is AdamW (decoupled weight decay, Loshchilov & Hutter 2019), at 0 plain Adam.
    ``half_life`` (an int) declares ``learning_rate_half_life`` with that default: the learning rate
    halves every that many batches (``ExponentialDecay``; 0 keeps it constant). The schedule counts
    the optimizer's own steps, which a checkpoint keeps, so a resumed run continues it exactly."""
    lr = hp.Float("learning_rate", 1e-4, 3e-2, sampling="log", default=learning_rate)
    clip = hp.Float("clipnorm", 0.0, 10.0, default=clipnorm)
    if half_life is not None:
        steps = hp.Int("learning_rate_half_life", 0, 100_000, default=half_life)
        if steps > 0:
            lr = keras.optimizers.schedules.ExponentialDecay(lr, decay_steps=steps, decay_rate=0.5)
    decay = 0.0 if weight_decay is None else hp.Float("weight_decay", 0.0, 0.5, default=weight_decay)
    if decay > 0:
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=decay, clipnorm=clip if clip > 0 else None)
    return keras.optimizers.Adam(learning_rate=lr, clipnorm=clip if clip > 0 else None)


def declare_lr_decay(hp, model: keras.Model, default: float = 1.0) -> None:
    """Declare ``lr_decay``, the factor the learning rate is multiplied by after every epoch
    (1 keeps it constant), and keep it with the initial rate on ``model`` for :func:`lr_schedule`
    (call it after :func:`optimizer`, which declares ``learning_rate``)."""
    model.zoo_lr_decay = (hp.get("learning_rate"), hp.Float("lr_decay", 0.1, 1.0, default=default))


def lr_schedule(model: keras.Model) -> list:
    """The callback that applies ``model``'s ``lr_decay`` per epoch (none when it is 1 or undeclared).

    It sets the rate from the epoch index alone (``initial * lr_decay ** epoch``), so a run
    resumed after a crash continues the same schedule; per epoch rather than per step, so
    the same value means the same schedule on 3,000 sentences and on 300,000."""
    initial, decay = getattr(model, "zoo_lr_decay", (None, 1.0))
    if decay >= 1.0:
        return []
    return [keras.callbacks.LearningRateScheduler(lambda epoch: initial * decay**epoch)]
