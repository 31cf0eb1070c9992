"""Benchmark: `datagen render` against the renderer's own floor (issue 11 target: <= 3x per frame).

Everything runs in this process, on the same rig, poses and cameras (1024x1024, one costume), with
rounds alternating so the machine's noise is shared:
  * floor: the bare render with anti-aliasing OFF: per pose ``scene.frame_set`` +
    ``bpy.ops.render.render(write_still=True)`` writing a PNG (Blender's default settings) to disk;
  * old baseline: the same bare loop with Workbench's 8-sample anti-aliasing (issue 3's baseline);
  * pipeline variants: ``run_render`` as ``datagen render`` runs it (planning, keypoints, ray-cast
    visibility, rendering, compositing, mask, pyramid, compression, HDF5 segments, assembly), by
    default the new default (``workbench``, 2 jittered renders), ``workbench --samples 3`` and the old
    default path (``workbench-taa``, 8 samples).
The per-frame cost of each is its marginal cost, (T(n2) - T(n1)) / (n2 - n1), so one-off set-up
(loading the rig, the GL context, the planning pass's fixed part) does not count; the minimum over
rounds is kept. Quality: PSNR (over all pixels and channels of the composited images) of every
variant's n1 rows against ``--engine workbench-taa --samples 32`` renders of the same rows. Then the
default with ``--workers 2``, the projected time of the paper's 48,000-frame dataset, and a long run
in a subprocess whose resident memory is sampled every second (flat = no leak per frame).

Usage:  .venv/bin/python tests/bench/bench_render.py [--rig RIG] [--size 1024] [--n1 8 --n2 16]
            [--rounds 2] [--variants workbench:2,workbench:3,workbench-taa:8] [--memory-frames 600]
            [--memory-size 1024] [--dataset-frames 48000]
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


def first_costume(rig: Path) -> str:
    from datagen.render.blender.rig import load_rig
    from datagen.render.blender.session import quiet_fds

    with quiet_fds():
        return load_rig(rig).costumes[0].name


def pipeline(rig: Path, frames: int, size: int, costume: str, out: Path, engine: str, samples: int | None,
             workers: int = 1) -> tuple[float, float]:
    """(wall s, CPU s of this process and its threads) of one run."""
    out.unlink(missing_ok=True)
    config = RenderConfig(rig=str(rig), rig_sha256=file_sha256(rig), frames=frames, size=size, costumes=[costume],
                          engine=engine, samples=samples)
    t, c = time.perf_counter(), time.process_time()
    run_render(config, RunOptions(out=out, progress=False, workers=workers))
    return time.perf_counter() - t, time.process_time() - c


def bare_loop(rig: Path, reference: Path, size: int, costume: str, samples: int, png_dir: Path) -> tuple[float, float]:
    """Render the reference file's poses and cameras with nothing but frame_set + render -> PNG, with
    Workbench's own anti-aliasing at ``samples`` (1 = off)."""
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
    capture.configure_render(scene, "workbench-taa", size, samples, keep_look=r.from_blend)
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
    return time.perf_counter() - t, time.process_time() - c


def composited(path: Path) -> np.ndarray:
    """A dataset's images, or a folder of RGBA PNGs composited on white like the pipeline does."""
    import cv2

    from datagen.format import open_dataset
    from datagen.render.compositing import composite_on_white

    if path.is_dir():
        return np.stack([composite_on_white(cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA))[0]
                         for p in sorted(path.glob("*.png"))])
    with open_dataset(path) as ds:
        return ds.images()[:]


