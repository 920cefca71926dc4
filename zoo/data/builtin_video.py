"""Video clips the zoo generates itself: ``builtin:moving_shapes``, seeded, offline, a few seconds.

``builtin:moving_shapes[,n=N][,seed=S][,size=PX][,features=1]`` (default 2,400 clips, seed 0,
32 px) makes clips of 12-40 RGB frames ``[T, PX, PX, 3]`` uint8, each frame labelled with what
the *tracked shape* is doing at that moment. Every clip has:

- a flat background of a dark per-clip colour with fresh pixel noise in every frame;
- the **tracked shape**: a square or a disc of a random bright colour, about a fifth of the
  frame across (6-8 px at 32 px), that stands still, moves left, right, up or down at 1-3
  px a frame (scaled with ``size``; at 2-3 px it may wobble by 1 px across its path),
  leaves the frame, stays away, and comes back in through any edge;
- in half of the clips a **small shape** (3 px at 32 px, square or disc, its own colour)
  that wanders at random and bounces off the edges: motion in the frame that is not the
  tracked shape's (the tracked shape is drawn over it);
- in 30% of the clips a vertical **grey bar** (20-28% of the width) drawn over both shapes:
  a shape passing behind it is hidden for a few frames. The tracked shape never stands
  still or moves up/down while more than half hidden, so it is hidden only briefly.

Labels (``LABELS``, sorted): ``absent``, ``moving_down``, ``moving_left``, ``moving_right``,
``moving_up``, ``still``. **The label rule** (:func:`motion_labels`), with ``p_t`` the
position of the tracked shape at frame ``t`` (top-left corner, x right and y down, in
pixels; it may lie outside the frame) and ``k`` its size:

1. ``absent`` when no pixel of the shape lies in the frame at ``t`` (its ``k x k`` box does
   not meet the frame). A shape hidden behind the bar is *in view*: it is labelled by its motion.
2. Otherwise, with the displacement ``d_t = p_t - p_{t-1}`` (at frame 0, which has no
   past, the forward displacement ``d_0 = p_1 - p_0``): ``still`` when ``d_t = (0, 0)``;
   else the dominant axis decides, ``|dx| >= |dy|`` horizontal (``moving_right`` for
   ``dx > 0``, ``moving_left`` for ``dx < 0``), else vertical (``moving_down`` for ``dy > 0``,
   ``moving_up`` for ``dy < 0``).

So the label depends on motion over time: **one frame alone cannot tell** ``still`` from
moving, nor one direction from another. The same picture (the shape at the same place)
occurs with different labels, e.g. on the way right and back left; only the previous
frame (or a memory of the path) tells them apart. Behind the bar, the label can only
be carried over from the frames before.

Clips are planned segment by segment, so labels change several times per clip: every run of
one label lasts 4-15 frames (the last run of a clip at least 4), consecutive runs differ,
and the clip length (12-40 frames, 26 on average) is cut so that a clip has two runs or more
(3.3 on average). Class balance at the defaults (seed 0, 2,400 clips, 62,203 frames):
``still`` 18.5%, ``absent`` 18.1%, ``moving_right`` 16.9%, ``moving_left`` 16.1%,
``moving_up`` 15.4%, ``moving_down`` 15.0%.

The default of 2,400 clips (1,915 for training) is what ``video_labeling/bigru`` needs with its
defaults: on 1,200 it overfits from about epoch 15 and stays near 0.94 frame accuracy
(experiments/results/video_moving_shapes_1200.json). Data costs nothing here but generation time: 20 s
for the 2,400 clips at a load average of 6 on 2 cores.

``features=1`` returns per-step feature vectors ``[T, 6]`` float32 instead of images, as a
tracker would (``FEATURE_NAMES``): the centroid ``x, y`` of the *visible* pixels of the
tracked shape (divided by ``size``), its visible fraction (0 when hidden or out of view), and
the same three for the small shape (0 when there is none), plus Gaussian noise (sd 0.02).
The labels are the same; one step alone is just as ambiguous.

Generation is vectorised per clip; each clip draws from its own seeded stream, so clip ``i``
is the same whatever ``n``. Split 80/10/10 by a hash of the clip id
``moving_shapes-s{seed}-{i:05d}``. ``Splits.info``: ``labels`` (sorted), ``description``,
``label_counts`` (frames per label over all clips), and ``frame_shape`` or ``feature_names``.
:func:`generate_moving_shapes` gives the clips with their trajectories (:class:`Clip`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from . import DataSpec, Splits, int_options, split_by_key

LABELS = ("absent", "moving_down", "moving_left", "moving_right", "moving_up", "still")
FEATURE_NAMES = ("target_x", "target_y", "target_visible", "small_x", "small_y", "small_visible")
N_RANGE = (30, 50_000)
SIZE_RANGE = (16, 128)
LENGTH_RANGE = (12, 40)      # frames per clip
SEGMENT_RANGE = (4, 15)      # frames per run of one label
DESCRIPTION = ("moving_shapes: clips of 12-40 frames of a shape that stands still, moves left/right/up/down, "
               "leaves and re-enters, with a wandering distractor and an occluding bar; one label per frame from "
               "the shape's displacement since the previous frame (so one frame alone is ambiguous)")
_MOVES = {"moving_left": (-1, 0), "moving_right": (1, 0), "moving_up": (0, -1), "moving_down": (0, 1)}
_EDGES = ("left", "right", "top", "bottom")
_ENTRY = {"left": "moving_right", "right": "moving_left", "top": "moving_down", "bottom": "moving_up"}
_NOISE = 20                  # background noise: base colour +- this
_FEATURE_NOISE = 0.02


@dataclass
class Clip:
    """One generated clip with what it was made from.

    ``positions``: ``[T, 2]`` int, the tracked shape's top-left ``(x, y)`` per frame (may lie
    outside the frame); ``target_size`` its side or diameter in pixels; ``small_positions``
    ``[T, 2]`` of the small shape, or None; ``occluder``: the bar's columns ``(x0, x1)``
    (``x1`` exclusive) or None; ``colour``: the tracked shape's RGB.
    """

    id: str
    frames: np.ndarray
    labels: list[str]
    positions: np.ndarray
    target_size: int
    target_shape: str
    colour: tuple[int, int, int]
    small_positions: np.ndarray | None
    occluder: tuple[int, int] | None


def motion_labels(positions: np.ndarray, target_size: int, frame_size: int) -> list[str]:
    """The label rule of the module docstring, applied to a trajectory ``[T, 2]`` (x, y)."""
    p = np.asarray(positions, dtype=np.int64)
    k, s = target_size, frame_size
    labels = []
    for t in range(len(p)):
        x, y = p[t]
        if not (-k < x < s and -k < y < s):
            labels.append("absent")
            continue
        if len(p) == 1:
            labels.append("still")
            continue
        dx, dy = (p[1] - p[0]) if t == 0 else (p[t] - p[t - 1])
        if dx == 0 and dy == 0:
            labels.append("still")
        elif abs(dx) >= abs(dy):
            labels.append("moving_right" if dx > 0 else "moving_left")
        else:
            labels.append("moving_down" if dy > 0 else "moving_up")
    return labels


def _shape_offsets(shape: str, k: int) -> np.ndarray:
    """``[P, 2]`` (dx, dy) of the pixels of a square or disc of size ``k``."""
    dy, dx = np.mgrid[0:k, 0:k]
    if shape == "disc":
        c = k / 2
        keep = (dx + 0.5 - c) ** 2 + (dy + 0.5 - c) ** 2 <= c * c
        dx, dy = dx[keep], dy[keep]
    return np.stack([dx.ravel(), dy.ravel()], axis=1)


class _Planner:
    """Plans the tracked shape's path run by run, so that each run of one label lasts 4-15 frames."""

    def __init__(self, rng: np.random.Generator, s: int, k: int, speeds: tuple[int, ...],
                 occluder: tuple[int, int] | None):
        self.rng, self.s, self.k, self.speeds, self.occluder = rng, s, k, speeds, occluder
        self.path: list[tuple[int, int]] = []
        self.runs: list[str] = []  # the planned label of each run, for checking

    def in_view(self, x: int, y: int) -> bool:
        return -self.k < x < self.s and -self.k < y < self.s

    def inside(self, v: int) -> bool:  # the whole shape within the frame along one axis
        return 0 <= v <= self.s - self.k

    def mostly_visible(self, x: int) -> bool:
        if self.occluder is None:
            return True
        x0, x1 = self.occluder
        hidden = max(0, min(x + self.k, x1) - max(x, x0))
        return hidden <= self.k / 2

    def length(self) -> int:
        lo, hi = SEGMENT_RANGE
        return int(self.rng.integers(lo, hi + 1))

    def parked(self, edge: str) -> tuple[int, int]:
        """Just outside ``edge``, across from a random place along it (for top and bottom,
        a place not mostly behind the bar: the shape will move up or down there)."""
        places = np.arange(0, self.s - self.k + 1)
        if edge in ("top", "bottom"):
            places = places[[self.mostly_visible(int(x)) for x in places]]
        along = int(self.rng.choice(places))
        return {"left": (-self.k, along), "right": (self.s, along), "top": (along, -self.k),
                "bottom": (along, self.s)}[edge]

    def step(self, x: int, y: int, move: str, v: int) -> tuple[int, int]:
        ux, uy = _MOVES[move]
        wobble = int(self.rng.integers(-1, 2)) if v >= 2 and self.rng.random() < 0.3 else 0
        if ux:
            return x + ux * v, int(np.clip(y + wobble, 0, self.s - self.k))
        wobbled = int(np.clip(x + wobble, 0, self.s - self.k))
        return (wobbled if self.mostly_visible(wobbled) else x), y + uy * v

    def steps_in_view(self, x: int, y: int, move: str, v: int) -> int:
        """How many steps of ``move`` at speed ``v`` keep the shape in view (ignoring wobble)."""
        ux, uy = _MOVES[move]
        n = 0
        while self.in_view(x + ux * v * (n + 1), y + uy * v * (n + 1)) and n < 100:
            n += 1
        return n

    def append(self, count: int, label: str, move: str | None = None, v: int = 0) -> None:
        x, y = self.path[-1]
        for _ in range(count):
            if move is not None:
                x, y = self.step(x, y, move, v)
            self.path.append((x, y))
        self.runs.append(label)

    def plan(self, frames: int) -> None:
        rng = self.rng
        if rng.random() < 0.2:  # start out of view
            self.path.append(self.parked(_EDGES[rng.integers(4)]))
            self.append(self.length() - 1, "absent")
        else:
            lo, hi = 0, self.s - self.k
            self.path.append((int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))))
            self.runs.append("")
        first = True
        while len(self.path) < frames:
            self._next_run(first)
            first = False

    def _next_run(self, first: bool) -> None:
        rng = self.rng
        x, y = self.path[-1]
        current = self.runs[-1] if self.runs else ""
        cut = 1 if first and current == "" else 0  # frame 0 belongs to the first run
        if current == "" and self.runs:
            self.runs.pop()
        if not self.in_view(x, y):  # come back in through any edge
            edge = _EDGES[rng.integers(4)]
            move = _ENTRY[edge]
            self.path[-1] = self.parked(edge)  # moved while unseen: still labelled absent
            v = int(rng.choice(self.speeds))
            room = self.steps_in_view(*self.path[-1], move, v)
            self.append(min(self.length(), room) - cut, move, move, v)
            return
        for strict in (True, False):  # not strict: the bar may hide a still shape (never needed so far)
            if self._try_runs(x, y, current, cut, strict):
                return
        raise AssertionError(f"moving_shapes: no way on from {(x, y)} after {current!r}")

    def _try_runs(self, x: int, y: int, current: str, cut: int, strict: bool) -> bool:
        rng = self.rng
        seen = self.mostly_visible(x) or not strict
        options = []
        if current != "still" and seen:
            options.append(("still", 0.3))
        moves = [m for m in _MOVES if m != current and (self.inside(y) if _MOVES[m][0] else self.inside(x) and seen)]
        if moves:
            options += [("move", 0.5), ("leave", 0.2)]
        while options:
            kinds, weights = zip(*options, strict=True)
            kind = kinds[rng.choice(len(kinds), p=np.array(weights) / sum(weights))]
            if kind == "still":
                self.append(self.length() - cut, "still")
                return True
            order = [moves[i] for i in rng.permutation(len(moves))]
            speeds = [self.speeds[i] for i in rng.permutation(len(self.speeds))]
            for move in order:
                for v in speeds:
                    room = self.steps_in_view(x, y, move, v)
                    if kind == "move" and room >= SEGMENT_RANGE[0]:
                        self.append(min(self.length(), room) - cut, move, move, v)
                        return True
                    if kind == "leave" and SEGMENT_RANGE[0] <= room + cut <= SEGMENT_RANGE[1]:
                        self.append(room, move, move, v)   # to the last position in view
                        self.append(self.length(), "absent", move, v)  # out: absent, whatever it does
                        return True
            options = [o for o in options if o[0] != kind]
        return False


