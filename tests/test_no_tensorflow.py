"""Without TensorFlow (issue 22): on JAX, every task trains, loads, evaluates, predicts and tunes
with ``import tensorflow`` failing; what truly needs TensorFlow (export) says so; and the images
take Pillow and ``keras.ops.image.resize``, which agree with TF's decode and resize.

Each check runs in a child process whose meta-path finder makes tensorflow, tensorflow_text and
tensorflow_datasets unimportable, as on a JAX-only install (see tests/test_backends.py: TF and
JAX in one long-lived process have crashed).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="jax is not installed (pip install -e '.[test]' brings it)")

BLOCK = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_text", "tensorflow_datasets"):
            raise ImportError(f"{name} is not installed here")

sys.meta_path.insert(0, Block())
"""

SWEEP = BLOCK + """
import json, math, time
import keras, zoo

out, report = sys.argv[1], {"backend": keras.backend.backend(), "tasks": {}}
for task in zoo.list_tasks():
    start = time.time()
    name = zoo.list_models(task=task)[0]
    spec = zoo.get(name)
    run = zoo.train(name, spec.task.smoke_data, f"{out}/{task}/run", epochs=1, verbose=0)
    loaded = zoo.load(run.path)
    metrics = zoo.evaluate(run.path)
    predictions = loaded.predict(spec.task.samples()[:2])
    search = zoo.tune(name, spec.task.smoke_data, f"{out}/{task}/tune", max_trials=1, epochs=1, verbose=0)
    report["tasks"][task] = {"entry": name, "run": run.path, "metrics": metrics, "predictions": len(predictions),
                             "trials": len(search.trials), "seconds": round(time.time() - start, 1)}
report["tensorflow"] = sorted(m for m in sys.modules
                              if m.split(".")[0] in ("tensorflow", "tensorflow_text", "tensorflow_datasets"))
print(json.dumps(report, default=str))
"""

CLI = BLOCK + """
from zoo.cli import main
sys.exit(main(sys.argv[1:]))
"""

RESIZE = BLOCK + """
import numpy as np
from zoo.data import images

assert not images.has_tensorflow()
folder = sys.argv[1]
arrays = np.load(folder + "/arrays.npz")
out = {key: images.keras_array_resize(arrays[key][None], int(key.split("_")[1]))[0] for key in arrays}
out.update({name: images.pil_decode(folder + "/" + name) for name in sys.argv[2:]})
np.savez(folder + "/without_tf.npz", **out)
print("tensorflow" in sys.modules)
"""


def _child(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True)


def _last_json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CI") == "true" and importlib.util.find_spec("tensorflow") is not None,
                    reason="CI runs this file again in .venv-jax, a real install without TensorFlow (.ci/run): "
                           "the emulated run here would only repeat it")
def test_every_task_trains_tunes_and_predicts_without_tensorflow(tmp_path):
    report = _last_json(_child(SWEEP, str(tmp_path)))
    assert report["backend"] == "jax"
    assert report["tensorflow"] == []  # nothing even tried to keep a TF module
    import zoo

    assert sorted(report["tasks"]) == sorted(zoo.list_tasks())
    for task, done in report["tasks"].items():
        numbers = {k: v for k, v in done["metrics"].items() if isinstance(v, int | float) and not isinstance(v, bool)}
        assert "loss" in numbers and all(math.isfinite(v) for v in numbers.values()), (task, done["metrics"])
        assert done["predictions"] == 2 and done["trials"] == 1, (task, done)

    # The command line: list and describe work; export, which writes a SavedModel, says what it needs.
    run = report["tasks"]["sentiment"]["run"]
    listed = _child(CLI, "list")
    assert listed.returncode == 0 and "sentiment/gru" in listed.stdout, listed.stderr[-2000:]
    described = _child(CLI, "describe", "captioning/attention")
    assert described.returncode == 0 and json.loads(described.stdout)["name"] == "captioning/attention"
    exported = _child(CLI, "export", run, "--out", str(tmp_path / "export"))
    assert exported.returncode == 2, exported.stderr[-2000:]
    needs = 'zoo: error: zoo export (a SavedModel) needs TensorFlow: pip install "keras-seq-zoo[tensorflow]"'
    assert needs in exported.stderr
    assert "Traceback" not in exported.stderr and not (tmp_path / "export").exists()


