"""A pose is a function of (clip, frame) only: bones a clip does not key are at rest whatever clip ran
before, in the plan, in every worker and after --resume (docs/rigs.md#motion-clips).

Rigs whose clips key different bones: the partial rig made here (ArmsUp keys the upper arms, Bend only
the spine) and the shared RobotExpressive (Walking keys 16 of its bones, Wave 17). One worker, two
workers and a resumed run give the same rows byte for byte, and each row's stored keypoints equal an
independent bpy evaluation of the posed rig, and lie on the drawn figure.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bpy
import h5py
import numpy as np
import pytest
from mathutils import Matrix

from helpers import blender_rigs
from helpers.synthetic import SHARED_ASSETS
from datagen.format import open_dataset
from datagen.format.keypoint_sets import AVATAR20
from datagen.render.workers import CRASH_ENV

pytestmark = [pytest.mark.blender, pytest.mark.slow]
ROBOT = SHARED_ASSETS / "rigs" / "RobotExpressive.glb"


def render(rig: Path, out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datagen.cli", "render", "--quiet", "--rig", str(rig), "--size", "64",
                           "-o", str(out), *extra], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def datasets(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def one_two_and_resumed(rig: Path, tmp_path: Path, *args: str, crash_at: int) -> Path:
    """Render with one worker, two workers, and one run stopped by a crash before job ``crash_at`` then
    resumed (its worker starts on a later clip); assert all three equal; return the first."""
    one, two, resumed = tmp_path / "one.h5", tmp_path / "two.h5", tmp_path / "resumed.h5"
    for out, extra in ((one, ()), (two, ("--workers", "2"))):
        r = render(rig, out, *args, *extra)
        assert r.returncode == 0, r.stderr
    r = render(rig, resumed, *args, "--attempts", "1", env={CRASH_ENV: f"{crash_at}:9"})
    assert r.returncode == 1 and not resumed.exists(), r.stderr
    r = render(rig, resumed, *args, "--resume")
    assert r.returncode == 0 and "from the earlier run" in r.stdout, r.stderr
    ref = datasets(one)
    for other in (two, resumed):
        got = datasets(other)
        assert sorted(got) == sorted(ref)
        for name in ref:
            assert np.array_equal(got[name], ref[name], equal_nan=ref[name].dtype.kind == "f"), (other.name, name)
    return one


def posed_points(arm, bones: dict[str, str | None]) -> np.ndarray:
    """(K, 3) world head (or tail, for "Bone (tail)") of each keypoint's bone in the evaluated pose."""
    ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
    out = np.full((len(AVATAR20.names), 3), np.nan)
    for k, name in enumerate(AVATAR20.names):
        src = bones.get(name)
        if src:
            bone, tail = (src[:-7], True) if src.endswith(" (tail)") else (src, False)
            pb = ev.pose.bones[bone]
            out[k] = ev.matrix_world @ (pb.tail if tail else pb.head)
    return out


def check_rows_against_bpy(data: Path, arm, scene) -> None:
    """Pose the rig here for each row's clip and frame (every bone at rest first, then the clip's
    Action); the stored keypoints equal its bones, re-project onto the stored pixels, and each visible
    keypoint lies on the drawn figure (coverage within 1 px)."""
    with open_dataset(data) as ds:
        xy, xyz, vis = ds.xy, ds.read("pose/xyz"), ds.visibility
        E, clip, frame = ds.read("camera/extrinsics"), ds.read("meta/clip"), ds.read("meta/frame")
        clip_names, bones, masks = ds.names("clip"), ds.config["keypoint_bones"], ds.read("masks/64")
    check = blender_rigs.CheckCamera(scene, 64)
    ad = arm.animation_data or arm.animation_data_create()
    for row in range(len(xy)):
        for pb in arm.pose.bones:
            pb.matrix_basis = Matrix.Identity(4)  # location, rotation and scale at rest
        action = bpy.data.actions[clip_names[clip[row]]]
        ad.use_nla = False
        ad.action = action
        slots = [s for s in action.slots if s.target_id_type == "OBJECT"]
        ad.action_slot = next((s for s in slots if s.identifier == "OB" + arm.name), slots[0])
        t = action.frame_range[0] + frame[row]
        scene.frame_set(int(t), subframe=float(t - int(t)))
        pts = posed_points(arm, bones)
        mapped = np.isfinite(pts).all(1)
        np.testing.assert_allclose(xyz[row][mapped], pts[mapped], atol=1e-4)
        pixels, depth = check.project(E[row], pts[mapped])
        np.testing.assert_allclose(xy[row][mapped], pixels, atol=2e-3)
        covered = masks[row] > 0
        near = covered.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                near |= np.roll(covered, (dy, dx), axis=(0, 1))
        shown = vis[row] == 2
        px = np.floor(xy[row][shown]).astype(int)
        assert near[px[:, 1], px[:, 0]].all(), (row, np.flatnonzero(shown)[~near[px[:, 1], px[:, 0]]])


def test_partial_clips_rig(tmp_path):
    rig = blender_rigs.build_partial(tmp_path / "partial.blend")
    # 6 poses: 3 of ArmsUp, then 3 of Bend (which leaves the arms at rest). Two workers: the second
    # starts on Bend; the resumed run continues at job 4 (Bend) in a fresh Blender.
    data = one_two_and_resumed(rig, tmp_path, "--frames", "6", crash_at=4)
    with open_dataset(data) as ds:
        assert ds.names("clip") == ["ArmsUp", "Bend"] and ds.read("meta/clip").tolist() == [0, 0, 0, 1, 1, 1]
        xyz = ds.read("pose/xyz")
    elbow, shoulder = AVATAR20.names.index("LeftLowerArm"), AVATAR20.names.index("LeftUpperArm")
    assert (xyz[:3, elbow, 2] > xyz[:3, shoulder, 2] + 0.1).all()  # ArmsUp: the elbows above the shoulders
    np.testing.assert_allclose(xyz[3:, elbow, 2] - xyz[3:, shoulder, 2], 0, atol=0.05)  # Bend: the arms at rest
    bpy.ops.wm.open_mainfile(filepath=str(rig), use_scripts=False)
    check_rows_against_bpy(data, bpy.data.objects["Armature"], bpy.context.scene)


@pytest.mark.skipif(not ROBOT.is_file(), reason="shared RobotExpressive.glb not present")
def test_robot_expressive_walking_then_wave(tmp_path):
    data = one_two_and_resumed(ROBOT, tmp_path, "--clips", "Walking,Wave", "--frames", "6", crash_at=4)
    with open_dataset(data) as ds:
        assert ds.names("clip") == ["Walking", "Wave"] and 1 in ds.read("meta/clip")[3:]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(ROBOT), bone_heuristic="TEMPERANCE")
    arm = max((o for o in bpy.context.scene.objects if o.type == "ARMATURE"), key=lambda o: len(o.data.bones))
    check_rows_against_bpy(data, arm, bpy.context.scene)
