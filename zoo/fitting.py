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

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from .callbacks import STATE, DropoutSeeds, EarlyStopping, NaNGuard, NonFiniteLoss, RunCheckpoint, nan_guard, read_state

__all__ = ["STATE", "FitResult", "NonFiniteLoss", "fit", "nan_guard", "steps_per_execution"]

MAX_STEPS_PER_EXECUTION = 32


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
    if keras.backend.backend() not in ("tensorflow", "jax"):
        return 1
    return max(1, min(MAX_STEPS_PER_EXECUTION, steps_per_epoch))


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
    objective = objective or task.objective
    direction = direction or task.objectives[objective]
    patience = patience or task.patience

    state = read_state(checkpoint_dir) if checkpoint_dir else None
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
