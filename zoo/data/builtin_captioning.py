"""Captioned scenes the zoo generates itself: ``builtin:shapes``, seeded, offline, a second or two.

``builtin:shapes[,n=N][,seed=S][,size=PX]`` (default 3,000 scenes, seed 0, 48 px) draws RGB
images ``[PX, PX, 3]`` uint8 of one to three shapes and writes every caption that describes
each one. A scene has:

- a background of one of eight muted colours (greys, browns, slates; never one of the shape
  colours), with a faint left-right gradient and pixel noise (sd 8 of 255);
- one shape (30% of scenes), two (40%) or three (30%): each a ``circle``, ``square`` or
  ``triangle``, ``red``, ``green``, ``blue`` or ``yellow`` (each channel jittered by up to
  25), ``small`` (radius 11% of the width) or ``large`` (19%), at a random height; shapes never
  overlap and their centres are at least a small radius apart left to right, so "left of"
  always has one answer.

**Captions** name every shape as ``SIZE COLOUR KIND`` and order them left to right. Each
scene has two phrasings, both kept as references (and both trained on)::

    one shape:    "a small red circle"  |  "there is a small red circle"
    two shapes:   "a small red circle to the left of a large blue square"
                  |  "a large blue square to the right of a small red circle"
    three shapes: "a small red circle, a large blue square and a small green triangle"
                  |  "from left to right: a small red circle, a large blue square and a small green triangle"

So a caption is right only when every shape's size, colour and kind and the left-right order
are; a model that ignores the image can learn the grammar but not which words fill it.

Each scene draws from its own seeded stream, so scene ``i`` is the same whatever ``n``. Split
80/10/10 by a hash of the scene id ``shapes-s{seed}-{i:05d}``. ``Splits.info``:
``description``, ``shape_counts`` (scenes with 1, 2, 3 shapes) and ``image_shape``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from . import DataSpec, Splits, int_options, split_by_key

KINDS = ("circle", "square", "triangle")
COLOURS = {"red": (215, 45, 40), "green": (40, 175, 60), "blue": (45, 85, 225), "yellow": (230, 205, 35)}
SIZES = {"small": 0.11, "large": 0.19}  # radius as a fraction of the width
BACKGROUNDS = ((70, 70, 70), (120, 120, 115), (160, 155, 150), (95, 80, 65), (135, 115, 90),
               (60, 70, 85), (100, 110, 125), (40, 40, 45))
SHAPE_COUNTS = (1, 2, 3)
SHAPE_COUNT_P = (0.3, 0.4, 0.3)
N_RANGE = (20, 200_000)
SIZE_RANGE = (32, 256)
DESCRIPTION = ("scenes of 1-3 shapes (circle/square/triangle, red/green/blue/yellow, small/large) on noisy "
               "muted backgrounds; captions name each shape left to right, two phrasings per scene")


def describe_shape(size: str, colour: str, kind: str) -> str:
    return f"{size} {colour} {kind}"


def captions_for(shapes: list[tuple[str, str, str]]) -> tuple[str, ...]:
    """Every reference caption of a scene whose shapes are ``(size, colour, kind)`` left to right."""
    names = [describe_shape(*s) for s in shapes]
    if len(names) == 1:
        return (f"a {names[0]}", f"there is a {names[0]}")
    if len(names) == 2:
        return (f"a {names[0]} to the left of a {names[1]}", f"a {names[1]} to the right of a {names[0]}")
    listed = f"a {names[0]}, a {names[1]} and a {names[2]}"
    return (listed, f"from left to right: {listed}")


def _mask(kind: str, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    if kind == "circle":
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if kind == "square":
        half = r * 0.85  # about the same area as the circle
        return (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
    # triangle pointing up: apex at the top, base at the bottom, as wide as it is tall
    top, bottom = cy - r, cy + r
    inside = (yy >= top) & (yy <= bottom)
    return inside & (np.abs(xx - cx) <= (yy - top) / 2.0 * 1.0 + 0.5)


def _place(rng: np.random.Generator, radii: list[float], size: int) -> list[tuple[float, float]] | None:
    """Centres, left to right, with room between the shapes; None when they do not fit."""
    for _ in range(50):
        xs = np.sort(rng.uniform(0, size, len(radii)))
        order_radii = radii  # radii are already in left-to-right order
        ok = all(xs[i] - order_radii[i] >= 1 and xs[i] + order_radii[i] <= size - 1 for i in range(len(xs)))
        ok = ok and all(xs[i + 1] - xs[i] >= order_radii[i] + order_radii[i + 1] + 2 for i in range(len(xs) - 1))
        if ok:
            ys = [rng.uniform(r + 1, size - 1 - r) for r in order_radii]
            return list(zip(xs.tolist(), ys, strict=True))
    return None


def make_scene(seed: int, index: int, size: int = 48) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """Scene ``index`` of stream ``seed``: the image and its shapes ``(size, colour, kind)`` left to right."""
    rng = np.random.default_rng([seed, index, 7])
    count = int(rng.choice(SHAPE_COUNTS, p=SHAPE_COUNT_P))
    while True:
        shapes = [(str(rng.choice(list(SIZES))), str(rng.choice(list(COLOURS))), str(rng.choice(KINDS)))
                  for _ in range(count)]
        radii = [SIZES[s] * size for s, _, _ in shapes]
        centres = _place(rng, radii, size)
        if centres is not None:
            break
    background = np.array(BACKGROUNDS[rng.integers(len(BACKGROUNDS))], dtype=np.float32)
    gradient = rng.uniform(-20, 20) * (np.arange(size, dtype=np.float32) / size - 0.5)
    image = np.broadcast_to(background, (size, size, 3)) + gradient[None, :, None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for (_, colour, kind), (cx, cy), r in zip(shapes, centres, radii, strict=True):
        rgb = np.array(COLOURS[colour], dtype=np.float32) + rng.uniform(-25, 25, 3)
        image = np.where(_mask(kind, xx, yy, cx, cy, r)[..., None], rgb, image)
    image = image + rng.normal(0, 8, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), shapes


def load_builtin_captioning(spec: DataSpec) -> Splits[tuple[np.ndarray, tuple[str, ...]]]:
    """Generate ``builtin:shapes[,n=N][,seed=S][,size=PX]``: ``(image, captions)`` examples;
    see the module docstring."""
    if spec.target != "shapes":
        raise DataError(f"data spec {spec.text!r}: unknown built-in set {spec.target!r}; available: builtin:shapes")
    options = int_options(spec, {"n": 3000, "seed": 0, "size": 48}, {"n": N_RANGE, "size": SIZE_RANGE})
    keyed = []
    counts = dict.fromkeys(map(str, SHAPE_COUNTS), 0)
    for i in range(options["n"]):
        image, shapes = make_scene(options["seed"], i, options["size"])
        counts[str(len(shapes))] += 1
        keyed.append((f"shapes-s{options['seed']}-{i:05d}", (image, captions_for(shapes))))
    train, validation, test = split_by_key(keyed, key=lambda item: item[0], where=spec.text)
    info = {"description": DESCRIPTION, "shape_counts": counts, "image_shape": [options["size"]] * 2 + [3]}
    return Splits([ex for _, ex in train], [ex for _, ex in validation], [ex for _, ex in test],
                  source=spec.text, info=info)
