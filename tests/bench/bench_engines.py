"""Benchmark: each render engine on the default avatar at a small size, its cost per frame against the
bare Workbench render (the floor) and its look against the default engine's.

Everything runs in this process, on the same rig, costume, poses and cameras:
  * every engine as ``datagen render`` runs it (``run_render``), with its default samples unless
    ``--engines`` gives ``engine:samples``;
  * the floor: the bare loop of bench_render.py (``frame_set`` + ``bpy.ops.render.render`` to PNG) with
    Workbench's anti-aliasing off, on the first engine's poses and cameras.
Per-frame cost is the marginal cost (T(n2) - T(n1)) / (n2 - n1): loading the rig, the GL context and
compiling shaders do not count. CPU seconds are this process's (Blender's render threads included);
on a shared machine they are the steadier figure, wall seconds are given with the load average.
Look: over the n2 rows, the figure's mean colour and its share of near-black pixels (over each
engine's own mask), PSNR against the first engine's images, and whether keypoints, visibility and
cameras are identical.

Usage:  .venv/bin/python tests/bench/bench_engines.py [--size 64] [--n1 1 --n2 3]
            [--engines workbench,eevee,cycles] [--rounds 1]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench_render import bare_loop, default_rig, first_costume, parse_variants, pipeline  # noqa: E402
from helpers.look import figure_stats, psnr  # noqa: E402

SAME = ("pose/xy", "pose/visibility", "camera/extrinsics", "camera/intrinsics")


def read(path: Path, size: int) -> dict:
    with h5py.File(path, "r") as f:
        out = {k: f[k][()] for k in SAME}
        out["images"], out["masks"] = f[f"images/{size}"][()], f[f"masks/{size}"][()]
        out["render"] = json.loads(f.attrs["config"])["render"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rig", type=Path, default=None)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--n1", type=int, default=1)
    ap.add_argument("--n2", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--engines", default="workbench,eevee,cycles", help="engine[:samples],...; the first is the reference")
    args = ap.parse_args()
    rig = args.rig or default_rig()
    costume = first_costume(rig)
    engines = parse_variants(args.engines)
    names = [f"{e}:{s}" if s else e for e, s in engines]
    tmp = Path(tempfile.mkdtemp(prefix="bench_engines_"))
    ns = (args.n1, args.n2)
    times = {k: {n: [] for n in ns} for k in [*names, "bare workbench, AA off (floor)"]}
    print(f"load at start: {os.getloadavg()}", flush=True)
    for _ in range(args.rounds):
        for n in ns:
            for (engine, samples), name in zip(engines, names):
                times[name][n].append(pipeline(rig, n, args.size, costume, tmp / f"{name}-{n}.h5", engine, samples))
            png = tmp / f"bare-{n}"
            png.mkdir(exist_ok=True)
            times["bare workbench, AA off (floor)"][n].append(
                bare_loop(rig, tmp / f"{names[0]}-{n}.h5", args.size, costume, 1, png))
    ref = read(tmp / f"{names[0]}-{args.n2}.h5", args.size)
    floor_cpu = None
    result = {"size": args.size, "n1": args.n1, "n2": args.n2, "rig": str(rig), "costume": costume, "engines": {}}
    for name in [*names, "bare workbench, AA off (floor)"]:
        t = times[name]
        wall = (min(w for w, _ in t[args.n2]) - min(w for w, _ in t[args.n1])) / (args.n2 - args.n1)
        cpu = (min(c for _, c in t[args.n2]) - min(c for _, c in t[args.n1])) / (args.n2 - args.n1)
        row = {"wall_s_per_frame": round(wall, 3), "cpu_s_per_frame": round(cpu, 3)}
        if name.startswith("bare"):
            floor_cpu = cpu
        else:
            d = read(tmp / f"{name}-{args.n2}.h5", args.size)
            row.update(figure_stats(d["images"], d["masks"]), psnr_vs_reference=round(psnr(d["images"], ref["images"]), 2),
                       same_keypoints_and_cameras=all(np.array_equal(d[k], ref[k]) for k in SAME),
                       mask_iou=round(float(((d["masks"] > 0) & (ref["masks"] > 0)).sum()
                                            / ((d["masks"] > 0) | (ref["masks"] > 0)).sum()), 3),
                       lighting=d["render"].get("lighting", "n/a"), samples=d["render"].get("samples"))
        result["engines"][name] = row
    for row in result["engines"].values():
        row["cpu_x_floor"] = round(row["cpu_s_per_frame"] / floor_cpu, 1) if floor_cpu else None
    result["load_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
