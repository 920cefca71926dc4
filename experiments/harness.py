"""What every experiment script records beside its numbers: the machine, its load, and an atomic write.

Every results script trains through :func:`sweep` (seeds, the task's metrics, medians with their range, the
machine record and an atomic write after every entry).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import sys
from typing import Any


def machine() -> dict[str, Any]:
    """The platform, CPU count, Python, Keras (and its backend) and the load average when it is called."""
    record: dict[str, Any] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                              "python": platform.python_version(), "load_average_1_5_15_min": os.getloadavg()}
    if "keras" in sys.modules:
        import keras

        record.update(keras=keras.__version__, backend=keras.backend.backend())
    return record


def write_result(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON to ``path`` atomically (a temporary file beside it, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    os.replace(temporary, path)
    print(f"wrote {path}", file=sys.stderr)


def sha256(path: str) -> str:
    """The SHA-256 of a file, as ``sha256sum`` prints it (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def command() -> str:
    """The command that reproduces this run: ``python SCRIPT ARGS`` with the script relative to the cwd."""
    return " ".join(["python", os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def stats(trials: list[dict[str, Any]], keys) -> dict[str, float]:
    """``median_K``, ``min_K`` and ``max_K`` over the trials for every key (the range of seeds beside the median)."""
    out: dict[str, float] = {}
    for key in keys:
        values = [t[key] for t in trials if t.get(key) is not None]
        if values:
            out.update({f"median_{key}": statistics.median(values), f"min_{key}": min(values),
                        f"max_{key}": max(values)})
    return out


def sweep(entries, data: str, seeds: int, out: str, *, keys=None, overrides: dict | None = None,
          train: dict | None = None, extra=None, header: dict | None = None, folder: str | None = None,
          runs: dict | None = None) -> list[dict[str, Any]]:
    """Train every entry ``seeds`` times (seeds 0..N-1) on ``data`` and record its test metrics.

    ``keys`` are the test metrics kept (default: the task's own, ``Task.metrics``); ``overrides`` are
    given to each entry that declares them (hyperparameters and preprocessing options, as ``--set``);
    ``train`` holds further ``zoo.train`` keywords (epochs, patience, batch_size); ``extra(run)`` adds
    task-specific figures to a trial. With ``folder`` each run is written there (``ENTRY-SEED``); ``runs``
    (a dict) receives each entry's first run, for pictures and timings after the sweep.
    The results file (``header``, the machine, the command, the results so far) is rewritten after every
    entry, so a long sweep that is stopped keeps what it measured. Returns the results.
    """
    import zoo

    results: list[dict[str, Any]] = []
    started = machine()
    for name in entries:
        spec = zoo.get(name)
        task = spec.task
        keep = tuple(keys or task.metrics)
        declared = {*spec.space(), *task.preprocessing_options, *task.file_options}
        chosen = {k: v for k, v in (overrides or {}).items() if k in declared}
        trials = []
        for seed in range(seeds):
            path = os.path.join(folder, f"{name.replace('/', '_')}-{seed}") if folder else None
            run = zoo.train(name, data, path, seed=seed, verbose=0, overrides=chosen, overwrite=bool(path),
                            **(train or {}))
            test, validation = run.metrics["test"], run.metrics.get("validation", {})
            trial = {"seed": seed, **{k: test[k] for k in keep if k in test},
                     "validation": {k: validation[k] for k in keep if k in validation},
                     "epochs": run.metrics["epochs_trained"],
                     "best_epoch": run.metrics.get("best_epoch"), "seconds": run.metrics["train_seconds"],
                     "load_average": os.getloadavg(), **(extra(run) if extra else {})}
            trials.append(trial)
            if runs is not None:
                runs.setdefault(name, run)
            print(f"{name} seed {seed}: " + ", ".join(f"{k} {trial[k]:.4g}" for k in keep if k in trial)
                  + f", {trial['seconds']:.0f} s", file=sys.stderr, flush=True)
        validation = stats([t["validation"] for t in trials], keep)
        results.append({"entry": name, "overrides": chosen, "trials": trials, **stats(trials, (*keep, "seconds")),
                        **{f"validation_{k}": v for k, v in validation.items()}})
        write_result(out, {**(header or {}), "data": data, "seeds": seeds, "settings": overrides or {},
                           "machine": started, "load_average_at_end": os.getloadavg(), "command": command(),
                           "results": results})
    return results
