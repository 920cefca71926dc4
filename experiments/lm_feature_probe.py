#!/usr/bin/env python3
"""Probe a language model's recurrent features for sentiment: is there anything to transfer?

    python experiments/lm_feature_probe.py --lm-run runs/lm_rt --data csv:data/rt_sentences.csv \\
        --out experiments/results/lm_feature_probe_rt_sentences.json

``sentiment/lstm`` is built at the language model's size (its units and embedding width, the
vocabulary of ``--set pretrained=LM_RUN``) with two starts: the language model's embedding and first
recurrent layer copied in (``zoo.transfer.copy_pretrained``, exactly what ``pretrained=``
does before fine-tuning), and a fresh random start (``--seeds`` of them). Nothing is trained through
the network: the training, validation and test texts go through the frozen embedding and LSTM, the
outputs are pooled over each text's real steps (``max``, ``mean``, ``last``; ``embedding_mean`` is the
mean of the word vectors, the LSTM left out), and scikit-learn's
logistic regression is fitted on the training split (C from a grid, picked on the validation split).
The test accuracy says how much sentiment the features carry where fine-tuning starts; the share of
outputs beyond +-0.9 says how saturated they are (tanh passes back under a fifth of the gradient there).
The file also records a few cosines and nearest neighbours in the language model's embedding.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

POOLINGS = ("max", "mean", "last", "embedding_mean")  # the last: the word vectors' mean, no LSTM
GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


def pooled_features(model, preprocessor, texts, batch_size: int = 256) -> tuple[dict, float]:
    """The frozen LSTM's outputs over ``texts``, pooled per text; and the share of outputs beyond +-0.9."""
    import keras
    import numpy as np

    recurrent = next(layer for layer in model.layers if isinstance(layer, keras.layers.RNN))
    if not recurrent.return_sequences:
        raise SystemExit(f"{model.name}: build it with pooling over time, so its LSTM returns every step")
    features = keras.Model(model.inputs, [model.get_layer("embedding").output, recurrent.output])
    ids = preprocessor.encode_texts(list(texts))
    embedded, outputs = (np.asarray(x) for x in features.predict(ids, batch_size=batch_size, verbose=0))
    real = ids > 0
    lengths = np.maximum(real.sum(axis=1), 1)
    pooled = {"max": np.where(real[..., None], outputs, -np.inf).max(axis=1),
              "mean": (outputs * real[..., None]).sum(axis=1) / lengths[:, None],
              "last": outputs[np.arange(len(ids)), lengths - 1],
              "embedding_mean": (embedded * real[..., None]).sum(axis=1) / lengths[:, None]}
    return pooled, float((np.abs(outputs[real]) > 0.9).mean())


def probe(train, validation, test, y_train, y_validation, y_test) -> dict:
    """Logistic regression on ``train``; C picked on ``validation``; accuracies."""
    from sklearn.linear_model import LogisticRegression

    fits = {c: LogisticRegression(C=c, max_iter=5000).fit(train, y_train) for c in GRID}
    scores = {c: fit.score(validation, y_validation) for c, fit in fits.items()}
    best = max(GRID, key=lambda c: (scores[c], -c))
    return {"C": best, "train_accuracy": fits[best].score(train, y_train), "validation_accuracy": scores[best],
            "accuracy": fits[best].score(test, y_test)}


# Antonyms against synonyms: distributional word vectors put words of opposite sentiment that share
# contexts ("a good film", "a bad film") close together.
PAIRS = (("good", "bad"), ("good", "great"), ("great", "terrible"), ("great", "superb"), ("funny", "boring"))
NEIGHBOURS_OF = ("good", "great", "bad")


