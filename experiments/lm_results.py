#!/usr/bin/env python3
"""Train the language-model entries with their defaults; compare with n-gram baselines; score samples.

    python experiments/lm_results.py --data builtin:grammar --out experiments/results/lm_grammar.json

Each entry is trained ``--seeds`` times with nothing but the defaults (what ``zoo train NAME
--data SPEC`` gives a user). Test perplexity is per target token, the end of each document
included. The baselines see the same tokens: a unigram and a bigram model of the training
split (add-k smoothing, k=1 and k=0.01; on the validation split of builtin:grammar the
bigram's perplexity with k=0.01 is within 0.1% of the best of 1, 0.1, 0.01, 0.001). A bigram
cannot carry a verb's agreement with a subject several words back; the recurrent state can.
On ``builtin:grammar`` the script also samples text (temperature 1, 100 prompts "", 60
tokens, seed 0) and reports the share of complete sentences the grammar accepts
(``zoo.data.builtin_text.is_grammatical``).

``--transfer SPEC`` measures pretraining instead (Dai & Le 2015) on a sentiment data spec:

    python experiments/lm_results.py --transfer csv:data/uci_sentences.csv \
        --out experiments/results/lm_transfer_uci_sentences.json

A word-level ``language_model/lstm`` of the sentiment entry's size (one layer of 64, embedding 64,
lowercase) is trained on the texts of the sentiment training split (``text:``, one document a
line; early stopping on the validation split's texts, never the test split's); then
``sentiment/lstm`` is trained ``--seeds`` times with its defaults from scratch and with ``--set
pretrained=LM_RUN``, and the test accuracies are compared.

``--unlabelled FILE`` adds more in-domain text to the language model's training texts (labels
unused), and ``--lm-dir DIR`` keeps the language model's run (and its texts, in ``DIR.texts/HASH``):
stopped, the same command resumes it after its last finished epoch; finished, it is reused and only
the sentiment arms run::

    python experiments/fetch_real_sentiment.py --source rt-reviews --out data/rt_reviews.csv
    python experiments/lm_results.py --transfer csv:data/rt_sentences.csv --unlabelled data/rt_reviews.csv \
        --seeds 3 --lm-dir runs/lm_rt --out experiments/results/lm_transfer_rt_sentences.json
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import itertools
import math
import os
import platform
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def ngram_perplexities(preprocessor, train, test) -> dict[str, float]:
    """Add-k unigram (k=1) and bigram (k=0.01) perplexities of the test tokens."""
    vocab = preprocessor.tokenizer.vocab_size
    train_docs, test_docs = preprocessor.documents(train), preprocessor.documents(test)
    unigrams = collections.Counter(int(t) for d in train_docs for t in d[1:])
    bigrams = collections.Counter((int(a), int(b)) for d in train_docs for a, b in itertools.pairwise(d))
    contexts = collections.Counter(int(a) for d in train_docs for a in d[:-1])
    total = sum(unigrams.values())
    pairs = [(int(a), int(b)) for d in test_docs for a, b in itertools.pairwise(d)]
    uni = -sum(math.log((unigrams[b] + 1) / (total + vocab)) for _, b in pairs)
    bi = -sum(math.log((bigrams[a, b] + 0.01) / (contexts[a] + 0.01 * vocab)) for a, b in pairs)
    return {"unigram_perplexity": math.exp(uni / len(pairs)), "bigram_perplexity": math.exp(bi / len(pairs))}


def grammatical_share(run) -> dict[str, float]:
    from zoo.data.builtin_text import is_grammatical

    samples = run.predict([""] * 100, max_length=60, temperature=1.0, seed=0)
    sentences = [s.strip() for p in samples for s in p["text"].split(" .")[:-1] if s.strip()]  # complete ones
    good = sum(map(is_grammatical, sentences))
    return {"sampled_sentences": len(sentences), "grammatical": good / max(1, len(sentences)),
            "sample": samples[0]["text"]}


def _machine() -> dict:
    import keras

    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "keras": keras.__version__, "backend": keras.backend.backend()}


def _unlabelled_texts(path: str) -> list[str]:
    """Documents of a CSV's ``text`` column (labels ignored) or of a text file's lines, whitespace-normalised."""
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        if path.endswith(".csv"):
            texts = [row["text"] for row in csv.DictReader(f)]
        else:
            texts = f.read().splitlines()
    return [" ".join(t.split()) for t in texts if t.strip()]


def transfer(args) -> None:
    """Pretrain a language model on the sentiment training texts; sentiment/lstm from scratch vs from it."""
    import tempfile

    import zoo
    from zoo.folders import read_json, write_json
    from zoo.rundir import CONFIG

    splits = zoo.get("sentiment/lstm").task.load_data(args.transfer)
    unlabelled = _unlabelled_texts(args.unlabelled) if args.unlabelled else []
    test_texts = {" ".join(text.split()) for text, _ in splits.test}
    leaked = sum(any(t in u for u in unlabelled) for t in test_texts) if unlabelled else 0
    with tempfile.TemporaryDirectory() as tmp:
        texts = {part: "\n".join(" ".join(text.split()) for text, _ in getattr(splits, part)) + "\n"
                 for part in ("train", "validation")}
        texts["train"] += "".join(u + "\n" for u in unlabelled)  # more text of the domain, without labels
        # With --lm-dir the texts go beside it, in a folder named by their hash: the data spec names the
        # files, so a stopped run resumes (and a finished one is reused) only on the same texts.
        digest = hashlib.sha256("\0".join(texts.values()).encode("utf-8")).hexdigest()[:16]
        text_dir = os.path.join(f"{args.lm_dir}.texts", digest) if args.lm_dir else tmp
        os.makedirs(text_dir, exist_ok=True)
        files = {}
        for part, content in texts.items():
            files[part] = os.path.join(text_dir, f"{part}_texts.txt")
            with open(files[part], "w", encoding="utf-8") as f:
                f.write(content)
        # Named parts: the sentiment split is already a hash split, and text: hashes the same way, so
        # text:TRAIN_TEXTS alone would find no validation texts in it.
        size = {"units": 64, "embedding_dim": 64, "depth": 1}
        spec = f"text:train={files['train']},validation={files['validation']},test={files['validation']}"
        lm_dir = args.lm_dir or os.path.join(tmp, "lm")
        if os.path.exists(os.path.join(lm_dir, CONFIG)):  # finished earlier: reuse it, if trained on this text
            trained_on = read_json(os.path.join(lm_dir, CONFIG), "run config").get("data")
            if trained_on != spec:
                sys.exit(f"{lm_dir} was trained on {trained_on}, not on {spec}; give another --lm-dir")
            lm = zoo.load(lm_dir)
            print(f"language model: reusing {lm_dir}", file=sys.stderr)
        else:  # a run stopped earlier resumes from LM_DIR.partial after its last finished epoch
            lm = zoo.train("language_model/lstm", spec, lm_dir, verbose=args.verbose, epochs=args.lm_epochs,
                           batch_size=args.lm_batch_size, overrides={**size, "lowercase": True})
        print(f"language model: {lm.metrics['test']}, {lm.metrics['train_seconds']:.0f}s", file=sys.stderr)
        arms: dict[str, list] = {"scratch": [], "pretrained": []}
        for seed in range(args.seeds):
            for arm, extra in (("scratch", {}), ("pretrained", {"pretrained": lm.path})):
                run = zoo.train("sentiment/lstm", args.transfer, seed=seed, verbose=0, overrides=extra)
                arms[arm].append({"seed": seed, "accuracy": run.metrics["test"]["accuracy"],
                                  "macro_f1": run.metrics["test"]["macro_f1"],
                                  "vocab_size": run.preprocessor.tokenizer.vocab_size,
                                  "epochs": run.metrics["epochs_trained"], "seconds": run.metrics["train_seconds"]})
                print(f"{arm} seed {seed}: {arms[arm][-1]}", file=sys.stderr)
        summary = {arm: {"median_accuracy": statistics.median(t["accuracy"] for t in trials),
                         "min_accuracy": min(t["accuracy"] for t in trials),
                         "max_accuracy": max(t["accuracy"] for t in trials),
                         "median_seconds": statistics.median(t["seconds"] for t in trials), "trials": trials}
                   for arm, trials in arms.items()}
        lm_report = {"data": "the sentiment training split's texts, one document a line (validation: the "
                             "validation split's texts)" + (f", and the {len(unlabelled)} texts of "
                                                           f"{args.unlabelled} (their labels unused)"
                                                           if unlabelled else ""),
                     "unlabelled_texts": len(unlabelled),
                     "unlabelled_words": sum(len(t.split()) for t in unlabelled),
                     "test_texts_found_verbatim_in_unlabelled": leaked,
                     "overrides": {**size, "lowercase": True}, "test": lm.metrics["test"],
                     "epochs": lm.metrics["epochs_trained"], "seconds": lm.metrics["train_seconds"]}
    write_json(args.out, {"data": args.transfer, "entry": "sentiment/lstm", "seeds": args.seeds,
                          "train_examples": len(splits.train), "test_examples": len(splits.test),
                          "language_model": lm_report, "machine": _machine(), **summary})
    for arm in arms:
        r = summary[arm]
        print(f"| {arm} | {r['median_accuracy']:.3f} ({r['min_accuracy']:.3f}-{r['max_accuracy']:.3f}) | "
              f"{r['median_seconds']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:grammar")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every language_model entry")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--transfer", metavar="SPEC", help="a sentiment data spec: measure pretraining instead")
    parser.add_argument("--lm-dir", metavar="DIR", help="with --transfer: keep the language model's run here, "
                        "its texts in DIR.texts/HASH (a stopped run resumes; a finished one is reused) instead of a "
                        "temporary folder")
    parser.add_argument("--lm-epochs", type=int, default=None, help="with --transfer: the language model's "
                        "epoch limit (default: the task's)")
    parser.add_argument("--lm-batch-size", type=int, default=None, help="with --transfer: the language "
                        "model's batch size (default: the task's)")
    parser.add_argument("--verbose", type=int, default=0, help="Keras verbosity of the language model's fit")
    parser.add_argument("--unlabelled", metavar="FILE", help="with --transfer: more text for the language model "
                        "(a CSV with a 'text' column, whose other columns are ignored, or a text file, a "
                        "document a line)")
    args = parser.parse_args()
    if args.transfer:
        transfer(args)
        return

    import zoo
    from zoo.folders import write_json

    entries = args.entries or zoo.list_models(task="language_model")
    machine = _machine()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results = []
    for name in entries:
        trials = []
        for seed in range(args.seeds):
            run = zoo.train(name, args.data, seed=seed, verbose=0)
            splits = run.task.load_data(args.data)
            test = run.metrics["test"]
            trial = {"seed": seed, "perplexity": test["perplexity"], "token_accuracy": test["token_accuracy"],
                     "tokens": test["tokens"], **ngram_perplexities(run.preprocessor, splits.train, splits.test),
                     "epochs": run.metrics["epochs_trained"], "seconds": run.metrics["train_seconds"],
                     "parameters": run.model.count_params()}
            if args.data.startswith("builtin:grammar"):
                trial.update(grammatical_share(run))
            trials.append(trial)
            print(f"{name} seed {seed}: {trial}", file=sys.stderr)
            keys = ["perplexity", "token_accuracy", "unigram_perplexity", "bigram_perplexity", "seconds"]
            keys += ["grammatical"] if "grammatical" in trials[0] else []
            summary = {"entry": name, "trials": trials, "test_documents": len(splits.test),
                       "test_tokens": trials[0]["tokens"],
                       **{f"median_{k}": statistics.median(t[k] for t in trials) for k in keys}}
            # Written after every trial, so an interrupted run keeps what it measured.
            write_json(args.out, {"data": args.data, "seeds": args.seeds, "machine": machine,
                                  "results": [*results, summary]})
        results.append(summary)
    print("| entry | perplexity | next-token accuracy | unigram | bigram | grammatical samples | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        grammatical = f"{r['median_grammatical']:.3f}" if "median_grammatical" in r else ""
        print(f"| `{r['entry']}` | {r['median_perplexity']:.2f} | {r['median_token_accuracy']:.3f} | "
              f"{r['median_unigram_perplexity']:.2f} | {r['median_bigram_perplexity']:.2f} | {grammatical} | "
              f"{r['median_seconds']:.0f} |")


if __name__ == "__main__":
    main()
