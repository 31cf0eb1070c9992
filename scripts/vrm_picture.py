"""The picture of docs/rigs.md, "Your own characters": the Godette VRM in its own colours, 4 poses of the CMU
walk at 256 x 256 and two of them beside their coco18 keypoints (a contact sheet of 200-pixel tiles).

Usage:  python scripts/vrm_picture.py docs/vrm_godette.png [--vrm FILE] [--bvh FILE]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from click.testing import CliRunner

from datagen.cli import main

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"


def run(*args) -> None:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if res.exit_code != 0:
        raise SystemExit(res.output)


def picture(out: Path, vrm: Path, bvh: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "vrm.h5"
        run("render", "--quiet", "--rig", vrm, "--motion", bvh, "--keypoints", "coco18", "--frames", 4, "--size", 256,
            "-o", data)
        run("preview", data, "-o", out, "--n", 2, "--size", 200, "--cols", 2)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--vrm", type=Path, default=ASSETS / "rigs" / "Godette_vrm_v4.vrm")
    ap.add_argument("--bvh", type=Path, default=ASSETS / "motion" / "131_01.bvh")
    args = ap.parse_args()
    picture(args.out, args.vrm, args.bvh)
