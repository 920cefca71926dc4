"""Hyperparameter tuning with keras-tuner: resumable, reported, distributed.

A search is a folder::

    OUT/
      tune_config.json     what was asked (entry, data, tuner, budget, objective, space)
      search/              keras-tuner's project: oracle.json, trial_*/ (trial.json; zoo_trial.json: each
                           attempt at the trial, its start and end, and the epoch history; the
                           checkpoint of the best few trials only)
      tensorboard/         per-trial logs with HParams (TensorFlow backend)
      trials.csv, trials.json, objective.png
      tuned_hyperparameters.json   the best hyperparameters, score, data and date: ``zoo.build(name, tuned=...)``
      final/               with ``final_fit``: the best configuration retrained on train + validation

Run the same call again with the same ``out`` and it resumes: finished trials
are kept, a trial cut off by a kill runs again from its start. A trial that
fails (NaN loss, out of memory, an impossible combination) is recorded as
failed with its reason and the search goes on, up to ``max_consecutive_failures``.
Each trial is seeded right before its model is built, as ``zoo train`` is, so a trial
with fixed values is the run ``zoo train`` makes with them, and a rerun trial repeats itself.

The package, by job: :mod:`~zoo.tuning.config` (settings and experiment files), :mod:`~zoo.tuning.trials`
(the tuner classes), :mod:`~zoo.tuning.search` (prepare, search, tuned file, final fit),
:mod:`~zoo.tuning.reports` (trials table, files and plot), :mod:`~zoo.tuning.folder` (the search folder's
files, resume checks, locks and swap).
"""

from .config import DISTRIBUTIONS, TUNERS, TuneSettings, load_config, parse_space
from .folder import SEARCH_FILES
from .reports import TuneResult
from .search import tune

__all__ = ["DISTRIBUTIONS", "SEARCH_FILES", "TUNERS", "TuneResult", "TuneSettings", "load_config", "parse_space",
           "tune"]
