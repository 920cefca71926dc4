"""Export a trained run as a TF SavedModel that serves raw inputs.

The task supplies its serving functions (raw strings, images or frames in;
preprocessing, model and decoding in the graph). The result loads with
``tf.saved_model.load`` in any TensorFlow process, zoo not needed. Next to
``saved_model.pb`` sits ``zoo_export.json``: entry, labels, signatures.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import RunDirError, ZooError
from .runs import atomic_directory, write_json

if TYPE_CHECKING:
    from .runs import TrainedModel

METADATA = "zoo_export.json"


def export_saved_model(trained: TrainedModel, path: str, overwrite: bool = False) -> str:
    """Write ``trained`` as a SavedModel at ``path`` (atomically); returns the absolute path."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ZooError(f"export writes a TensorFlow SavedModel and needs KERAS_BACKEND=tensorflow "
                       f"(this process runs {keras.backend.backend()!r}); a run trained on any backend "
                       "exports from a TensorFlow process")
    if os.path.exists(path) and not overwrite:
        raise RunDirError(f"{path} already exists; choose another --out or pass --overwrite")
    endpoints, resources, metadata = trained.task.serving(trained.model, trained.preprocessor)
    archive = keras.export.ExportArchive()
    archive.track(trained.model)
    for resource in resources:
        archive.track(resource)
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name=name, fn=fn, input_signature=signature)
    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(tmp, verbose=False)
        write_json(os.path.join(tmp, METADATA), {
            "entry": trained.config["entry"], "task": trained.config["task"],
            "kind": trained.config["kind"], "endpoints": sorted(endpoints),
            "trained_on": trained.config["data"], "run": trained.path, **metadata,
        })
    return os.path.abspath(path)


def is_export(path: str) -> bool:
    return os.path.exists(os.path.join(path, "saved_model.pb"))


def predict_exported(path: str, inputs: list[str]) -> list[dict]:
    """Predictions from an exported SavedModel's ``serve`` endpoint (text tasks)."""
    import json

    import tensorflow as tf

    from .report import label_predictions

    meta_path = os.path.join(path, METADATA)
    if not os.path.exists(meta_path):
        raise RunDirError(f"{path} is a SavedModel but not a zoo export (no {METADATA})")
    with open(meta_path, encoding="utf-8") as f:
        labels = json.load(f)["labels"]
    loaded = tf.saved_model.load(path)  # keep a reference: its variables die with it
    served = loaded.serve(tf.constant(inputs))
    return label_predictions(inputs, served["probabilities"].numpy(), labels)