def _clip_length(labels: list[str], target: int) -> int:
    """The frame count nearest ``target`` within 12-40 at which the clip has two runs or more and
    the last keeps at least 4 frames."""
    starts = [0] + [t for t in range(1, len(labels)) if labels[t] != labels[t - 1]]
    ends = [*starts[1:], len(labels)]
    lo, hi = LENGTH_RANGE
    valid = [t for s, e in zip(starts[1:], ends[1:], strict=True) for t in range(s + SEGMENT_RANGE[0], e + 1)
             if lo <= t <= hi]
    return min(valid, key=lambda t: (abs(t - target), t))


def _make_clip(seed: int, index: int, s: int, features: bool, noise: bool) -> Clip:
    rng = np.random.default_rng([seed, index, 0])
    k = max(3, round(s * rng.uniform(0.18, 0.25)))
    scale = max(1, round(s / 32))
    speeds = tuple(v * scale for v in (1, 2, 3))
    occluder = None
    if rng.random() < 0.3:
        width = round(s * rng.uniform(0.2, 0.28))
        x0 = int(rng.integers(k, s - k - width + 1))
        occluder = (x0, x0 + width)
    target_length = int(rng.integers(LENGTH_RANGE[0], LENGTH_RANGE[1] + 1))
    planner = _Planner(rng, s, k, speeds, occluder)
    planner.plan(max(target_length, LENGTH_RANGE[0]) + SEGMENT_RANGE[1])
    positions = np.array(planner.path, dtype=np.int64)
    labels = motion_labels(positions, k, s)
    t_len = _clip_length(labels, target_length)
    positions, labels = positions[:t_len], labels[:t_len]

    shape = ("square", "disc")[rng.integers(2)]
    colour = rng.integers(0, 256, 3)
    colour[rng.integers(3)] = rng.integers(180, 256)
    small = None
    if rng.random() < 0.5:
        ks = max(2, round(s * 0.1))
        small_shape = ("square", "disc")[rng.integers(2)]
        small_colour = rng.integers(0, 256, 3)
        small_colour[rng.integers(3)] = rng.integers(180, 256)
        small = _wander(rng, t_len, s, ks, scale)

    offsets = _shape_offsets(shape, k)
    t_idx = np.arange(t_len)[:, None]
    tx = positions[:, :1] + offsets[None, :, 0]   # [T, P]
    ty = positions[:, 1:] + offsets[None, :, 1]
    t_seen = (tx >= 0) & (tx < s) & (ty >= 0) & (ty < s)
    if occluder is not None:
        t_seen &= (tx < occluder[0]) | (tx >= occluder[1])
    if small is not None:
        s_offsets = _shape_offsets(small_shape, ks)
        sx = small[:, :1] + s_offsets[None, :, 0]
        sy = small[:, 1:] + s_offsets[None, :, 1]
        s_seen = np.ones(sx.shape, dtype=bool)  # the small shape stays in the frame
        if occluder is not None:
            s_seen &= (sx < occluder[0]) | (sx >= occluder[1])
        # Under the tracked shape? Its pixel offset relative to the shape's corner is in the shape's mask.
        mask = np.zeros((k, k), dtype=bool)
        mask[offsets[:, 1], offsets[:, 0]] = True
        rx, ry = sx - positions[:, :1], sy - positions[:, 1:]
        inside = (rx >= 0) & (rx < k) & (ry >= 0) & (ry < k)
        covered = np.zeros(sx.shape, dtype=bool)
        covered[inside] = mask[ry[inside], rx[inside]]
        s_seen &= ~covered

    noise_rng = np.random.default_rng([seed, index, 1])
    if features:
        out = np.zeros((t_len, len(FEATURE_NAMES)), dtype=np.float32)
        out[:, 0:3] = _centroids(tx, ty, t_seen, s)
        if small is not None:
            out[:, 3:6] = _centroids(sx, sy, s_seen, s)
        if noise:
            out += noise_rng.normal(0.0, _FEATURE_NOISE, out.shape).astype(np.float32)
        frames = out
    else:
        base = rng.integers(_NOISE, 90, 3).astype(np.uint8)
        if noise:
            frames = noise_rng.integers(0, 2 * _NOISE + 1, (t_len, s, s, 3), dtype=np.uint8)
            frames += base - _NOISE
        else:
            frames = np.broadcast_to(base, (t_len, s, s, 3)).copy()
        if small is not None:
            frames[np.broadcast_to(t_idx, sx.shape)[s_seen], sy[s_seen], sx[s_seen]] = small_colour
        frames[np.broadcast_to(t_idx, tx.shape)[t_seen], ty[t_seen], tx[t_seen]] = colour
        if occluder is not None:
            grey = int(rng.integers(140, 166))
            x0, x1 = occluder
            bar = np.full((t_len, s, x1 - x0, 3), grey, dtype=np.uint8)
            if noise:
                bar += noise_rng.integers(0, 9, bar.shape[:3], dtype=np.uint8)[..., None]
            frames[:, :, x0:x1] = bar
    return Clip(f"moving_shapes-s{seed}-{index:05d}", frames, labels, positions, k, shape,
                tuple(int(c) for c in colour), small, occluder)


