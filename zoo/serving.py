"""Export a trained run as a TF SavedModel that serves raw inputs.

The task supplies its serving functions (raw strings, images or frames in;
preprocessing, model and decoding in the graph). The result loads with
``tf.saved_model.load`` in any TensorFlow process, zoo not needed. Next to
``saved_model.pb`` sits ``zoo_export.json``: entry, task, endpoints, labels.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .errors import RunDirError, ZooError, require
from .folders import atomic_directory, check_output_path, read_json, remove_stale_temporaries, write_json
from .registry import get_task

if TYPE_CHECKING:
    from .runs import TrainedModel

METADATA = "zoo_export.json"


def export_saved_model(trained: TrainedModel, path: str, overwrite: bool = False, **options) -> str:
    """Write ``trained`` as a SavedModel at ``path`` (atomically); returns the absolute path.
    ``options`` are the task's export options (translation: ``beam_width``)."""
    import keras

    require("tensorflow", "zoo export (a SavedModel)", "then export with KERAS_BACKEND=tensorflow")
    if keras.backend.backend() != "tensorflow":
        raise ZooError(f"export writes a TensorFlow SavedModel and needs KERAS_BACKEND=tensorflow "
                       f"(this process runs {keras.backend.backend()!r}); a run trained on any backend "
                       "exports from a TensorFlow process")
    check_output_path(path, kind="export", overwrite=overwrite)
    task = trained.task
    options = task.check_options(options, task.export_options, "export")
    serving = task.serving(trained.model, trained.preprocessor, **options)
    archive = keras.export.ExportArchive()
    archive.track(trained.model)
    for model in trained.extra_models.values():
        archive.track(model)
    for resource in serving.resources:
        archive.track(resource)
    for name, endpoint in serving.endpoints.items():
        archive.add_endpoint(name=name, fn=endpoint.fn, input_signature=endpoint.input_signature)
    remove_stale_temporaries(path, "export")  # a half-written export left by a kill
    with atomic_directory(path, "export", overwrite=overwrite) as tmp:
        archive.write_out(tmp, verbose=False)
        write_json(os.path.join(tmp, METADATA), {
            "entry": trained.config["entry"], "task": trained.config["task"],
            "kind": trained.config["kind"], "endpoints": sorted(serving.endpoints),
            "signatures": {n: e.description for n, e in serving.endpoints.items()},
            "trained_on": trained.config["data"], "run": trained.path,
            **task.prediction_meta(trained.preprocessor), **serving.metadata,
        })
    return os.path.abspath(path)


def is_export(path: str) -> bool:
    return os.path.exists(os.path.join(path, "saved_model.pb"))


def predict_exported(path: str, inputs: list[Any], **options) -> list[dict]:
    """Predictions from an exported SavedModel's ``serve`` endpoint, formatted by its task."""
    tf = require("tensorflow", f"predicting with the export {path} (a SavedModel)")

    meta_path = os.path.join(path, METADATA)
    if not os.path.exists(meta_path):
        raise RunDirError(f"{path} is a SavedModel but not a zoo export (no {METADATA})")
    meta = read_json(meta_path, "export metadata")
    task = get_task(meta.get("task", "sentiment"))
    try:
        loaded = tf.saved_model.load(path)  # keep a reference: its variables die with it
    except Exception as exc:  # a truncated or corrupt saved_model.pb, missing variables
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(f"{path}: cannot load the SavedModel ({type(exc).__name__}: {first[:200]})") from None
    if not hasattr(loaded, "serve"):
        raise RunDirError(f"{path}: the SavedModel has no 'serve' endpoint")
    options = task.check_options(options, task.predict_options, "prediction")
    outputs = task.serve_exported(loaded, inputs, meta, **options)
    return task.format_predictions(inputs, outputs, meta)

