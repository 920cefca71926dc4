"""The ``zoo`` command: argument parsing only; every verb calls the Python API.

Bad input (unknown model, hyperparameter, data spec, run directory) prints
``zoo: error: ...`` and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence

from ._version import __version__
from .errors import DataError, RuntimeFailure, ZooError
from .hparams import parse_assignments
from .precision import PRECISIONS
from .report import predictions_table, text_table
from .runs import task_of

EXIT_USAGE = 2    # bad input: a name, a value, a file, a folder
EXIT_FAILURE = 1  # valid input, failed work (zoo.errors.RuntimeFailure)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo", description="Ready, tunable recurrent Keras models for sequence tasks.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list registered models")
    p.add_argument("--task", help="only this task (e.g. sentiment)")
    p.add_argument("--pattern", help="only names matching this glob or substring")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("describe", help="show an entry's task, hyperparameters and metrics as JSON")
    p.add_argument("name")

    p = sub.add_parser("train", help="train an entry and write a run directory")
    p.add_argument("name", help="registry entry, e.g. sentiment/lstm")
    p.add_argument("--data", required=True, help="data spec, e.g. builtin:negation, csv:reviews.csv")
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="override a hyperparameter or preprocessing option (repeatable)")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs (default: the task's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="float32 (default) or mixed precision on a GPU: 16-bit compute, float32 weights and outputs")
    p.add_argument("--tuned", "--preset", dest="tuned", metavar="FILE",
                   help="tuned values: the tuned_hyperparameters.json a 'zoo tune' search wrote (--preset: old name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")

    p = sub.add_parser("build", help="build an entry (defaults, --set, --tuned) and print its summary")
    p.add_argument("name")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="hyperparameters and data facts (vocab_size, num_classes, ...)")
    p.add_argument("--tuned", "--preset", dest="tuned", metavar="FILE",
                   help="the tuned_hyperparameters.json a 'zoo tune' search wrote (--preset: old name)")

    p = sub.add_parser("tune", help="search hyperparameters with keras-tuner (resumable)")
    p.add_argument("name", nargs="?", help="registry entry (or 'entry' in --config)")
    p.add_argument("--config", help="experiment file (TOML); flags given here override it")
    p.add_argument("--data", help="data spec")
    p.add_argument("--out", required=True, help="search folder; run again with the same --out to resume")
    p.add_argument("--tuner", choices=("random", "bayesian", "hyperband"))
    p.add_argument("--max-trials", type=int)
    p.add_argument("--epochs", type=int, help="epochs per trial (hyperband: its maximum)")
    p.add_argument("--executions-per-trial", type=int)
    p.add_argument("--objective", help="e.g. val_accuracy, val_loss (see 'zoo describe')")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help="fix a value")
    p.add_argument("--space", action="append", metavar="KEY=V1,V2,...", default=[],
                   help="search only these values of a hyperparameter")
    p.add_argument("--final-fit", action="store_true", default=None,
                   help="retrain the best configuration on train + validation and report test metrics")
    p.add_argument("--keep-best", type=int, help="trials whose weights stay on disk (default 3)")
    p.add_argument("--max-consecutive-failures", type=int)
    p.add_argument("--distribution", choices=("mirrored",), help="train each trial on every local GPU")
    p.add_argument("--precision", choices=PRECISIONS, help="every trial's precision (default float32)")
    p.add_argument("--chief", action="store_true", help="run the oracle for distributed workers")
    p.add_argument("--worker", action="store_true", help="run trials for the chief at --oracle")
    p.add_argument("--oracle", metavar="HOST:PORT", help="the chief's address")
    p.add_argument("--tuner-id", help="this worker's unique name (default: host and pid)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing search in --out (swapped in when the new one has finished)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (the summary and every trial) instead of the table")

    p = sub.add_parser("evaluate", help="print a run's metrics on a data split as one JSON object")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data spec (default: the data the run was trained on)")
    p.add_argument("--split", default="test", choices=("test", "validation", "train", "all"))
    p.add_argument("--plot", metavar="PNG", help="video labeling: also draw predicted against true labels "
                                                 "of the split's first clips into this new PNG file")

    p = sub.add_parser("predict", help="predict raw inputs with a run directory or an export")
    p.add_argument("run", help="run directory or exported SavedModel")
    p.add_argument("inputs", nargs="*", metavar="TEXT", help="inputs; '-' or none reads lines from stdin")
    p.add_argument("--json", action="store_true", help="one JSON object per input")
    _decoding_arguments(p, "translation, captioning")

    p = sub.add_parser("generate", help="continue prompts with a language-model run or export")
    p.add_argument("run", help="language_model run directory or exported SavedModel")
    p.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                   help="text to continue (repeatable; none: lines from stdin; '' starts from nothing)")
    p.add_argument("--max-length", type=int, help="tokens to generate (default: the training window)")
    _decoding_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per prompt")

    p = sub.add_parser("demo", help="the main job on built-in data: train, compare with the control, tune, export")
    p.add_argument("--out", default="runs/demo", help="folder for the runs and the export (default runs/demo)")
    p.add_argument("--data", default="builtin:negation", help="sentiment data spec (default builtin:negation)")
    p.add_argument("--translation-data", default="builtin:dates,n=4000",
                   help="translation data spec (default builtin:dates,n=4000)")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("export", help="export a run as a SavedModel serving raw inputs")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", required=True, help="export directory to write")
    p.add_argument("--beam-width", type=int, help="translation, captioning: width of the beam-search endpoint "
                                                  "(translate_beam, caption_beam; default 4)")
    p.add_argument("--overwrite", action="store_true")
    return parser


def _decoding_arguments(p: argparse.ArgumentParser, tasks: str = "") -> None:
    """The decoding flags of every decoder: beam search, or seeded sampling (greedy by default)."""
    where = f"{tasks}: " if tasks else ""
    p.add_argument("--beam-width", type=int, help=f"{where}beam search width (default 1, greedy)")
    p.add_argument("--temperature", type=float,
                   help=f"{where}sample at this temperature (default 0: greedy); higher: more varied")
    p.add_argument("--top-k", type=int, help=f"{where}sample from the k most likely tokens (default 0: all)")
    p.add_argument("--seed", type=int, help=f"{where}sampling seed (default 0): the same seed, the same output")


def _decoding_options(args) -> dict:
    return {"beam_width": args.beam_width, "temperature": args.temperature, "top_k": args.top_k,
            "seed": args.seed}


def _cmd_list(zoo, args) -> None:
    names = zoo.list_models(task=args.task, pattern=args.pattern)
    if args.json:
        print(json.dumps([{"name": n, "kind": zoo.get(n).kind, "description": zoo.get(n).description}
                          for n in names], indent=2))
        return
    print(text_table([[n, zoo.get(n).kind, zoo.get(n).description] for n in names], ["name", "kind", "description"]))


def _cmd_train(zoo, args) -> None:
    overrides = parse_assignments(args.set)
    # Progress goes to stderr, so stdout carries only the result (pipe it to jq).
    with contextlib.redirect_stdout(sys.stderr):
        run = zoo.train(args.name, args.data, args.out, epochs=args.epochs, batch_size=args.batch_size,
                        overrides=overrides, tuned=args.tuned, seed=args.seed, overwrite=args.overwrite,
                        patience=args.patience, precision=args.precision,
                        verbose=1 if sys.stderr.isatty() else 2)
    print(json.dumps({"run": run.path, "test": run.metrics.get("test"),
                      "validation": run.metrics.get("validation"),
                      "train_seconds": round(run.metrics["train_seconds"], 1)}, indent=2))


def _cmd_build(zoo, args) -> None:
    model = zoo.build(args.name, tuned=args.tuned, **parse_assignments(args.set))
    model.summary(print_fn=lambda line, **_: print(line))


def _cmd_tune(zoo, args) -> None:
    from . import distributed
    from .tuning import load_config, parse_space  # keras-tuner and matplotlib: only when tuning

    settings = load_config(args.config) if args.config else {}
    flags = {"entry": args.name, "data": args.data, "tuner": args.tuner, "max_trials": args.max_trials,
             "epochs": args.epochs, "executions_per_trial": args.executions_per_trial,
             "objective": args.objective, "batch_size": args.batch_size, "seed": args.seed,
             "final_fit": args.final_fit, "keep_best": args.keep_best,
             "max_consecutive_failures": args.max_consecutive_failures, "distribution": args.distribution,
             "precision": args.precision}
    settings.update({k: v for k, v in flags.items() if v is not None})
    settings["set"] = {**settings.get("set", {}), **parse_assignments(args.set)}
    settings["space"] = {**settings.get("space", {}), **parse_space(args.space)}
    for key in ("entry", "data"):
        if key not in settings:
            raise zoo.ZooError(f"zoo tune needs {'NAME' if key == 'entry' else '--data'} (or {key!r} in --config)")
    distributed.configure(chief=args.chief, worker=args.worker, oracle=args.oracle, tuner_id=args.tuner_id)
    entry, data = settings.pop("entry"), settings.pop("data")
    overrides, space = settings.pop("set"), settings.pop("space")
    with contextlib.redirect_stdout(sys.stderr):
        result = zoo.tune(entry, data, args.out, overrides=overrides, space=space, overwrite=args.overwrite,
                          verbose=1 if sys.stderr.isatty() else 2, **settings)
    if distributed.is_worker():
        print(json.dumps({"worker": os.environ.get(distributed.TUNER_ID), "search": result.path}))
        return
    summary = {"search": result.path, "objective": result.objective, "best": result.best,
               "tuned": result.tuned_path, "preset": result.tuned_path,  # preset: the old key
               "trials": len(result.trials)}
    if result.final:
        summary["final_fit"] = result.final
    if args.json:  # one document on stdout, for jq and scripts
        print(json.dumps({**summary, "direction": result.direction, "trials": result.trials}))
        return
    print(result.table())
    print(json.dumps(summary, indent=2))


def _read_inputs(task, args) -> list:
    inputs = list(args.inputs)
    if not inputs or inputs == ["-"]:
        try:
            inputs = [line.rstrip("\n") for line in sys.stdin if line.strip()]
        except UnicodeDecodeError as exc:
            raise DataError(f"standard input is not UTF-8 text (byte {exc.start})") from None
    if not inputs:
        raise ZooError(f"no inputs: give {task.words.input_name} arguments or lines on stdin")
    return task.read_inputs(inputs)


def _cmd_predict(zoo, args) -> None:
    task = task_of(args.run)
    results = zoo.predict(args.run, _read_inputs(task, args), **_decoding_options(args))
    if args.json:
        for r in results:
            print(json.dumps(r, ensure_ascii=False, default=str))
        return
    print(predictions_table(task, results))


def _cmd_generate(zoo, args) -> None:
    task = task_of(args.run)
    if task.name != "language_model":
        raise zoo.ZooError(f"zoo generate continues text with a language_model run or export; {args.run} is a "
                           f"{task.name} one (use 'zoo predict')")
    prompts = list(args.prompt)
    if not prompts:
        args.inputs = []
        prompts = _read_inputs(task, args)
    results = zoo.predict(args.run, prompts, max_length=args.max_length, **_decoding_options(args))
    for r in results:
        print(json.dumps(r, ensure_ascii=False) if args.json else r["text"])


def _quiet_framework_import() -> None:
    """Import Keras (and TensorFlow) with native stderr muted: TensorFlow prints
    start-up notes from C++ before its log level applies, which buries our output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        import keras_tuner  # noqa: F401

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe logs once, here
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zoo`` console script; returns the exit status."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Texts after an option (``predict RUN --json "a" "b"``) belong to the inputs.
        if args.command == "predict" and not any(e.startswith("-") and e != "-" for e in extra):
            args.inputs += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version or not args.command:
        if args.version:
            print(f"keras-seq-zoo {__version__}")
            return 0
        parser.print_help()
        return EXIT_USAGE
    _quiet_framework_import()
    import zoo

    try:
        if args.command == "list":
            _cmd_list(zoo, args)
        elif args.command == "describe":
            print(json.dumps(zoo.get(args.name).describe(), indent=2))
        elif args.command == "train":
            _cmd_train(zoo, args)
        elif args.command == "evaluate":
            print(json.dumps(zoo.evaluate(args.run, args.data, args.split, plot=args.plot)))
        elif args.command == "predict":
            _cmd_predict(zoo, args)
        elif args.command == "generate":
            _cmd_generate(zoo, args)
        elif args.command == "build":
            _cmd_build(zoo, args)
        elif args.command == "tune":
            _cmd_tune(zoo, args)
        elif args.command == "demo":
            from .demo import demo

            demo(args.out, args.data, args.translation_data, overwrite=args.overwrite)
        elif args.command == "export":
            print(zoo.export(args.run, args.out, overwrite=args.overwrite, beam_width=args.beam_width))
    except RuntimeFailure as exc:  # valid input, failed work: 1, as a crash would be, but without a traceback
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
