#!/usr/bin/env python3
"""Frames per second of a video-labeling export: whole clips (``serve``) and a stream (``step``).

    python experiments/bench_video_serving.py --out experiments/results/bench_video_serving.json

Trains ``video_labeling/lstm`` briefly on ``builtin:moving_shapes`` (32x32 RGB frames; the speed of an
export does not depend on how well it was trained), exports it with ``zoo export`` and loads the
SavedModel with ``tf.saved_model.load`` (no zoo on the serving path). Then, on the test clips:

- ``serve``, batch 1: one call per clip with its real length; latency per call (p50/p99) and
  frames per second (all frames over all calls' time);
- ``serve``, batch 32: clips padded to the batch's longest, frames per second of real frames;
- ``step``, batch 1: one call per frame, the state carried from call to call, as a live stream
  would be labelled; latency per frame (p50/p99) and frames per second.

Every call is timed after ``--warmup`` untimed calls; ``--threads`` caps TF's intra-op threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="builtin:moving_shapes,n=400")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    ms = np.asarray(values) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "calls": len(values)}


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    import zoo
    from zoo.folders import write_json

    with tempfile.TemporaryDirectory() as directory:
        run = zoo.train("video_labeling/lstm", args.data, os.path.join(directory, "run"), epochs=args.epochs,
                        verbose=0)
        zoo.export(run, os.path.join(directory, "export"))
        loaded = tf.saved_model.load(os.path.join(directory, "export"))
        clips = [np.asarray(c) for c, _ in run.task.load_data(args.data).test]
        frames_total = sum(len(c) for c in clips)

        for clip in clips[: args.warmup]:
            loaded.serve(tf.constant(clip[None]), tf.constant([len(clip)]))
        whole = []
        for clip in clips:
            started = time.perf_counter()
            loaded.serve(tf.constant(clip[None]), tf.constant([len(clip)])).get("label").numpy()
            whole.append(time.perf_counter() - started)

        batched_seconds = 0.0
        for start in range(0, len(clips), 32):
            group = clips[start:start + 32]
            frames = np.zeros((len(group), max(len(c) for c in group), *group[0].shape[1:]), np.uint8)
            for i, clip in enumerate(group):
                frames[i, : len(clip)] = clip
            lengths = tf.constant([len(c) for c in group])
            loaded.serve(tf.constant(frames), lengths)  # warm-up for this shape
            started = time.perf_counter()
            loaded.serve(tf.constant(frames), lengths)["label"].numpy()
            batched_seconds += time.perf_counter() - started

        def stream(clip, times=None):
            state = loaded.initial_state(tf.constant(clip[:1]))
            state = [state[f"state_{i}"] for i in range(len(state))]
            for frame in clip:
                started = time.perf_counter()
                out = loaded.step(tf.constant(frame[None]), *state)
                out["label"].numpy()
                if times is not None:
                    times.append(time.perf_counter() - started)
                state = [out[f"state_{i}"] for i in range(len(state))]

        for clip in clips[: args.warmup]:
            stream(clip)
        steps: list[float] = []
        for clip in clips:
            stream(clip, steps)

    result = {
        "entry": "video_labeling/lstm", "data": args.data, "frame_shape": list(clips[0].shape[1:]),
        "test_clips": len(clips), "frames": frames_total,
        "median_clip_frames": statistics.median(len(c) for c in clips),
        "serve_batch1": {**percentiles(whole), "frames_per_s": frames_total / sum(whole)},
        "serve_batch32": {"frames_per_s": frames_total / batched_seconds},
        "step_batch1": {**percentiles(steps), "frames_per_s": len(steps) / sum(steps)},
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "threads": args.threads,
                    "load_average_at_start": os.getloadavg(), "tensorflow": tf.__version__,
                    "keras": keras.__version__},
    }
    if args.out:
        write_json(args.out, result)
    s1, s32, st = result["serve_batch1"], result["serve_batch32"], result["step_batch1"]
    print(f"{len(clips)} test clips, {frames_total} frames of {result['frame_shape']}, {args.threads} thread(s)")
    print(f"serve batch 1: {s1['frames_per_s']:,.0f} frames/s, per clip p50 {s1['p50_ms']:.2f} ms, "
          f"p99 {s1['p99_ms']:.2f} ms")
    print(f"serve batch 32: {s32['frames_per_s']:,.0f} frames/s")
    print(f"step batch 1: {st['frames_per_s']:,.0f} frames/s, per frame p50 {st['p50_ms']:.2f} ms, "
          f"p99 {st['p99_ms']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
