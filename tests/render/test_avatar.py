"""The default avatar (rigs/): reproducible build, costumes, toon look, joint bending, motion clips."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
RIGS = ROOT / "rigs"
AVATAR = RIGS / "avatar.blend"
sys.path.insert(0, str(RIGS))

from avatar import motions  # noqa: E402
from avatar.skeleton import BONE_NAMES  # noqa: E402
from datagen.format.keypoint_sets import AVATAR20  # noqa: E402

pytestmark = pytest.mark.blender


def _fingerprint_close(a, b, path="") -> list[str]:
    """Differences between two fingerprints (numbers compared with a small tolerance)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys differ: {sorted(set(a) ^ set(b))[:5]}"]
        return [d for k in a for d in _fingerprint_close(a[k], b[k], f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _fingerprint_close(x, y, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return [] if abs(a - b) <= 1e-3 * max(1.0, abs(a), abs(b)) else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_rebuild_matches_committed_file(tmp_path):
    out = tmp_path / "avatar.blend"
    t0 = time.time()
    subprocess.run([sys.executable, str(RIGS / "build_avatar.py"), "-o", str(out), "--json", str(tmp_path / "new.json")],
                   check=True, capture_output=True)
    assert time.time() - t0 < 120, "building the avatar must take under 2 minutes"
    assert out.stat().st_size < 6e6
    subprocess.run([sys.executable, str(RIGS / "build_avatar.py"), "--fingerprint", str(AVATAR),
                    "--json", str(tmp_path / "old.json")], check=True, capture_output=True)
    new = json.loads((tmp_path / "new.json").read_text())
    old = json.loads((tmp_path / "old.json").read_text())
    diffs = _fingerprint_close(new, old)
    assert not diffs, "rigs/avatar.blend is stale, rebuild it (rigs/README.md): " + "; ".join(diffs[:8])


@pytest.fixture
def avatar():
    import bpy
    bpy.ops.wm.open_mainfile(filepath=str(AVATAR), load_ui=False, use_scripts=False)
    return bpy.data.objects["Avatar"]


def test_armature_conventions(avatar):
    bones = avatar.data.bones
    assert set(AVATAR20.names) <= set(bones.keys())
    heads = {n: np.array(bones[n].head_local) for n in AVATAR20.names}
    assert heads["LeftUpperArm"][0] > 0 > heads["RightUpperArm"][0]  # character's left = +X
    assert heads["LeftToes"][1] < heads["LeftFoot"][1]  # toes point to -Y: facing -Y
    top = max(np.array(b.tail_local)[2] for b in bones)
    assert 1.5 < top < 1.7
    body = next(o for o in avatar.children if o.name == "Body")
    z = np.array([v.co.z for v in body.data.vertices])
    assert abs(z.min()) < 0.005 and 1.55 < z.max() < 1.65  # feet on the floor, about 1.6 m tall
    head = z.max() - np.array(bones["Head"].head_local)[2] + 0.03  # skull base to chin ~3 cm
    assert 1 / 7 < head / z.max() < 1 / 5


def test_costumes(avatar):
    import bpy
    root = bpy.data.collections["Costumes"]
    names = [c.name for c in root.children]
    assert len(names) >= 79 and len(set(names)) == len(names)
    seen = set()
    for c in root.children:
        pal = json.loads(c["palette"])
        assert pal and all(len(v) == 3 and all(0 <= x <= 1 for x in v) for v in pal.values())
        assert all(m in bpy.data.materials for m in pal)
        objs = sorted(o.name for o in c.objects)
        assert any(o.startswith("Hair_") for o in objs)
        key = (tuple(objs), json.dumps(pal, sort_keys=True))
        assert key not in seen, f"{c.name} duplicates another costume"
        seen.add(key)
    # every garment is skinned to the armature and has its own material
    garments = {o for c in root.children for o in c.objects}
    for o in garments:
        assert o.modifiers["Armature"].object == avatar and o.data.materials
    assert bpy.context.scene.display.shading.light == "MATCAP"
    assert bpy.context.scene.display.shading.show_object_outline


def _render(path, size=64, **cam):
    from avatar import preview
    preview.setup_camera(size, **cam)
    preview.render(str(path))
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_costumes_render_differently(avatar, tmp_path):
    from avatar import preview
    names = ["schoolgirl_1", "schoolgirl_2", "street_1", "summer_3", "mage_5"]
    imgs = []
    for n in names:
        preview.set_costume(n)
        imgs.append(_render(tmp_path / f"{n}.png", target=(0, 0, 0.85), ortho_scale=2.0))
    for i in range(len(imgs)):
        assert (imgs[i][0] >= 250).all() and (imgs[i][:, 0] >= 250).all()  # white background
        for j in range(i):
            assert np.abs(imgs[i] - imgs[j]).mean() > 1.0, (names[i], names[j])


def _holes(img: np.ndarray) -> int:
    """Background pixels enclosed by the character (not connected to the image border)."""
    import cv2
    bg = np.pad((img.min(axis=2) >= 250).astype(np.uint8), 1, constant_values=1)
    mask = np.zeros((bg.shape[0] + 2, bg.shape[1] + 2), np.uint8)
    cv2.floodFill(bg, mask, (0, 0), 2)
    return int((bg == 1).sum())


@pytest.mark.parametrize("bone, target", [("LeftLowerArm", (0.40, 0.0, 1.08)), ("LeftLowerLeg", (0.09, 0.0, 0.50))])
def test_bent_joint_has_no_cracks(avatar, tmp_path, bone, target):
    """A 90-degree elbow / knee: the silhouette around the joint has no background pixels inside."""
    import bpy
    from avatar import preview
    from datagen.pose.rotations import quat_from_matrix
    preview.set_costume(None)  # the bare body
    avatar.animation_data.action = None
    i = BONE_NAMES.index(bone)
    rest = np.array(avatar.data.bones[bone].matrix_local)[:3, :3]
    R = motions.bone_rotation(bone, (0, 0, 0, 0, 90))
    pb = avatar.pose.bones[bone]
    pb.rotation_mode = "QUATERNION"
    pb.rotation_quaternion = quat_from_matrix(rest.T @ R @ rest)
    bpy.context.view_layer.update()
    elbow = np.array(avatar.pose.bones[bone].head)
    tip = np.array(avatar.pose.bones[bone].tail)
    parent = np.array(avatar.pose.bones[BONE_NAMES[i - 1]].head)
    cos = np.dot(tip - elbow, elbow - parent) / np.linalg.norm(tip - elbow) / np.linalg.norm(elbow - parent)
    assert abs(cos) < 0.1  # bent about 90 degrees
    # look at the joint from the side where the fold is visible
    yaw = 90 if "Leg" in bone else 0
    pitch = 0 if "Leg" in bone else 80
    img = _render(tmp_path / "bend.png", size=128, target=tuple(elbow), ortho_scale=0.35, yaw_deg=yaw, pitch_deg=pitch)
    assert (img.min(axis=2) < 250).mean() > 0.1  # the limb is in view
    assert _holes(img) == 0


def test_clip_library(avatar):
    import bpy
    acts = {a.name: a for a in bpy.data.actions}
    assert set(motions.CLIPS) == set(acts)  # nothing else is an Action
    for name in ("idle", "walk", "run", "wave", "jump", "turn360", "dance", "bow"):
        a = acts[name]
        fps = a["fps"]
        start, end = a.frame_range
        assert fps in (24, 30) and start == 1 and 2.0 <= (end - start) / fps <= 4.0, name
        assert a.slots[0].identifier == "OBAvatar"
        bag = a.layers[0].strips[0].channelbag(a.slots[0])
        bones = {fc.data_path.split('"')[1] for fc in bag.fcurves}
        assert set(AVATAR20.names) <= bones


@pytest.mark.parametrize("name", list(motions.CLIPS))
def test_clip_continuity_and_neutral_ends(name):
    clip = motions.make_clip(name)
    J = clip.joints()  # (T,B,3)
    n0, r0 = motions.pose_deltas(motions.NEUTRAL)
    neutral = motions.joint_positions(n0, r0 + [0, 0, motions.ground_offset(n0, r0)])
    for end in (J[0], J[-1]):  # clips chain: each starts and ends in the neutral pose
        assert np.abs(end - neutral).max() < 0.02, name
    # no jumps: joints move less than 0.4 m per frame (a sprinting foot at 24 fps) and change speed smoothly
    step = np.linalg.norm(np.diff(J, axis=0), axis=2).max()
    accel = np.linalg.norm(np.diff(J, 2, axis=0), axis=2).max()
    assert step < 0.4 and accel < 0.25, (name, step, accel)


@pytest.mark.parametrize("name", ["walk", "run", "idle", "dance"])
def test_feet_on_the_floor_in_blender(avatar, name):
    """The evaluated body's lowest vertex stays on the floor through walk and run."""
    import bpy
    from avatar import preview
    body = bpy.data.objects["Body"]
    act = bpy.data.actions[name]
    lows = []
    for f in range(1, int(act.frame_range[1]) + 1, 5):
        preview.set_pose(avatar, name, f)
        ev = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
        co = np.empty(len(ev.data.vertices) * 3, np.float32)
        ev.data.vertices.foreach_get("co", co)
        lows.append(co.reshape(-1, 3)[:, 2].min())
    lows = np.array(lows)
    assert np.all(np.abs(lows) < 0.02), lows
