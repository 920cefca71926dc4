"""The callbacks of the one fit path (zoo.fitting), in the order it runs them at each epoch end: the NaN
guard, early stopping that survives a resume, the run checkpoint, and the per-epoch dropout seeds.

This module imports Keras; zoo.fitting imports it, and only training and tuning import zoo.fitting.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from typing import Any

import keras
import numpy as np

from .errors import RuntimeFailure, ZooError
from .folders import read_json, write_json

STATE = "state.json"  # the checkpoint's index in RUN.partial/, written last


class NonFiniteLoss(RuntimeFailure):
    """Training produced a NaN or infinite loss."""


class NaNGuard(keras.callbacks.Callback):
    """Stop at the first non-finite loss: no point training on."""

    def __init__(self, error_class=NonFiniteLoss):
        super().__init__()
        self.error_class = error_class

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise self.error_class(f"loss became {float(loss)} at batch {batch}; lower the learning "
                                   "rate or turn clipping on (clipnorm)")


class EarlyStopping(keras.callbacks.Callback):
    """Early stopping whose state (best value, epoch, wait count, best weights)
    survives a resume; it always ends on the best epoch's weights.

    A score that is still at zero (``val_bleu`` while greedy decoding writes nothing useful, the
    first epochs of a translation model) cannot improve yet; while it stays at zero, an epoch
    whose ``val_loss`` improves counts as progress, so patience is not spent on the floor."""

    def __init__(self, monitor: str, mode: str, patience: int, state: dict | None = None,
                 best_weights: list | None = None):
        super().__init__()
        self.monitor, self.mode, self.patience = monitor, mode, patience
        state = state or {}
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.wait = state.get("wait", 0)
        self.stopped = state.get("stopped", False)
        self.best_loss = state.get("best_loss")
        self.best_weights = best_weights
        self.improved = False

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "stopped": self.stopped,
                "best_loss": self.best_loss}

    def _better(self, value: float, loss: float | None) -> bool:
        if self.best is None:
            return True
        if self.mode == "max" and value == self.best == 0 and loss is not None:  # still on the floor
            return self.best_loss is None or loss < self.best_loss
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ZooError(f"early stopping watches {self.monitor!r}, which training did not log; "
                           f"logged: {', '.join(sorted(logs))}")
        value = float(logs[self.monitor])
        loss = float(logs["val_loss"]) if self.monitor != "val_loss" and "val_loss" in logs else None
        loss = loss if loss is not None and math.isfinite(loss) else None
        self.improved = math.isfinite(value) and self._better(value, loss)
        if self.improved:
            self.best, self.best_epoch, self.wait, self.best_loss = value, epoch, 0, loss
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped = True
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class RunCheckpoint(keras.callbacks.Callback):
    """Everything a resume needs, written atomically at each epoch end into ``folder``:
    ``epoch-N/`` (weights with optimizer state, early stopping's best weights) and
    ``state.json`` naming it, written last. A kill at any moment leaves the previous
    complete epoch in place."""

    def __init__(self, folder: str, history: dict[str, list[float]], early_stopping=None,
                 seconds: float = 0.0):
        super().__init__()
        self.folder, self.history, self.early_stopping = folder, history, early_stopping
        self.seconds_before = seconds
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        previous = read_state(self.folder)
        target = os.path.join(self.folder, f"epoch-{epoch + 1}")
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        self.model.save_weights(os.path.join(target, "model.weights.h5"))
        best_file = None
        es = self.early_stopping
        if es is not None and es.best_weights is not None:
            if es.improved or previous is None or not previous.get("best_weights"):
                best_file = os.path.join(target, "best.npz")
                np.savez(best_file, *es.best_weights)
            else:  # unchanged: carry the previous file over
                best_file = os.path.join(target, "best.npz")
                shutil.copyfile(os.path.join(self.folder, previous["best_weights"]), best_file)
        write_json(os.path.join(self.folder, STATE), {
            "epochs_done": epoch + 1, "checkpoint": os.path.basename(target),
            "history": self.history, "early_stopping": es.state() if es is not None else None,
            "best_weights": os.path.relpath(best_file, self.folder) if best_file else None,
            "seconds": self.seconds_before + time.perf_counter() - self.started,
        })
        for name in os.listdir(self.folder):
            if name.startswith("epoch-") and name != os.path.basename(target):
                shutil.rmtree(os.path.join(self.folder, name), ignore_errors=True)


class DropoutSeeds(keras.callbacks.Callback):
    """Random masks (dropout, recurrent dropout, noise) that depend on the run's seed and the
    epoch alone: each epoch starts every seed generator in the model afresh from its state at
    build time (which the run's seed fixes), moved on by the epoch. A checkpoint does not hold
    those states, so without this a resumed run would drop other units than the uninterrupted
    run it must equal."""

    STRIDE = 1_000_003  # far more draws than one epoch makes

    def __init__(self, model):
        super().__init__()
        self.generators = []
        for layer in model._flatten_layers(include_self=True, recursive=True):
            for generator in getattr(layer, "_seed_generators", ()):
                if all(generator is not g for g in self.generators):
                    self.generators.append(generator)
        self.initial = [np.array(keras.ops.convert_to_numpy(g.state)) for g in self.generators]

    def on_epoch_begin(self, epoch, logs=None):
        for generator, initial in zip(self.generators, self.initial, strict=True):
            generator.state.assign(initial + np.array([0, epoch * self.STRIDE], dtype=initial.dtype))


def read_state(folder: str) -> dict[str, Any] | None:
    path = os.path.join(folder, STATE)
    return read_json(path, "training checkpoint") if os.path.exists(path) else None


def nan_guard(error_class=NonFiniteLoss):
    """A callback that raises ``error_class`` at the first non-finite batch loss."""
    return NaNGuard(error_class)
