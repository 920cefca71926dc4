"""Data sets the zoo generates itself: seeded, offline, instant.

``builtin:negation`` is a sentiment set whose labels depend on word order and
negation. Most sentences come in mirrored pairs with the same words and
opposite labels ("the plot was good , not bad" / "the plot was bad , not
good"; "i expected it to be bad and it was not" / "i expected it not to be
bad and it was"), so a model that ignores order (bag of embeddings) cannot beat
chance on them, while a recurrent model that reads in order can learn them all.
"""

from __future__ import annotations

import random

from ..errors import DataError
from . import DataSpec, Splits, int_options, split_by_key

POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "enjoyable",
            "superb", "delightful", "charming", "moving", "fun", "clever")
NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "poor",
            "horrible", "weak", "clumsy", "tedious", "bland", "painful")
SUBJECTS = ("the movie", "the film", "the plot", "the acting", "the story", "the ending",
            "the soundtrack", "the cast", "the script", "this show", "the dialogue", "the pacing")
OPENINGS = ("", "honestly ,", "overall ,", "to be fair ,", "in the end ,", "i think")
LABELS = ("negative", "positive")
# Neutral clauses appended by ``distance=K``: they push the decisive words K tokens away
# from the end, where a many-to-one model reads its answer (a long-span test for gates).
FILLERS = ("we saw it on a tuesday", "the popcorn was salty", "the seats were red", "my friend came along",
           "the theater was half full", "it started at nine", "we took the bus home", "the trailer ran long",
           "there was a short break", "the room was cold", "we sat near the back", "it rained outside")


def _negation_example(rng: random.Random) -> tuple[str, str]:
    subject = rng.choice(SUBJECTS)
    opening = rng.choice(OPENINGS)
    # Mostly opposite polarities: only then does the order decide the label.
    a_pos = rng.random() < 0.5
    b_pos = (not a_pos) if rng.random() < 0.85 else a_pos
    a = rng.choice(POSITIVE if a_pos else NEGATIVE)
    b = rng.choice(POSITIVE if b_pos else NEGATIVE)
    template = rng.choices(range(8), weights=(3, 3, 3, 3, 4, 2, 1, 1))[0]
    if template == 0:
        text, positive = f"{subject} was {a} , not {b}", a_pos
    elif template == 1:
        text, positive = f"{subject} was not {a} , it was {b}", b_pos
    elif template == 2:
        text, positive = f"{subject} was not {a} but {b}", b_pos
    elif template == 3:
        text, positive = f"i thought {subject} would be {a} , but it was {b}", b_pos
    elif template == 4:
        # The two mirror each other: same words, opposite meaning.
        if rng.random() < 0.5:
            text, positive = f"i expected {subject} to be {a} and it was not", not a_pos
        else:
            text, positive = f"i expected {subject} not to be {a} and it was", a_pos
    elif template == 5:
        text, positive = f"{subject} was {a} and not {b} at all", a_pos
    elif template == 6:
        text, positive = f"{subject} was not {a}", not a_pos
    else:
        text, positive = f"{subject} was {a}", a_pos
    if opening:
        text = f"{opening} {text}"
    return text, LABELS[int(positive)]


GENERATORS = {"negation": _negation_example}


def _pad_with_fillers(text: str, distance: int, rng: random.Random) -> str:
    added = 0
    while added < distance:
        clause = rng.choice(FILLERS)
        text += f" , and {clause}"
        added += len(clause.split()) + 2
    return text


def load_builtin(spec: DataSpec) -> Splits[tuple[str, str]]:
    """Generate ``builtin:NAME[,n=N][,seed=S][,distance=K]`` (default 12,000 examples, seed 0,
    distance 0: no neutral clauses after the decisive words)."""
    name = spec.target
    if name not in GENERATORS:
        raise DataError(f"data spec {spec.text!r}: unknown built-in set {name!r}; "
                        f"available: {', '.join('builtin:' + g for g in GENERATORS)}")
    options = int_options(spec, {"n": 12000, "seed": 0, "distance": 0}, {"distance": (0, 1000)})
    if options["n"] < 30:
        raise DataError(f"data spec {spec.text!r}: n must be at least 30, got {options['n']}")
    rng = random.Random(options["seed"])
    examples: dict[str, str] = {}
    attempts = 0
    while len(examples) < options["n"] and attempts < options["n"] * 50:
        text, label = GENERATORS[name](rng)
        if options["distance"]:
            text = _pad_with_fillers(text, options["distance"], rng)
        examples.setdefault(text, label)  # unique texts, so no test text is seen in training
        attempts += 1
    train, validation, test = split_by_key(list(examples.items()), key=lambda ex: ex[0],
                                           where=spec.text)
    return Splits(train, validation, test, source=spec.text, info={"label_names": list(LABELS)})
