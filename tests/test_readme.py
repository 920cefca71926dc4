"""README.md stays true: its two commands are what CI runs, its tables list every verb with its
options, every registry entry with its kind, every data kind, and results that match the
recorded result files."""

from __future__ import annotations

import json
import os
import re

import zoo
from zoo.cli import _parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _table(text: str, first_header: str) -> list[list[str]]:
    """The rows (cells stripped) of every Markdown table in ``text`` whose first header cell is ``first_header``."""
    lines, rows, found = text.splitlines(), [], False
    for i, line in enumerate(lines):
        cells = _cells(line)
        if cells and cells[0] == first_header and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            found = True
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(_cells(row))
    assert found, f"no table with first column {first_header!r}"
    return rows


def _cells(line: str) -> list[str]:
    if not line.startswith("|"):
        return []
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_readme_opens_with_the_two_commands_ci_runs():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read().splitlines()
    ci_commands = [line for line in ci if line.startswith("python3 -m venv")]
    assert block == ci_commands  # the same two lines, in the same order
    assert len(block) == 2 and ".venv/bin/zoo demo" in block[0] and ".venv/bin/python -m pytest" in block[1]


def test_command_table_lists_every_verb_with_its_options():
    subparsers = _parser()._subparsers._group_actions[0].choices
    rows = _table(_section("Command line"), "verb")
    documented = {}
    for row in rows:
        usage = row[0].strip("`").replace("\\|", "|")
        assert usage.startswith("zoo "), row
        documented[usage.split()[1]] = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage))
    assert sorted(documented) == sorted(subparsers)  # every verb in `zoo --help`, and no other
    for verb, parser in subparsers.items():
        options = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        assert documented[verb] == options, verb


def test_registry_table_lists_every_entry_with_its_kind():
    rows = _table(_section("The registry"), "entry")
    table = {row[0].strip("`"): row[1] for row in rows}
    assert sorted(table) == zoo.list_models()
    for name, kind in table.items():
        assert kind == zoo.get(name).kind, name


def test_every_data_kind_is_documented():
    rows = _table(_section("Data specs"), "spec")
    documented = {kind for row in rows for kind in re.findall(r"`(\w+):", row[0])}
    kinds = {kind for name in zoo.list_models() for kind in zoo.get(name).task.data_kinds}
    assert kinds <= documented, kinds - documented


def _recorded(name: str) -> dict:
    with open(os.path.join(ROOT, "experiments", "results", name), encoding="utf-8") as f:
        return json.load(f)


def _median_range(r: dict) -> str:
    return f"{r['median_accuracy']:.3f} ({r['min_accuracy']:.3f}-{r['max_accuracy']:.3f})"


def test_results_table_matches_the_recorded_results():
    """Each cell of the results table is the median (min-max) accuracy and median seconds of
    the recorded file for its data, for every sentiment entry; the TF-IDF row and the table of
    the earlier defaults match their files too."""
    table = _table(_section("Results"), "entry")
    rows = [row for row in table if row[0].startswith("`sentiment/")]
    files = {1: "sentiment_negation.json", 3: "sentiment_uci_sentences.json",  # column of each data set
             5: "sentiment_rt_sentences.json"}
    data = {column: _recorded(name) for column, name in files.items()}
    recorded = {column: {r["entry"]: r for r in d["results"]} for column, d in data.items()}
    entries = []
    for row in rows:
        entry = re.match(r"`([^`]+)`", row[0]).group(1)
        entries.append(entry)
        for column, results in recorded.items():
            r = results[entry]
            assert row[column] == _median_range(r), (entry, files[column])
            assert row[column + 1] == str(round(r["median_seconds"])), (entry, files[column])
    assert sorted(entries) == zoo.list_models(task="sentiment")
    tfidf = next(row for row in table if row[0].startswith("TF-IDF"))
    for column in (3, 5):
        baseline = data[column]["tfidf_logistic_regression"]
        assert tfidf[column] == f"{baseline['accuracy']:.3f}", files[column]
        assert tfidf[column + 1] == str(round(baseline["seconds"])), files[column]
    before = {column: {r["entry"]: r for r in _recorded(name.replace(".json", "_before.json"))["results"]}
              for column, name in files.items()}
    earlier = [row for row in _table(_section("Results"), "entry (earlier defaults)") if row[0].startswith("`")]
    assert sorted(re.match(r"`([^`]+)`", row[0]).group(1) for row in earlier) == zoo.list_models(task="sentiment")
    for row in earlier:
        entry = re.match(r"`([^`]+)`", row[0]).group(1)
        for column in files:
            assert row[column] == _median_range(before[column][entry]), (entry, column)
            assert row[column + 1] == str(round(before[column][entry]["median_seconds"])), (entry, column)
    _check_task_tables()
    header = next(line for line in _section("Results").splitlines() if line.startswith("| entry |"))
    negation, uci, rt = (next(iter(recorded[c].values()))["test_examples"] for c in files)
    assert f"({negation:,} test sentences)" in header and f"{uci} in test" in header and f"{rt} in test" in header


