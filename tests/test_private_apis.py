"""The private Keras and keras-tuner APIs the zoo still uses, each checked where it is used.

pyproject.toml bounds both packages (keras < 4, keras-tuner < 1.5); CI installs the newest release inside
those bounds, so a release that drops or changes one of these fails here, naming it, before users meet it.
"""

from __future__ import annotations

import inspect

import keras
import keras_tuner as kt
import numpy as np


def test_keras_layers_flatten_and_hold_seed_generators():
    """zoo.callbacks.DropoutSeeds walks ``Model._flatten_layers`` for every ``_seed_generators`` (dropout in
    layers and inside recurrent cells) and resets each generator's ``state`` per epoch."""
    inputs = keras.Input((5, 3))
    x = keras.layers.Bidirectional(keras.layers.LSTM(4, dropout=0.5, return_sequences=True))(inputs)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    layers = list(model._flatten_layers(include_self=True, recursive=True))
    assert model in layers and any(isinstance(layer, keras.layers.LSTMCell) for layer in layers)
    generators = [g for layer in layers for g in getattr(layer, "_seed_generators", ())]
    assert len({id(g) for g in generators}) >= 3  # the Dropout layer and both directions' cells
    state = np.array(keras.ops.convert_to_numpy(generators[0].state))
    generators[0].state.assign(state + np.array([0, 7], dtype=state.dtype))
    assert keras.ops.convert_to_numpy(generators[0].state)[1] == state[1] + 7


def test_keras_tuner_hooks_the_zoo_overrides():
    """zoo.tuning's tuner overrides ``Tuner._build_and_fit_model(trial, *args, **kwargs)`` (to count executions)
    and ``Tuner._build_hypermodel(hp)`` (to seed each build)."""
    for name, params in (("_build_and_fit_model", ["self", "trial", "args", "kwargs"]),
                         ("_build_hypermodel", ["self", "hp"])):
        method = getattr(kt.Tuner, name)
        assert list(inspect.signature(method).parameters) == params, name


def test_keras_tuner_hyperparameter_classes():
    """zoo.tasks.sentiment reads a search's declared values through ``keras_tuner.engine.hyperparameters``."""
    from keras_tuner.engine import hyperparameters as kinds

    hp = kt.HyperParameters()
    hp.Boolean("a")
    hp.Fixed("b", True)
    hp.Choice("c", [True, False])
    assert [type(p) for p in hp.space] == [kinds.Boolean, kinds.Fixed, kinds.Choice]
    assert hp.space[1].value is True and True in hp.space[2].values
