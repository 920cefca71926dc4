"""Segment metrics (zoo.metrics) against examples worked out by hand; the arithmetic is in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.metrics import (
    edit_score,
    f1_at_k,
    frame_scores,
    levenshtein,
    segment_counts,
    segment_scores,
    segments,
)

# true:  a a a b b c c c  -> a[0,3) b[3,5) c[5,8)
THREE = list("aaabbccc")
# true:  a x10 -> a[0,10); predicted: a a a a b a a a a a -> a[0,4) b[4,5) a[5,10)
FLAT = ["a"] * 10
OVER = list("aaaabaaaaa")
# true:  a x5 b x5 -> a[0,5) b[5,10); predicted: a x8 b x2 -> a[0,8) b[8,10)
HALVES = list("aaaaabbbbb")
SHIFTED = list("aaaaaaaabb")


def test_segments_are_runs_with_exclusive_ends():
    assert segments(THREE) == [("a", 0, 3), ("b", 3, 5), ("c", 5, 8)]
    assert segments(OVER) == [("a", 0, 4), ("b", 4, 5), ("a", 5, 10)]  # a label may come back
    assert segments([]) == []
    assert segments(["x"]) == [("x", 0, 1)]
    assert segments(np.array([2, 2, 0, 0, 0])) == [(2, 0, 2), (0, 2, 5)]
    # background runs are left out, positions are kept
    assert segments(["bg", "a", "a", "bg"], background=["bg"]) == [("a", 1, 3)]


def test_levenshtein():
    assert levenshtein("kitten", "sitting") == 3  # k->s, e->i, +g
    assert levenshtein([], ["a", "b"]) == 2
    assert levenshtein(["a", "b", "a"], ["a"]) == 2
    assert levenshtein(["b", "a"], ["a", "b"]) == 2


def test_identical_sequences_score_100_everywhere():
    assert edit_score(THREE, THREE) == 100.0
    for k in (0.1, 0.25, 0.5, 0.9, 1.0):
        assert f1_at_k(THREE, THREE, k) == 100.0  # 3 TP, 0 FP, 0 FN: IoU 1 each
    assert segment_scores([(THREE, THREE)]) == {"edit": 100.0, "f1@10": 100.0, "f1@25": 100.0, "f1@50": 100.0}
    assert frame_scores(THREE, THREE) == {"frame_accuracy": 1.0, "frame_macro_f1": 1.0, "frames": 8}


def test_over_segmentation_lowers_edit_while_frame_accuracy_stays_high():
    # Frames: 9 of 10 right -> accuracy 0.9.
    scores = frame_scores(OVER, FLAT)
    assert scores["frame_accuracy"] == pytest.approx(0.9)
    # Macro F1: class a: TP 9, FP 0, FN 1 -> 2*9/(18+0+1) = 18/19; class b: TP 0 -> 0. Mean = 9/19.
    assert scores["frame_macro_f1"] == pytest.approx(9 / 19)
    # Edit: segment labels P = a b a, Y = a; Levenshtein 2 (drop b, drop a); max(3, 1) = 3
    # -> (1 - 2/3) * 100 = 33.33.
    assert edit_score(OVER, FLAT) == pytest.approx(100 / 3)
    # F1@10: a[0,4) vs a[0,10): IoU 4/10 = 0.4 >= 0.1 -> TP (true segment used); b[4,5): no true b -> FP;
    # a[5,10): best IoU 5/10 with the same, already used true segment -> FP. TP 1, FP 2, FN 0 -> 2/(2+2+0) = 50.
    assert segment_counts(OVER, FLAT, 0.1) == (1, 2, 0)
    assert f1_at_k(OVER, FLAT, 0.1) == pytest.approx(50.0)
    # F1@50: a[0,4) IoU 0.4 < 0.5 -> FP; b -> FP; a[5,10) IoU 0.5 >= 0.5, unused -> TP. Again 1/2/0 -> 50.
    assert segment_counts(OVER, FLAT, 0.5) == (1, 2, 0)
    assert f1_at_k(OVER, FLAT, 0.5) == pytest.approx(50.0)


def test_shifted_boundaries_separate_f1_at_50_from_f1_at_10():
    # Frames 0-4 right, 5-7 wrong (a for b), 8-9 right -> 7/10.
    assert frame_scores(SHIFTED, HALVES)["frame_accuracy"] == pytest.approx(0.7)
    # Same segment labels (a b) -> edit 100: the edit score ignores where boundaries fall.
    assert edit_score(SHIFTED, HALVES) == 100.0
    # a[0,8) vs a[0,5): intersection 5, union 8 -> 0.625; b[8,10) vs b[5,10): 2 / 5 = 0.4.
    # F1@10 and F1@25: both TP -> 100. F1@50: a TP, b FP (0.4 < 0.5), true b unmatched -> FN:
    # TP 1, FP 1, FN 1 -> 2/(2+1+1) = 50.
    assert f1_at_k(SHIFTED, HALVES, 0.1) == 100.0
    assert f1_at_k(SHIFTED, HALVES, 0.25) == 100.0
    assert segment_counts(SHIFTED, HALVES, 0.5) == (1, 1, 1)
    assert f1_at_k(SHIFTED, HALVES, 0.5) == pytest.approx(50.0)
    # IoU exactly at the threshold counts: 0.625 passes 0.625, fails 0.63.
    assert segment_counts(SHIFTED, HALVES, 0.625)[0] == 1
    assert segment_counts(SHIFTED, HALVES, 0.63)[0] == 0


def test_empty_and_one_segment_edge_cases():
    assert edit_score([], []) == 100.0  # nothing to find, nothing found
    assert f1_at_k([], [], 0.5) == 100.0
    assert segment_counts([], [], 0.5) == (0, 0, 0)
    one = ["x"] * 4
    assert edit_score(one, one) == 100.0
    assert f1_at_k(one, one, 0.5) == 100.0
    # One segment of the wrong label: lev([y], [x]) = 1, max 1 -> 0; TP 0, FP 1, FN 1 -> F1 0.
    assert edit_score(["y"] * 4, one) == 0.0
    assert segment_counts(["y"] * 4, one, 0.1) == (0, 1, 1)
    assert f1_at_k(["y"] * 4, one, 0.1) == 0.0
    assert frame_scores(["y"] * 4, one)["frame_accuracy"] == 0.0
    # A single frame: one segment each.
    assert edit_score(["x"], ["x"]) == 100.0 and f1_at_k(["x"], ["x"], 0.5) == 100.0
    # Everything background on both sides: no segments -> 100; only the truth all background: every
    # predicted segment is a false positive.
    assert edit_score(["bg"] * 3, ["bg"] * 3, background=["bg"]) == 100.0
    assert segment_counts(["a"] * 3, ["bg"] * 3, 0.5, background=["bg"]) == (0, 1, 0)
    assert edit_score(["a"] * 3, ["bg"] * 3, background=["bg"]) == 0.0
    scores = segment_scores([])
    assert set(scores) == {"edit", "f1@10", "f1@25", "f1@50"} and all(math.isnan(v) for v in scores.values())
    assert math.isnan(frame_scores([], [])["frame_accuracy"])


def test_label_mismatch_and_misaligned_lengths():
    # Same boundaries, labels swapped: a a b b vs b b a a. Segment labels (b a) vs (a b): two
    # substitutions, lev 2, max 2 -> edit 0. No predicted segment has a true segment of its label
    # overlapping it: TP 0, FP 2, FN 2 -> F1 0 at any threshold.
    swapped, true = list("bbaa"), list("aabb")
    assert edit_score(swapped, true) == 0.0
    assert segment_counts(swapped, true, 0.1) == (0, 2, 2)
    assert f1_at_k(swapped, true, 0.1) == 0.0
    # A label the truth never has: b in a b a b vs a a a a -> lev([a b a b], [a]) = 3, max 4 -> 25.
    assert edit_score(list("abab"), list("aaaa")) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="4 frames but the truth has 3"):
        edit_score(list("aabb"), list("aab"))
    with pytest.raises(ValueError, match="aligned"):
        f1_at_k(list("ab"), list("a"), 0.5)
    with pytest.raises(ValueError, match="not one string"):
        segments("aab")
    with pytest.raises(ValueError, match="IoU threshold"):
        f1_at_k(THREE, THREE, 50)
    with pytest.raises(ValueError, match="label 'z'"):
        frame_scores(list("az"), list("aa"), labels=["a", "b"])


def test_segment_scores_sum_counts_over_sequences_and_average_edit():
    # Edit: mean of 100 (THREE) and 33.33 (OVER) = 66.67.
    # F1@50: TP 3 + 1 = 4, FP 0 + 2 = 2, FN 0 + 0 = 0 -> 8 / (8 + 2) = 80; the mean of the per-sequence
    # F1s would be (100 + 50) / 2 = 75 instead.
    scores = segment_scores([(THREE, THREE), (OVER, FLAT)])
    assert scores["edit"] == pytest.approx((100 + 100 / 3) / 2)
    assert scores["f1@50"] == pytest.approx(80.0)
    # F1@10: TP 3 + 1, FP 0 + 2, FN 0 -> 80 as well; F1@25 the same (0.4 >= 0.25).
    assert scores["f1@10"] == pytest.approx(80.0) and scores["f1@25"] == pytest.approx(80.0)
    # Shifted: F1@50 sums (3 + 1) TP, (0 + 1) FP, (0 + 1) FN -> 8 / 10 = 80; F1@10: 5 TP -> 100;
    # F1@75: a's 0.625 fails too -> TP 3, FP 2, FN 2 -> 6 / 10 = 60.
    scores = segment_scores([(THREE, THREE), (SHIFTED, HALVES)], overlaps=(0.1, 0.5, 0.75))
    assert scores == pytest.approx({"edit": 100.0, "f1@10": 100.0, "f1@50": 80.0, "f1@75": 60.0})
    # Integer labels as NumPy arrays, the way the video-labeling task passes them.
    ints = [(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])), (np.array([2, 2, 2, 2]), np.array([2, 2, 1, 1]))]
    # Sequence 2: predicted 2[0,4) vs true 2[0,2) (IoU 0.5) and 1[2,4): F1@50 TP 1, FN 1. Totals TP 3, FN 1
    # -> 6/7. Edit: (100 + (1 - 1/2) * 100) / 2 = 75.
    assert segment_scores(ints) == pytest.approx({"edit": 75.0, "f1@10": 600 / 7, "f1@25": 600 / 7,
                                                  "f1@50": 600 / 7})


def test_reference_matching_and_unmatched_matching_differ_below_half_overlap():
    # true: a a a a b b a a a a        -> A1 = a[0,4), B = b[4,6), A2 = a[6,10)
    # pred: a c a a a a a b b b        -> a[0,1), c[1,2), a[2,7), b[7,10)
    true, pred = list("aaaabbaaaa"), list("acaaaaabbb")
    # a[0,1): IoU with A1 1/4 = 0.25 -> TP, A1 used. c[1,2): no true c -> FP.
    # a[2,7): IoU with A1 = 2/7 = 0.286, with A2 = 1/8 = 0.125. Reference (MS-TCN): best is A1, used -> FP.
    # b[7,10) vs B[4,6): no overlap -> FP. TP 1, FP 3, FN 2 -> 2/(2+3+2) = 2/7.
    assert segment_counts(pred, true, 0.1) == (1, 3, 2)
    assert f1_at_k(pred, true, 0.1) == pytest.approx(200 / 7)
    # Unmatched: a[2,7) takes A2 (0.125 >= 0.1) -> TP 2, FP 2, FN 1 -> 4/7.
    assert segment_counts(pred, true, 0.1, match="unmatched") == (2, 2, 1)
    assert f1_at_k(pred, true, 0.1, match="unmatched") == pytest.approx(400 / 7)
    # At 0.5 they agree (a[0,1) 0.25 fails, a[2,7) 0.286 fails): TP 0.
    assert segment_counts(pred, true, 0.5) == segment_counts(pred, true, 0.5, match="unmatched") == (0, 4, 3)
    with pytest.raises(ValueError, match="match must be"):
        f1_at_k(pred, true, 0.1, match="greedy")


def test_background_labels_are_left_out_of_segments():
    true = ["bg", "a", "a", "bg", "b", "b"]
    pred = ["a", "a", "a", "bg", "b", "b"]
    # With bg left out: a b vs a b -> edit 100; a[0,3) vs a[1,3): IoU 2/3 -> TP; b exact -> TP: 100.
    assert edit_score(pred, true, background=["bg"]) == 100.0
    assert f1_at_k(pred, true, 0.5, background=["bg"]) == 100.0
    # Counted as a label: (a bg b) vs (bg a bg b): lev 1 (insert the leading bg), max 4 -> 75.
    assert edit_score(pred, true) == pytest.approx(75.0)


def test_frame_scores_takes_one_sequence_or_many():
    many = frame_scores([OVER, SHIFTED], [FLAT, HALVES])
    flat = frame_scores(OVER + SHIFTED, FLAT + HALVES)
    assert many == flat
    # 9 + 7 of 20 frames right.
    assert many["frame_accuracy"] == pytest.approx(16 / 20) and many["frames"] == 20
    arrays = frame_scores([np.array([0, 1]), np.array([1])], [np.array([0, 0]), np.array([1])])
    assert arrays["frame_accuracy"] == pytest.approx(2 / 3)
    assert frame_scores(np.array([0, 1, 1]), np.array([0, 1, 0]), labels=[0, 1])["frames"] == 3
