"""Data specs: built-in, files and TFDS (mocked, offline), and every bad-input error."""

from __future__ import annotations

import collections

import pytest
import tensorflow_datasets as tfds
from conftest import write_csv

import zoo
from zoo.data import parse_spec
from zoo.data.builtin import NEGATIVE, POSITIVE

TASK = zoo.get("sentiment/lstm").task


def _rows(n, labels=("pos", "neg")):
    return [(f"text number {i} is {labels[i % len(labels)]}", labels[i % len(labels)]) for i in range(n)]


def test_parse_spec_forms():
    s = parse_spec("csv:reviews.csv")
    assert (s.kind, s.target, s.parts) == ("csv", "reviews.csv", {})
    s = parse_spec("csv:train=a.csv,test=b.csv")
    assert (s.target, s.parts) == (None, {"train": "a.csv", "test": "b.csv"})
    s = parse_spec("tfds:glue/sst2,test=validation")
    assert (s.target, s.parts) == ("glue/sst2", {"test": "validation"})
    assert parse_spec("csv:my,file.csv").target == "my,file.csv"


@pytest.mark.parametrize(("spec", "pattern"), [
    ("reviews.csv", r"has no kind: write KIND:VALUE \(builtin:, tfds:, csv:, tsv:\)"),
    ("json:reviews.json", r"unknown kind 'json'; this task reads builtin:, tfds:, csv:, tsv:"),
    ("csv:", r"names nothing after 'csv:'"),
    ("csv:train=a.csv,train=b.csv", r"gives 'train' twice"),
    ("csv:train=a.csv,dev=b.csv", r"unknown part 'dev'; allowed: train, validation, test"),
    ("csv:test=b.csv", r"names no train part"),
    ("builtin:sarcasm", r"unknown built-in set 'sarcasm'; available: builtin:negation"),
    ("builtin:negation,n=lots", r"n must be an integer"),
    ("builtin:negation,size=10", r"unknown option 'size'"),
    ("tfds:no_such_set_xyz", r"TFDS has no set 'no_such_set_xyz'"),
])
def test_bad_specs(spec, pattern):
    with pytest.raises(zoo.DataError, match=pattern):
        TASK.load_data(spec)


def test_builtin_negation_is_seeded_balanced_and_order_dependent():
    a, b = TASK.load_data("builtin:negation"), TASK.load_data("builtin:negation")
    assert a.train == b.train and a.test == b.test
    assert len(a.train) > 9000 and len(a.test) > 1000
    counts = collections.Counter(label for _, label in a.train)
    assert abs(counts["positive"] - counts["negative"]) < 0.05 * len(a.train)
    # No text is in two splits.
    assert not {t for t, _ in a.train} & {t for t, _ in a.test}
    # Mirrored pairs: the same words with opposite labels exist.
    by_bag = collections.defaultdict(set)
    for text, label in a.train:
        by_bag[tuple(sorted(text.split()))].add(label)
    assert sum(len(labels) == 2 for labels in by_bag.values()) > 300
    assert TASK.load_data("builtin:negation,seed=1").train != a.train


def test_builtin_distance_pushes_the_decisive_words_away():
    near = TASK.load_data("builtin:negation,n=300")
    far = TASK.load_data("builtin:negation,n=300,distance=30")
    assert near.train == TASK.load_data("builtin:negation,n=300,distance=0").train
    for text, _ in far.train:
        tail = text.split()[-30:]
        assert not set(tail) & set(POSITIVE + NEGATIVE + ("not",))
    with pytest.raises(zoo.DataError, match="distance must be from 0 to 1000"):
        TASK.load_data("builtin:negation,distance=-1")


def test_csv_single_file_is_split_deterministically(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(200))
    a, b = TASK.load_data(f"csv:{path}"), TASK.load_data(f"csv:{path}")
    assert (a.train, a.validation, a.test) == (b.train, b.validation, b.test)
    assert len(a.train) + len(a.validation) + len(a.test) == 200
    assert 120 < len(a.train) < 190 and a.validation and a.test


def test_tsv_named_parts_and_carved_validation(tmp_path):
    train = write_csv(tmp_path / "train.tsv", _rows(100), delimiter="\t")
    test = write_csv(tmp_path / "test.tsv", _rows(10), delimiter="\t")
    s = TASK.load_data(f"tsv:train={train},test={test}")
    assert len(s.test) == 10 and len(s.train) + len(s.validation) == 100 and s.validation
    val = write_csv(tmp_path / "val.tsv", _rows(7), delimiter="\t")
    s = TASK.load_data(f"tsv:train={train},validation={val},test={test}")
    assert (len(s.train), len(s.validation), len(s.test)) == (100, 7, 10)


