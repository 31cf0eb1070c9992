"""Benchmark: `datagen combine` of two rendered-style files (N rows each, 256x256, gzip images).

Measured against floors in the same run, on the same files: copying the inputs' bytes (``cp``), which
is what a join that copies compressed image chunks cannot beat, and decoding every stored image and mask
once (h5py, in chunks of rows), which the combine does to refuse a corrupt input. Then the combine with nothing to change
(chunks copied as bytes, each decoded once to catch corruption), with ``--size 128`` (the inputs' own
level 128 copied) and with ``--keypoint-set coco18``. Each run is a subprocess, so its peak memory (max
RSS) is its own: run with two N to see that memory does not grow with the rows.

Usage:  .venv/bin/python tests/bench/bench_combine.py [--n 1000 4000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from datagen.format import DatasetHeader, DatasetWriter

SIZE = 256
ROOT = Path(__file__).resolve().parents[2]


def write_input(path: Path, n: int, seed: int) -> None:
    """n rows of smooth, character-like images (so gzip works as on renders) with rendered-style fields."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.synthetic import synthetic_rows

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    header = DatasetHeader("avatar20", SIZE, config={"rig": f"rig{seed}.blend"}, costume_names=["a", "b"],
                           clip_names=["c", "d", "e"])
    with DatasetWriter(path, header, segment_rows=256) as w:
        for a in range(0, n, 256):
            m = min(256, n - a)
            rows = synthetic_rows(m, SIZE, seed=seed + a)
            img = np.full((m, SIZE, SIZE, 3), 255, np.uint8)
            for i in range(m):
                cx, cy = rng.uniform(80, 176, 2)
                body = ((xx - cx) / 40.0) ** 2 + ((yy - cy) / 90.0) ** 2 < 1
                img[i][body] = rng.integers(0, 255, 3)
            rows["images"] = img
            rows["masks"] = np.where((img != 255).any(-1), 255, 0).astype(np.uint8)
            w.append(rows)


def timed(args: list[str]) -> dict:
    """Run a command; its wall time and peak memory."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    return {"seconds": round(float(out[0]), 2), "max_rss_mib": round(int(out[1]) / 1024, 1)}


def decode_all(paths: list[Path]) -> float:
    import h5py

    t = time.perf_counter()
    for p in paths:
        with h5py.File(p, "r") as f:
            names = [f"images/{r}" for r in f["images"]] + [f"masks/{r}" for r in f["masks"]]
            for name in names:
                for a in range(0, f[name].shape[0], 256):
                    f[name][a:a + 256]
    return round(time.perf_counter() - t, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 4000], help="rows per input file")
    ap.add_argument("--keep", type=Path, default=None)
    a = ap.parse_args()
    work = Path(a.keep or tempfile.mkdtemp(prefix="bench-combine-"))
    work.mkdir(parents=True, exist_ok=True)
    datagen = [sys.executable, "-m", "datagen.cli", "combine"]
    results = []
    try:
        for n in a.n:
            ins = [work / f"in{n}-{k}.h5" for k in range(2)]
            for k, p in enumerate(ins):
                if not p.exists():
                    write_input(p, n, seed=k)
            mib = sum(p.stat().st_size for p in ins) / 2**20
            res = {"rows": 2 * n, "input_mib": round(mib, 1)}
            t = time.perf_counter()
            for k, p in enumerate(ins):
                shutil.copyfile(p, work / f"copy{k}.h5")
            res["floor_cp_seconds"] = round(time.perf_counter() - t, 2)
            res["floor_decode_seconds"] = decode_all(ins)
            for name, extra in (("same", []), ("size128", ["--size", "128"]), ("coco18", ["--keypoint-set", "coco18"])):
                out = work / f"out-{name}.h5"
                out.unlink(missing_ok=True)
                res[name] = timed([*datagen, *map(str, ins), *extra, "-o", str(out)])
                res[name]["rows_per_s"] = round(2 * n / res[name]["seconds"])
                out.unlink()
            results.append(res)
            print(json.dumps(res))
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
