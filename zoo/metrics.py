"""Metrics computed in NumPy from predictions, the same on every backend.

Classification: accuracy, macro F1, cross-entropy. Generated text (translation, captioning): corpus
BLEU and chrF (sacrebleu) against one or several references per hypothesis, and exact match.
Segments (video labeling):

Segment metrics of temporal action segmentation, in NumPy, for frame-wise label sequences.

Frame accuracy rewards a prediction that is right on most frames even when it flickers, and
a flickering prediction is useless for telling *what happened when*. The action-segmentation
literature (Lea et al., "Temporal Convolutional Networks for Action Segmentation and
Detection", CVPR 2017; Farha & Gall, "MS-TCN", CVPR 2019) therefore also scores the
*segments*, the maximal runs of one label:

- **segments**: ``["a", "a", "b", "b", "b", "a"]`` -> ``[("a", 0, 2), ("b", 2, 5), ("a", 5, 6)]``
  (``(label, start, end)``, end exclusive).
- **edit score** (segmental edit distance): the Levenshtein distance between the *label
  sequences of the segments* (``a b a`` above), normalised by the longer of the two and
  turned into a score in 0-100: ``(1 - lev(P, Y) / max(|P|, |Y|)) * 100``. It ignores
  where boundaries fall and punishes over-segmentation: ``a a b a a`` predicted for
  ``a a a a a`` is right on 4 of 5 frames but has segments ``a b a`` against ``a``, so
  edit = ``(1 - 2/3) * 100 = 33.3``.
- **F1@k** (segmental F1 at IoU threshold ``k``): each predicted segment, in order, is
  compared with the true segments of the same label; the one with the highest
  intersection-over-union (IoU, in frames) is its match. If that IoU is at least ``k`` and
  the true segment has not been matched yet, the prediction is a true positive and the true
  segment is used up; otherwise it is a false positive. True segments never matched are
  false negatives. ``F1 = 2 TP / (2 TP + FP + FN) * 100``. F1@10 tolerates boundaries that
  are far off, F1@50 asks for at least half overlap.

Over a data set, MS-TCN sums TP, FP and FN over every sequence before computing F1, and
averages the edit score per sequence; :func:`segment_scores` does the same.

Two details, chosen on purpose:

- ``match="reference"`` (default) is the matching of the reference code of both papers
  (``overlap_f1`` in Lea's TCN code, ``f_score`` in MS-TCN's ``eval.py``): the best-IoU true
  segment is searched among *all* true segments of the label, and if it is already used the
  prediction is a false positive, even when another unused true segment would pass the
  threshold. ``match="unmatched"`` searches among the still-unmatched true segments only.
  The two can differ below IoU 0.5 only (above it, a predicted segment cannot pass the
  threshold with two disjoint true segments of one label).
- Segments end exactly where the run ends (``end`` exclusive). The MS-TCN code closes the
  *last* segment of a sequence one frame early (``ends.append(i)`` with ``i = T - 1``),
  which slightly lowers IoUs of final segments; this module does not copy that slip.

``background`` names labels left out of the segments (MS-TCN passes ``["background"]``),
for both the edit score and F1. Labels may be strings or integers: anything comparable
with ``==``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

# scikit-learn (it comes with keras-tuner[bayesian]) is imported on use: it takes about a second.

def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The share of predictions equal to the truth (NaN for none)."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan")


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes that occur in truth or prediction (NaN for none)."""
    from sklearn.metrics import f1_score

    labels = np.union1d(np.asarray(y_true), np.asarray(y_pred))
    if not len(labels):
        return float("nan")
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def cross_entropy(y_true: np.ndarray, probabilities: np.ndarray, eps: float = 1e-7) -> float:
    """Mean negative log-likelihood of the true classes, clipped at 1e-7 as Keras's loss is (written here:
    sklearn's log_loss clips at the float's machine epsilon and renormalises rows, so it reads another
    number than the training loss for a confident mistake)."""
    p = np.clip(probabilities[np.arange(len(y_true)), y_true], eps, 1.0)
    return float(-np.mean(np.log(p)))


def classification_report(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype="int64")
    y_pred = np.argmax(probabilities, axis=-1)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred),
        "loss": cross_entropy(y_true, probabilities),
        "examples": len(y_true),
    }


# ---------------------------------------------------------------------------
# Generated text (translation, captioning)
# ---------------------------------------------------------------------------

def normalize_text(text: str) -> str:
    """Text as the detokenizer writes it: whitespace runs collapsed, ends stripped."""
    return " ".join(text.split())


