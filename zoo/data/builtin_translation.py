"""Translation pairs the zoo generates itself: ``builtin:dates``, seeded, offline, instant.

``builtin:dates[,n=N][,seed=S]`` (default 12,000 unique sources, seed 0) writes a date
the way people do and pairs it with its ISO form ``YYYY-MM-DD``. Dates are drawn
uniformly from 1950-01-01 to 2049-12-31 (every valid day, leap days included).
The source formats (``DATE_FORMATS``), each with an example as written (casing then varies):

- ``month_day_year``: ``March 3, 2021`` (4 tokens)
- ``day_month_year``: ``3 March 2021`` (3)
- ``ordinal_of``: ``3rd of March 2021`` (4)
- ``weekday_month_day``: ``Wednesday, March 3rd, 2021`` (6)
- ``us_numeric``: ``03/03/2021`` or ``3/3/2021``, always MONTH/DAY/YYYY (5)
- ``european_numeric``: ``3.3.21`` or ``03.03.21``, always DAY.MONTH.YY (5)
- ``abbrev_apostrophe``: ``Mar 3 '21`` (4)
- ``year_month_day``: ``2021 March 3`` (3)
- ``weekday_abbrev``: ``Wed 3 Mar 2021`` (4)
- ``words_of_the_year``: ``the third of march in the year two thousand and twenty one`` (9-13)
- ``words_month_the``: ``march the third , nineteen ninety nine`` (6-10)
- ``words_on_weekday``: ``on wednesday , the third of march in the year nineteen fifty`` (12-16)

Tokens are counted as the zoo's tokenizer splits (``zoo.text.tokenize``: words,
numbers and each punctuation mark), so sources run from 3 to 16 tokens; the three
spelled-out formats (about 40% of the set) are the long ones, where a decoder
without attention has to carry the whole date in one state vector.

Unambiguous by construction: a slash always means month first with a four-digit
year, a dot always day first with a two-digit year (50-99 -> 19xx, 00-49 -> 20xx,
which the 1950-2049 range makes exact), an apostrophe year is the same
two-digit rule, and every weekday is the true weekday of the date. Years in words
are ``nineteen fifty`` .. ``nineteen ninety nine``, ``two thousand``, ``two
thousand (and) five``, ``two thousand (and) twenty one`` or ``twenty twenty one``.
Casing varies per source: as written, lower case, upper case, or first letter
capitalised. Sources are unique, and the generator checks that no source is ever
produced with two targets. Split 80/10/10 by a hash of the source.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from ..errors import DataError
from . import DataSpec, Splits, int_options, split_by_key

FIRST_DAY = datetime.date(1950, 1, 1)
LAST_DAY = datetime.date(2049, 12, 31)
N_RANGE = (100, 200_000)  # fewer could leave a split empty for some seeds

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # date.weekday()
WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_ONES = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                 "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                 "eighteenth", "nineteenth")
_ORDINAL_TENS = {2: "twentieth", 3: "thirtieth"}


def cardinal_words(n: int) -> str:
    """1..99 in words: ``21`` -> ``"twenty one"``."""
    if not 1 <= n <= 99:
        raise ValueError(n)
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def ordinal_words(n: int) -> str:
    """1..31 in words: ``23`` -> ``"twenty third"``."""
    if not 1 <= n <= 31:
        raise ValueError(n)
    if n < 20:
        return _ORDINAL_ONES[n]
    tens, ones = divmod(n, 10)
    return f"{_TENS[tens]} {_ORDINAL_ONES[ones]}" if ones else _ORDINAL_TENS[tens]


def ordinal_suffix(n: int) -> str:
    """``1`` -> ``"st"``, ``12`` -> ``"th"``, ``23`` -> ``"rd"``."""
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def year_words(year: int, rng: random.Random) -> str:
    """A year of 1950-2049 in words, one of the ways people say it."""
    if 1950 <= year <= 1999:
        return f"nineteen {cardinal_words(year - 1900)}"
    if not 2000 <= year <= 2049:
        raise ValueError(year)
    rest = year - 2000
    if rest == 0:
        return "two thousand"
    ways = [f"two thousand and {cardinal_words(rest)}", f"two thousand {cardinal_words(rest)}"]
    if rest >= 10:
        ways.append(f"twenty {cardinal_words(rest)}")
    return rng.choice(ways)


def _month(d: datetime.date) -> str:
    return MONTHS[d.month - 1]


def _nth(d: datetime.date) -> str:
    return f"{d.day}{ordinal_suffix(d.day)}"


_FORMATTERS: dict[str, Callable[[datetime.date, random.Random], str]] = {
    "month_day_year": lambda d, rng: f"{_month(d)} {d.day}, {d.year}",
    "day_month_year": lambda d, rng: f"{d.day} {_month(d)} {d.year}",
    "ordinal_of": lambda d, rng: f"{_nth(d)} of {_month(d)} {d.year}",
    "weekday_month_day": lambda d, rng: f"{WEEKDAYS[d.weekday()]}, {_month(d)} {_nth(d)}, {d.year}",
    "us_numeric": lambda d, rng: (f"{d.month:02d}/{d.day:02d}/{d.year}" if rng.random() < 0.5
                                  else f"{d.month}/{d.day}/{d.year}"),
    "european_numeric": lambda d, rng: (f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}" if rng.random() < 0.5
                                        else f"{d.day}.{d.month}.{d.year % 100:02d}"),
    "abbrev_apostrophe": lambda d, rng: f"{MONTH_ABBR[d.month - 1]} {d.day} '{d.year % 100:02d}",
    "year_month_day": lambda d, rng: f"{d.year} {_month(d)} {d.day}",
    "weekday_abbrev": lambda d, rng: f"{WEEKDAY_ABBR[d.weekday()]} {d.day} {MONTH_ABBR[d.month - 1]} {d.year}",
    "words_of_the_year": lambda d, rng: (f"the {ordinal_words(d.day)} of {_month(d).lower()} "
                                         f"in the year {year_words(d.year, rng)}"),
    "words_month_the": lambda d, rng: f"{_month(d).lower()} the {ordinal_words(d.day)} , {year_words(d.year, rng)}",
    "words_on_weekday": lambda d, rng: (f"on {WEEKDAYS[d.weekday()].lower()} , the {ordinal_words(d.day)} of "
                                        f"{_month(d).lower()} in the year {year_words(d.year, rng)}"),
}
DATE_FORMATS = tuple(_FORMATTERS)
# The spelled-out formats carry the long sources: about 40% of the set.
_WEIGHTS = tuple(2 if name.startswith("words_") else 1 for name in DATE_FORMATS)
_CASINGS = ("as written", "lower", "upper", "capitalised")
_CASING_WEIGHTS = (5, 3, 1, 1)


def _recase(text: str, rng: random.Random) -> str:
    casing = rng.choices(_CASINGS, weights=_CASING_WEIGHTS)[0]
    if casing == "lower":
        return text.lower()
    if casing == "upper":
        return text.upper()
    if casing == "capitalised":
        return text[:1].upper() + text[1:].lower()
    return text


def date_example(rng: random.Random) -> tuple[str, str, str]:
    """One ``(source, iso_target, format_name)``, drawn from ``rng``."""
    day = datetime.date.fromordinal(rng.randint(FIRST_DAY.toordinal(), LAST_DAY.toordinal()))
    name = rng.choices(DATE_FORMATS, weights=_WEIGHTS)[0]
    return _recase(_FORMATTERS[name](day, rng), rng), day.isoformat(), name


GENERATORS: dict[str, Callable[[random.Random], tuple[str, str, str]]] = {"dates": date_example}
DESCRIPTIONS = {
    "dates": ("dates written in 12 human formats (month names, ordinals, weekdays, US MM/DD/YYYY, European "
              "D.M.YY, apostrophe years, days and years spelled out in words; casing varies) -> ISO YYYY-MM-DD; "
              "years 1950-2049; sources of 3-16 tokens, the spelled-out ones longest"),
}


def load_builtin_translation(spec: DataSpec) -> Splits[tuple[str, str]]:
    """Generate ``builtin:dates[,n=N][,seed=S]``: ``n`` unique ``(source, target)`` pairs
    (default 12,000, from 100 to 200,000), seeded (default 0), split 80/10/10 by a hash of
    the source. ``info``: ``description`` and ``formats`` (how many sources of each format)."""
    name = spec.target
    if name not in GENERATORS:
        raise DataError(f"data spec {spec.text!r}: unknown built-in set {name!r}; "
                        f"available: {', '.join('builtin:' + g for g in GENERATORS)}")
    options = int_options(spec, {"n": 12000, "seed": 0}, {"n": N_RANGE})
    rng = random.Random(options["seed"])
    examples: dict[str, str] = {}
    formats = dict.fromkeys(DATE_FORMATS, 0)
    attempts = 0
    while len(examples) < options["n"] and attempts < options["n"] * 50:
        source, target, fmt = GENERATORS[name](rng)
        attempts += 1
        known = examples.get(source)
        if known is None:
            examples[source] = target
            formats[fmt] += 1
        elif known != target:  # cannot happen: every format is unambiguous
            raise AssertionError(f"builtin:{name} produced {source!r} for both {known} and {target}")
    if len(examples) < options["n"]:
        raise DataError(f"data spec {spec.text!r}: could make only {len(examples)} unique examples")
    train, validation, test = split_by_key(list(examples.items()), key=lambda ex: ex[0], where=spec.text)
    return Splits(train, validation, test, source=spec.text,
                  info={"description": DESCRIPTIONS[name], "formats": formats})
