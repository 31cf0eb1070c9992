"""Benchmark: pose-only runs (`datagen poses`, issue 15 target: >= 200 poses/s).

Measured in the same run on the default avatar:
  * floor: evaluating the poses alone (go to the pose, read the keypoints) in a skeleton-only session,
    the cost no pose-only run can go below;
  * the pose-only run itself (`run_poses`: plan with skeleton framing, projection, visibility, the
    format-v1 file), with the rig's load time reported apart (paid once per run).

Usage:  .venv/bin/python tests/bench/bench_poses.py [--frames 2000] [--keypoints body25]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


from datagen.render import DEFAULT_RIG, RenderConfig, file_sha256
from datagen.render.blender.session import BlenderSession
from datagen.render.plan import sample_poses
from datagen.render.poses import run_poses


def floor(frames: int, keypoint_set: str) -> float:
    s = BlenderSession(DEFAULT_RIG, keypoint_set=keypoint_set)
    s.skeleton_only()
    clip, t = sample_poses([c.duration for c in s.clips], frames)
    t0 = time.perf_counter()
    for i in range(frames):
        s.go_to(int(clip[i]), float(s.clips[clip[i]].start + t[i]))
        s.keypoints()
    return frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--keypoints", default="body25")
    ap.add_argument("--size", type=int, default=512)
    a = ap.parse_args()
    sha = file_sha256(DEFAULT_RIG)
    out = {"frames": a.frames, "keypoints": a.keypoints, "load_avg": os.getloadavg()[0]}
    out["floor_poses_per_s"] = floor(a.frames, a.keypoints)
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for rep in range(2):
            cfg = RenderConfig(rig=str(DEFAULT_RIG), rig_sha256=sha, frames=a.frames, size=a.size,
                               keypoint_set=a.keypoints)
            t0 = time.perf_counter()
            s = run_poses(cfg, Path(d) / f"p{rep}.h5")
            total = time.perf_counter() - t0
            runs.append({"poses_per_s": s["poses_per_s"], "with_load_poses_per_s": a.frames / total,
                         "load_s": s["load_seconds"], "bytes": (Path(d) / f"p{rep}.h5").stat().st_size})
    out["runs"] = runs
    best = max(r["poses_per_s"] for r in runs)
    out["best_poses_per_s"] = best
    out["ratio_to_floor"] = best / out["floor_poses_per_s"]
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
