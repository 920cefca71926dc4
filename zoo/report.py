"""Turning numbers into what users read: plain-text tables and labelled predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def text_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Left-aligned columns under a header and a rule, for the terminal."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in [list(header), *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [list(header), *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def label_predictions(inputs: Sequence[Any], probabilities, label_names: Sequence[str]) -> list[dict[str, Any]]:
    """``{"input", "output", "text", "label", "probability", "probabilities"}`` per input, from class
    probabilities (``output`` is the label; ``text`` and ``label`` repeat them for text classifiers)."""
    results = []
    for text, probs in zip(inputs, np.asarray(probabilities), strict=True):
        best = int(np.argmax(probs))
        results.append({"input": text, "output": label_names[best], "text": text, "label": label_names[best],
                        "probability": float(probs[best]),
                        "probabilities": dict(zip(label_names, map(float, probs), strict=True))})
    return results


def predictions_table(task, results: list[dict]) -> str:
    """The table the command line prints for a task's predictions (:meth:`zoo.base.Task.prediction_table`)."""
    header, rows = task.prediction_table(results)
    return text_table(rows, header)