def _reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Per-hypothesis reference lists as sacrebleu's streams: stream ``k`` holds every hypothesis's
    ``k``-th reference (``None`` where a hypothesis has fewer)."""
    most = max((len(refs) for refs in references), default=1)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(most)]


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], max_ngram_order: int = 4
                ) -> float:
    """Corpus BLEU (sacrebleu's defaults, 0-100) of ``hypotheses`` against each one's list of references;
    0 for no hypotheses.

    Example::

        corpus_bleu(["a red circle"], [["a red circle", "there is a red circle"]])  # 100.0
    """
    from sacrebleu.metrics import BLEU

    if not hypotheses:
        return 0.0
    return float(BLEU(max_ngram_order=max_ngram_order).corpus_score(list(hypotheses),
                                                                     _reference_streams(references)).score)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus chrF (sacrebleu's defaults, 0-100) of ``hypotheses`` against each one's list of references;
    0 for no hypotheses."""
    from sacrebleu.metrics import CHRF

    if not hypotheses:
        return 0.0
    return float(CHRF().corpus_score(list(hypotheses), _reference_streams(references)).score)


def exact_match(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """The share (0-1) of hypotheses equal to one of their references; 0 for no hypotheses."""
    if not hypotheses:
        return 0.0
    return float(np.mean([h in refs for h, refs in zip(hypotheses, references, strict=True)]))


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu, 0-100) and exact match (0-1), one reference per hypothesis.

    Example::

        translation_scores(["2021-03-03"], ["2021-03-03"])  # {"bleu": 100.0, "chrf": 100.0, "exact_match": 1.0}
    """
    refs = [[r] for r in references]
    return {"bleu": corpus_bleu(hypotheses, refs),
            "chrf": corpus_chrf(hypotheses, refs), "exact_match": exact_match(hypotheses, refs)}


def caption_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-1..4 (sacrebleu, 0-100) against every reference of each image, and exact match:
    the share of captions equal (whitespace aside) to one of their references."""
    hypotheses = [normalize_text(h) for h in hypotheses]
    references = [[normalize_text(r) for r in refs] for refs in references]
    scores = {f"bleu{n}": corpus_bleu(hypotheses, references, max_ngram_order=n) for n in range(1, 5)}
    scores["exact_match"] = exact_match(hypotheses, references)
    return scores


# ---------------------------------------------------------------------------
# Segments of frame-wise label sequences (video labeling)
# ---------------------------------------------------------------------------
MATCHES = ("reference", "unmatched")


def _as_list(labels) -> list:
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1:
            raise ValueError(f"a label sequence must be one-dimensional, got shape {labels.shape}")
        return labels.tolist()
    if isinstance(labels, str):
        raise ValueError("a label sequence must be a list of labels, not one string")
    return list(labels)


def segments(labels: Sequence[Hashable], background: Iterable[Hashable] = ()) -> list[tuple[Hashable, int, int]]:
    """The maximal runs of equal labels as ``(label, start, end)``, ``end`` exclusive, in order.

    ``segments(["a", "a", "b"]) == [("a", 0, 2), ("b", 2, 3)]``; an empty sequence has none.
    Runs of a ``background`` label are left out (their frames still count as positions).
    """
    labels = _as_list(labels)
    skip = set(background)
    out: list[tuple[Hashable, int, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] not in skip:
                out.append((labels[start], start, i))
            start = i
    return out


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """The edit distance between two sequences: insertions, deletions and substitutions, each 1."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _check_pair(predicted, true) -> tuple[list, list]:
    predicted, true = _as_list(predicted), _as_list(true)
    if len(predicted) != len(true):
        raise ValueError(f"the prediction has {len(predicted)} frames but the truth has {len(true)}; "
                         "frame-wise labels must be aligned")
    return predicted, true


def edit_score(predicted: Sequence[Hashable], true: Sequence[Hashable], background: Iterable[Hashable] = ()
               ) -> float:
    """Segmental edit score in 0-100: ``(1 - lev(P, Y) / max(|P|, |Y|)) * 100`` where ``P`` and
    ``Y`` are the label sequences of the predicted and true segments (MS-TCN's ``edit_score``).

    Two sequences without segments (empty, or all background) score 100.
    """
    predicted, true = _check_pair(predicted, true)
    background = tuple(background)
    p = [label for label, _, _ in segments(predicted, background)]
    y = [label for label, _, _ in segments(true, background)]
    longest = max(len(p), len(y))
    if longest == 0:
        return 100.0
    return (1.0 - levenshtein(p, y) / longest) * 100.0


def segment_counts(predicted: Sequence[Hashable], true: Sequence[Hashable], overlap: float,
                   background: Iterable[Hashable] = (), match: str = "reference") -> tuple[int, int, int]:
    """``(TP, FP, FN)`` of the predicted segments at IoU threshold ``overlap`` (0-1); see the
    module docstring for the matching rule."""
    if not 0.0 <= overlap <= 1.0:
        raise ValueError(f"overlap is an IoU threshold from 0 to 1, got {overlap}")
    if match not in MATCHES:
        raise ValueError(f"match must be one of {', '.join(MATCHES)}, got {match!r}")
    predicted, true = _check_pair(predicted, true)
    background = tuple(background)
    pred_segments = segments(predicted, background)
    true_segments = segments(true, background)
    used = np.zeros(len(true_segments), dtype=bool)
    tp = fp = 0
    if true_segments:
        t_labels = [label for label, _, _ in true_segments]
        t_start = np.array([s for _, s, _ in true_segments])
        t_end = np.array([e for _, _, e in true_segments])
    for label, start, end in pred_segments:
        if not true_segments:
            fp += 1
            continue
        intersection = np.maximum(0, np.minimum(end, t_end) - np.maximum(start, t_start))
        union = np.maximum(end, t_end) - np.minimum(start, t_start)
        iou = intersection / union * np.array([label == t for t in t_labels], dtype=float)
        if match == "unmatched":
            iou = np.where(used, -1.0, iou)
        best = int(np.argmax(iou))
        if iou[best] >= overlap and iou[best] > 0 and not used[best]:
            tp += 1
            used[best] = True
        else:
            fp += 1
    fn = len(true_segments) - int(used.sum())
    return tp, fp, fn


def _f1(tp: int, fp: int, fn: int) -> float:
    if tp + fp + fn == 0:
        return 100.0  # no segment predicted, none to find
    return 2 * tp / (2 * tp + fp + fn) * 100.0


def f1_at_k(predicted: Sequence[Hashable], true: Sequence[Hashable], overlap: float,
            background: Iterable[Hashable] = (), match: str = "reference") -> float:
    """Segmental F1 in 0-100 of one sequence at IoU threshold ``overlap`` (0.1 for F1@10,
    0.5 for F1@50): ``2 TP / (2 TP + FP + FN) * 100``; 100 when neither has a segment."""
    return _f1(*segment_counts(predicted, true, overlap, background, match))


def _key(overlap: float) -> str:
    percent = overlap * 100
    return f"f1@{round(percent)}" if abs(percent - round(percent)) < 1e-9 else f"f1@{percent:g}"


def segment_scores(pairs: Iterable[tuple[Sequence[Hashable], Sequence[Hashable]]],
                   overlaps: Sequence[float] = (0.1, 0.25, 0.5), background: Iterable[Hashable] = (),
                   match: str = "reference") -> dict[str, float]:
    """Scores over many ``(predicted, true)`` sequences, as MS-TCN reports them:
    ``{"edit": mean edit score per sequence, "f1@10": ..., "f1@25": ..., "f1@50": ...}``,
    each F1 from TP, FP and FN summed over all sequences. All NaN for no sequences."""
    background = tuple(background)
    keys = [_key(k) for k in overlaps]
    totals = np.zeros((len(overlaps), 3), dtype=np.int64)
    edits = []
    for predicted, true in pairs:
        edits.append(edit_score(predicted, true, background))
        for row, overlap in enumerate(overlaps):
            totals[row] += segment_counts(predicted, true, overlap, background, match)
    if not edits:
        return {"edit": float("nan"), **dict.fromkeys(keys, float("nan"))}
    scores = {"edit": float(np.mean(edits))}
    for key, (tp, fp, fn) in zip(keys, totals.tolist(), strict=True):
        scores[key] = float(_f1(tp, fp, fn))
    return scores


def _is_nested(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim > 1 or (value.dtype == object and len(value) > 0
                                  and not isinstance(value[0], str | int | np.integer))
    return bool(value) and not isinstance(value[0], str) and isinstance(value[0], Sequence | np.ndarray)


def frame_scores(predicted, true, labels: Sequence[Hashable] | None = None) -> dict[str, float]:
    """Frame-wise scores: ``{"frame_accuracy": 0-1, "frame_macro_f1": 0-1, "frames": count}``.

    ``predicted`` and ``true`` are one label sequence each, or lists of sequences (one per
    clip, concatenated here); they must align frame for frame. Macro F1 is
    :func:`zoo.metrics.macro_f1`: the unweighted mean of per-class F1 over the classes that
    occur in truth or prediction. With ``labels``, every frame label must be one of them
    (a ValueError names the first that is not). NaN scores for no frames.
    """
    predicted = predicted if isinstance(predicted, np.ndarray) else list(predicted)
    true = true if isinstance(true, np.ndarray) else list(true)
    if _is_nested(predicted) or _is_nested(true):
        pairs = list(zip(predicted, true, strict=True))
        flat_pred, flat_true = [], []
        for p, t in pairs:
            p, t = _check_pair(p, t)
            flat_pred += p
            flat_true += t
    else:
        flat_pred, flat_true = _check_pair(predicted, true)
    if labels is not None:
        known = set(labels)
        for name, values in (("prediction", flat_pred), ("truth", flat_true)):
            unknown = next((v for v in values if v not in known), None)
            if unknown is not None:
                raise ValueError(f"the {name} holds label {unknown!r}, not one of {list(labels)}")
    if not flat_true:
        return {"frame_accuracy": float("nan"), "frame_macro_f1": float("nan"), "frames": 0}
    y_pred, y_true = np.asarray(flat_pred), np.asarray(flat_true)
    return {"frame_accuracy": float(np.mean(y_pred == y_true)), "frame_macro_f1": macro_f1(y_true, y_pred),
            "frames": len(flat_true)}
