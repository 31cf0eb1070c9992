"""VRM characters (docs/rigs.md, "Your own characters"): VRM 0.x and 1.0 written by tests/helpers/vrm_files.py
and the real Godette VRM 0.x face the camera at azimuth 0, in their own colours (texture, base colour, MToon
shade colour and outline), with keypoints equal to an independent projection and face points on the face."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import blender_rigs
from helpers.synthetic import SHARED_ASSETS
from helpers.vrm_files import CLOTH_RGB, SHADE, TEXTURE_RGB, node_name, write_vrm
from datagen.cli import main
from datagen.format import open_dataset
from datagen.format.keypoint_sets import AVATAR20, COCO18

pytestmark = pytest.mark.blender
GODETTE = SHARED_ASSETS / "rigs" / "Godette_vrm_v4.vrm"
BVH = SHARED_ASSETS / "motion" / "131_01.bvh"
C = {n: i for i, n in enumerate(COCO18.names)}


def render(*args) -> Path:
    out = Path(args[args.index("-o") + 1])
    res = CliRunner().invoke(main, ["render", "--quiet", *map(str, args)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def vrms(tmp_path_factory) -> dict[str, Path]:
    """VRM 0.x with an adult head, VRM 1.0 with a large anime head, and grey / wide-outline variants."""
    d = tmp_path_factory.mktemp("vrm")
    return {"0": write_vrm(d / "v0.vrm", "0"), "1": write_vrm(d / "v1.vrm", "1", head=2.2),
            "grey": write_vrm(d / "grey.vrm", "0", grey=True),
            "outline": write_vrm(d / "outline.vrm", "1", head=2.2, outline=0.03)}


def srgb(linear) -> np.ndarray:
    c = np.asarray(linear, float)
    return 255 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def near(images: np.ndarray, masks: np.ndarray, rgb, tol: float = 30) -> float:
    """Share of the character's pixels within ``tol`` of colour ``rgb`` (sRGB 0..255)."""
    d = np.linalg.norm(images.astype(float) - np.asarray(rgb, float), axis=-1)
    return float((d[masks] < tol).mean())


def greenish(images: np.ndarray, masks: np.ndarray) -> float:
    """Share of the character's pixels where green leads (the outline colour; no body colour does)."""
    im = images.astype(float)
    return float(((im[..., 1] > im[..., 0] + 30) & (im[..., 1] > im[..., 2] + 10))[masks].mean())


def chroma(images: np.ndarray, masks: np.ndarray) -> float:
    """Mean colourfulness (max - min of R, G, B) of the character's pixels."""
    im = images.astype(float)
    return float((im.max(-1) - im.min(-1))[masks].mean())


@pytest.mark.parametrize("version", ["0", "1"])
def test_both_versions_face_the_camera_at_azimuth_0_with_face_points_on_the_head(vrms, version, tmp_path):
    """The camera is placed in front of the rest pose and a retargeted motion faces -Y (Blender's front):
    a VRM 0.x left as imported (facing +Y) would be seen from behind."""
    out = render("--rig", vrms[version], "--motion", BVH, "--keypoints", "coco18", "--frames", "2", "--size", "64",
                 "--azimuth", "0", "-o", tmp_path / "c.h5")
    with open_dataset(out) as ds:
        xy, vis, bones = ds.xy, ds.visibility, ds.config["keypoint_bones"]
    # Facing the camera, the character's left is on the image's right (the clip turns it partly sideways at
    # times: the shoulders' order holds in every pose, and one pose shows them well apart).
    spread = xy[:, C["LShoulder"], 0] - xy[:, C["RShoulder"], 0]
    assert (spread > 0).all() and spread.max() > 5, spread
    assert (xy[:, C["LEye"], 0] > xy[:, C["REye"], 0]).all() and (xy[:, C["LEar"], 0] > xy[:, C["REar"], 0]).all()
    # The face points are on the front of the head, seen (the occlusion test), above the neck.
    assert (vis[:, [C["Nose"], C["LEye"], C["REye"]]] == 2).all()
    assert (xy[:, C["LEye"], 1] < xy[:, C["Neck"], 1] - 2).all()
    assert bones["Nose"] == f"head geometry: the mesh of bone {node_name('Head')}"


