"""Train every sentiment entry with its defaults on one data spec and record the results.

    python experiments/sentiment_results.py --data builtin:negation --out experiments/results/negation.json
    python experiments/fetch_real_sentiment.py --out data/uci_sentences.csv
    python experiments/sentiment_results.py --data csv:data/uci_sentences.csv \\
        --out experiments/results/uci_sentences.json

Each entry is trained ``--seeds`` times (default 3, seeds 0..N-1); the table
shows the median test accuracy and macro F1, their range, and the median
training time. Nothing but the defaults: this is what ``zoo train NAME --data
SPEC`` gives a user.

The study of the defaults for real text (issue 10) runs the same thing with the
entries' earlier defaults (``--defaults before``: no dropout, Adam, a constant
learning rate, the final state) and adds the TF-IDF + logistic-regression
baseline (``--tfidf``, scikit-learn) on the same splits::

    python experiments/fetch_real_sentiment.py --source rt-sentences --out data/rt_sentences.csv
    python experiments/sentiment_results.py --data csv:data/rt_sentences.csv --defaults before \\
        --out experiments/results/sentiment_rt_sentences_before.json
    python experiments/sentiment_results.py --data csv:data/rt_sentences.csv --tfidf \\
        --out experiments/results/sentiment_rt_sentences.json

``--naive-bayes`` adds bigram Naive Bayes (binary uni- and bigram presence, multinomial NB; Socher et al.
2013's baseline). SST-2 as GLUE ships it (``label<TAB>sentence`` with a header) is read with the column
options::

    python experiments/sentiment_results.py --tfidf --naive-bayes --seeds 3 \\
        --data tsv:train=SST2/train.tsv,validation=SST2/dev.tsv,test=SST2/test.tsv,text=sentence,label=label \\
        --out experiments/results/sentiment_sst2.json

``--average-tfidf`` also scores, for every trial, the mean of the entry's class probabilities and the
TF-IDF model's (a two-model ensemble: does the n-gram model add what the recurrent one misses?)::

    python experiments/sentiment_results.py --data csv:data/uci_sentences.csv --average-tfidf \\
        --out experiments/results/sentiment_uci_sentences_averaged.json

``--set KEY=VALUE`` (repeatable) trains every entry that declares KEY with that
value instead of its default: how candidate defaults were compared. KEY may be a
hyperparameter, a preprocessing option or a file option, so pretrained word
vectors (``experiments/fetch_word_vectors.py``) are measured with::

    python experiments/fetch_word_vectors.py --words-from data/uci_sentences.csv \\
        --words-from data/rt_sentences.csv --out data/glove50_uci_rt.txt
    python experiments/sentiment_results.py --data csv:data/uci_sentences.csv \\
        --set embeddings=data/glove50_uci_rt.txt --set embedding_dim=50 \\
        --out experiments/results/sentiment_uci_sentences_glove50.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import sweep, write_result

# The sentiment entries' defaults before issue 10, as overrides of today's hyperparameters.
BEFORE = {"embedding_dropout": 0.0, "dropout": 0.0, "weight_decay": 0.0, "lr_decay": 1.0, "pooling": "last"}


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _ngram_baseline(data: str, entry: str, vectorizer, make_model, grid: list[float], param: str,
                    fitted: dict | None = None) -> dict:
    """Fit ``vectorizer`` on the training texts, pick ``param`` from ``grid`` by validation accuracy (ties: the
    first), refit ``make_model(value)`` on the training split and score it on the test split. No randomness.
    ``fitted``, a dict, receives the splits, the vectorizer and the model (for :func:`averaged_accuracy`)."""
    from sklearn.metrics import accuracy_score, f1_score

    import zoo

    splits = zoo.get("sentiment/lstm").task.load_data(data)
    started = time.perf_counter()
    x_train = vectorizer.fit_transform([t for t, _ in splits.train])
    y_train = [y for _, y in splits.train]
    x_val = vectorizer.transform([t for t, _ in splits.validation])
    scores = [accuracy_score([y for _, y in splits.validation], make_model(v).fit(x_train, y_train).predict(x_val))
              for v in grid]
    best = grid[max(range(len(grid)), key=lambda i: (scores[i], -i))]
    model = make_model(best).fit(x_train, y_train)
    if fitted is not None:
        fitted.update(splits=splits, vectorizer=vectorizer, model=model)
    predicted = model.predict(vectorizer.transform([t for t, _ in splits.test]))
    truth = [y for _, y in splits.test]
    return {"entry": entry, param: best, "validation_accuracy": max(scores),
            "accuracy": accuracy_score(truth, predicted), "macro_f1": f1_score(truth, predicted, average="macro"),
            "seconds": time.perf_counter() - started, "test_examples": len(truth)}


def tfidf_baseline(data: str, fitted: dict | None = None) -> dict:
    """TF-IDF of word uni- and bigrams (the zoo's tokenizer) and logistic regression; C picked
    on the validation split from a grid, then refit on the training split. No randomness."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from zoo.text import tokenize

    vectorizer = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, ngram_range=(1, 2),
                                 sublinear_tf=True)
    return _ngram_baseline(data, "tfidf_logistic_regression", vectorizer,
                           lambda c: LogisticRegression(C=c, max_iter=2000), [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0],
                           "C", fitted)


