"""The one fit path: ``zoo.train``, every tuning trial and ``zoo.hypermodel`` train through here.

At each epoch's start every random generator of the model (dropout masks) is reset from the
run's seed and the epoch, so a resumed run draws the same masks as one never interrupted.
Callbacks run in this order at each epoch end, so every reader sees complete logs:

1. the task's callbacks, which add metrics computed outside ``fit`` (decoded BLEU,
   masked frame scores) to the logs;
2. the NaN guard, which stops at the first non-finite batch loss;
3. early stopping on the objective, restoring the best epoch's weights at the end;
4. the checkpoint of a run (``RUN.partial``): weights, optimizer, history and early
   stopping's state, written atomically, so a killed run resumes where it was;
5. the caller's callbacks (keras-tuner's, TensorBoard, ...).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import RuntimeFailure, ZooError
from .folders import read_json, write_json

STATE = "state.json"
MAX_STEPS_PER_EXECUTION = 32


class NonFiniteLoss(RuntimeFailure):
    """Training produced a NaN or infinite loss."""


@dataclass
class FitResult:
    history: dict[str, list[float]]
    seconds: float
    best_epoch: int | None = None
    stopped_early: bool = False
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def steps_per_execution(steps_per_epoch: int) -> int:
    """How many batches one compiled call runs. Keras's per-step overhead dominates short
    sequences on a CPU (32 steps per call took an LSTM-64 at length 16 from 0.75x to
    0.98x of PyTorch); a value above the epoch's steps only delays the epoch's callbacks."""
    import keras

    if keras.backend.backend() not in ("tensorflow", "jax"):
        return 1
    return max(1, min(MAX_STEPS_PER_EXECUTION, steps_per_epoch))


def _callbacks_module():
    import keras

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
            previous = _read_state(self.folder)
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

    return NaNGuard, EarlyStopping, RunCheckpoint, DropoutSeeds


def _read_state(folder: str) -> dict[str, Any] | None:
    path = os.path.join(folder, STATE)
    return read_json(path, "training checkpoint") if os.path.exists(path) else None


def nan_guard(error_class=NonFiniteLoss):
    """A callback that raises ``error_class`` at the first non-finite batch loss."""
    return _callbacks_module()[0](error_class)


def fit(model, task, preprocessor, train_examples: Sequence, validation_examples: Sequence | None, *,
        epochs: int, batch_size: int, objective: str | None = None, direction: str | None = None,
        patience: int | None = None, seed: int = 0, checkpoint_dir: str | None = None,
        callbacks: Sequence = (), verbose: int | str = 0, initial_epoch: int = 0,
        nan_error=NonFiniteLoss, where: str = "data") -> FitResult:
    """Train ``model`` on raw examples the way every zoo run is trained.

    ``validation_examples`` None (the final fit on train + validation) means no
    early stopping: exactly ``epochs`` epochs. ``checkpoint_dir`` makes the fit
    resumable: a checkpoint found there is loaded and training continues after
    its last finished epoch, with early stopping's state and the history intact.
    """
    NaNGuard, EarlyStopping, RunCheckpoint, DropoutSeeds = _callbacks_module()
    objective = objective or task.objective
    direction = direction or task.objectives[objective]
    patience = patience or task.patience

    state = _read_state(checkpoint_dir) if checkpoint_dir else None
    history: dict[str, list[float]] = {}
    es_state, best_weights, seconds_before, done = None, None, 0.0, initial_epoch
    if state is not None:
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # so its saved state loads too
        model.load_weights(os.path.join(checkpoint_dir, state["checkpoint"], "model.weights.h5"))
        history = {k: list(v) for k, v in state["history"].items()}
        es_state = state.get("early_stopping")
        if state.get("best_weights"):
            with np.load(os.path.join(checkpoint_dir, state["best_weights"])) as saved:
                best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        seconds_before = float(state.get("seconds", 0.0))
        done = int(state["epochs_done"])

    train = task.fit_data(preprocessor, train_examples, f"{where} (train)", batch_size=batch_size,
                          training=True, seed=seed, epoch=done)
    validation = None
    if validation_examples is not None:
        validation = task.fit_data(preprocessor, validation_examples, f"{where} (validation)",
                                   batch_size=batch_size, training=False, seed=seed)

    all_callbacks: list = [DropoutSeeds(model)]
    early_stopping = None
    if validation is not None:
        all_callbacks.extend(task.callbacks(model, preprocessor, validation_examples, batch_size))
    all_callbacks.append(NaNGuard(nan_error))
    if validation is not None:
        early_stopping = EarlyStopping(objective, direction, patience, es_state, best_weights)
        all_callbacks.append(early_stopping)
    if checkpoint_dir:
        all_callbacks.append(RunCheckpoint(checkpoint_dir, history, early_stopping, seconds_before))
    all_callbacks.extend(callbacks)

    model.steps_per_execution = steps_per_execution(train.steps_per_epoch(batch_size))
    model.train_function = model.test_function = None  # rebuilt for the new steps_per_execution

    if verbose == "auto":
        import sys

        verbose = 1 if sys.stdout.isatty() else 2
    started = time.perf_counter()
    finished = done >= epochs or (early_stopping is not None and early_stopping.stopped)
    if not finished:
        fit_kwargs = train.fit_args()
        if not train.batched:
            fit_kwargs.update(batch_size=batch_size, shuffle=True)
        else:
            fit_kwargs.update(shuffle=False)  # the batches come shuffled, seeded by epoch
        fitted = model.fit(**fit_kwargs, validation_data=validation.validation_data() if validation else None,
                           epochs=epochs, initial_epoch=done, verbose=verbose, callbacks=all_callbacks,
                           validation_batch_size=batch_size if validation and not validation.batched else None)
        if not checkpoint_dir:
            for key, values in fitted.history.items():
                history.setdefault(key, []).extend(float(v) for v in values)
    elif early_stopping is not None and early_stopping.best_weights is not None:
        model.set_weights(early_stopping.best_weights)
    seconds = seconds_before + time.perf_counter() - started
    return FitResult(history=history, seconds=seconds,
                     best_epoch=early_stopping.best_epoch if early_stopping else None,
                     stopped_early=bool(early_stopping and early_stopping.stopped), resumed_from=done)
