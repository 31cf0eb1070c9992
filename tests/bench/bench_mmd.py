"""Benchmark: an MMD model against a glTF rig of the same triangles, and both against the bare render.

The model is tests/helpers/mmd_files.py's humanoid with ``--rings`` rings per limb tube (150: ~25,000
triangles, 23 skinned parts); the glTF rig is that same model exported from Blender as .glb (same mesh,
bones, weights and materials), so only the file format differs. Both dance the helper's VMD
(``--motion``, retargeted the same way). Measured in this process, rounds alternating, minimum kept:
  * load: opening the rig file into a fresh Blender session (parse + build for MMD; the glTF importer);
  * per frame: the marginal cost of ``run_render`` (T(n2) - T(n1)) / (n2 - n1) at ``--size``, one
    costume, the default engine; so one-off set-up (loading, retargeting, the GL context) does not count;
  * floor: the bare render of the glTF rig, anti-aliasing off: per pose ``frame_set`` +
    ``bpy.ops.render.render(write_still=True)`` to a PNG.
Target (docs/benchmarks.md): the MMD model's per-frame cost at most 1.2x the glTF rig's.

Usage:  .venv/bin/python tests/bench/bench_mmd.py [--rings 150] [--size 256] [--n1 4 --n2 12] [--rounds 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (helpers)

from helpers import mmd_files  # noqa: E402
from datagen.render import RenderConfig, RunOptions, file_sha256, run_render  # noqa: E402


def export_glb(pmx: Path, out: Path) -> Path:
    import bpy

    from datagen.render.blender.rig import load_rig
    from datagen.render.blender.session import quiet_fds

    with quiet_fds():
        load_rig(pmx)
        for act in list(bpy.data.actions):
            bpy.data.actions.remove(act)
        bpy.ops.export_scene.gltf(filepath=str(out), export_format="GLB", export_animations=False)
    return out


def load_seconds(rig: Path) -> float:
    from datagen.render.blender.rig import load_rig
    from datagen.render.blender.session import quiet_fds

    t = time.perf_counter()
    with quiet_fds():
        load_rig(rig)
    return time.perf_counter() - t


def pipeline(rig: Path, vmd: Path, frames: int, size: int, out: Path) -> float:
    out.unlink(missing_ok=True)
    config = RenderConfig(rig=str(rig), rig_sha256=file_sha256(rig), frames=frames, size=size, motions=[str(vmd)],
                          motions_sha256=[file_sha256(vmd)])
    t = time.perf_counter()
    run_render(config, RunOptions(out=out, progress=False))
    return time.perf_counter() - t


def bare(rig: Path, reference: Path, size: int, png_dir: Path) -> tuple[float, int]:
    """(seconds, renders) of the bare anti-aliasing-off render of the reference file's cameras."""
    import bpy

    from datagen.format import open_dataset
    from datagen.render.blender import capture, rig as rigmod
    from datagen.render.blender.session import quiet_fds

    with open_dataset(reference) as ds:
        cams = ds.read("camera/extrinsics")
    with quiet_fds():
        r = rigmod.load_rig(rig)
    scene = r.scene
    capture.configure_render(scene, "workbench-taa", size, 1, keep_look=False)
    s = scene.render.image_settings
    s.file_format, s.color_mode = "PNG", "RGBA"
    cam = capture.make_camera(scene, 50.0)
    t = time.perf_counter()
    for i, E in enumerate(cams):
        scene.frame_set(1 + i)
        capture.place_camera(cam, E, 0.01, 1000.0)
        scene.render.filepath = str(png_dir / f"frame_{i:05d}.png")
        with quiet_fds():
            bpy.ops.render.render(write_still=True)
    return time.perf_counter() - t, len(cams)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rings", type=int, default=150)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--n1", type=int, default=4)
    ap.add_argument("--n2", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        pmx = mmd_files.write_pmx(d / "ミク.pmx", rings=a.rings)
        vmd = mmd_files.write_vmd(d / "踊り.vmd", mmd_files.dance_keys(60))
        glb = export_glb(pmx, d / "miku.glb")
        from datagen.mmd.model import load_model
        tris = len(load_model(pmx).triangles)
        rigs = {"pmx": pmx, "glb": glb}
        load = {k: [] for k in rigs}
        per_frame = {k: [] for k in rigs}
        floor = []
        for _ in range(a.rounds):
            for k, rig in rigs.items():
                load[k].append(load_seconds(rig))
                t1 = pipeline(rig, vmd, a.n1, a.size, d / f"{k}1.h5")
                t2 = pipeline(rig, vmd, a.n2, a.size, d / f"{k}2.h5")
                per_frame[k].append((t2 - t1) / (a.n2 - a.n1))
            (d / "png").mkdir(exist_ok=True)
            secs, n = bare(glb, d / "glb2.h5", a.size, d / "png")
            floor.append(secs / n)
    best = {k: min(v) for k, v in per_frame.items()}
    print(f"model: {tris} triangles, {a.size}x{a.size}, frames {a.n1} -> {a.n2}, best of {a.rounds}")
    print(f"load (s):        pmx {min(load['pmx']):.3f}   glb {min(load['glb']):.3f}")
    print(f"per frame (s):   pmx {best['pmx']:.4f}   glb {best['glb']:.4f}   bare render {min(floor):.4f}")
    print(f"pmx / glb per frame: {best['pmx'] / best['glb']:.2f}x (target <= 1.2x); "
          f"pmx / bare render: {best['pmx'] / min(floor):.2f}x")


if __name__ == "__main__":
    main()