def naive_bayes_baseline(data: str) -> dict:
    """Bigram Naive Bayes (the baseline of Socher et al. 2013 and Wang & Manning 2012): multinomial NB over
    binary word uni- and bigram presence (the zoo's tokenizer), alpha picked on the validation split from a
    grid, then refit on the training split. No randomness."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    from zoo.text import tokenize

    vectorizer = CountVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, ngram_range=(1, 2),
                                 binary=True)
    return _ngram_baseline(data, "bigram_naive_bayes", vectorizer, lambda a: MultinomialNB(alpha=a),
                           [0.03, 0.1, 0.3, 0.5, 1.0, 2.0], "alpha")


def averaged_accuracy(run, examples, fitted: dict) -> float:
    """Accuracy of the mean of ``run``'s class probabilities and the TF-IDF model's on ``examples``."""
    import numpy as np

    labels = run.preprocessor.label_names
    model, texts = fitted["model"], [t for t, _ in examples]
    if [str(c) for c in model.classes_] != labels:
        raise SystemExit(f"--average-tfidf: label order differs ({list(model.classes_)} vs {labels})")
    ours = np.asarray(run.model.predict(run.preprocessor.encode_texts(texts), verbose=0))
    theirs = model.predict_proba(fitted["vectorizer"].transform(texts))
    predicted = np.asarray(labels)[np.argmax(ours + theirs, axis=1)]
    return float(np.mean(predicted == np.asarray([y for _, y in examples])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:negation")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every sentiment entry")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: the task's)")
    parser.add_argument("--patience", type=int, help="early-stopping patience (default: the task's)")
    parser.add_argument("--defaults", choices=("now", "before"), default="now",
                        help="'before': the defaults the entries had before issue 10 (see BEFORE)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="train every entry that declares KEY with VALUE (repeatable)")
    parser.add_argument("--tfidf", action="store_true", help="add the TF-IDF + logistic regression baseline")
    parser.add_argument("--naive-bayes", action="store_true",
                        help="add the bigram Naive Bayes baseline (binary uni- and bigram counts, scikit-learn)")
    parser.add_argument("--average-tfidf", action="store_true",
                        help="also record, per trial, the accuracy of the mean of the entry's and the TF-IDF "
                             "model's probabilities (a two-model ensemble; implies --tfidf)")
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--append", action="store_true",
                        help="add these entries to OUT, recorded with the same data, seeds, epochs, patience, "
                             "defaults and settings (an entry already there is replaced)")
    args = parser.parse_args()

    import zoo
    from zoo.hparams import parse_assignments

    settings = {**(BEFORE if args.defaults == "before" else {}),
                **{k: _value(v) for k, v in parse_assignments(args.set).items()}}
    entries = args.entries or zoo.list_models(task="sentiment")

    def declared(entry: str) -> set[str]:  # hyperparameters, preprocessing options and files (embeddings=PATH)
        spec = zoo.get(entry)
        return {*spec.space(), *spec.task.preprocessing_options, *spec.task.file_options}

    unknown = set(settings) - {name for e in entries for name in declared(e)}
    if unknown:
        parser.error(f"no entry declares {', '.join(sorted(unknown))}")
    fitted: dict = {}
    baseline = tfidf_baseline(args.data, fitted) if args.tfidf or args.average_tfidf else None
    naive_bayes = naive_bayes_baseline(args.data) if args.naive_bayes else None
    for b in (baseline, naive_bayes):
        if b:
            print(f"{b['entry']}: accuracy {b['accuracy']:.4f} (validation {b['validation_accuracy']:.4f})",
                  file=sys.stderr)
    def averaged(run) -> dict:
        found = {"test_examples": run.metrics["test"]["examples"]}
        if args.average_tfidf:
            found["averaged_with_tfidf"] = {
                "validation_accuracy": averaged_accuracy(run, fitted["splits"].validation, fitted),
                "accuracy": averaged_accuracy(run, fitted["splits"].test, fitted)}
        return found

    header = {"epochs": args.epochs, "patience": args.patience, "defaults": args.defaults,
              "tfidf_logistic_regression": baseline, "bigram_naive_bayes": naive_bayes}
    if args.average_tfidf:
        header["averaged_with_tfidf"] = ("per trial: the accuracy of the mean of the entry's and the TF-IDF "
                                         "model's class probabilities")
    # With --append the sweep writes beside OUT, and OUT gets the merged record at the end.
    target = args.out + ".appending.json" if args.append else args.out
    results = sweep(entries, args.data, args.seeds, target, keys=("accuracy", "macro_f1"), overrides=settings,
                    train={"epochs": args.epochs, "patience": args.patience}, extra=averaged, header=header)
    for r in results:
        if args.average_tfidf:
            r["median_accuracy_averaged_with_tfidf"] = statistics.median(
                t["averaged_with_tfidf"]["accuracy"] for t in r["trials"])
    with open(target, encoding="utf-8") as f:
        record = json.load(f)
    record["results"] = results
    if args.append:
        if os.path.exists(args.out):
            with open(args.out, encoding="utf-8") as f:
                earlier = json.load(f)
            keys = ("data", "seeds", "epochs", "patience", "defaults", "settings")
            differ = [k for k in keys if earlier.get(k) != record.get(k)]
            if differ:
                parser.error(f"--append: {args.out} was recorded with other {', '.join(differ)} "
                             f"(this run's record is in {target})")
            record["results"] = [r for r in earlier["results"] if r["entry"] not in entries] + results
            record["tfidf_logistic_regression"] = baseline or earlier.get("tfidf_logistic_regression")
            record["bigram_naive_bayes"] = naive_bayes or earlier.get("bigram_naive_bayes")
        os.remove(target)
    write_result(args.out, record)
    print(f"| entry | test accuracy (median, min-max of {args.seeds} seeds) | macro F1 | train s |")
    print("|---|---|---|---|")
    for r in results:
        averaged = (f" (averaged with TF-IDF: {r['median_accuracy_averaged_with_tfidf']:.3f})"
                    if args.average_tfidf else "")
        print(f"| `{r['entry']}` | {r['median_accuracy']:.3f} ({r['min_accuracy']:.3f}-{r['max_accuracy']:.3f})"
              f"{averaged} | {r['median_macro_f1']:.3f} | {r['median_seconds']:.0f} |")
    if baseline:
        print(f"| TF-IDF + logistic regression (C={baseline['C']}) | {baseline['accuracy']:.3f} "
              f"| {baseline['macro_f1']:.3f} | {baseline['seconds']:.0f} |")
    if naive_bayes:
        print(f"| bigram Naive Bayes (alpha={naive_bayes['alpha']}) | {naive_bayes['accuracy']:.3f} "
              f"| {naive_bayes['macro_f1']:.3f} | {naive_bayes['seconds']:.0f} |")


if __name__ == "__main__":
    main()
