#!/usr/bin/env python3
"""GPU against CPU on one machine: training and tuning throughput of the zoo, in one command.

Two commands, one on each side of the gap (issue 22, items 4 and 5):

Here, with the package registries::

    python experiments/gpu_check.py --prepare shared/wheels [--python-version 3.11]
        [--platform manylinux2014_x86_64] [--skip numpy,scipy,jax,jaxlib,ml-dtypes,pillow] [--dry-run]

    resolves the zoo's core requirements (pyproject.toml) for the target Python and platform with
    ``pip install --dry-run --report`` (binary wheels only), downloads those the device may lack
    (``pip download --no-deps``; ``--skip`` names what it has: JAX requires NumPy, SciPy and ml_dtypes, and
    Pillow, likely there, would take the folder over the limit), a pip wheel (so the device needs no pip of
    its own), and a wheel of keras-seq-zoo built from the
    working tree (``pip wheel --no-deps .``); writes ``DIR/manifest.json`` (files, sizes, sha256, the
    Python versions and platforms targeted) and prints the total size. More than 60 MiB (what may be
    carried to a device is 64 MiB) is an error: exit 2, and the folder is removed. ``--dry-run`` prints
    what would be downloaded and downloads nothing. For Python 3.11 on manylinux2014_x86_64 the folder
    comes to 54.2 MiB (43 wheels; December 2026). Several Pythons (``3.11,3.12``) are accepted, but the
    compiled wheels of two do not fit: the device side checks its Python against the manifest (exit 2).

There, on the GPU machine (no network, no TensorFlow), in the repository root::

    python experiments/gpu_check.py --wheels shared/wheels --out $OUT/gpu_check.json [--quick]
        [--epochs 2] [--trials 10] [--entries A,B] [--workers N] [--backend jax] [--budget-s 520]

    makes a virtual environment in a temporary folder that sees the machine's own packages (JAX, torch,
    NumPy), installs keras-seq-zoo into it from the wheels alone (``--no-index``), and measures with its
    Python. Without ``--wheels`` it measures with the Python that runs it (how it runs here and in
    tests/test_gpu_check.py).

What it measures, with ``KERAS_BACKEND=jax`` unless ``--backend`` says otherwise, once on the GPU (the
machine's defaults) and once on the CPUs (a child process with ``CUDA_VISIBLE_DEVICES=""`` and
``JAX_PLATFORMS=cpu``), one after the other:

- ``zoo.train`` of ``sentiment/lstm`` on ``builtin:negation``, ``translation/gru_attention`` on
  ``builtin:dates,n=4000`` and ``video_labeling/bigru`` on ``builtin:moving_shapes`` for ``--epochs``
  epochs (default 2): each epoch's seconds (training part, synchronised before validation starts, and the
  whole epoch), the first epoch's seconds (it includes compiling), the steady epochs' training examples
  per second (epochs 2 and later), and the validation metrics of the finished run;
- a ``zoo.tune`` search of ``sentiment/lstm`` (``--trials``, default 10, one epoch each): trials per hour;
- with ``--workers N``, the same search distributed with ``zoo tune --chief`` (CPU only: it serves trials)
  and N ``zoo tune --worker`` processes, worker i pinned to GPU i (``CUDA_VISIBLE_DEVICES=i``; workers
  share when there are fewer GPUs than N, and the CPUs when there is none): trials per hour.

``--quick`` uses tiny data (``n=400``, ``n=300``, ``n=60``), one epoch and 2 trials. Without a GPU the
JSON says ``"gpu": null`` and only the CPUs are measured. ``--budget-s`` bounds the whole run: a step
that would start after it is skipped and one still running 30 s after it is stopped; what finished is kept
(a search stopped midway reports the trials it finished). The default leaves a 10-minute command room for
the venv. ``--entries`` trains only some of the three entries.

What it prints: a line per step on stderr, and one JSON object as the last line of stdout, also written
to ``--out`` (after every step, so a run stopped from outside keeps what it measured): the command line,
the machine (platform, CPUs, Python, ``jax.devices()`` with their kinds, versions, ``nvidia-smi -L``),
``gpu``, per entry and device the numbers above, the GPU/CPU ratios of the throughputs (above 1: the GPU
is faster), the tuning searches and any errors. Exit status 0 when every step ran, 1 when a step failed
or was skipped, 2 for bad input (with a message, no traceback).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import sha256

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.abspath(__file__)
LIMIT_BYTES = 60 * 2**20  # what may be carried to a device is 64 MiB; leave room for the rest
DEFAULT_SKIP = ("numpy", "scipy", "jax", "jaxlib", "ml-dtypes", "pillow")  # JAX requires all but pillow
BACKENDS = ("jax", "torch", "tensorflow")
TRAIN = (  # entry, full data, --quick data (each task's smoke data or smaller)
    ("sentiment/lstm", "builtin:negation", "builtin:negation,n=400"),
    ("translation/gru_attention", "builtin:dates,n=4000", "builtin:dates,n=300"),
    ("video_labeling/bigru", "builtin:moving_shapes", "builtin:moving_shapes,n=60"),
)
TUNE_ENTRY = "sentiment/lstm"
SELF = "keras-seq-zoo"


class InputError(Exception):
    """Bad input: printed as one line, exit status 2."""


def log(message: str) -> None:
    print(f"gpu_check: {message}", file=sys.stderr, flush=True)


def write_json(path: str, payload: Any) -> None:
    """Write ``payload`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1, default=str)
        f.write("\n")
    os.replace(temporary, path)


def normalize(name: str) -> str:
    """A project name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# ---------------------------------------------------------------------------------------------------------------
# --prepare: here, with the registries


def core_requirements() -> list[str]:
    """The ``[project].dependencies`` of pyproject.toml: what ``pip install .`` brings."""
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _pip(args: list[str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"{what} failed (pip exit {done.returncode}): {done.stderr.strip()[-1500:]}")
    return done


def _target_args(python_version: str, platforms: list[str]) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp"]
    for name in platforms:
        args += ["--platform", name]
    return args


def resolve(requirements: list[str], python_version: str, platforms: list[str]) -> list[dict[str, str]]:
    """Every distribution ``pip install REQUIREMENTS`` would install on the target, from the registries, as
    ``{"name", "version", "file"}``; nothing is downloaded but metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        _pip(["install", "--dry-run", "--ignore-installed", "--quiet", "--report", report,
              "--target", os.path.join(tmp, "target"), *_target_args(python_version, platforms), *requirements],
             f"resolving the core requirements for Python {python_version} on {','.join(platforms)}")
        with open(report, encoding="utf-8") as f:
            installs = json.load(f)["install"]
    return [{"name": item["metadata"]["name"], "version": item["metadata"]["version"],
             "file": item["download_info"]["url"].rsplit("/", 1)[-1]} for item in installs]


def download(pins: list[str], folder: str, python_version: str, platforms: list[str]) -> None:
    """``pip download --no-deps`` of ``name==version`` pins into ``folder`` for the target."""
    _pip(["download", "--no-deps", "--quiet", "--dest", folder, *_target_args(python_version, platforms), *pins],
         f"downloading {len(pins)} wheels for Python {python_version}")


def build_self_wheel(folder: str) -> None:
    """A wheel of keras-seq-zoo built from the working tree."""
    _pip(["wheel", "--no-deps", "--quiet", "--wheel-dir", folder, ROOT], "building the keras-seq-zoo wheel")


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def prepare(args: argparse.Namespace) -> int:
    folder = os.path.abspath(args.prepare)
    versions = comma_list(args.python_version)
    platforms = comma_list(args.platform)
    if not versions or not all(re.fullmatch(r"3\.\d{1,2}", v) for v in versions):
        raise InputError(f"--python-version expects 3.X[,3.Y], got {args.python_version!r}")
    if not platforms:
        raise InputError("--platform names no platform")
    skip = {normalize(name) for name in comma_list(args.skip)}
    if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
        raise InputError(f"--prepare {args.prepare}: {'not a folder' if not os.path.isdir(folder) else 'not empty'}"
                         "; name a new or empty folder")
    requirements = core_requirements()
    plans = {}
    for version in versions:
        resolved = resolve([*requirements, "pip"], version, platforms)
        plans[version] = [d for d in resolved if normalize(d["name"]) not in skip]
        skipped = sorted({d["name"] for d in resolved if normalize(d["name"]) in skip})
        log(f"Python {version}: {len(resolved)} distributions resolved, {len(plans[version])} to download "
            f"(skipped, the device has them: {', '.join(skipped) or 'none'})")
    if args.dry_run:
        for version, plan in plans.items():
            for d in plan:
                print(f"{version}  {d['name']}=={d['version']}  {d['file']}")
        print(f"{SELF}: a wheel built from {ROOT}")
        return 0
    created = not os.path.exists(folder)
    os.makedirs(folder, exist_ok=True)
    try:
        for version, plan in plans.items():
            download([f"{d['name']}=={d['version']}" for d in plan], folder, version, platforms)
        build_self_wheel(folder)
        files = sorted(name for name in os.listdir(folder) if name.endswith(".whl"))
        if not any(normalize(name.split("-")[0]) == normalize(SELF) for name in files):
            raise InputError(f"no {SELF} wheel was built into {folder}")
        entries = [{"file": name, "bytes": os.path.getsize(os.path.join(folder, name))} for name in files]
        total = sum(e["bytes"] for e in entries)
        if total > LIMIT_BYTES:
            largest = ", ".join(f"{e['file']} ({mib(e['bytes'])})"
                                for e in sorted(entries, key=lambda e: -e["bytes"])[:5])
            raise InputError(f"the wheels come to {mib(total)}, over the {mib(LIMIT_BYTES)} limit (a device takes "
                             f"64 MiB in all); largest: {largest}; add what the device has to --skip")
        for e in entries:
            e["sha256"] = sha256(os.path.join(folder, e["file"]))
        manifest = {"created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                    "python_versions": versions, "platforms": platforms, "skipped": sorted(skip),
                    "requirements": requirements, "resolved": plans, "total_bytes": total, "files": entries}
        write_json(os.path.join(folder, "manifest.json"), manifest)
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
        raise
    for e in entries:
        print(f"{e['bytes']:>10}  {e['file']}")
    print(f"{len(entries)} wheels, {mib(total)} ({total} bytes) in {folder}")
    return 0


# ---------------------------------------------------------------------------------------------------------------
# --wheels: the environment on the device


def check_wheels(folder: str) -> dict[str, Any]:
    """The manifest of a prepared folder, checked against this Python; InputError when it does not fit."""
    if not os.path.isdir(folder):
        raise InputError(f"--wheels {folder}: no such folder (make it with --prepare on a machine with the network)")
    wheels = glob.glob(os.path.join(folder, "*.whl"))
    if not wheels:
        raise InputError(f"--wheels {folder}: no wheels (*.whl) in it; make it with --prepare")
    if not any(normalize(os.path.basename(w).split("-")[0]) == normalize(SELF) for w in wheels):
        raise InputError(f"--wheels {folder}: no {SELF} wheel in it; make it with --prepare")
    manifest: dict[str, Any] = {}
    path = os.path.join(folder, "manifest.json")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as exc:
            raise InputError(f"--wheels {folder}: unreadable manifest.json ({exc})") from None
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    targeted = manifest.get("python_versions") or []
    if targeted and here not in targeted:
        raise InputError(f"--wheels {folder} holds wheels for Python {', '.join(targeted)}, this is Python {here}: "
                         f"prepare it again with --python-version {here}")
    return manifest


def make_environment(folder: str, work: str) -> tuple[str, dict[str, Any]]:
    """A venv in ``work`` that sees this interpreter's packages, with keras-seq-zoo installed from ``folder``
    only; returns its Python and what was done."""
    started = time.perf_counter()
    venv = os.path.join(work, "venv")
    done = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"could not make a virtual environment with {sys.executable}: {done.stderr.strip()[-800:]}")
    python = os.path.join(venv, "bin", "python")
    # --system-site-packages sees the base interpreter's packages; when this Python is itself a venv (or has
    # user packages), its own site folders come after the new venv's, so what the wheels install wins.
    import site

    parents = [*site.getsitepackages(), site.getusersitepackages()]
    found = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(found, "_gpu_check_parent.pth"), "w", encoding="utf-8") as f:
        f.write("".join(f"{p}\n" for p in parents if os.path.isdir(p)))
    has_pip = subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0
    pip_wheels = sorted(glob.glob(os.path.join(folder, "pip-*.whl")))
    if has_pip:
        pip = [python, "-m", "pip"]
    elif pip_wheels:
        pip = [python, os.path.join(pip_wheels[-1], "pip")]  # a pip wheel runs from the zip
    else:
        raise InputError(f"this Python has no pip and {folder} has no pip wheel; prepare it again")
    done = subprocess.run([*pip, "install", "--disable-pip-version-check", "--no-index", "--find-links", folder,
                           SELF], capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"pip install --no-index --find-links {folder} {SELF} failed (exit {done.returncode}): "
                         f"{done.stderr.strip()[-1500:]} -- a package the device lacks was skipped at --prepare; "
                         "prepare again with a shorter --skip")
    installed = [line for line in done.stdout.splitlines() if line.startswith("Successfully installed")]
    return python, {"wheels": os.path.abspath(folder), "venv": venv, "pip": " ".join(pip[1:]),
                    "installed": installed[0].split()[2:] if installed else [],
                    "seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------------------------------------------------------
# The measurements: a child process per device


def device_env(kind: str, backend: str) -> dict[str, str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    if kind == "cpu":
        env.update(CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    return env


PROBE = r"""
import json, os, sys
backend = os.environ["KERAS_BACKEND"]
out = {"backend": backend, "python": sys.version.split()[0], "devices": [], "gpus": 0}
try:
    if backend == "jax":
        import jax
        out["jax"] = jax.__version__
        out["devices"] = [{"id": d.id, "platform": d.platform, "device_kind": d.device_kind} for d in jax.devices()]
        out["gpus"] = sum(d.platform in ("gpu", "cuda", "rocm") for d in jax.devices())
    elif backend == "torch":
        import torch
        out["torch"] = torch.__version__
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        out["devices"] = [{"id": i, "platform": "gpu", "device_kind": torch.cuda.get_device_name(i)}
                          for i in range(n)] or [{"id": 0, "platform": "cpu", "device_kind": "cpu"}]
        out["gpus"] = n
    else:
        import tensorflow as tf
        out["tensorflow"] = tf.__version__
        found = tf.config.list_physical_devices()
        out["devices"] = [{"id": i, "platform": d.device_type.lower(), "device_kind": d.name}
                          for i, d in enumerate(found)]
        out["gpus"] = sum(d.device_type == "GPU" for d in found)
except Exception as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def probe(python: str, kind: str, backend: str, cwd: str) -> dict[str, Any]:
    """The backend's devices as a child with ``kind``'s environment sees them."""
    done = subprocess.run([python, "-c", PROBE], env=device_env(kind, backend), capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"backend": backend, "devices": [], "gpus": 0,
                "error": f"probe exit {done.returncode}: {done.stderr.strip()[-800:]}"}


def plan(args: argparse.Namespace) -> dict[str, Any]:
    quick, chosen = args.quick, comma_list(args.entries) if args.entries else [e for e, _, _ in TRAIN]
    return {"train": [{"entry": e, "data": q if quick else d} for e, d, q in TRAIN if e in chosen],
            "epochs": args.epochs if args.epochs is not None else (1 if quick else 2),
            "tune": {"entry": TUNE_ENTRY, "data": TRAIN[0][2] if quick else TRAIN[0][1],
                     "trials": args.trials if args.trials is not None else (2 if quick else 10), "epochs": 1}}


def finite_numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in (values or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


def measure(args: argparse.Namespace) -> int:
    """The child: train and tune on this process's device, writing ``--partial`` after every step."""
    import keras

    import zoo

    class EpochTimer(keras.callbacks.Callback):
        """Seconds of each epoch: its training part (up to validation, after the device finished the last
        step) and the whole epoch (validation, the task's metrics and the checkpoint included)."""

        def __init__(self):
            super().__init__()
            self.train_seconds, self.epoch_seconds = [], []
            self._begin = self._trained = None

        def _synced(self) -> float:
            keras.ops.convert_to_numpy(self.model.optimizer.iterations)  # waits for the last step
            return time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._begin, self._trained = time.perf_counter(), None

        def on_test_begin(self, logs=None):
            if self._begin is not None and self._trained is None:
                self._trained = self._synced()

        def on_epoch_end(self, epoch, logs=None):
            trained = self._trained if self._trained is not None else self._synced()
            self.train_seconds.append(trained - self._begin)
            self.epoch_seconds.append(time.perf_counter() - self._begin)
            self._begin = None

    steps = plan(args)
    result: dict[str, Any] = {"device": args.measure, "backend": keras.backend.backend(), "keras": keras.__version__,
                              "zoo": zoo.__version__, "zoo_path": os.path.dirname(zoo.__file__), "train": {},
                              "tune": None}
    if keras.backend.backend() == "jax":
        import jax

        result["jax"] = jax.__version__
        result["devices"] = [{"id": d.id, "platform": d.platform, "device_kind": d.device_kind} for d in jax.devices()]

    def save():
        write_json(args.partial, result)

    def late() -> bool:
        return args.deadline is not None and time.time() > args.deadline

    save()
    for step in steps["train"]:
        entry, data = step["entry"], step["data"]
        if late():
            result["train"][entry] = {"data": data, "skipped": "time budget"}
            continue
        print(f"training {entry} on {data}", flush=True)
        started = time.perf_counter()
        try:
            task = zoo.get(entry).task
            examples = len(task.load_data(data).train)
            timer = EpochTimer()
            run = zoo.train(entry, data, os.path.join(args.work, entry.replace("/", "_")), epochs=steps["epochs"],
                            verbose=0, callbacks=[timer])
            steady = timer.train_seconds[1:]
            validation = finite_numbers(run.metrics.get("validation"))
            metric = task.objective.removeprefix("val_")
            history = run.history.get(task.objective) or [None]
            result["train"][entry] = {
                "data": data, "train_examples": examples, "epochs": len(timer.train_seconds),
                "first_epoch_seconds": timer.epoch_seconds[0],
                "first_epoch_train_seconds": timer.train_seconds[0],
                "first_epoch_examples_per_s": examples / timer.train_seconds[0],
                "steady_examples_per_s": examples * len(steady) / sum(steady) if steady else None,
                "train_seconds": timer.train_seconds, "epoch_seconds": timer.epoch_seconds,
                "objective": task.objective, "validation_metric": validation.get(metric, history[-1]),
                "validation": validation, "seconds": time.perf_counter() - started}
        except Exception as exc:  # recorded, and the next step runs
            result["train"][entry] = {"data": data, "error": f"{type(exc).__name__}: {exc}"}
        save()
    tune = steps["tune"]
    result["tune"] = {"entry": tune["entry"], "data": tune["data"], "max_trials": tune["trials"],
                      "epochs": tune["epochs"]}
    if late():
        result["tune"]["skipped"] = "time budget"
    else:
        print(f"tuning {tune['entry']} on {tune['data']}, {tune['trials']} trials", flush=True)
        started = time.perf_counter()
        result["tune"]["started_at"] = time.time()  # for the parent, should the search be stopped
        save()
        try:
            search = zoo.tune(tune["entry"], tune["data"], os.path.join(args.work, "tune"), max_trials=tune["trials"],
                              epochs=tune["epochs"], verbose=0)
            result["tune"].update(search_numbers(search.trials, time.perf_counter() - started))
            result["tune"]["best_score"] = search.best["score"] if search.best else None
        except Exception as exc:
            result["tune"]["error"] = f"{type(exc).__name__}: {exc}"
    save()
    return 0


def search_numbers(trials: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    completed = [t for t in trials if t.get("status") == "COMPLETED"]
    trial_seconds = sorted(float(t["seconds"]) for t in completed if t.get("seconds") is not None)
    return {"trials": len(trials), "completed": len(completed), "seconds": seconds,
            "trials_per_hour": len(completed) / seconds * 3600 if seconds > 0 else None,
            "median_trial_seconds": trial_seconds[len(trial_seconds) // 2] if trial_seconds else None}


def finished_trials(folder: str) -> list[dict[str, Any]]:
    """Trials of a search that was stopped, from its ``trial_*/trial.json`` files."""
    trials = []
    for path in glob.glob(os.path.join(folder, "**", "trial.json"), recursive=True):
        try:
            with open(path, encoding="utf-8") as f:
                trials.append({"status": json.load(f).get("status")})
        except (OSError, ValueError):
            continue
    return trials


def tail(path: str, chars: int = 1500) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-chars:]
    except OSError:
        return ""


def stop(process: subprocess.Popen) -> None:
    """End a child we started, and its own children (each child leads its own process group)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def run_device(python: str, kind: str, args: argparse.Namespace, work: str, deadline: float,
               pythonpath: str | None) -> dict[str, Any]:
    """Run the measuring child for ``kind`` (gpu or cpu); what it finished by ``deadline``."""
    folder = os.path.join(work, kind)
    os.makedirs(folder, exist_ok=True)
    partial, logfile = os.path.join(folder, "result.json"), os.path.join(folder, "log.txt")
    command = [python, SCRIPT, "--measure", kind, "--partial", partial, "--work", folder, "--backend", args.backend,
               "--deadline", f"{deadline:.0f}"]
    if args.quick:
        command.append("--quick")
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    if args.trials is not None:
        command += ["--trials", str(args.trials)]
    if args.entries is not None:
        command += ["--entries", args.entries]
    env = device_env(kind, args.backend)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    started = time.perf_counter()
    with open(logfile, "w", encoding="utf-8") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work,
                                   start_new_session=True)
        stopped = False
        try:
            process.wait(timeout=max(1.0, deadline + 30 - time.time()))  # a step may end a little late
        except subprocess.TimeoutExpired:
            stop(process)
            stopped = True
    result: dict[str, Any] = {}
    if os.path.exists(partial):
        with open(partial, encoding="utf-8") as f:
            result = json.load(f)
    result["seconds"] = time.perf_counter() - started
    search = result.get("tune") or {}
    if "started_at" in search and "trials_per_hour" not in search and "error" not in search:
        # Stopped at the budget mid-search: the trials that finished, from keras-tuner's own files.
        search.update(search_numbers(finished_trials(os.path.join(folder, "tune")), time.time() - search["started_at"]))
        search["stopped"] = "time budget"
    if stopped:
        result["error"] = f"stopped at the time budget; the steps it finished are kept: {tail(logfile, 300)}"
    elif process.returncode != 0:
        result["error"] = f"exit {process.returncode}: {tail(logfile)}"
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_distributed(python: str, args: argparse.Namespace, work: str, gpus: int, deadline: float,
                    pythonpath: str | None) -> dict[str, Any]:
    """The search of the tuning step with ``zoo tune --chief`` and ``--workers`` workers, one per GPU."""
    tune = plan(args)["tune"]
    folder = os.path.join(work, "distributed")
    os.makedirs(folder)
    out, port = os.path.join(folder, "search"), free_port()
    base = [python, "-m", "zoo.cli", "tune", tune["entry"], "--data", tune["data"], "--out", out,
            "--max-trials", str(tune["trials"]), "--epochs", str(tune["epochs"]), "--oracle", f"127.0.0.1:{port}"]
    visible = comma_list(os.environ.get("CUDA_VISIBLE_DEVICES", "")) or [str(i) for i in range(gpus)]
    record: dict[str, Any] = {"entry": tune["entry"], "data": tune["data"], "max_trials": tune["trials"],
                              "epochs": tune["epochs"], "workers": args.workers, "gpus": gpus, "pinning": {}}
    processes: list[tuple[str, subprocess.Popen]] = []
    started = time.perf_counter()

    def start(name: str, flags: list[str], env: dict[str, str]) -> None:
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        with open(os.path.join(folder, f"{name}.log"), "w", encoding="utf-8") as logfile:
            processes.append((name, subprocess.Popen([*base, *flags], env=env, stdout=logfile,
                                                     stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)))

    try:
        start("chief", ["--chief"], device_env("cpu", args.backend))  # it only serves trials
        record["pinning"]["chief"] = "cpu"
        for i in range(args.workers):
            if gpus:
                env = device_env("gpu", args.backend)
                env["CUDA_VISIBLE_DEVICES"] = visible[i % len(visible)]
                if args.workers > gpus:  # JAX would take 75 % of a shared GPU's memory in each worker
                    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
                record["pinning"][f"worker{i}"] = f"gpu {env['CUDA_VISIBLE_DEVICES']}"
            else:
                env = device_env("cpu", args.backend)
                record["pinning"][f"worker{i}"] = "cpu"
            start(f"worker{i}", ["--worker", "--tuner-id", f"worker{i}"], env)
        for name, process in processes[1:] + processes[:1]:  # the workers, then the chief that waits for them
            try:
                process.wait(timeout=max(1.0, deadline + 30 - time.time()))
            except subprocess.TimeoutExpired:
                record["error"] = f"stopped at the time budget while {name} ran"
                break
    finally:
        for _, process in processes:
            stop(process)
    seconds = time.perf_counter() - started
    failed = [f"{name} exit {p.returncode}: {tail(os.path.join(folder, name + '.log'), 600)}"
              for name, p in processes if p.returncode not in (0, None, -signal.SIGTERM, -signal.SIGKILL)]
    if failed and "error" not in record:
        record["error"] = "; ".join(failed)
    trials: list[dict[str, Any]] = []
    if os.path.exists(os.path.join(out, "trials.json")):
        with open(os.path.join(out, "trials.json"), encoding="utf-8") as f:
            trials = json.load(f)
    record.update(search_numbers(trials, seconds))
    record["by_worker"] = {}
    for t in trials:
        record["by_worker"][t.get("tuner_id")] = record["by_worker"].get(t.get("tuner_id"), 0) + 1
    return record


# ---------------------------------------------------------------------------------------------------------------
# The run: orchestration, in whatever Python runs the script


def machine() -> dict[str, Any]:
    facts: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                             "python": platform.python_version(), "cpu_count": os.cpu_count(),
                             "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                             "load_average_1_5_15_min": os.getloadavg(), "nvidia_smi": None}
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            facts["memory_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    if shutil.which("nvidia-smi"):
        try:
            done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
            facts["nvidia_smi"] = done.stdout.strip().splitlines() or done.stderr.strip()[-300:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            facts["nvidia_smi"] = f"failed: {exc}"
    return facts


def ratio(gpu: float | None, cpu: float | None) -> float | None:
    return gpu / cpu if gpu and cpu else None


def run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    for name in ("epochs", "trials"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise InputError(f"--{name} must be at least 1, got {getattr(args, name)}")
    known = [e for e, _, _ in TRAIN]
    if args.entries is not None and (not comma_list(args.entries)
                                     or not set(comma_list(args.entries)) <= set(known)):
        raise InputError(f"--entries expects some of {','.join(known)}, got {args.entries!r}")
    if args.budget_s <= 0:
        raise InputError(f"--budget-s must be positive, got {args.budget_s:g}")
    if args.out and os.path.isdir(args.out):
        raise InputError(f"--out {args.out} is a folder; name a file")
    if args.wheels:
        check_wheels(args.wheels)
    begun, t0 = time.time(), time.perf_counter()
    deadline = begun + args.budget_s
    steps = plan(args)
    report: dict[str, Any] = {
        "command": " ".join([os.path.basename(sys.executable), os.path.relpath(SCRIPT, ROOT), *argv]),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": {"backend": args.backend, "quick": args.quick, "epochs": steps["epochs"],
                     "train": steps["train"], "tune": steps["tune"], "workers": args.workers,
                     "budget_s": args.budget_s},
        "machine": machine(), "install": None, "gpu": None, "results": {}, "tune": {}, "ratios": None,
        "distributed": None, "errors": []}

    def save():
        report["seconds"] = time.perf_counter() - t0
        if args.out:
            write_json(args.out, report)

    work = tempfile.mkdtemp(prefix="gpu_check-")
    try:
        python, pythonpath = sys.executable, ROOT  # here: the working tree's zoo
        if args.wheels:
            log(f"installing {SELF} from {args.wheels} into a venv")
            python, report["install"] = make_environment(os.path.abspath(args.wheels), work)
            pythonpath = None
            log(f"installed in {report['install']['seconds']} s")
        save()
        seen = probe(python, "gpu", args.backend, work)
        report["machine"]["backend_devices"] = seen
        if seen.get("error"):
            report["errors"].append(f"device probe: {seen['error']}")
        kinds = ["gpu", "cpu"] if seen.get("gpus") else ["cpu"]
        if seen.get("gpus"):
            report["gpu"] = {"count": seen["gpus"], "devices": [d for d in seen["devices"] if d["platform"] != "cpu"]}
        else:
            log("no GPU found: measuring the CPUs only")
        phases = len(kinds) + (1 if args.workers else 0)
        devices: dict[str, dict[str, Any]] = {}
        for i, kind in enumerate(kinds):
            share = (deadline - time.time()) / (phases - i)
            log(f"measuring on the {kind.upper()} (up to {share:.0f} s)")
            devices[kind] = run_device(python, kind, args, work, time.time() + share, pythonpath)
            for key in ("backend", "keras", "jax", "zoo", "zoo_path", "devices"):
                if key in devices[kind]:
                    report["machine"].setdefault(f"{kind}_child", {})[key] = devices[kind][key]
            if devices[kind].get("error"):
                report["errors"].append(f"{kind}: {devices[kind]['error']}")
            for entry, numbers in devices[kind].get("train", {}).items():
                report["results"].setdefault(entry, {})[kind] = numbers
                if "error" in numbers or "skipped" in numbers:
                    report["errors"].append(f"{kind} {entry}: {numbers.get('error') or numbers['skipped']}")
            if devices[kind].get("tune"):
                report["tune"][kind] = devices[kind]["tune"]
                problem = next((devices[kind]["tune"][k] for k in ("error", "skipped", "stopped")
                                if k in devices[kind]["tune"]), None)
                if problem:
                    report["errors"].append(f"{kind} tune: {problem}")
            save()
        if "gpu" in devices:
            report["ratios"] = {
                "train_steady_examples_per_s": {
                    e: ratio(r.get("gpu", {}).get("steady_examples_per_s"),
                             r.get("cpu", {}).get("steady_examples_per_s")) for e, r in report["results"].items()},
                "train_first_epoch_examples_per_s": {
                    e: ratio(r.get("gpu", {}).get("first_epoch_examples_per_s"),
                             r.get("cpu", {}).get("first_epoch_examples_per_s")) for e, r in report["results"].items()},
                "tune_trials_per_hour": ratio(report["tune"].get("gpu", {}).get("trials_per_hour"),
                                              report["tune"].get("cpu", {}).get("trials_per_hour"))}
        if args.workers:
            log(f"distributed search: a chief and {args.workers} workers")
            report["distributed"] = run_distributed(python, args, work, int(seen.get("gpus") or 0), deadline,
                                                    pythonpath)
            if report["distributed"].get("error"):
                report["errors"].append(f"distributed: {report['distributed']['error']}")
            if single := report["tune"].get("gpu" if "gpu" in devices else "cpu", {}).get("trials_per_hour"):
                report["distributed"]["speedup_over_one_process"] = ratio(report["distributed"]["trials_per_hour"],
                                                                          single)
        save()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, default=str))
    return 1 if report["errors"] else 0


# ---------------------------------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit 2, with the script's name and no usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="gpu_check.py", description=__doc__.splitlines()[0],
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--prepare", metavar="DIR", help="download the wheels the device lacks into DIR (here)")
    mode.add_argument("--wheels", metavar="DIR", help="install from DIR into a venv and measure there (the device)")
    mode.add_argument("--measure", choices=("gpu", "cpu"), help=argparse.SUPPRESS)  # the child
    parser.add_argument("--python-version", default="3.11", help="--prepare: target Python(s), comma-separated")
    parser.add_argument("--platform", default="manylinux2014_x86_64", help="--prepare: wheel platform tag(s)")
    parser.add_argument("--skip", default=",".join(DEFAULT_SKIP),
                        help="--prepare: packages the device has, not downloaded (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="--prepare: list what would be downloaded")
    parser.add_argument("--out", help="also write the JSON result to this file")
    parser.add_argument("--quick", action="store_true", help="tiny data, 1 epoch, 2 trials")
    parser.add_argument("--epochs", type=int, help="training epochs (default 2; --quick 1)")
    parser.add_argument("--trials", type=int, help="tuning trials (default 10; --quick 2)")
    parser.add_argument("--entries", help="the entries to train, comma-separated (default: all three)")
    parser.add_argument("--workers", type=int, help="also tune with a chief and N workers, one per GPU")
    parser.add_argument("--backend", choices=BACKENDS, default="jax", help="Keras backend (default jax)")
    parser.add_argument("--budget-s", type=float, default=520.0, help="seconds for the whole run (default 520)")
    parser.add_argument("--partial", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure and not (args.partial and args.work):
        parser.error("--measure needs --partial and --work")
    prepare_only = [f for f, v in (("--dry-run", args.dry_run),) if v]
    if prepare_only and not args.prepare:
        parser.error(f"{prepare_only[0]} goes with --prepare")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    try:
        if args.measure:
            return measure(args)
        if args.prepare:
            return prepare(args)
        return run(args, argv)
    except InputError as exc:
        print(f"gpu_check.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