def _glue_parts(tmp_path, header="label\tsentence", rows=None) -> str:
    """train/validation/test TSV files as GLUE ships SST-2 (header, tab, no quoting); the parts' spec."""
    rows = rows or [f"{i % 2}\tsentence number {i}" for i in range(12)]
    for part in ("train", "validation", "test"):
        (tmp_path / f"{part}.tsv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return ",".join(f"{part}={tmp_path / f'{part}.tsv'}" for part in ("train", "validation", "test"))


def test_columns_are_chosen_by_name_in_any_order(tmp_path):
    parts = _glue_parts(tmp_path)
    s = TASK.load_data(f"tsv:{parts},text=sentence,label=label")
    assert s.train[:2] == [("sentence number 0", "0"), ("sentence number 1", "1")] and len(s.test) == 12
    # Other names, other order, extra columns; the single-file form takes the options too.
    path = write_csv(tmp_path / "r.csv", [(i, f"{'bad' if i % 2 else 'good'} film {i}", i % 2, "x")
                                          for i in range(200)], header=("id", "review", "stars", "note"))
    s = TASK.load_data(f"csv:{path},text=review,label=stars,bad_rows=skip")
    assert len(s.train) + len(s.validation) + len(s.test) == 200
    assert all(label == ("1" if text.startswith("bad") else "0") for text, label in s.train)
    assert TASK.load_data(f"csv:{path},label=stars,text=review").train == s.train


def test_a_missing_column_names_the_file_the_column_and_the_columns_found(tmp_path):
    parts = _glue_parts(tmp_path)
    with pytest.raises(zoo.DataError) as info:
        TASK.load_data(f"tsv:{parts}")  # the defaults, text and label: the file has no 'text'
    message = str(info.value)
    assert f"{tmp_path / 'train.tsv'} has no column 'text' (header has 'label', 'sentence'; separator tab); " \
           "choose with text=COLUMN" in message
    with pytest.raises(zoo.DataError, match=r"has no column 'review', 'score' \(header has 'label', 'sentence'; "
                                            r"separator tab\); choose with text=COLUMN,label=COLUMN"):
        TASK.load_data(f"tsv:{parts},text=review,label=score")
    blank = _glue_parts(tmp_path, rows=["1\tfine", "0\t ", "1\tok"])
    with pytest.raises(zoo.DataError, match=r"line 3: empty 'sentence'"):  # row errors name the chosen column
        TASK.load_data(f"tsv:{blank},text=sentence")
    with pytest.raises(zoo.DataError, match=r"text and label both name column 'label'"):
        TASK.load_data(f"tsv:{parts},text=label")


def test_tsv_reads_quotes_as_plain_text_and_csv_keeps_quoting(tmp_path):
    texts = ['" a quoted opening " and more', 'it ends with a quote "', 'a 5" screen', '""', '"whole"']
    parts = _glue_parts(tmp_path, header="sentence\tlabel", rows=[f"{t}\t{i % 2}" for i, t in enumerate(texts)])
    s = TASK.load_data(f"tsv:{parts},text=sentence")
    assert [text for text, _ in s.train] == texts  # verbatim: GLUE's files have no quoting
    # quoting=csv reads a TSV written with quoted fields (Python's csv module, pandas), as tsv: did before.
    train = tmp_path / "quoted.tsv"
    train.write_text('text\tlabel\n"with\ttab"\tpos\n"say ""hi"""\tneg\n', encoding="utf-8")
    spec = f"tsv:train={train},validation={train},test={train}"
    assert TASK.load_data(f"{spec},quoting=csv").train == [("with\ttab", "pos"), ('say "hi"', "neg")]
    with pytest.raises(zoo.DataError, match=r"line 2: 3 fields, the header has 2 .*read without quoting, a field "
                                            r"cannot contain the separator \(tab\); quoting=csv reads quoted fields"):
        TASK.load_data(spec)
    with pytest.raises(zoo.DataError, match=r"quoting must be 'csv' or 'none', not 'double'"):
        TASK.load_data(f"{spec},quoting=double")
    csv_path = write_csv(tmp_path / "q.csv", [('he said "no", twice', "neg"), ("fine", "pos")] * 3)
    csv_spec = f"csv:train={csv_path},validation={csv_path},test={csv_path}"
    assert TASK.load_data(csv_spec).train[0] == ('he said "no", twice', "neg")  # csv: quotes as before


def test_unknown_table_options_list_the_allowed_ones(tmp_path):
    with pytest.raises(zoo.DataError, match=r"unknown part 'column'; allowed: train, validation, test, bad_rows, "
                                            r"text, label, quoting"):
        TASK.load_data(f"tsv:{_glue_parts(tmp_path)},column=sentence")


def test_zoo_train_with_a_bad_column_exits_2_without_a_traceback(tmp_path, capsys):
    from zoo.cli import main

    spec = f"tsv:{_glue_parts(tmp_path)},text=review"
    code = main(["train", "sentiment/bilstm", "--data", spec, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("zoo: error: ") and "Traceback" not in err
    assert "train.tsv has no column 'review' (header has 'label', 'sentence'; separator tab); " \
           "choose with text=COLUMN" in err
    assert not (tmp_path / "run").exists()


def test_integer_and_multiclass_labels(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(300, labels=("10", "2", "0")))
    splits = TASK.load_data(f"csv:{path}")
    pre = TASK.fit_preprocessor(splits, {"max_tokens": 100, "max_length": 16})
    assert pre.label_names == ["0", "2", "10"]  # numeric order, not string order
    run = zoo.train("sentiment/bag_of_embeddings", f"csv:{path}", epochs=1, verbose=0)
    assert run.model.output_shape == (None, 3)


@pytest.mark.parametrize(("content", "pattern"), [
    (None, r"file not found: .*missing\.csv"),
    (b"", r"is empty"),
    (b"  \n", r"is empty"),
    (b"text,label\n", r"has a header but no rows"),
    (b"review,label\nok,1\n", r"has no column 'text' \(header has 'review', 'label'; separator ','\)"),
    (b"text;label\nok;1\n", r"has no column 'text', 'label'"),
    (b"text,label\ngood,pos\n\xff\xfe bad,neg\n", r"is not valid UTF-8 \(byte 0xff on line 3\)"),
    (b"text,label\ngood,pos\n   ,neg\n", r"line 3: empty 'text'"),
    (b"text,label\ngood,pos\nbad,\n", r"line 3: empty 'label'"),
])
def test_bad_files_name_the_file_and_problem(tmp_path, content, pattern):
    path = tmp_path / "missing.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(zoo.DataError, match=pattern) as info:
        TASK.load_data(f"csv:{path}")
    assert str(path) in str(info.value)


def test_single_class_is_refused(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(50, labels=("pos",)))
    with pytest.raises(zoo.DataError, match=r"single class \('pos'\); a classifier needs at least two"):
        TASK.load_data(f"csv:{path}")


def test_too_few_rows_to_split(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(3))
    with pytest.raises(zoo.DataError, match=r"too few examples \(3\).*train=\.\.\.,test=\.\.\."):
        TASK.load_data(f"csv:{path}")


def test_unknown_label_at_evaluation(tmp_path, small_run):
    path = write_csv(tmp_path / "r.csv", _rows(60, labels=("positive", "meh")))
    with pytest.raises(zoo.DataError, match=r"label\(s\) 'meh' were not in the training data.*'negative'"):
        small_run.evaluate(f"csv:{path}", split="all")


def test_tfds_text_classification_offline_with_mock_data():
    with tfds.testing.mock_data(num_examples=40):
        s = TASK.load_data("tfds:imdb_reviews")
        assert s.info["label_names"] == ["neg", "pos"]
        assert s.train and s.validation and s.test  # validation carved from train
        assert all(isinstance(text, str) and label in ("neg", "pos") for text, label in s.train)
        run = zoo.train("sentiment/bag_of_embeddings", "tfds:imdb_reviews", epochs=1, verbose=0)
        assert run.preprocessor.label_names == ["neg", "pos"]
        # A set without supervised keys: the text and label features are found by type.
        sst = TASK.load_data("tfds:glue/sst2,test=validation")
        assert sst.info["label_names"] == ["negative", "positive"] and sst.test
        with pytest.raises(zoo.DataError, match=r"no feature 'body'; features: "):
            TASK.load_data("tfds:imdb_reviews,text=body")
