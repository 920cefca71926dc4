"""A corpus the zoo generates itself for language models: ``builtin:grammar``, seeded, offline, instant.

``builtin:grammar[,n=N][,seed=S]`` (default 3,000 documents, seed 0): each document is 2 to 5
sentences of a small English-like grammar whose structure a recurrent model can learn and a
unigram model cannot:

- every sentence starts with ``the`` and ends with ``.``;
- the verb agrees in number with its subject (``the dog runs``, ``the dogs run``), also across
  a relative clause in between (``the dog that the cats see runs``): a dependency over up to
  5 words, which the state has to carry;
- a transitive verb is followed by an object noun phrase, an intransitive one by the end.

41 word types. A sentence's words fix every choice the generator made, so the grammar's own
perplexity (the best any model can expect) is exp(entropy of the choices / predicted tokens):
10.18 nats over 6.8 tokens a sentence, 3.5 sentences and 1.39 nats for their number a
document, 24.8 predicted tokens with the end: 4.45. A unigram model of the training split
has a test perplexity near 25, an add-k bigram model 6.2 (it cannot carry agreement across a
clause), the default recurrent entries about 4.6 (``experiments/lm_results.py``). Documents
are split 80/10/10 by a hash of their text.
"""

from __future__ import annotations

import random

from ..errors import DataError
from . import DataSpec, Splits, check_parts, split_by_key

NOUNS = {"sg": ("cat", "dog", "bird", "child", "teacher", "farmer", "horse", "king"),
         "pl": ("cats", "dogs", "birds", "children", "teachers", "farmers", "horses", "kings")}
INTRANSITIVE = {"sg": ("sleeps", "runs", "sings", "waits"), "pl": ("sleep", "run", "sing", "wait")}
TRANSITIVE = {"sg": ("sees", "likes", "chases", "follows"), "pl": ("see", "like", "chase", "follow")}
ADJECTIVES = ("big", "small", "happy", "old", "red", "quiet")
N_RANGE = (20, 1_000_000)
DEFAULT_N = 3000


def _noun_phrase(rng: random.Random, number: str, depth: int = 0) -> list[str]:
    words = ["the"]
    if rng.random() < 0.4:
        words.append(rng.choice(ADJECTIVES))
    words.append(rng.choice(NOUNS[number]))
    if depth == 0 and rng.random() < 0.3:  # "the dog that the cats see": the clause's verb agrees with its own subject
        inner = rng.choice(("sg", "pl"))
        words += ["that", "the", rng.choice(NOUNS[inner]), rng.choice(TRANSITIVE[inner])]
    return words


def sentence(rng: random.Random) -> str:
    """One sentence of the grammar (see the module docstring)."""
    number = rng.choice(("sg", "pl"))
    words = _noun_phrase(rng, number)
    if rng.random() < 0.5:
        words.append(rng.choice(INTRANSITIVE[number]))
    else:
        words += [rng.choice(TRANSITIVE[number]), *_noun_phrase(rng, rng.choice(("sg", "pl")), depth=1)]
    return " ".join([*words, "."])


def is_grammatical(sentence: str) -> bool:
    """Whether ``sentence`` (words separated by spaces, with or without the final ``.``) is one the grammar
    makes: agreement, clause and object structure all checked. Used to score generated text."""
    words = sentence.replace(" .", "").split()

    def noun_phrase(i: int, clause: bool) -> tuple[int, str] | None:
        if i >= len(words) or words[i] != "the":
            return None
        i += 1 + (i + 1 < len(words) and words[i + 1] in ADJECTIVES)
        number = next((n for n in ("sg", "pl") if i < len(words) and words[i] in NOUNS[n]), None)
        if number is None:
            return None
        i += 1
        if clause and i < len(words) and words[i] == "that":
            inner = next((n for n in ("sg", "pl") if i + 2 < len(words) and words[i + 2] in NOUNS[n]), None)
            if words[i + 1:i + 2] != ["the"] or inner is None or i + 3 >= len(words) \
                    or words[i + 3] not in TRANSITIVE[inner]:
                return None
            i += 4
        return i, number

    subject = noun_phrase(0, clause=True)
    if subject is None or subject[0] >= len(words):
        return False
    i, number = subject
    if words[i] in INTRANSITIVE[number]:
        return i + 1 == len(words)
    if words[i] not in TRANSITIVE[number]:
        return False
    obj = noun_phrase(i + 1, clause=False)
    return obj is not None and obj[0] == len(words)


def grammar_documents(n: int = DEFAULT_N, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(n)]


def _int_part(spec: DataSpec, name: str, default: int, low: int, high: int) -> int:
    value = spec.parts.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise DataError(f"data spec {spec.text!r}: {name} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def load_builtin_text(spec: DataSpec) -> Splits[str]:
    """Documents of ``builtin:grammar``."""
    check_parts(spec, ("n", "seed"))
    if spec.target != "grammar":
        raise DataError(f"data spec {spec.text!r}: unknown built-in corpus {spec.target!r}; language models "
                        "have builtin:grammar")
    n = _int_part(spec, "n", DEFAULT_N, *N_RANGE)
    seed = _int_part(spec, "seed", 0, 0, 2**31 - 1)
    train, validation, test = split_by_key(grammar_documents(n, seed), key=lambda doc: doc, where=spec.text)
    return Splits(train, validation, test, source=spec.text, info={"documents": n, "seed": seed})