def test_word_vectors_table_matches_the_recorded_results():
    """The table of pretrained word vectors quotes its files: each data set without vectors (today's code) and with
    GloVe 6B 50d (experiments/fetch_word_vectors.py), every entry that was measured, and the seconds of the runs with
    vectors."""
    rows = [row for row in _table(_section("Results"), "entry (word vectors)") if row[0].startswith("`")]
    files = {1: "sentiment_uci_sentences_no_vectors.json", 2: "sentiment_uci_sentences_glove50.json",
             4: "sentiment_rt_sentences_no_vectors.json", 5: "sentiment_rt_sentences_glove50.json"}
    recorded = {column: _recorded(name) for column, name in files.items()}
    for column, data in recorded.items():
        vectors = "glove50" in files[column]
        assert data["settings"] == ({"embeddings": "data/glove50_uci_rt.txt", "embedding_dim": 50} if vectors else {})
        assert data["seeds"] == 3 and data["defaults"] == "now", files[column]
    results = {column: {r["entry"]: r for r in data["results"]} for column, data in recorded.items()}
    entries = [re.match(r"`([^`]+)`", row[0]).group(1) for row in rows]
    assert entries and all(sorted(entries) == sorted(r) for r in results.values())
    for entry, row in zip(entries, rows, strict=True):
        for column, r in results.items():
            assert row[column] == _median_range(r[entry]), (entry, files[column])
        for column in (3, 6):
            assert row[column] == str(round(results[column - 1][entry]["median_seconds"])), (entry, column)


