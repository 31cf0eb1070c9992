"""Benchmark: the streaming exports (hf, controlnet, yolo) against reading the file alone, at 1024 px.

Two floors in the same run: reading every image block of the file and nothing else (h5py + lzf
decompression), and reading them and encoding each image as PNG on every CPU (what an export of the
images alone must cost). Memory must stay flat in the row count: each export runs in its own process
on files of two lengths, and its peak resident memory is compared (the rows are read and written in
blocks of 64, so the peak must not grow with the rows). Speed is rows/s against the floors.

Needs the export venv (`make test-export` builds .venv-export):
Usage:  .venv-export/bin/python tests/bench/bench_export.py [--rows 128,512] [--size 1024] [--keep DIR]
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

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from datagen.format import DatasetHeader, DatasetWriter  # noqa: E402
from helpers.synthetic import synthetic_rows  # noqa: E402

CHUNK = 32

READ_ONLY = """
import resource, sys, time
from datagen.format import open_dataset
t = time.perf_counter()
with open_dataset(sys.argv[1]) as r:
    im = r.images()
    for s in range(0, len(r), 64):
        im[s:s + 64].sum()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
READ_PNG = """
import resource, sys, time
from datagen.format import open_dataset
from datagen.io.export_rows import on_all_cpus, png_bytes
t = time.perf_counter()
with open_dataset(sys.argv[1]) as r:
    im = r.images()
    for s in range(0, len(r), 64):
        on_all_cpus(png_bytes, im[s:s + 64])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
EXPORT = """
import resource, sys, time
from datagen.io.exporters import export_dataset
t = time.perf_counter()
export_dataset(sys.argv[1], sys.argv[2], sys.argv[3])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_file(path: Path, rows: int, size: int) -> Path:
    """A rendered-like file: smooth images (so lzf compresses them as it does renders) and masks."""
    header = DatasetHeader("avatar20", size, config={"bench": True}, costume_names=["a", "b"],
                           clip_names=["idle", "walk", "run"])
    yy, xx = np.mgrid[0:size, 0:size]
    with DatasetWriter(path, header) as w:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            block = synthetic_rows(n, 16, seed=start)  # the pose and meta; images and masks at `size` below
            block["pose/xy"] = block["pose/xy"] * (size / 16)
            block["camera/intrinsics"][:, :2] *= size / 16
            blob = ((xx - size / 2) ** 2 + (yy - size / 2) ** 2 < (size / 3) ** 2)
            block["masks"] = np.repeat((blob * 255).astype(np.uint8)[None], n, 0)
            img = np.full((n, size, size, 3), 255, np.uint8)
            img[:, blob] = ((np.arange(n)[:, None] * 7 + np.array([40, 90, 160])) % 256)[:, None, :]
            block["images"] = img
            w.append(block)
    return path


def run(code: str, *args: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    secs, kb = out.stdout.split()[-2:]
    return float(secs), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="128,512")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--keep", type=Path, default=None)
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"size": a.size, "cpus": os.cpu_count(), "load": os.getloadavg(), "runs": []}
    for rows in map(int, a.rows.split(",")):
        f = make_file(work / f"data-{rows}.h5", rows, a.size)
        secs, mb = run(READ_ONLY, str(f))
        results["runs"].append({"rows": rows, "what": "read only", "rows_per_s": rows / secs, "peak_mb": mb})
        print(results["runs"][-1], flush=True)
        secs, mb = run(READ_PNG, str(f))
        results["runs"].append({"rows": rows, "what": "read + PNG", "rows_per_s": rows / secs, "peak_mb": mb})
        print(results["runs"][-1], flush=True)
        for to in ("hf", "controlnet", "yolo"):
            out = work / f"{to}-{rows}"
            secs, mb = run(EXPORT, str(f), to, str(out))
            results["runs"].append({"rows": rows, "what": to, "rows_per_s": rows / secs, "peak_mb": mb})
            print(results["runs"][-1], flush=True)
            subprocess.run(["rm", "-rf", str(out)], check=True)
        f.unlink()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
