"""Benchmark: importing 10,000 OpenPose-annotated 256x256 JPEG images (issue 5 target: >= 500 images/s).

Measured against baselines in the same run, on the same files:
  * decode: the bare cost of reading and decoding the JPEGs with cv2 (one thread);
  * writer: DatasetWriter alone, appending already-decoded rows (one process), the floor a single
    importer process cannot go below;
then the import itself (``import_openpose``, one worker process per CPU), with the default lzf image
compression and with none.

Usage:  .venv/bin/python tests/bench/bench_import.py [--n 10000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from datagen.format import DatasetHeader, DatasetWriter
from datagen.io.importers import ImportOptions, import_openpose, read_image

SIZE = 256
DISTINCT = 64  # distinct pictures, repeated under different names


def fashion_photo(rng: np.random.Generator) -> np.ndarray:
    """A shop-photo stand-in: light, slightly graded background, a textured figure, a face."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[...] = (228 + 12 * np.sin(xx / 37.0 + rng.uniform(0, 6)))[..., None]
    colour = rng.integers(20, 235, 3)
    body = ((xx - 128) / 42.0) ** 2 + ((yy - 150) / 95.0) ** 2 < 1
    tex = cv2.resize((rng.standard_normal((48, 48, 3)) * 28).astype(np.float32), (SIZE, SIZE),
                     interpolation=cv2.INTER_CUBIC)
    img[body] = colour + tex[body]
    cv2.circle(img, (128, 42), 21, (205, 165, 140), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def openpose_people(rng: np.random.Generator) -> list[float]:
    """One COCO-18 person (OpenPose 1.3 layout) inside the image, a few parts missing."""
    kp = np.column_stack([rng.uniform(20, 236, 18), rng.uniform(10, 250, 18), rng.uniform(0.3, 1.0, 18)])
    kp[rng.choice(18, 3, replace=False)] = 0
    return [round(float(v), 3) for v in kp.reshape(-1)]


def make_inputs(root: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    images, keypoints = root / "images", root / "keypoints"
    images.mkdir()
    keypoints.mkdir()
    jpegs = [cv2.imencode(".jpg", fashion_photo(rng), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
             for _ in range(DISTINCT)]
    for i in range(n):
        (images / f"img_{i:06d}.jpg").write_bytes(jpegs[i % DISTINCT])
        doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": openpose_people(rng)}]}
        (keypoints / f"img_{i:06d}_keypoints.json").write_text(json.dumps(doc))
    return images, keypoints


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:8.0f} images/s ({seconds:6.2f} s)"


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) used so far by this process and by its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_import-")) if args.keep is None else args.keep
    root.mkdir(parents=True, exist_ok=True)
    cpus = os.cpu_count() or 1
    try:
        t = time.perf_counter()
        images, keypoints = make_inputs(root, args.n)
        print(f"inputs: {args.n} JPEGs {SIZE}x{SIZE} + OpenPose JSON in {time.perf_counter() - t:.1f} s; {cpus} CPUs")
        files = sorted(images.iterdir())

        def decode_all() -> float:
            t = time.perf_counter()
            for f in files:
                read_image(f)
            return time.perf_counter() - t

        load = os.getloadavg()[0]
        decode = decode_all()

        n_writer = min(args.n, 2000)
        decoded = np.stack([read_image(f) for f in files[:DISTINCT]])
        header = DatasetHeader("coco18", SIZE, image_compression="lzf")
        t = time.perf_counter()
        with DatasetWriter(root / "writer.h5", header) as w:
            for start in range(0, n_writer, 64):
                m = min(64, n_writer - start)
                w.append({"images": decoded[np.arange(start, start + m) % DISTINCT],
                          "pose/xy": np.zeros((m, 18, 2), np.float32), "pose/visibility": np.zeros((m, 18), np.uint8),
                          "meta/source": np.array(["img.jpg"] * m, dtype=object)})
        writer = time.perf_counter() - t

        results = {}
        for compression in ("lzf", "none"):  # lzf is the default
            out = root / f"import-{compression}.h5"
            t, (me0, kids0) = time.perf_counter(), cpu_seconds()
            s = import_openpose(images, keypoints, out, ImportOptions(image_compression=compression))
            seconds, (me1, kids1) = time.perf_counter() - t, cpu_seconds()
            assert s.imported == args.n, s.format()
            # CPU time is what contention does not change much: the workers' share runs in parallel, the
            # main process's (listing, joining the shards) after them.
            idle = (kids1 - kids0) / cpus + (me1 - me0)
            results[compression] = (seconds, idle, (kids1 - kids0 + me1 - me0) / args.n * 1e3,
                                    out.stat().st_size / 2**20 * 1024 / args.n)
            out.unlink()
        decode = (decode + decode_all()) / 2  # before and after: the machine is shared and noisy
        load = max(load, os.getloadavg()[0])

        print(f"baseline cv2 decode, 1 thread        {rate(args.n, decode)}  [mean of a run before and after]")
        print(f"baseline DatasetWriter, 1 process    {rate(n_writer, writer)}  [{n_writer} rows, lzf]")
        for compression, (seconds, idle, cpu_ms, kib) in results.items():
            print(f"import-openpose, {cpus} workers, {compression:4s} {rate(args.n, seconds)}  "
                  f"= {decode / seconds:.2f}x decode rate; {cpu_ms:.2f} CPU ms/image, {kib:.0f} KiB/row; "
                  f"on {cpus} idle CPUs ~{args.n / idle:.0f} images/s")
        best = args.n / results["lzf"][0]
        print(f"load average up to {load:.1f} on {cpus} CPUs; target >= 500 images/s (default lzf): "
              f"{'met' if best >= 500 else 'NOT met'} in wall-clock time")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
