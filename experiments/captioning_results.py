#!/usr/bin/env python3
"""Train the captioning entries with their defaults on one data spec, record the results, draw a
picture of test captions, and time the exported ``caption`` signature.

    python experiments/captioning_results.py --data builtin:shapes --out experiments/results/captioning_shapes.json

Nothing but the defaults (what ``zoo train NAME --data SPEC`` gives a user), ``--seeds`` seeds each.
BLEU-1..4 (sacrebleu, against every reference caption) and exact match on the test split, by greedy
decoding, and exact match by the number of shapes in the scene (built-in data). With ``--picture PNG``
the first entry's captions of 8 test images are drawn beside their references, and, when
``captioning/attention`` is among the entries, its attention over the image for each word. With
``--latency``, the first entry is exported and its ``caption`` signature timed on one JPEG (p50, p99
of 200 calls) and on a batch of 32 (images per second, median of 20).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import sweep, write_result

KEYS = ("bleu1", "bleu2", "bleu3", "bleu4", "exact_match")


def _shape_count(caption: str) -> int:
    return 3 if "," in caption else 2 if " of a " in caption else 1


def _by_shape_count(run, examples) -> dict[str, float]:
    predictions = run.predict([image for image, _ in examples])
    hits: dict[int, list[bool]] = {}
    for p, (_, refs) in zip(predictions, examples, strict=True):
        hits.setdefault(_shape_count(refs[0]), []).append(" ".join(p["caption"].split()) in refs)
    return {str(k): sum(v) / len(v) for k, v in sorted(hits.items())}


def picture(runs: dict, examples, path: str) -> None:
    """Test images with their generated and reference captions; attention maps per word."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    first = next(iter(runs.values()))
    shown = examples[:8]
    captions = {name: [p["caption"] for p in run.predict([im for im, _ in shown])] for name, run in runs.items()}
    attention = runs.get("captioning/attention")
    rows = 2 + (3 if attention else 0)
    fig = plt.figure(figsize=(16, 2.2 * rows + 1))
    grid = fig.add_gridspec(rows, 8)
    for i, (image, refs) in enumerate(shown):
        ax = fig.add_subplot(grid[0:2, i])
        ax.imshow(image)
        ax.set_axis_off()
        lines = [f"{name.split('/')[1]}: {captions[name][i]}" for name in runs]
        ax.set_title("\n".join(_wrap(line) for line in lines), fontsize=6, loc="left")
        ax.text(0, image.shape[0] + 2, "ref: " + _wrap(refs[0]), fontsize=6, va="top", color="dimgray")
    if attention:
        pre, model = attention.preprocessor, attention.model
        image, _ = shown[0]
        caption = captions["captioning/attention"][0]
        decoder_in, _, _ = pre.encode_captions([caption])
        pixels = pre.images([image], "picture")
        maps = np.asarray(model.attention_maps({"image": pixels, "decoder_ids": decoder_in}))[0]
        words = [*pre.tokenizer.tokens(caption), "[END]"]
        side = round(maps.shape[-1] ** 0.5)
        for j, word in enumerate(words[:24]):
            ax = fig.add_subplot(grid[2 + j // 8, j % 8])
            ax.imshow(image)
            ax.imshow(maps[j].reshape(side, side), cmap="magma", alpha=0.6, extent=(0, image.shape[1],
                                                                                     image.shape[0], 0))
            ax.set_title(word, fontsize=8)
            ax.set_axis_off()
    fig.suptitle(f"{first.config['data']}: generated captions (greedy) of test images; attention of "
                 "captioning/attention for the first image, word by word", fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def latency(run, examples) -> dict[str, float]:
    import numpy as np
    import tensorflow as tf

    import zoo

    with tempfile.TemporaryDirectory() as tmp:
        export = zoo.export(run.path, os.path.join(tmp, "export"))
        loaded = tf.saved_model.load(export)
        jpegs = [tf.io.encode_jpeg(image, quality=90).numpy() for image, _ in examples[:32]]
        one = tf.constant(jpegs[:1])
        for _ in range(5):
            loaded.caption(one)
        times = []
        for _ in range(200):
            start = time.perf_counter()
            loaded.caption(one)["caption"].numpy()
            times.append(time.perf_counter() - start)
        batch = tf.constant((jpegs * 32)[:32])
        loaded.caption(batch)
        batch_times = []
        for _ in range(20):
            start = time.perf_counter()
            loaded.caption(batch)["caption"].numpy()
            batch_times.append(time.perf_counter() - start)
    return {"p50_ms": 1000 * float(np.percentile(times, 50)), "p99_ms": 1000 * float(np.percentile(times, 99)),
            "batch32_images_per_second": 32 / statistics.median(batch_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:shapes")
    parser.add_argument("--entries", nargs="*", default=None, help="default: every captioning entry")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--picture", help="write a PNG of test captions (and attention maps) here")
    parser.add_argument("--latency", action="store_true", help="time the first entry's exported caption signature")
    args = parser.parse_args()

    import zoo

    entries = args.entries or zoo.list_models(task="captioning")
    test_examples = zoo.get(entries[0]).task.load_data(args.data).test
    runs: dict = {}

    def shapes(run) -> dict:
        return {"images": run.metrics["test"]["examples"], "exact_match_by_shapes": _by_shape_count(run, test_examples)
                if args.data.startswith("builtin:shapes") else None}

    with tempfile.TemporaryDirectory() as tmp:
        results = sweep(entries, args.data, args.seeds, args.out, keys=KEYS, extra=shapes, folder=tmp, runs=runs)
        extra = {}
        if args.picture:
            picture(runs, test_examples, args.picture)
        if args.latency:
            extra["export_latency"] = {"entry": entries[0], **latency(runs[entries[0]], test_examples)}
            print(extra["export_latency"], file=sys.stderr)
            recorded = json.load(open(args.out, encoding="utf-8"))
            write_result(args.out, {**recorded, **extra})
    print("| entry | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | exact match | 1 shape | 2 shapes | 3 shapes | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        shapes = r["trials"][0]["exact_match_by_shapes"] or {}
        print(f"| `{r['entry']}` | " + " | ".join(f"{r['median_' + k]:.1f}" for k in KEYS[:4])
              + f" | {r['median_exact_match']:.3f} | "
              + " | ".join(f"{shapes.get(k, float('nan')):.3f}" for k in ("1", "2", "3"))
              + f" | {r['median_seconds']:.0f} |")


if __name__ == "__main__":
    main()
