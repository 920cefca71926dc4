"""What a search reports: the trials (``trials.csv``, ``trials.json``), the objective plot, the table."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import Any

from ..folders import (
    read_json,
    write_json,
)
from ..report import text_table
from .folder import TRIAL_META


@dataclass
class TuneResult:
    """What ``zoo.tune`` returns: every trial, the best one, and the files written."""

    path: str
    objective: str
    direction: str
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None
    tuned_path: str | None  # the tuned-hyperparameters file (zoo.tuned)
    final: dict[str, Any] | None = None

    @property
    def preset_path(self) -> str | None:
        """The old name of :attr:`tuned_path`."""
        return self.tuned_path

    def table(self) -> str:
        names = sorted({k for t in self.trials for k in t["hyperparameters"]})
        header = ["trial", "status", self.objective, "epochs", "seconds", *names]
        rows = []
        for t in self.trials:
            score = "" if t["score"] is None else f"{t['score']:.4f}"
            rows.append([t["trial_id"], t["status"], score, str(t["epochs"] or ""),
                         "" if t["seconds"] is None else f"{t['seconds']:.1f}",
                         *[_fmt(t["hyperparameters"].get(n)) for n in names]])
        return text_table(rows, header)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def collect(tuner, objective: str) -> list[dict[str, Any]]:
    trials = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        meta_path = os.path.join(tuner.get_trial_dir(trial_id), TRIAL_META)
        meta = read_json(meta_path) if os.path.exists(meta_path) else {}
        score = trial.score
        history = trial.metrics.get_history(objective) if trial.metrics.exists(objective) else []
        reason = None
        if trial.message:
            lines = [line for line in str(trial.message).strip().splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else None
        trials.append({
            "trial_id": trial_id, "status": str(trial.status).split(".")[-1],
            "score": None if score is None or not math.isfinite(score) else float(score),
            "epochs": (trial.best_step + 1) if trial.best_step is not None and history else None,
            "seconds": meta.get("seconds"), "rss_mb": meta.get("rss_mb"), "tuner_id": meta.get("tuner_id"),
            "hyperparameters": dict(trial.hyperparameters.values), "reason": reason,
        })
    return trials


def write_reports(out: str, result_trials: list[dict], objective: str, direction: str) -> None:
    write_json(os.path.join(out, "trials.json"), result_trials)
    names = sorted({k for t in result_trials for k in t["hyperparameters"]})
    tmp = os.path.join(out, ".trials.csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["trial_id", "status", objective, "epochs", "seconds", "rss_mb", "reason", *names])
        for t in result_trials:
            writer.writerow([t["trial_id"], t["status"], t["score"], t["epochs"], t["seconds"], t["rss_mb"],
                             t["reason"], *[t["hyperparameters"].get(n) for n in names]])
    os.replace(tmp, os.path.join(out, "trials.csv"))
    _plot(os.path.join(out, "objective.png"), result_trials, objective, direction)


def _plot(path: str, trials: list[dict], objective: str, direction: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [i for i, t in enumerate(trials) if t["score"] is not None]
    ys = [trials[i]["score"] for i in xs]
    best, best_so_far = None, []
    for y in ys:
        best = y if best is None or (y > best if direction == "max" else y < best) else best
        best_so_far.append(best)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(xs, ys, label=f"{objective} of each trial", color="tab:blue")
    ax.step(xs, best_so_far, where="post", label="best so far", color="tab:orange")
    failed = [i for i, t in enumerate(trials) if t["score"] is None]
    if failed:
        ax.scatter(failed, [min(ys) if ys else 0] * len(failed), marker="x", color="tab:red", label="failed")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