@pytest.mark.parametrize("version", ["0", "1"])
def test_keypoints_equal_an_independent_projection(vrms, version, tmp_path):
    """The file imported here with Blender's own glTF importer, a VRM 0.x turned half a turn by the test
    itself, the clip evaluated and projected with world_to_camera_view: equal to 0.01 px."""
    import bpy
    from mathutils import Matrix

    out = render("--rig", vrms[version], "--frames", "3", "--size", "64", "-o", tmp_path / "k.h5")
    with open_dataset(out) as ds:
        xy, xyz, E, frame = ds.xy, ds.read("pose/xyz"), ds.read("camera/extrinsics"), ds.read("meta/frame")
        assert ds.names("clip") == ["Wave"]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(vrms[version]), bone_heuristic="TEMPERANCE")
    scene = bpy.context.scene
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    if version == "0":  # VRM 0.x faces -Z in glTF space: half a turn to face the camera
        arm.matrix_world = Matrix.Rotation(np.pi, 4, "Z") @ arm.matrix_world
    action = next(a for a in bpy.data.actions if a.name.startswith("Wave"))
    ad = arm.animation_data or arm.animation_data_create()
    ad.use_nla = False
    ad.action = action
    check = blender_rigs.CheckCamera(scene, 64)
    for row in range(len(xy)):
        t = action.frame_range[0] + frame[row]
        scene.frame_set(int(t), subframe=float(t - int(t)))
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        heads = np.array([ev.matrix_world @ ev.pose.bones[node_name(n)].head for n in AVATAR20.names])
        np.testing.assert_allclose(xyz[row], heads, atol=1e-5)
        pixels, depth = check.project(E[row], heads)
        assert (depth > 0).all()
        np.testing.assert_allclose(xy[row], pixels, atol=0.01)
    assert np.ptp(xyz[:, AVATAR20.names.index("LeftHand"), 2]) > 0.1  # the clip moves the arm


def test_own_colours_in_workbench_against_a_grey_render(vrms, tmp_path):
    own = render("--rig", vrms["0"], "--frames", "1", "--size", "64", "-o", tmp_path / "own.h5")
    grey = render("--rig", vrms["grey"], "--frames", "1", "--size", "64", "-o", tmp_path / "grey.h5")
    with open_dataset(own) as a, open_dataset(grey) as b:
        img, mask = a.images()[:], a.read("masks/64") >= 128
        gimg, gmask = b.images()[:], b.read("masks/64") >= 128
        assert a.config["render"]["look"] == "toon" and a.config["render"]["color_type"] == "TEXTURE"
    assert chroma(img, mask) > 60 and chroma(gimg, gmask) < 15
    # Workbench shows the texture and the base colour under its toon matcap: hue kept, brightness varies.
    hue = lambda im: np.degrees(np.arctan2(np.sqrt(3) * (im[..., 1] - im[..., 2]),  # noqa: E731
                                           2 * im[..., 0] - im[..., 1] - im[..., 2]))
    h = hue(img.astype(float))
    orange, blue = hue(np.array(TEXTURE_RGB, float)), hue(srgb(CLOTH_RGB))
    assert (np.abs(h[mask] - orange) < 12).mean() > 0.1 and (np.abs(h[mask] - blue) < 12).mean() > 0.3


@pytest.mark.slow
def test_own_colours_shade_and_outline_in_eevee(vrms, tmp_path):
    out = render("--rig", vrms["outline"], "--frames", "1", "--size", "64", "--engine", "eevee", "--azimuth", "30",
                 "-o", tmp_path / "e.h5")
    with open_dataset(out) as ds:
        img, mask = ds.images()[:], ds.read("masks/64") >= 128
    tex = np.array(TEXTURE_RGB, float) / 255
    tex_linear = np.where(tex <= 0.04045, tex / 12.92, ((tex + 0.055) / 1.055) ** 2.4)
    # lit: texture and base colour as they are (MToon is unlit); shade: times the shade colour
    assert near(img, mask, TEXTURE_RGB) > 0.05 and near(img, mask, srgb(CLOTH_RGB)) > 0.05
    assert near(img, mask, srgb(tex_linear * SHADE["Skin"])) > 0.02
    assert near(img, mask, srgb(np.array(SHADE["Cloth"]))) > 0.02
    # The 3 cm outline hull, against the same character without it (EEVEE's fast settings, 4 samples and
    # the world light of a lamp-less scene, leave it a thinner rim than Workbench draws).
    thin = render("--rig", vrms["1"], "--frames", "1", "--size", "64", "--engine", "eevee", "--azimuth", "30",
                  "-o", tmp_path / "thin.h5")
    with open_dataset(thin) as ds:
        g_thin = greenish(ds.images()[:], ds.read("masks/64") >= 128)
    assert greenish(img, mask) > 0.015 and greenish(img, mask) > 3 * g_thin


