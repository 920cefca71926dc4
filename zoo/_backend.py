"""Which Keras backend a process gets when the user names none.

Keras 3 defaults to TensorFlow and fails to import without it. The zoo installs by need (a JAX-only
install has no TensorFlow), so when neither ``KERAS_BACKEND`` nor ``keras.json`` names a backend and
TensorFlow is not installed, the first installed of JAX and PyTorch is chosen, before Keras is imported.
A backend the user names always wins; nothing here imports a backend (``find_spec`` only).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

from .errors import MissingDependencyError

FALLBACKS = ("jax", "torch")  # in this order, when TensorFlow is absent


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a blocked or half-installed package
        return False


def _named_in_keras_json() -> bool:
    folder = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(folder, "keras.json"), encoding="utf-8") as f:
            return bool(json.load(f).get("backend"))
    except (OSError, ValueError, AttributeError):
        return False


def choose_backend() -> str | None:
    """Set ``KERAS_BACKEND`` to an installed backend when TensorFlow (Keras's default) is absent and
    the user named none; return what was chosen (None: left to Keras)."""
    if os.environ.get("KERAS_BACKEND") or "keras" in sys.modules or _named_in_keras_json():
        return None
    if _installed("tensorflow"):
        return None
    for name in FALLBACKS:
        if _installed(name):
            os.environ["KERAS_BACKEND"] = name
            return name
    raise MissingDependencyError('keras-seq-zoo needs a Keras backend and finds none (TensorFlow, JAX or PyTorch): '
                                 'pip install "keras-seq-zoo[jax]" (or [tensorflow], [torch])')


CHOSEN_BACKEND = choose_backend()  # at import: ``zoo/__init__.py`` imports this module first
