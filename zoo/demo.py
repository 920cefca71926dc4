"""``zoo demo``: the main job on built-in data, as a new user would run it.

Sentiment (many-to-one): two recurrent entries and the order-blind control trained on ``builtin:negation``,
a 4-trial search of ``sentiment/gru``, the best run exported and served; then translation (many-to-many):
the attention translator trained, exported, and translating from its export.
"""

from __future__ import annotations

import contextlib
import os
import sys

import zoo

from .errors import RunDirError
from .folders import check_output_path
from .report import predictions_table, text_table

DEMO_ENTRIES = ("sentiment/lstm", "sentiment/gru", "sentiment/bag_of_embeddings")
DEMO_TEXTS = ("the film was good , not bad", "the film was bad , not good",
              "i expected the plot to be bad and it was not", "i expected the plot not to be bad and it was")


def demo(out: str = "runs/demo", data: str = "builtin:negation", translation_data: str = "builtin:dates,n=4000",
         overwrite: bool = False) -> None:
    """Train two recurrent entries and the order-blind control on ``data``, tune one, export the best; then
    train, export and run a translator on ``translation_data``. Results go to stdout, progress to stderr,
    every run, search and export under ``out``."""
    if os.path.exists(out) and not overwrite:
        raise RunDirError(f"{out} already exists; choose another --out or pass --overwrite")
    check_output_path(out, kind="run", overwrite=False, resumable=True)
    rows, runs = [], {}
    for name in DEMO_ENTRIES:
        print(f"zoo demo: training {name} on {data}", file=sys.stderr)
        with contextlib.redirect_stdout(sys.stderr):
            run = zoo.train(name, data, os.path.join(out, name.replace("/", "_")),
                            overwrite=overwrite, verbose=2)
        runs[name] = run
        test = run.metrics["test"]
        rows.append([name, zoo.get(name).kind, f"{test['accuracy']:.4f}", f"{test['macro_f1']:.4f}",
                     str(len(run.history["loss"])), f"{run.metrics['train_seconds']:.1f}"])
    print("zoo demo: tuning sentiment/gru (4 trials, 3 epochs each)", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):
        search = zoo.tune("sentiment/gru", f"{data},n=3000" if data == "builtin:negation" else data,
                          os.path.join(out, "tune"), max_trials=4, epochs=3,
                          overrides={"depth": 1, "dropout": 0.0, "embedding_dim": 32},
                          space={"units": [16, 32, 64], "learning_rate": [0.003, 0.01]},
                          overwrite=overwrite, verbose=0)
    best = max(runs, key=lambda n: runs[n].metrics["validation"]["accuracy"])
    export_dir = zoo.export(runs[best], os.path.join(out, "export"), overwrite=overwrite)
    print(f"\nResults on {data} (test split, defaults):\n")
    print(text_table(rows, ["entry", "kind", "accuracy", "macro_f1", "epochs", "train s"]))
    print(f"\nTuning sentiment/gru ({search.objective}; tuned hyperparameters: {search.tuned_path}):\n")
    print(search.table())
    print(f"\nExported {best} to {export_dir}; its predictions:\n")
    results = zoo.predict(export_dir, list(DEMO_TEXTS))
    print(predictions_table(runs[best].task, results))
    _translation(out, translation_data, overwrite)


DEMO_SOURCES = ("March 3, 2021", "3.3.21", "the fourth of july , nineteen seventy six",
                "on saturday , the first of january in the year two thousand")


def _translation(out, translation_data, overwrite) -> None:
    """Many-to-many: train the attention translator, export it, translate from the export."""
    name = "translation/gru_attention"
    print(f"zoo demo: training {name} on {translation_data}", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):
        run = zoo.train(name, translation_data, os.path.join(out, name.replace("/", "_")),
                        overwrite=overwrite, verbose=2)
    export_dir = zoo.export(run, os.path.join(out, "export_translation"), overwrite=overwrite)
    test = run.metrics["test"]
    print(f"\nTranslation, {name} on {translation_data} (test split, greedy decoding):\n")
    print(text_table([[name, zoo.get(name).kind, f"{test['bleu']:.2f}", f"{test['chrf']:.2f}",
                       f"{test['exact_match']:.4f}", str(run.metrics["epochs_trained"]),
                       f"{run.metrics['train_seconds']:.1f}"]],
                     ["entry", "kind", "BLEU", "chrF", "exact match", "epochs", "train s"]))
    print(f"\nExported to {export_dir}; its translations (decoding runs inside the SavedModel):\n")
    print(predictions_table(run.task, zoo.predict(export_dir, list(DEMO_SOURCES))))