def test_outline_hull_in_workbench(vrms, tmp_path):
    thin = render("--rig", vrms["1"], "--frames", "1", "--size", "64", "-o", tmp_path / "thin.h5")
    wide = render("--rig", vrms["outline"], "--frames", "1", "--size", "64", "-o", tmp_path / "wide.h5")
    with open_dataset(thin) as a, open_dataset(wide) as b:
        g_thin = greenish(a.images()[:], a.read("masks/64") >= 128)
        g_wide = greenish(b.images()[:], b.read("masks/64") >= 128)
        grown = (b.read("masks/64") >= 128).sum() - (a.read("masks/64") >= 128).sum()
    assert g_wide > 0.015 and g_wide > 3 * g_thin and grown > 0  # the hull is outside the body, in its colour


def test_godette_faces_the_camera_in_its_own_colours(tmp_path):
    out = render("--rig", GODETTE, "--motion", BVH, "--keypoints", "coco18", "--frames", "1", "--size", "64",
                 "-o", tmp_path / "g.h5")
    with open_dataset(out) as ds:
        img, mask, xy, vis = ds.images()[:], ds.read("masks/64") >= 128, ds.xy, ds.visibility
    assert (xy[:, C["LShoulder"], 0] > xy[:, C["RShoulder"], 0]).all()
    assert (vis[:, [C["Nose"], C["LEye"], C["REye"]]] == 2).all()  # its face is towards the camera
    assert chroma(img, mask) > 15  # not a grey statue (2.3 before its materials were read)


def _green_eyes(obj, arm) -> dict[str, np.ndarray]:
    """World centres of the Godette's left and right eye: the face vertices whose texels are green."""
    me = obj.data
    image = next(n.image for n in obj.material_slots[0].material.node_tree.nodes if n.type == "TEX_IMAGE")
    w, h = image.size
    px = np.array(image.pixels[:]).reshape(h, w, 4)
    uv = np.array([d.uv[:] for d in me.uv_layers.active.data])
    c = px[np.clip((uv[:, 1] * h).astype(int), 0, h - 1), np.clip((uv[:, 0] * w).astype(int), 0, w - 1), :3]
    green = (c[:, 1] > c[:, 0] + 0.15) & (c[:, 1] > c[:, 2] + 0.05)
    verts = np.unique(np.array([lp.vertex_index for lp in me.loops])[green])
    m = np.array(obj.matrix_world)
    p = np.array([me.vertices[i].co[:] for i in verts]) @ m[:3, :3].T + m[:3, 3]
    return {"left_eye": p[p[:, 0] > 0].mean(0), "right_eye": p[p[:, 0] < 0].mean(0)}  # facing -Y: left is +X


def test_face_points_from_head_geometry_on_real_heads():
    """On the large anime head of the Godette VRM (no eye bones): within 2.5 cm of its eyes, found by their
    texture; on the default avatar's adult head: within 2.5 cm of its own kp_ empties."""
    from datagen.render import DEFAULT_RIG
    from datagen.render.blender.session import BlenderSession
    from datagen.pose.face_geometry import face_points

    s = BlenderSession(GODETTE, keypoint_set="coco18", motions=[str(BVH)])
    rest = s.rest_keypoints()
    eyes = _green_eyes(s.scene.objects["Face"], s.rig.armature)
    for name, lm in (("LEye", "left_eye"), ("REye", "right_eye")):
        assert np.linalg.norm(rest[C[name]] - eyes[lm]) < 0.025, name
    assert str(s.mapping["Nose"]).startswith("head geometry")

    s = BlenderSession(DEFAULT_RIG, keypoint_set="coco18")
    rest = s.rest_keypoints()  # from its kp_ empties
    world = np.array(s.rig.armature.matrix_world)
    left = world[:3, :3] @ (np.array(s.rig.armature.data.bones["LeftUpperArm"].head_local)
                            - np.array(s.rig.armature.data.bones["RightUpperArm"].head_local))
    head = s._head_vertices() @ world[:3, :3].T + world[:3, 3]
    pts = face_points(head, left)
    for name, lm in (("Nose", "nose"), ("LEye", "left_eye"), ("REye", "right_eye"), ("LEar", "left_ear"),
                     ("REar", "right_ear")):
        assert np.linalg.norm(pts[lm] - rest[C[name]]) < 0.025, name