def _wander(rng: np.random.Generator, t_len: int, s: int, ks: int, scale: int) -> np.ndarray:
    """A random walk that bounces off the frame's edges: ``[T, 2]`` top-left corners."""
    turns = rng.random(t_len) < 0.2
    headings = rng.integers(-2, 3, (t_len, 2)) * scale
    p = rng.integers(0, s - ks + 1, 2)
    v = headings[0].copy()
    out = np.empty((t_len, 2), dtype=np.int64)
    for t in range(t_len):
        if t:
            if turns[t]:
                v = headings[t].copy()
            p = p + v
            for axis in range(2):
                if p[axis] < 0 or p[axis] > s - ks:
                    p[axis] = int(np.clip(p[axis], 0, s - ks))
                    v[axis] = -v[axis]
        out[t] = p
    return out


def _centroids(xs: np.ndarray, ys: np.ndarray, seen: np.ndarray, s: int) -> np.ndarray:
    """``[T, 3]``: mean x, mean y of the seen pixels (pixel centres, divided by ``s``), seen fraction."""
    count = seen.sum(axis=1)
    safe = np.maximum(count, 1)
    cx = np.where(count > 0, ((xs + 0.5) * seen).sum(axis=1) / safe / s, 0.0)
    cy = np.where(count > 0, ((ys + 0.5) * seen).sum(axis=1) / safe / s, 0.0)
    return np.stack([cx, cy, count / xs.shape[1]], axis=1)