def word_geometry(lm_run) -> dict:
    """Cosines of :data:`PAIRS` and the 5 nearest words of :data:`NEIGHBOURS_OF` in the language model's
    embedding (each word as the model mostly saw it, after a space; pairs with a word it lacks are left out)."""
    import numpy as np

    from zoo.transfer import _word_rows

    rows = _word_rows(lm_run.preprocessor.tokenizer)
    vocabulary = lm_run.preprocessor.tokenizer.vocabulary
    vectors = np.asarray(lm_run.model.embedding.embeddings, dtype="float64")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    cosines = {f"{a}/{b}": float(unit[rows[a]] @ unit[rows[b]]) for a, b in PAIRS if a in rows and b in rows}
    nearest = {}
    for word in (w for w in NEIGHBOURS_OF if w in rows):
        order = np.argsort(-(unit @ unit[rows[word]]))
        nearest[word] = [vocabulary[i] for i in order if i != rows[word] and i >= 4][:5]
    return {"cosine": cosines, "nearest": nearest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm-run", required=True, help="a word-level language_model/lstm run directory")
    parser.add_argument("--data", required=True, help="a sentiment data spec")
    parser.add_argument("--seeds", type=int, default=3, help="random starts to compare with (seeds 0..N-1)")
    parser.add_argument("--out", required=True, help="JSON file for the results")
    args = parser.parse_args()

    import keras

    import zoo
    from zoo.folders import write_json
    from zoo.transfer import copy_pretrained

    lm = zoo.load(args.lm_run)
    if lm.config["entry"] != "language_model/lstm":
        parser.error(f"--lm-run {args.lm_run} is a {lm.config['entry']} run; the probe reads an LSTM")
    size = {k: lm.config["hyperparameters"][k] for k in ("units", "embedding_dim")}
    task = zoo.get("sentiment/lstm").task
    splits = task.load_data(args.data)
    preprocessor = task.fit_preprocessor(splits, {"max_tokens": 20_000, "max_length": 256,
                                                  "pretrained": args.lm_run})
    labels = {part: [y for _, y in getattr(splits, part)] for part in ("train", "validation", "test")}

    def measure(model) -> dict:
        pooled, saturated = {}, {}
        for part in ("train", "validation", "test"):
            pooled[part], saturated[part] = pooled_features(model, preprocessor, [t for t, _ in getattr(splits, part)])
        result = {"saturated_share": saturated["train"]}
        for pooling in POOLINGS:
            result[pooling] = probe(*(pooled[p][pooling] for p in ("train", "validation", "test")),
                                    labels["train"], labels["validation"], labels["test"])
        return result

    starts = {"pretrained": [], "random": []}
    for seed in range(args.seeds):
        keras.utils.set_random_seed(seed)
        model = zoo.build("sentiment/lstm", **preprocessor.problem(), **size, pooling="max")
        starts["random"].append({"seed": seed, **measure(model)})
        print(f"random start, seed {seed}: {starts['random'][-1]}", file=sys.stderr)
    copy_pretrained(model, args.lm_run, preprocessor.tokenizer.vocabulary)  # the same model, weights replaced
    starts["pretrained"].append(measure(model))
    print(f"pretrained: {starts['pretrained'][-1]}", file=sys.stderr)
    summary = {start: {pooling: statistics.median(t[pooling]["accuracy"] for t in trials) for pooling in POOLINGS}
               for start, trials in starts.items()}
    write_json(args.out, {"lm_run": os.path.basename(os.path.normpath(args.lm_run)), "lm_data": lm.config["data"],
                          "lm_test": lm.metrics.get("test"), "data": args.data, "size": size,
                          "vocab_size": preprocessor.tokenizer.vocab_size, "seeds": args.seeds,
                          "train_examples": len(splits.train), "test_examples": len(splits.test),
                          "median_test_accuracy": summary, "word_vectors": word_geometry(lm), **starts})
    print("| start | " + " | ".join(f"{p} pooling" for p in POOLINGS) + " | outputs beyond +-0.9 |")
    print("|---|" + "---:|" * (len(POOLINGS) + 1))
    for start, trials in starts.items():
        share = statistics.median(t["saturated_share"] for t in trials)
        print(f"| {start} | " + " | ".join(f"{summary[start][p]:.3f}" for p in POOLINGS) + f" | {share:.1%} |")
    print(word_geometry(lm))


if __name__ == "__main__":
    main()