def _check_task_tables() -> None:
    """The translation, video and captioning tables quote their recorded files."""
    section = _section("Results")
    with open(os.path.join(ROOT, "experiments", "results", "video_moving_shapes.json"), encoding="utf-8") as f:
        for r in json.load(f)["results"]:
            row = next(row for row in _table(section, "entry") if row[0].startswith(f"`{r['entry']}`"))
            assert row[1] == f"{r['median_frame_accuracy']:.3f}" and row[3] == f"{r['median_edit']:.1f}", row
    with open(os.path.join(ROOT, "experiments", "results", "captioning_shapes.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    for r in recorded["results"]:
        control = " (control)" if r["entry"] == "captioning/blind" else ""
        bleu = " | ".join(f"{r[f'median_bleu{n}']:.1f}" for n in range(1, 5))
        assert f"`{r['entry']}`{control} | {bleu} | {r['median_exact_match']:.3f} |" in section, r["entry"]
    latency = recorded["export_latency"]
    assert f"{latency['p50_ms']:.1f} ms" in section and f"{latency['p99_ms']:.1f} ms" in section
    for name in ("translation_dates.json", "translation_quran_en_fr_30_defaults.json",
                 "translation_gnome_en_fr_defaults.json", "translation_gnome_en_fr_3_epochs_units256.json"):
        with open(os.path.join(ROOT, "experiments", "results", name), encoding="utf-8") as f:
            recorded = json.load(f)
        for r in recorded["results"]:
            assert f"`{r['entry']}` | {r['median_bleu']:.2f} | {r['median_chrf']:.2f} | " \
                   f"{r['median_exact_match']:.4f}" in section, (name, r["entry"])
        copy = recorded.get("copy_source_baseline")
        if copy:  # the trivial baseline's row: the English source as its own translation
            assert f"copy the English source | {copy['bleu']:.2f} | {copy['chrf']:.2f} | " \
                   f"{copy['exact_match']:.4f}" in section, name


def test_translation_reference_tables_match_the_recorded_results():
    """Issue 19's tables: the reference against the zoo (loss every 100 updates, validation BLEU by epoch) and the
    default probes quote their files."""
    section = _section("Results")
    for name in ("seq2seq_reference_quran_en_fr_30_zero_bias", "seq2seq_reference_quran_en_fr_30",
                 "seq2seq_reference_gnome_en_fr"):
        recorded = _recorded(f"{name}.json")
        for who in ("reference", "zoo"):
            losses = " / ".join(f"{p['loss']:.2f}" for p in recorded[who]["points"])
            assert f"| {losses} |" in section, (name, who)
        assert f"| {recorded['reference']['saturated_combine_share']['end']:.2f} |" in section, name
    for name in ("seq2seq_reference_quran_en_fr_30_epochs", "seq2seq_reference_gnome_en_fr_epochs"):
        epochs = _recorded(f"{name}.json")["reference"]["epochs"]
        bleu = ", ".join(format(e["val_bleu"], ".1f") for e in epochs)
        assert f"| {bleu} | {epochs[-1]['val_chrf']:.1f} |" in section, name
    for name in ("translation_quran_en_fr_30_6_epochs", "translation_quran_en_fr_30_6_epochs_batch32",
                 "translation_quran_en_fr_30_6_epochs_batch32_units256", "translation_gnome_en_fr_3_epochs",
                 "translation_gnome_en_fr_3_epochs_batch32", "translation_gnome_en_fr_3_epochs_units256",
                 "translation_gnome_en_fr_3_epochs_batch32_units256"):
        history = _recorded(f"{name}.json")["results"][0]["trials"][0]["history"]
        assert f"| {', '.join(format(v, '.1f') for v in history['val_bleu'])} | {history['val_chrf'][-1]:.1f} |" \
            in section, name


def test_language_model_against_ngram_table_matches_the_recorded_results():
    """The real-text language-model table quotes experiments/lm_vs_ngram.py's files: the Kneser-Ney trigram and
    each LSTM run (best validation and test perplexity)."""
    section = _section("Results")
    names = sorted(n for n in os.listdir(os.path.join(ROOT, "experiments", "results"))
                   if n.startswith(("lm_quran_en", "lm_gnome_en")))
    assert {"lm_quran_en.json", "lm_gnome_en.json"} <= set(names)
    for name in names:
        recorded = _recorded(name)
        kn = recorded["kneser_ney_trigram"]
        assert f"| Kneser-Ney trigram | {kn['validation']['perplexity']:.2f} | {kn['test']['perplexity']:.2f} |" \
            in section, name
        trial = recorded["results"][0]["trials"][0]
        assert f"| {min(trial['history']['val_perplexity']):.2f} | {trial['test_perplexity']:.2f} |" in section, name


def test_training_time_table_matches_the_recorded_benchmark():
    """Issue 10's time goal: the table quotes experiments/bench_sentiment_defaults_time.py's files, every recurrent
    entry, and each ratio (today / earlier defaults, median seconds) is within 2x."""
    rows = [row for row in _table(_section("Results"), "entry (training time)") if row[0].startswith("`")]
    columns = {1: _recorded("bench_sentiment_defaults_time_uci.json"),
               4: _recorded("bench_sentiment_defaults_time_rt.json")}
    recurrent = [e for e in zoo.list_models(task="sentiment") if e != "sentiment/bag_of_embeddings"]
    assert sorted(re.match(r"`([^`]+)`", row[0]).group(1) for row in rows) == recurrent
    for column, data in columns.items():
        assert data["seeds"] == 3
        results = {r["entry"]: r for r in data["results"]}
        for row in rows:
            r = results[re.match(r"`([^`]+)`", row[0]).group(1)]
            before, now = r["median"]["before"], r["median"]["now"]
            assert row[column:column + 3] == [f"{before['seconds']:.1f} ({before['epochs']:g})",
                                              f"{now['seconds']:.1f} ({now['epochs']:g})", f"{r['time_ratio']:.2f}"]
            assert r["time_ratio"] < 2


def test_language_model_transfer_tables_match_the_recorded_results():
    section = _section("Results")
    for name, first in (("lm_transfer_uci_sentences.json", "sentiment/lstm on UCI sentences"),
                        ("lm_transfer_rt_sentences.json", "sentiment/lstm on Rotten Tomatoes snippets")):
        data = _recorded(name)
        rows = _table(section, first)
        for row, arm in zip(rows, ("scratch", "pretrained"), strict=True):
            assert row[1:] == [_median_range(data[arm]), str(round(data[arm]["median_seconds"]))], (name, arm)


def test_language_model_feature_probe_table_matches_the_recorded_results():
    data = _recorded("lm_feature_probe_rt_sentences.json")
    rows = _table(_section("Results"), "frozen features of sentiment/lstm, Rotten Tomatoes test accuracy")
    for row, start in zip(rows, ("pretrained", "random"), strict=True):
        medians = data["median_test_accuracy"][start]
        assert row[1:] == [f"{medians[p]:.3f}" for p in ("max", "mean", "last", "embedding_mean")], start
    section = _section("Results")
    cosine = data["word_vectors"]["cosine"]
    assert f"cosine {cosine['good/bad']:.2f}, against {cosine['good/great']:.2f}" in section
    assert f'"terrible" ({cosine["great/terrible"]:.2f})' in section
    assert data["word_vectors"]["nearest"]["good"][0] == "\u2581bad"
    assert data["word_vectors"]["nearest"]["great"][0] == "\u2581terrible"
    assert f"{data['pretrained'][0]['saturated_share']:.1%} of the outputs" in section


def test_tfidf_average_table_matches_the_recorded_results():
    """Each entry alone and averaged with the TF-IDF model, per data set, quotes its file; the files hold
    the TF-IDF model the text quotes and every sentiment entry at 3 seeds."""
    rows = [row for row in _table(_section("Results"), "entry (averaged with TF-IDF)") if row[0].startswith("`")]
    columns = {1: "sentiment_uci_sentences_averaged.json", 3: "sentiment_rt_sentences_averaged.json"}
    for column, name in columns.items():
        data = _recorded(name)
        assert data["seeds"] == 3 and data["settings"] == {} and data["defaults"] == "now", name
        results = {r["entry"]: r for r in data["results"]}
        assert sorted(results) == zoo.list_models(task="sentiment")
        for row in rows:
            r = results[re.match(r"`([^`]+)`", row[0]).group(1)]
            averaged = [t["averaged_with_tfidf"]["accuracy"] for t in r["trials"]]
            assert row[column] == _median_range(r), (name, row[0])
            assert row[column + 1] == (f"{r['median_accuracy_averaged_with_tfidf']:.3f} "
                                       f"({min(averaged):.3f}-{max(averaged):.3f})"), (name, row[0])
        assert f"{data['tfidf_logistic_regression']['accuracy']:.3f} on " in _section("Results"), name
    assert len(rows) == len(zoo.list_models(task="sentiment"))


def _plus_minus(r: dict, scale: float = 1.0, sign: bool = False) -> str:
    return f"{scale * r['mean']:{'+' if sign else ''}.{1 if sign else 3}f} ± {scale * r['sem']:.{1 if sign else 3}f}"


def test_cross_validation_table_matches_the_recorded_results():
    """The 10-fold table quotes its files: every sentiment entry and TF-IDF, accuracy mean ± standard error over
    the folds, and each recurrent entry's paired difference from TF-IDF and from the control, in points."""
    rows = _table(_section("Results"), "model (10-fold cross-validation)")
    files = {1: "sentiment_cv_uci_sentences.json", 4: "sentiment_cv_rt_sentences.json"}
    for column, name in files.items():
        data = _recorded(name)
        assert data["folds"] == 10 and all(len(v) == 10 for v in data["accuracy"].values()), name
        assert sorted(data["seconds"]) == zoo.list_models(task="sentiment"), name
        for row in rows:
            model = re.match(r"`?([^` ]+)", row[0]).group(1)
            model = "tfidf_logistic_regression" if model == "TF-IDF" else model
            assert row[column] == _plus_minus(data["summary"][model]), (name, model)
            paired = data["paired"].get(model)
            expected = ([_plus_minus(paired["minus_tfidf"], 100, True), _plus_minus(paired["minus_control"], 100, True)]
                        if paired else ["-", "-"])
            assert row[column + 1:column + 3] == expected, (name, model)
    assert len(rows) == len(zoo.list_models(task="sentiment")) + 1



def test_sst2_table_matches_the_recorded_results():
    """The SST-2 table (issue 20) quotes its files: every entry measured from scratch with 3 seeds, the
    run with GloVe vectors, and both n-gram baselines on the same splits."""
    rows = _table(_section("Results"), "entry (SST-2 test, 1,821 sentences)")
    scratch, glove = _recorded("sentiment_sst2.json"), _recorded("sentiment_sst2_glove50.json")
    assert scratch["seeds"] == glove["seeds"] == 3 and scratch["settings"] == {}
    assert glove["settings"]["embedding_dim"] == 50 and "glove50" in glove["settings"]["embeddings"]
    cells = {row[0].removesuffix(" (control)"): row[1:] for row in rows}
    for r in scratch["results"]:
        assert cells[f"`{r['entry']}`"][:2] == [_median_range(r), str(round(r["median_seconds"]))], r["entry"]
    for r in glove["results"]:
        key = f"`{r['entry']}` + GloVe 6B 50d"
        assert cells[key][:2] == [_median_range(r), str(round(r["median_seconds"]))], r["entry"]
    for name, label in (("tfidf_logistic_regression", "TF-IDF + logistic regression"),
                        ("bigram_naive_bayes", "bigram Naive Bayes")):
        baseline = scratch[name]
        assert cells[label][:2] == [f"{baseline['accuracy']:.3f}", str(round(baseline["seconds"]))], name
    assert len([row for row in rows if row[0].startswith("`")]) == len(scratch["results"]) + len(glove["results"])
