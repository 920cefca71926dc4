#!/usr/bin/env python3
"""Per-step linear and tree baselines for a ``steps:`` data spec (issue 20), on the zoo's own splits.

    python experiments/fetch_real_video.py --out-dir data/mocap6
    python experiments/per_step_baselines.py \\
        --data steps:train=data/mocap6/train.csv,validation=data/mocap6/validation.csv,test=data/mocap6/test.csv \\
        --out experiments/results/per_step_baselines_mocap6.json

Each step is classified from its own features, or from a window of its neighbours (steps t-k..t+k of
the same clip, the clip's first and last step repeated at its edges, so no window crosses clips), by
scikit-learn models fitted on the training split with features standardised by the training
statistics:

- linear discriminant analysis (LDA, shrinkage chosen by Ledoit-Wolf) and logistic regression
  (``C`` chosen on validation from 0.01 to 100);
- histogram gradient boosting (``max_iter`` 100, learning rate 0.1 or 0.3 chosen on validation);
- the window half-width ``k`` chosen on validation from ``--windows`` (default 0, 2, 5, 10; 0 is the
  single step); a centred window (t-k..t+k, what a bidirectional labeler sees) and a past window of the
  same width (t-2k..t, what an online labeler such as ``video_labeling/lstm`` sees).

Every choice is made on the validation split; the test split is scored once per model. Frame accuracy
and macro F1 over the test steps, as the zoo reports them (``zoo.metrics``), and the majority class.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def windows(clips: list[np.ndarray], k: int, past: bool = False) -> np.ndarray:
    """``[steps, (2k+1) * features]``: each step with its k neighbours on each side (``past``: its 2k
    predecessors, what an online labeler sees), edge-padded per clip."""
    before, after = (2 * k, 0) if past else (k, k)
    out = []
    for x in clips:
        padded = np.concatenate([np.repeat(x[:1], before, 0), x, np.repeat(x[-1:], after, 0)])
        out.append(np.concatenate([padded[i:i + len(x)] for i in range(before + after + 1)], axis=1))
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a steps: data spec (feature vectors per step)")
    parser.add_argument("--windows", type=int, nargs="+", default=[0, 2, 5, 10])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    import zoo
    from zoo.folders import write_json

    splits = zoo.get("video_labeling/lstm").task.load_data(args.data)
    parts = {name: getattr(splits, name) for name in ("train", "validation", "test")}
    if any(np.asarray(frames).ndim != 2 for frames, _ in splits.train):
        parser.error("--data must hold feature vectors per step (a steps: spec), not images")
    labels = sorted({label for _, steps in splits.train for label in steps})
    index = {label: i for i, label in enumerate(labels)}
    clips = {name: [np.asarray(frames, np.float64) for frames, _ in examples] for name, examples in parts.items()}
    y = {name: np.array([index.get(label, -1) for _, steps in examples for label in steps])
         for name, examples in parts.items()}
    scaler = StandardScaler().fit(np.concatenate(clips["train"]))
    scaled = {name: [scaler.transform(x) for x in xs] for name, xs in clips.items()}

    def score(model, k: int, part: str, past: bool) -> dict:
        predicted = model.predict(windows(scaled[part], k, past))
        return {"frame_accuracy": float(accuracy_score(y[part], predicted)),
                "macro_f1": float(f1_score(y[part], predicted, average="macro", labels=range(len(labels)),
                                           zero_division=0))}

    makers = {
        "LDA": [({"shrinkage": "auto"}, lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))],
        "logistic regression": [({"C": c}, lambda c=c: LogisticRegression(C=c, max_iter=2000))
                                for c in (0.01, 0.1, 1.0, 10.0, 100.0)],
        "gradient boosting": [({"learning_rate": lr}, lambda lr=lr: HistGradientBoostingClassifier(
            max_iter=100, learning_rate=lr, random_state=0)) for lr in (0.1, 0.3)],
    }
    results = []
    for family, grid in makers.items():
        wide = [k for k in args.windows if k > 0]
        for scope, ks, past in (("one step", [0], False), ("window", wide, False), ("past window", wide, True)):
            best = None
            for k in ks:
                for params, make in grid:
                    start = time.perf_counter()
                    model = make().fit(windows(scaled["train"], k, past), y["train"])
                    seconds = time.perf_counter() - start
                    validation = score(model, k, "validation", past)
                    print(f"{family}, k={k}, {params}: validation {validation['frame_accuracy']:.3f}",
                          file=sys.stderr, flush=True)
                    if best is None or validation["frame_accuracy"] > best[0]["frame_accuracy"]:
                        best = (validation, k, params, model, seconds)
            validation, k, params, model, seconds = best
            test = score(model, k, "test", past)
            results.append({"model": family, "scope": scope, "window_half_width": k, "params": params,
                            "validation": validation, "test": test, "fit_seconds": seconds})
            print(f"{family} ({scope}, k={k}, {params}): test frame accuracy {test['frame_accuracy']:.3f}, "
                  f"macro F1 {test['macro_f1']:.3f}", flush=True)
    majority = int(np.bincount(y["train"]).argmax())
    record = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]), "data": args.data,
              "labels": labels, "steps": {name: len(v) for name, v in y.items()},
              "majority_class": {"label": labels[majority],
                                 "test_frame_accuracy": float((y["test"] == majority).mean())},
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "results": results}
    write_json(args.out, record)
    print("| baseline | window | test frame accuracy | macro F1 |")
    print("|---|---|---:|---:|")
    for r in results:
        print(f"| {r['model']} ({r['scope']}) | {2 * r['window_half_width'] + 1} steps | "
              f"{r['test']['frame_accuracy']:.3f} | {r['test']['macro_f1']:.3f} |")


if __name__ == "__main__":
    main()