def generate_moving_shapes(n: int, seed: int = 0, size: int = 32, features: bool = False, noise: bool = True
                           ) -> list[Clip]:
    """``n`` clips of ``builtin:moving_shapes`` with their trajectories; ``noise=False`` draws the
    same clips without background, bar and feature noise (identical otherwise)."""
    return [_make_clip(seed, i, size, features, noise) for i in range(n)]


def _options(spec: DataSpec) -> dict[str, int]:
    return int_options(spec, {"n": 2400, "seed": 0, "size": 32, "features": 0},
                       {"n": N_RANGE, "size": SIZE_RANGE, "features": (0, 1)})


def load_builtin_video(spec: DataSpec) -> Splits[tuple[np.ndarray, list[str]]]:
    """Generate ``builtin:moving_shapes[,n=N][,seed=S][,size=PX][,features=1]``: ``(frames, labels)``
    examples, frames ``[T, PX, PX, 3]`` uint8 (``[T, 6]`` float32 with ``features=1``) and one
    label per frame; see the module docstring."""
    if spec.target != "moving_shapes":
        raise DataError(f"data spec {spec.text!r}: unknown built-in set {spec.target!r}; "
                        "available: builtin:moving_shapes")
    options = _options(spec)
    clips = generate_moving_shapes(options["n"], options["seed"], options["size"], bool(options["features"]))
    counts = dict.fromkeys(LABELS, 0)
    for clip in clips:
        for label in clip.labels:
            counts[label] += 1
    keyed = [(clip.id, (clip.frames, clip.labels)) for clip in clips]
    train, validation, test = split_by_key(keyed, key=lambda item: item[0], where=spec.text)
    info: dict = {"labels": list(LABELS), "description": DESCRIPTION, "label_counts": counts}
    if options["features"]:
        info["feature_names"] = list(FEATURE_NAMES)
    else:
        info["frame_shape"] = [options["size"], options["size"], 3]
    return Splits([ex for _, ex in train], [ex for _, ex in validation], [ex for _, ex in test],
                  source=spec.text, info=info)
