"""Mixed precision: the dtype policy a model is built under (``zoo train/tune --precision``).

``float32`` (the default) computes and stores everything in float32. ``mixed_float16`` and
``mixed_bfloat16`` keep the variables in float32 and compute the layers in 16 bits: on a GPU with
tensor cores (float16; bfloat16 on Ampere and later, and TPUs) a recurrent layer runs faster and
activations take half the memory. The output layers (softmax classifiers, decoder logits) always
compute in float32, as Keras's guide advises, so probabilities and losses keep their precision;
``mixed_float16`` also scales the loss (Keras wraps the optimizer in a ``LossScaleOptimizer`` when
it compiles), so small gradients do not underflow. On CPUs 16-bit compute is emulated and slower:
the option is for accelerators. The policy is saved with each layer, so a loaded run computes as it
was trained.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .errors import HyperparameterError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DEFAULT = "float32"


def check_precision(value: str | None) -> str:
    """``value`` if it names a precision (None: the default), else a HyperparameterError listing them."""
    if value is None:
        return DEFAULT
    if value not in PRECISIONS:
        raise HyperparameterError(f"precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return value


@contextlib.contextmanager
def policy(precision: str) -> Iterator[None]:
    """Build models under ``precision``'s dtype policy; the process's policy is restored after.
    ``keras.backend.clear_session()`` resets Keras's policy: set it after any clear, right before a build."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(check_precision(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
