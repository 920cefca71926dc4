#!/usr/bin/env python3
"""Language-model entries against an interpolated Kneser-Ney trigram on the same split and the same tokens.

The baseline counts the zoo's own token ids (the entry's fitted tokenizer: same vocabulary, ``[UNK]`` for
words outside it, every document as ``[START] ids [END]``), so both perplexities are over exactly the same
test targets: every token after ``[START]``, ``[END]`` included. Interpolated Kneser-Ney (Chen & Goodman
1998, the interpolated form with one absolute discount per order), trigram, discount 0.75, the unigram
level interpolated with a uniform distribution over the vocabulary so that no test token has probability 0.
Written here because no installed library has one (NLTK's ``KneserNeyInterpolated`` is not a dependency
and scores one token at a time in pure Python, hours on a real test split).

Each entry is trained with its defaults (``zoo train NAME --data SPEC``) for ``--seeds`` seeds::

    python experiments/lm_vs_ngram.py --data text:data/quran_en.txt \\
        --out experiments/results/lm_quran_en.json
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class KneserNeyTrigram:
    """Interpolated Kneser-Ney over integer ids: ``fit(documents)``, then ``log_prob(u, v, w)`` of w after (u, v).

    ``documents`` are id sequences that start with the start id; histories before the first token are the
    start id repeated (the first real token is predicted from ``(start, start)``)."""

    def __init__(self, vocab_size: int, discount: float = 0.75):
        self.vocab_size, self.d = vocab_size, discount

    def fit(self, documents) -> KneserNeyTrigram:
        tri, bi_context = collections.Counter(), collections.Counter()
        for doc in documents:
            ids = [int(doc[0]), *map(int, doc)]
            for u, v, w in zip(ids, ids[1:], ids[2:], strict=False):
                tri[u, v, w] += 1
        self.tri = tri
        self.tri_context = collections.Counter()       # c(u, v, .)
        self.tri_types = collections.Counter()         # N1+(u, v, .)
        continuation_bi = collections.Counter()        # N1+(., v, w)
        for (u, v, w), c in tri.items():
            self.tri_context[u, v] += c
            self.tri_types[u, v] += 1
            continuation_bi[v, w] += 1
        self.bi = continuation_bi                      # lower orders use continuation counts
        for (v, _w), c in continuation_bi.items():
            bi_context[v] += c
        self.bi_context = bi_context                   # N1+(., v, .)
        self.bi_types = collections.Counter(v for v, _ in continuation_bi)  # N1+(v, .) over continuation
        continuation_uni = collections.Counter(w for _, w in continuation_bi)  # N1+(., w)
        self.uni = continuation_uni
        self.uni_total = sum(continuation_uni.values())
        self.uni_types = len(continuation_uni)
        return self

    def prob(self, u: int, v: int, w: int) -> float:
        d = self.d
        uniform = 1.0 / self.vocab_size
        p = max(self.uni.get(w, 0) - d, 0) / self.uni_total + d * self.uni_types / self.uni_total * uniform
        context = self.bi_context.get(v, 0)
        if context:
            p = max(self.bi.get((v, w), 0) - d, 0) / context + d * self.bi_types[v] / context * p
        context = self.tri_context.get((u, v), 0)
        if context:
            p = max(self.tri.get((u, v, w), 0) - d, 0) / context + d * self.tri_types[u, v] / context * p
        return p

    def perplexity(self, documents) -> tuple[float, int]:
        nll, n = 0.0, 0
        for doc in documents:
            ids = [int(doc[0]), *map(int, doc)]
            for u, v, w in zip(ids, ids[1:], ids[2:], strict=False):
                nll -= math.log(self.prob(u, v, w))
                n += 1
        return math.exp(nll / n), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a language-model data spec, e.g. text:FILE")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every language_model entry")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="cap (default: the task's, early stopping)")
    parser.add_argument("--discount", type=float, default=0.75)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a hyperparameter of the entries, as 'zoo train --set' (default: none)")
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from harness import machine, write_result

    import zoo
    from zoo.hparams import parse_assignments
    from zoo.training import resolve_preprocessing

    overrides = parse_assignments(args.set)

    entries = args.entries or zoo.list_models(task="language_model")
    spec = zoo.get(entries[0])
    splits = spec.task.load_data(args.data)
    preprocessor = spec.task.fit_preprocessor(splits, resolve_preprocessing(spec, {}))
    vocab = preprocessor.tokenizer.vocab_size
    train_docs = preprocessor.documents(splits.train)
    baseline = {}
    for split in ("validation", "test"):
        model = KneserNeyTrigram(vocab, args.discount).fit(train_docs)
        ppl, tokens = model.perplexity(preprocessor.documents(getattr(splits, split)))
        baseline[split] = {"perplexity": ppl, "tokens": tokens}
    unk = sum(int((d == preprocessor.tokenizer.oov_id).sum()) for d in preprocessor.documents(splits.test))
    print(f"Kneser-Ney trigram: validation {baseline['validation']['perplexity']:.2f}, "
          f"test {baseline['test']['perplexity']:.2f} ({baseline['test']['tokens']} tokens, {unk} [UNK])",
          file=sys.stderr)
    result = {"command": "python " + " ".join([os.path.relpath(__file__), *sys.argv[1:]]), "data": args.data,
              "overrides": overrides,
              "documents": {s: len(getattr(splits, s)) for s in ("train", "validation", "test")},
              "vocab_size": vocab, "test_unk_tokens": unk,
              "kneser_ney_trigram": {"discount": args.discount, **baseline}, "results": [], "machine": machine()}
    if not args.baseline_only:
        for name in entries:
            trials = []
            for seed in range(args.seeds):
                run = zoo.train(name, args.data, seed=seed, epochs=args.epochs, overrides=overrides, verbose=0)
                test = run.metrics["test"]
                trials.append({"seed": seed, "test_perplexity": test["perplexity"], "test_tokens": test["tokens"],
                               "best_epoch": run.metrics.get("best_epoch"), "epochs": run.metrics["epochs_trained"],
                               "seconds": run.metrics["train_seconds"],
                               "seconds_per_epoch": run.metrics["train_seconds"]
                               / max(1, run.metrics["epochs_trained"]),
                               "history": {k: v for k, v in run.history.items() if isinstance(v, list)}})
                print(f"{name} seed {seed}: test perplexity {test['perplexity']:.2f} ({test['tokens']} tokens), "
                      f"{trials[-1]['seconds']:.0f} s", file=sys.stderr)
            values = [t["test_perplexity"] for t in trials]
            result["results"].append({"entry": name, "trials": trials, "range": [min(values), max(values)],
                                      "median_test_perplexity": statistics.median(values)})
        result["machine"] = machine()
    write_result(args.out, result)


if __name__ == "__main__":
    main()
