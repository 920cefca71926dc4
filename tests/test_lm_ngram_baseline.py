"""The Kneser-Ney trigram baseline of experiments/lm_vs_ngram.py: a distribution, and better than unigrams."""

from __future__ import annotations

import math
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "experiments"))

from lm_vs_ngram import KneserNeyTrigram

DOCS = [[2, 5, 6, 7, 3], [2, 5, 6, 8, 3], [2, 9, 5, 6, 3], [2, 5, 6, 7, 3]]


@pytest.mark.parametrize("context", [(2, 2), (2, 5), (5, 6), (9, 9), (6, 3), (4, 4)])
def test_probabilities_sum_to_one_in_every_context(context):
    model = KneserNeyTrigram(10).fit(DOCS)
    assert math.isclose(sum(model.prob(*context, w) for w in range(10)), 1.0, rel_tol=1e-9)
    assert all(model.prob(*context, w) > 0 for w in range(10))  # unseen tokens keep some mass


def test_context_helps_on_repeated_text():
    model = KneserNeyTrigram(10).fit(DOCS)
    assert model.prob(5, 6, 7) > model.prob(9, 9, 7)  # seen after (5, 6), never after an unseen context
    perplexity, tokens = model.perplexity(DOCS)
    assert tokens == sum(len(d) - 1 for d in DOCS)
    assert perplexity < 3.0, perplexity  # far below the uniform 10 on its own training text
