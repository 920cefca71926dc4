"""Pretrained word vectors from a local file (``--set embeddings=PATH``): formats, the rows the
embedding starts from, freezing, the out-of-vocabulary rule, and the errors for bad files."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from conftest import SMALL

import zoo
from zoo.cli import main
from zoo.embeddings import read_vectors

DIM = 16
# Words of builtin:negation, one case variant ("Movie", for the lowercased "movie"), one word it lacks.
FILE_WORDS = ["the", "was", "not", "good", "bad", "terrible", "brilliant", "plot", "Movie", "zebra"]


def _vectors() -> dict[str, np.ndarray]:
    """Dimension 0 is 3.0 for every word (so the file's mean there is 3.0 and its spread 0);
    dimension 1 is near 10; the rest are word-specific."""
    rng = np.random.default_rng(7)
    out = {}
    for word in FILE_WORDS:
        v = rng.normal(0.0, 1.0, DIM)
        v[0], v[1] = 3.0, 10.0 + rng.uniform(-1, 1)
        out[word] = np.round(v, 5)
    return out


def _write(path, vectors, header: bool = False, gz: bool = False, lines: list[str] | None = None) -> str:
    if lines is None:
        lines = [f"{len(vectors)} {DIM}"] if header else []
        lines += [w + " " + " ".join(f"{x:.5f}" for x in v) for w, v in vectors.items()]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return str(path)


@pytest.fixture(scope="module")
def vectors_file(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("vectors") / "glove.16d.txt", _vectors())


@pytest.fixture(scope="module")
def frozen_run(tmp_path_factory, vectors_file):
    out = tmp_path_factory.mktemp("runs") / "frozen"
    return zoo.train("sentiment/bag_of_embeddings", SMALL, str(out), epochs=2, verbose=0,
                     overrides={"embeddings": vectors_file, "embedding_dim": DIM, "freeze_embeddings": "true"})


@pytest.mark.parametrize("name,header,gz", [("v.txt", False, False), ("v.vec", True, False),
                                            ("v.txt.gz", False, True), ("v.vec.gz", True, True)])
def test_formats_read_alike(tmp_path, name, header, gz):
    expected = _vectors()
    read = read_vectors(_write(tmp_path / name, expected, header=header, gz=gz), ["the", "movie", "absent"])
    assert read.dim == DIM and read.count == len(FILE_WORDS)
    assert set(read.vectors) == {"the", "movie"}  # "Movie" is the case variant of the vocabulary's "movie"
    np.testing.assert_allclose(read.vectors["the"], expected["the"])
    np.testing.assert_allclose(read.vectors["movie"], expected["Movie"])
    all_vectors = np.stack(list(expected.values()))
    np.testing.assert_allclose(read.mean, all_vectors.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(read.std, all_vectors.std(axis=0), atol=1e-6)


def test_exact_match_beats_case_variant_and_words_may_hold_spaces(tmp_path):
    path = _write(tmp_path / "v.txt", None, lines=["The 1 1", "the 2 2", ". . . 3 3"])
    read = read_vectors(path, ["the", ". . ."])
    assert read.dim == 2 and read.vectors["the"].tolist() == [2, 2] and read.vectors[". . ."].tolist() == [3, 3]


def test_embedding_starts_from_the_file_and_frozen_stays(frozen_run, vectors_file):
    """Trained for two epochs with the embedding frozen: the rows still hold the file's vectors."""
    vocabulary = frozen_run.preprocessor.tokenizer.vocabulary
    layer = frozen_run.model.get_layer("embedding")
    assert not layer.trainable
    matrix = np.asarray(layer.embeddings)
    expected = _vectors()
    found = [w for w in vocabulary if w in expected or w.capitalize() in expected]
    assert {"the", "was", "not", "good", "movie", "plot"} <= set(found)
    for word in found:
        np.testing.assert_allclose(matrix[vocabulary.index(word)], expected.get(word, expected.get(word.capitalize())),
                                   rtol=1e-6)
    record = frozen_run.preprocessor.word_vectors
    assert record == {"path": vectors_file, "dim": DIM, "vectors_in_file": len(FILE_WORDS),
                      "vocabulary_words": len(vocabulary) - 2, "found": len(found)}
    assert frozen_run.config["preprocessing"]["embeddings"] == vectors_file


def test_out_of_vocabulary_rule(frozen_run):
    """Padding row zero; [UNK] the file's mean; words the file lacks drawn with its mean and spread."""
    vocabulary = frozen_run.preprocessor.tokenizer.vocabulary
    matrix = np.asarray(frozen_run.model.get_layer("embedding").embeddings)
    all_vectors = np.stack(list(_vectors().values()))
    np.testing.assert_array_equal(matrix[0], 0.0)
    np.testing.assert_allclose(matrix[1], all_vectors.mean(axis=0), rtol=1e-5)
    missing = [i for i, w in enumerate(vocabulary) if i >= 2 and not {w, w.capitalize()} & set(FILE_WORDS)]
    assert len(missing) > 20
    rows = matrix[missing]
    np.testing.assert_allclose(rows[:, 0], 3.0)  # the file's spread there is zero
    assert 8.0 < rows[:, 1].mean() < 12.0 and rows[:, 1].std() < 2.0  # mean about 10, spread about 0.6
    assert abs(rows[:, 2:].mean()) < 0.5 and 0.4 < rows[:, 2:].std() < 1.6
    assert len({tuple(r) for r in rows.round(4)}) == len(missing)  # each its own draw


def test_run_needs_the_file_no_more(frozen_run, vectors_file, tmp_path):
    """The vectors live in the model: load and evaluate work after the file is gone."""
    moved = str(tmp_path / "moved.txt")
    os.rename(vectors_file, moved)
    try:
        loaded = zoo.load(frozen_run.path)
        np.testing.assert_array_equal(np.asarray(loaded.model.get_layer("embedding").embeddings),
                                      np.asarray(frozen_run.model.get_layer("embedding").embeddings))
        assert loaded.preprocessor.word_vectors == frozen_run.preprocessor.word_vectors
        assert loaded.evaluate()["accuracy"] == frozen_run.metrics["test"]["accuracy"]
    finally:
        os.rename(moved, vectors_file)


def test_not_frozen_trains_the_vectors(vectors_file):
    run = zoo.train("sentiment/bag_of_embeddings", SMALL, epochs=1, verbose=0,
                    overrides={"embeddings": vectors_file, "embedding_dim": DIM})
    vocabulary = run.preprocessor.tokenizer.vocabulary
    assert run.model.get_layer("embedding").trainable
    row = np.asarray(run.model.get_layer("embedding").embeddings)[vocabulary.index("not")]
    assert not np.allclose(row, _vectors()["not"], atol=1e-4)


def test_dimension_mismatch_names_both_and_the_file(vectors_file, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(zoo.HyperparameterError) as info:
        zoo.train("sentiment/gru", SMALL, str(out), verbose=0, overrides={"embeddings": vectors_file})
    message = str(info.value)
    assert "16 dimensions" in message and "embedding_dim=64" in message and vectors_file in message
    assert not os.path.exists(out) and not os.path.exists(f"{out}.partial")


GOOD = "the 1.0 2.0 3.0"


@pytest.mark.parametrize("lines,header,pattern", [
    ([GOOD, "was 1.0 2.0", "not 1 2 3"], False, r"line 2: expected a word and 3 values .* got 2 values"),
    ([GOOD, "was 1.0 2.0 x3"], False, r"line 2: value 'x3' of word 'was' is not a number"),
    ([GOOD, "was 1 2 3 4"], False, r"line 2: expected a word and 3 values .* got more"),
    ([GOOD, "was 1 nan 3"], False, r"line 2: word 'was' has a non-finite value"),
    (["5 3", GOOD, "was 1 2 3"], True, r"the header line says 5 vectors, the file holds 2"),
    (["3 3", GOOD, "was 1 2"], True, r"line 3: expected a word and 3 values"),
    ([], False, r"holds no vectors"),
])
def test_malformed_files_name_file_and_line(tmp_path, lines, header, pattern):
    path = _write(tmp_path / "bad.vec", None, lines=lines)
    with pytest.raises(zoo.DataError, match=pattern) as info:
        read_vectors(path, ["the", "was"])
    assert path in str(info.value)


def test_undecodable_and_corrupt_gzip(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"the 1 2\ncaf\xe9 3 4\n")
    with pytest.raises(zoo.DataError, match=r"latin1.txt line 2: not UTF-8"):
        read_vectors(str(path), ["the"])
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(gzip.compress(b"the 1 2\n" * 1000)[:-30])
    with pytest.raises(zoo.DataError, match=r"broken.txt.gz: cannot read the word-vectors file"):
        read_vectors(str(broken), ["the"])


def test_bad_options_fail_before_data_is_read(tmp_path, capsys):
    with pytest.raises(zoo.DataError, match=r"embeddings: file not found: .*nowhere.vec"):
        zoo.train("sentiment/lstm", "csv:/no/such/data.csv", overrides={"embeddings": str(tmp_path / "nowhere.vec")})
    code = main(["train", "sentiment/lstm", "--data", SMALL, "--out", str(tmp_path / "r"),
                 "--set", f"embeddings={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and "is a directory, not a file" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "r")


def test_word_vectors_and_a_pretrained_language_model_are_exclusive(vectors_file, tmp_path):
    """Both set the vocabulary and the embedding: asking for both is an error before any training."""
    lm_run = tmp_path / "lm"
    lm_run.mkdir()
    with pytest.raises(zoo.errors.HyperparameterError, match="not both"):
        zoo.train("sentiment/lstm", SMALL, str(tmp_path / "run"), epochs=1, verbose=0,
                  overrides={"embeddings": vectors_file, "pretrained": str(lm_run)})
    assert not (tmp_path / "run").exists()
