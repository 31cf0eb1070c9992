"""Benchmark: rendering a VRM (its toon look and outline hull) against the same character as a plain glTF
(target: <= 1.2x per frame), and both against the bare render.

The same file twice: the VRM (default: the Godette VRM 0.x of ../shared/assets) and a copy with its VRM
extensions removed (``.glb``: the same meshes and triangles, the glTF importer's own materials, the plain
default look; the VRM's humanoid table is passed as ``--keymap`` so the bones map alike). Each is rendered
with the CMU clip as motion, at ``--size``, in this process, rounds alternating so the machine's noise is
shared:
  * pipeline: ``run_render`` as ``datagen render`` runs it (default engine: workbench, 2 jittered renders);
  * bare: the same session's frames with nothing but ``go_to`` + one render (anti-aliasing off), the floor.
The per-frame cost is the marginal cost, (T(n2) - T(n1)) / (n2 - n1) (loading does not count), in wall
seconds and in CPU seconds of this process and its threads (Mesa's renderer threads included; steadier
than wall time on a shared machine); the minimum over rounds is kept.

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


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    t1 = clock()
    return t1[0] - t0[0], t1[1] - t0[1]


def pipeline(rig: Path, keymap: dict | None, frames: int, size: int, out: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one ``datagen render`` run."""
    out.unlink(missing_ok=True)
    config = RenderConfig(rig=str(rig), rig_sha256=file_sha256(rig), frames=frames, size=size, keymap=keymap,
                          motions=[str(BVH)], motions_sha256=[file_sha256(BVH)])
    t0 = clock()
    run_render(config, RunOptions(out=out, progress=False))
    return since(t0)


def bare(rig: Path, keymap: dict | None, frames: int, size: int) -> tuple[tuple[float, float], int]:
    """((wall s, CPU s) of ``frames`` renders of the loaded session, triangles drawn per frame)."""
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
    t0 = clock()
    for i in range(frames):
        s.go_to(0, clip.start + (clip.end - clip.start) * i / max(1, frames))
        with quiet_fds():
            s.renderer.render()
    dt = since(t0)
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
    per = {f"{k} {w} {c}": [] for k in rigs for w in ("pipeline", "bare") for c in ("wall", "cpu")}
    tris = {}
    marginal = lambda t: [(t[args.n2][i] - t[args.n1][i]) / (args.n2 - args.n1) for i in (0, 1)]  # noqa: E731
    for _ in range(args.rounds):
        for name, (rig, km) in rigs.items():
            p = marginal({n: pipeline(rig, km, n, args.size, tmp / f"{name}-{n}.h5") for n in (args.n1, args.n2)})
            runs = {n: bare(rig, km, n, args.size) for n in (args.n1, args.n2)}
            b = marginal({n: r[0] for n, r in runs.items()})
            tris[name] = runs[args.n2][1]
            for what, (wall, cpu) in (("pipeline", p), ("bare", b)):
                per[f"{name} {what} wall"].append(wall)
                per[f"{name} {what} cpu"].append(cpu)
            print(f"  {name}: pipeline {p[0]:.3f} s/frame ({p[1]:.3f} CPU s), bare {b[0]:.3f} s/frame ({b[1]:.3f} CPU s), "
                  f"{tris[name]} triangles drawn", flush=True)
    best = {k: min(v) for k, v in per.items()}
    result = {"size": args.size, "n1": args.n1, "n2": args.n2, "rounds": args.rounds, "triangles": tris,
              "seconds_per_frame": best, "load_at_end": os.getloadavg()}
    for c in ("wall", "cpu"):
        result[f"vrm_over_gltf_pipeline_{c}"] = best[f"vrm pipeline {c}"] / best[f"gltf pipeline {c}"]
        result[f"vrm_over_gltf_bare_{c}"] = best[f"vrm bare {c}"] / best[f"gltf bare {c}"]
        result[f"vrm_pipeline_over_gltf_bare_{c}"] = best[f"vrm pipeline {c}"] / best[f"gltf bare {c}"]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