def _write_images(folder) -> list[str]:
    """Small PNG, BMP, GIF and JPEG files of every channel layout the rule names."""
    from PIL import Image

    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    smooth = (np.add.outer(np.arange(48), np.arange(64))[..., None] * [2, 3, 1] % 256).astype(np.uint8)
    transparent = Image.fromarray(noise).quantize(32)
    files = {"rgb.png": Image.fromarray(noise), "grey.png": Image.fromarray(noise[..., 0]),
             "rgba.png": Image.fromarray(np.dstack([noise, noise[..., :1]])),
             "grey_alpha.png": Image.fromarray(noise[..., :2].copy(), "LA"),
             "palette.png": Image.fromarray(noise).quantize(64),
             "grey16.png": Image.fromarray(rng.integers(0, 65536, (20, 30)).astype(np.uint16)),
             "rgb.bmp": Image.fromarray(noise), "palette.gif": Image.fromarray(noise).quantize(32),
             "noise.jpg": Image.fromarray(noise), "smooth.jpg": Image.fromarray(smooth),
             "grey.jpg": Image.fromarray(smooth[..., 0])}
    for name, image in files.items():
        image.save(folder / name, **({"quality": 90} if name.endswith(".jpg") else {}))
    transparent.save(folder / "transparent.gif", transparency=3)
    return [*files, "transparent.gif"]


@pytest.mark.slow
def test_pillow_and_keras_resize_agree_with_tensorflow(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from zoo.data.images import tf_array_resize

    rng = np.random.default_rng(0)
    cases = [((30, 40, 3), 64), ((500, 375, 3), 224), ((17, 9, 3), 32), ((299, 299, 3), 300), ((64, 64, 3), 8),
             ((3, 5, 3), 100), ((120, 160, 1), 48), ((33, 47, 4), 16), ((1, 1, 3), 7)]
    arrays = {f"{i}_{size}": rng.integers(0, 256, shape, dtype=np.uint8) for i, (shape, size) in enumerate(cases)}
    np.savez(tmp_path / "arrays.npz", **arrays)
    names = _write_images(tmp_path)
    done = _child(RESIZE, str(tmp_path), *names)
    assert done.returncode == 0 and done.stdout.split() == ["False"], done.stderr[-3000:]
    without = np.load(tmp_path / "without_tf.npz")

    # Resizing: float32 rounding apart (6e-5 measured, a 60th of one 8-bit level), the same pixels.
    for key, image in arrays.items():
        expected = tf_array_resize(image, int(key.split("_")[1])).numpy()
        assert without[key].shape == expected.shape
        assert np.abs(without[key] - expected).max() < 2e-4, (image.shape, key)

    # Decoding: lossless files give TF's pixels exactly; JPEG decoders round differently (5 measured).
    for name in names:
        expected = tf.io.decode_image(tf.io.read_file(str(tmp_path / name)), channels=3,
                                      expand_animations=False).numpy().astype(int)
        assert without[name].shape == expected.shape and without[name].dtype == np.uint8, name
        difference = np.abs(without[name].astype(int) - expected)
        if name.endswith(".jpg"):
            assert difference.max() <= 10 and difference.mean() < 1.5, (name, difference.max(), difference.mean())
        else:
            assert difference.max() == 0, (name, difference.max())


CHOOSE = BLOCK + """
import os
import zoo, keras

print(keras.backend.backend(), os.environ.get("KERAS_BACKEND"), zoo._backend.CHOSEN_BACKEND)
"""


def test_without_tensorflow_or_a_named_backend_jax_is_chosen(tmp_path):
    """Keras defaults to TensorFlow and fails to import without it; the zoo picks an installed backend."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)  # no keras.json naming a backend
    done = subprocess.run([sys.executable, "-c", CHOOSE], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split() == ["jax", "jax", "jax"], done.stderr[-2000:]


def test_a_backend_the_user_names_wins_and_none_installed_is_a_clear_error(monkeypatch, tmp_path):
    import zoo
    from zoo import _backend

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as before Keras is imported (restored after the test)
    monkeypatch.setattr(_backend, "_installed", lambda module: module == "torch")
    assert _backend.choose_backend() == "torch" and os.environ["KERAS_BACKEND"] == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # named in the environment
    assert _backend.choose_backend() is None and os.environ["KERAS_BACKEND"] == "tensorflow"
    monkeypatch.delenv("KERAS_BACKEND")
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}), encoding="utf-8")  # named in keras.json
    assert _backend.choose_backend() is None and "KERAS_BACKEND" not in os.environ
    (tmp_path / "keras.json").unlink()
    monkeypatch.setattr(_backend, "_installed", lambda module: module == "tensorflow")  # Keras's own default
    assert _backend.choose_backend() is None and "KERAS_BACKEND" not in os.environ
    monkeypatch.setattr(_backend, "_installed", lambda module: False)
    with pytest.raises(zoo.MissingDependencyError, match=r'needs a Keras backend and finds none .*'
                                                         r'pip install "keras-seq-zoo\[jax\]"'):
        _backend.choose_backend()
