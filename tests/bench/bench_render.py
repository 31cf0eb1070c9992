"""Benchmark: `datagen render` against a bare Blender render loop (issue 3 target: <= 1.25x per frame).

Both run in this process, on the same rig, poses, camera and render settings (the default engine at
1024x1024, one costume):
  * bare: per pose, ``scene.frame_set`` + ``bpy.ops.render.render(write_still=True)`` writing a PNG
    (Blender's default PNG settings) into a temporary folder on disk;
  * pipeline: ``run_render`` (framing plan, keypoints, ray-cast visibility, compositing, mask,
    pyramid, compression, HDF5 segments, final assembly), one process.
The per-frame cost of each is its marginal cost, (T(n2) - T(n1)) / (n2 - n1), so the one-off set-up
(loading the rig, starting the GPU context) does not count; rounds alternate to share the machine's
noise. Then a long run in a subprocess samples its resident memory (flat = no leak per frame), and
the file size per frame is compared with the bare loop's PNG files.

Usage:  .venv/bin/python tests/bench/bench_render.py [--rig RIG] [--size 1024] [--n1 8 --n2 24]
            [--rounds 2] [--memory-frames 600] [--memory-size 1024]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from datagen.render import DEFAULT_RIG, RenderConfig, RunOptions, file_sha256, run_render

ROBOT = Path(__file__).resolve().parents[3] / "shared" / "assets" / "rigs" / "RobotExpressive.glb"


def default_rig() -> Path:
    return DEFAULT_RIG if DEFAULT_RIG.exists() else ROBOT


def config_for(rig: Path, frames: int, size: int, costume: str | None) -> RenderConfig:
    return RenderConfig(rig=str(rig), rig_sha256=file_sha256(rig), frames=frames, size=size,
                        costumes=[costume] if costume else None)


def first_costume(rig: Path) -> str:
    from datagen.render.blender.rig import load_rig
    from datagen.render.blender.session import quiet_fds

    with quiet_fds():
        return load_rig(rig).costumes[0].name


def pipeline(rig: Path, frames: int, size: int, costume: str, out: Path) -> tuple[float, float]:
    """(wall s, CPU s of this process and its threads) of one run."""
    out.unlink(missing_ok=True)
    t, c = time.perf_counter(), time.process_time()
    run_render(config_for(rig, frames, size, costume), RunOptions(out=out, progress=False))
    return time.perf_counter() - t, time.process_time() - c


def bare_loop(rig: Path, reference: Path, size: int, costume: str, png_dir: Path) -> tuple[float, float, int]:
    """Render the reference file's poses and cameras with nothing but frame_set + render -> PNG."""
    import bpy

    from datagen.render.blender import capture, rig as rigmod
    from datagen.render.blender.session import quiet_fds
    from datagen.format import open_dataset

    with open_dataset(reference) as ds:
        clip_idx, times, cams = ds.read("meta/clip"), ds.read("meta/frame"), ds.read("camera/extrinsics")
        clip_names = ds.names("clip")
    t, c = time.perf_counter(), time.process_time()
    with quiet_fds():
        r = rigmod.load_rig(rig)
    scene = r.scene
    capture.configure_render(scene, "workbench", size, None, keep_look=r.from_blend)
    rigmod.CostumeSwitcher(r).show(next(c for c in r.costumes if c.name == costume))
    s = scene.render.image_settings
    s.file_format, s.color_mode = "PNG", "RGBA"  # Blender's default PNG compression (15%)
    scene.render.use_file_extension = True
    cam = capture.make_camera(scene, 50.0)
    clips = {c.name: c for c in r.clips}
    current = None
    for i, (a, u, E) in enumerate(zip(clip_idx, times, cams)):
        clip = clips[clip_names[a]]
        if clip is not current:
            rigmod.assign_clip(r, clip)
            current = clip
        rigmod.set_time(scene, clip.start + float(u))
        capture.place_camera(cam, E, 0.01, 1000.0)
        scene.render.filepath = str(png_dir / f"frame_{i:05d}.png")
        with quiet_fds():
            bpy.ops.render.render(write_still=True)
    return time.perf_counter() - t, time.process_time() - c, sum(p.stat().st_size for p in png_dir.glob("*.png"))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(rig: Path, frames: int, size: int, costume: str, out: Path) -> dict:
    """Run `datagen render` in a subprocess and sample its memory every second."""
    cmd = [sys.executable, "-m", "datagen.cli", "render", "--quiet", "--rig", str(rig), "--frames", str(frames),
           "--size", str(size), "--costumes", costume, "-o", str(out), "--overwrite"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    samples = []
    partial = out.with_name(out.name + ".partial")

    def rows_done() -> int:
        return sum(1 for _ in partial.glob("chunk-*.h5")) * 64 + 4 * sum(1 for _ in partial.glob("chunk-*.partial/seg-*.h5"))

    while proc.poll() is None:
        try:
            samples.append((time.perf_counter() - t0, rows_done(), rss_mib(proc.pid)))
        except (OSError, ValueError):
            pass
        time.sleep(1.0)
    proc.communicate()
    rendering = [(t, r, m) for t, r, m in samples if r > 0]
    if len(rendering) < 4:
        return {"frames": frames, "samples": len(samples)}
    n = len(rendering)
    q = lambda f: rendering[min(n - 1, int(f * n))]
    rows = np.array([r for _, r, _ in rendering], float)
    mem = np.array([m for _, _, m in rendering], float)
    slope = float(np.polyfit(rows, mem, 1)[0]) if np.ptp(rows) > 0 else 0.0
    return {"frames": frames, "size": size, "seconds": time.perf_counter() - t0,
            "rss_mib_at_10%": q(0.1)[2], "rss_mib_at_50%": q(0.5)[2], "rss_mib_at_end": q(0.99)[2],
            "rss_peak_mib": float(mem.max()), "rss_slope_kib_per_frame": slope * 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rig", type=Path, default=None)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--n1", type=int, default=8)
    ap.add_argument("--n2", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--memory-frames", type=int, default=600)
    ap.add_argument("--memory-size", type=int, default=1024)
    args = ap.parse_args()
    rig = args.rig or default_rig()
    costume = first_costume(rig)
    tmp = Path(tempfile.mkdtemp(prefix="bench_render_"))
    wall = {"pipeline": {args.n1: [], args.n2: []}, "bare": {args.n1: [], args.n2: []}}
    cpu = {"pipeline": {args.n1: [], args.n2: []}, "bare": {args.n1: [], args.n2: []}}
    sizes = {}
    for rnd in range(args.rounds):
        for n in (args.n1, args.n2):
            out = tmp / f"p{n}.h5"
            w, c = pipeline(rig, n, args.size, costume, out)
            wall["pipeline"][n].append(w)
            cpu["pipeline"][n].append(c)
            png_dir = tmp / f"png{n}-{rnd}"
            png_dir.mkdir()
            w, c, png_bytes = bare_loop(rig, out, args.size, costume, png_dir)
            wall["bare"][n].append(w)
            cpu["bare"][n].append(c)
            sizes[n] = (out.stat().st_size, png_bytes)
            print(f"round {rnd} n={n}: pipeline {wall['pipeline'][n][-1]:.1f} s wall / {cpu['pipeline'][n][-1]:.1f} s CPU,"
                  f" bare {wall['bare'][n][-1]:.1f} s / {c:.1f} s", flush=True)
    marginal = lambda v: (min(v[args.n2]) - min(v[args.n1])) / (args.n2 - args.n1)
    per_frame = {k: marginal(v) for k, v in wall.items()}
    cpu_frame = {k: marginal(v) for k, v in cpu.items()}
    h5_bytes, png_bytes = sizes[args.n2]
    result = {
        "rig": str(rig), "size": args.size, "engine": "workbench", "costume": costume,
        "n1": args.n1, "n2": args.n2, "rounds": args.rounds, "load_average": os.getloadavg(),
        "bare_s_per_frame": per_frame["bare"], "pipeline_s_per_frame": per_frame["pipeline"],
        "ratio": per_frame["pipeline"] / per_frame["bare"],
        "bare_cpu_s_per_frame": cpu_frame["bare"], "pipeline_cpu_s_per_frame": cpu_frame["pipeline"],
        "cpu_ratio": cpu_frame["pipeline"] / cpu_frame["bare"],
        "bare_total_s": min(wall["bare"][args.n2]), "pipeline_total_s": min(wall["pipeline"][args.n2]),
        "h5_kib_per_frame": h5_bytes / args.n2 / 1024, "png_kib_per_frame": png_bytes / args.n2 / 1024,
    }
    print(json.dumps(result, indent=1), flush=True)
    if args.memory_frames:
        mem = memory_run(rig, args.memory_frames, args.memory_size, costume, tmp / "long.h5")
        print(json.dumps({"memory": mem}, indent=1))
    print(f"(work files in {tmp})")


if __name__ == "__main__":
    main()
