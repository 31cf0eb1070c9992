"""Benchmark: rendering a VRM (its toon look and outline hull) against the same character as a plain glTF
(target: <= 1.2x per frame), and both against the bare render.

The same file twice: the VRM (default: the Godette VRM 0.x of ../shared/assets) and a copy with its VRM
extensions removed (``.glb``: the same meshes and triangles, the glTF importer's own materials, the plain
default look; the VRM's humanoid table is passed as ``--keymap`` so the bones map alike). Each is rendered
with the CMU clip as motion, at ``--size``, in this process, rounds alternating so the machine's noise is
shared:
  * pipeline: ``run_render`` as ``datagen render`` runs it (default engine: workbench, 2 jittered renders);
  * bare: the same session's frames with nothing but ``go_to`` + one render (anti-aliasing off), the floor.
The per-frame cost is the marginal cost, (T(n2) - T(n1)) / (n2 - n1) (loading does not count); the
minimum over rounds is kept.

Usage:  .venv/bin/python tests/bench/bench_vrm.py [--vrm FILE] [--size 512] [--n1 4 --n2 12] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import tempfile
import time
from pathlib import Path

from datagen.pose.bone_mapping import read_gltf_json, vrm_humanoid
from datagen.render import RenderConfig, RunOptions, file_sha256, run_render

ASSETS = Path(__file__).resolve().parents[3] / "shared" / "assets"
GODETTE = ASSETS / "rigs" / "Godette_vrm_v4.vrm"
BVH = ASSETS / "motion" / "131_01.bvh"


def plain_gltf(vrm: Path, out: Path) -> tuple[Path, dict]:
    """A copy of ``vrm`` without its VRM extensions (a .glb) and the keymap its humanoid table gives."""
    data = vrm.read_bytes()
    length = struct.unpack_from("<I", data, 12)[0]
    doc = read_gltf_json(vrm)
    keymap = vrm_humanoid(doc)
    doc.get("extensions", {}).pop("VRM", None)
    doc.get("extensions", {}).pop("VRMC_vrm", None)
    for mat in doc.get("materials", []):
        mat.get("extensions", {}).pop("VRMC_materials_mtoon", None)
    doc["extensionsUsed"] = [e for e in doc.get("extensionsUsed", []) if not e.startswith("VRM")]
    raw = json.dumps(doc).encode()
    raw += b" " * (-len(raw) % 4)
    rest = data[20 + length:]
    out.write_bytes(b"glTF" + struct.pack("<II", 2, 20 + len(raw) + len(rest)) + struct.pack("<II", len(raw), 0x4E4F534A)
                    + raw + rest)
    return out, keymap


def pipeline(rig: Path, keymap: dict | None, frames: int, size: int, out: Path) -> float:
    out.unlink(missing_ok=True)
    config = RenderConfig(rig=str(rig), rig_sha256=file_sha256(rig), frames=frames, size=size, keymap=keymap,
                          motions=[str(BVH)], motions_sha256=[file_sha256(BVH)])
    t = time.perf_counter()
    run_render(config, RunOptions(out=out, progress=False))
    return time.perf_counter() - t


def bare(rig: Path, keymap: dict | None, frames: int, size: int) -> tuple[float, int]:
    """(seconds for ``frames`` renders of the loaded session, triangles drawn per frame)."""
    import numpy as np

    from datagen.render.blender import capture
    from datagen.render.blender.session import BlenderSession, quiet_fds
    from datagen.render.projection import camera_from_fit, view_rotation

    s = BlenderSession(rig, keymap=keymap, motions=[str(BVH)])
    s.configure("workbench", size, 1, 50.0)
    s.switcher.show(s.costumes[0])
    pose = s.rest_keypoints()
    centre = np.nanmean(pose, axis=0)
    rot = view_rotation(np.array([0.0, -1.0, 0.0]), 0.0, 5.0)
    capture.place_camera(s.camera, camera_from_fit(rot, rot @ centre, 4.0), 0.1, 100.0)
    dg = s.depsgraph
    tris = sum(len(o.evaluated_get(dg).data.loop_triangles) for o in s.framing_objects())
    clip = s.clips[0]
    t = time.perf_counter()
    for i in range(frames):
        s.go_to(0, clip.start + (clip.end - clip.start) * i / max(1, frames))
        with quiet_fds():
            s.renderer.render()
    dt = time.perf_counter() - t
    s.close()
    return dt, tris


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vrm", type=Path, default=GODETTE)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--n1", type=int, default=4)
    ap.add_argument("--n2", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_vrm_"))
    glb, keymap = plain_gltf(args.vrm, tmp / (args.vrm.stem + ".glb"))
    rigs = {"vrm": (args.vrm, None), "gltf": (glb, keymap)}
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"load at start: {os.getloadavg()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    per = {f"{k} {w}": [] for k in rigs for w in ("pipeline", "bare")}
    tris = {}
    for _ in range(args.rounds):
        for name, (rig, km) in rigs.items():
            t = {n: pipeline(rig, km, n, args.size, tmp / f"{name}-{n}.h5") for n in (args.n1, args.n2)}
            per[f"{name} pipeline"].append((t[args.n2] - t[args.n1]) / (args.n2 - args.n1))
            b = {n: bare(rig, km, n, args.size) for n in (args.n1, args.n2)}
            per[f"{name} bare"].append((b[args.n2][0] - b[args.n1][0]) / (args.n2 - args.n1))
            tris[name] = b[args.n2][1]
            print(f"  {name}: pipeline {per[f'{name} pipeline'][-1]:.3f} s/frame, bare {per[f'{name} bare'][-1]:.3f} "
                  f"s/frame, {tris[name]} triangles drawn", flush=True)
    best = {k: min(v) for k, v in per.items()}
    result = {"size": args.size, "n1": args.n1, "n2": args.n2, "rounds": args.rounds, "triangles": tris,
              "seconds_per_frame": best,
              "vrm_over_gltf_pipeline": best["vrm pipeline"] / best["gltf pipeline"],
              "vrm_over_gltf_bare": best["vrm bare"] / best["gltf bare"],
              "vrm_pipeline_over_gltf_bare": best["vrm pipeline"] / best["gltf bare"],
              "load_at_end": os.getloadavg()}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