def psnr(images: np.ndarray, reference: np.ndarray) -> float:
    mse = np.mean((images.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(rig: Path, frames: int, size: int, costume: str, out: Path) -> dict:
    """Run `datagen render` (the default engine) in a subprocess and sample its memory every second."""
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
    late = rows >= rows.max() / 2
    slope = float(np.polyfit(rows[late], mem[late], 1)[0]) if np.ptp(rows[late]) > 0 else 0.0
    return {"frames": frames, "size": size, "seconds": time.perf_counter() - t0, "returncode": proc.returncode,
            "rss_mib_at_10%": q(0.1)[2], "rss_mib_at_50%": q(0.5)[2], "rss_mib_at_end": q(0.99)[2],
            "rss_peak_mib": float(mem.max()), "rss_slope_kib_per_frame_second_half": slope * 1024}


def parse_variants(text: str) -> list[tuple[str, int | None]]:
    out = []
    for item in text.split(","):
        engine, _, samples = item.partition(":")
        out.append((engine, int(samples) if samples else None))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rig", type=Path, default=None)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--n1", type=int, default=8)
    ap.add_argument("--n2", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default="workbench:2,workbench:3,workbench-taa:8",
                    help="pipeline runs as engine:samples; the first is the one the target is about")
    ap.add_argument("--reference-samples", type=int, default=32)
    ap.add_argument("--workers2", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--memory-frames", type=int, default=600)
    ap.add_argument("--memory-size", type=int, default=1024)
    ap.add_argument("--dataset-frames", type=int, default=48_000)
    args = ap.parse_args()
    rig = args.rig or default_rig()
    costume = first_costume(rig)
    variants = parse_variants(args.variants)
    tmp = Path(tempfile.mkdtemp(prefix="bench_render_"))
    ns = (args.n1, args.n2)
    names = [f"{e}:{s}" for e, s in variants] + ["bare AA off (floor)", "bare AA 8"]
    wall = {k: {n: [] for n in ns} for k in names}
    cpu = {k: {n: [] for n in ns} for k in names}
    print(f"load at start: {os.getloadavg()}", flush=True)
    for rnd in range(args.rounds):
        for n in ns:
            for (engine, samples), name in zip(variants, names):
                w, c = pipeline(rig, n, args.size, costume, tmp / f"{name}-{n}.h5", engine, samples)
                wall[name][n].append(w)
                cpu[name][n].append(c)
            cams = tmp / f"{names[0]}-{n}.h5"
            for name, samples in (("bare AA off (floor)", 1), ("bare AA 8", 8)):
                png_dir = tmp / f"{name}-{n}-{rnd}"
                png_dir.mkdir()
                w, c = bare_loop(rig, cams, args.size, costume, samples, png_dir)
                wall[name][n].append(w)
                cpu[name][n].append(c)
            print(f"round {rnd} n={n}: " + ", ".join(f"{k} {wall[k][n][-1]:.1f} s" for k in names), flush=True)
    marginal = lambda v: (min(v[args.n2]) - min(v[args.n1])) / (args.n2 - args.n1)
    per_frame = {k: marginal(v) for k, v in wall.items()}
    cpu_frame = {k: marginal(v) for k, v in cpu.items()}
    floor = per_frame["bare AA off (floor)"]

    ref = tmp / "reference.h5"
    pipeline(rig, args.n1, args.size, costume, ref, "workbench-taa", args.reference_samples)
    reference = composited(ref)
    quality = {name: psnr(composited(tmp / f"{name}-{args.n1}.h5"), reference) for name in names[:len(variants)]}
    for name in ("bare AA off (floor)", "bare AA 8"):
        quality[name] = psnr(composited(tmp / f"{name}-{args.n1}-0"), reference)

    result = {"rig": str(rig), "size": args.size, "costume": costume, "n1": args.n1, "n2": args.n2,
              "rounds": args.rounds, "load_average_after_timing": os.getloadavg(),
              "s_per_frame": per_frame, "cpu_s_per_frame": cpu_frame,
              "ratio_to_floor": {k: v / floor for k, v in per_frame.items()},
              "cpu_ratio_to_floor": {k: v / cpu_frame["bare AA off (floor)"] for k, v in cpu_frame.items()},
              f"psnr_db_vs_workbench_taa_{args.reference_samples}": quality,
              f"hours_for_{args.dataset_frames}_frames_1_worker": {k: v * args.dataset_frames / 3600
                                                                   for k, v in per_frame.items()}}
    if args.workers2:
        engine, samples = variants[0]
        t2 = {n: pipeline(rig, n, args.size, costume, tmp / f"w2-{n}.h5", engine, samples, workers=2)[0] for n in ns}
        w2 = (t2[args.n2] - t2[args.n1]) / (args.n2 - args.n1)
        result["workers_2"] = {"variant": names[0], "s_per_frame": w2,
                               f"hours_for_{args.dataset_frames}_frames": w2 * args.dataset_frames / 3600}
    print(json.dumps(result, indent=1), flush=True)
    if args.memory_frames:
        mem = memory_run(rig, args.memory_frames, args.memory_size, costume, tmp / "long.h5")
        print(json.dumps({"memory": mem, "load_average": os.getloadavg()}, indent=1))
    print(f"(work files in {tmp})")


if __name__ == "__main__":
    main()
