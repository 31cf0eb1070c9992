"""MMD files without Blender: PMX/PMD/VMD/VPD parsing, standard names, playback with leg IK, retargeting."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import mmd_files
from datagen.mmd.binary import MMDError
from datagen.mmd.model import load_model, to_blender
from datagen.mmd.motion import bezier_weights, load_motion
from datagen.mmd.names import mmd_keypoints
from datagen.mmd.skeleton import STANDARD, Skeleton, play, source_pose
from datagen.pose import retarget
from datagen.pose.bone_mapping import map_bones


def test_pmx_2_0_with_utf16_names_and_a_texture_in_a_subfolder(tmp_path):
    model = load_model(mmd_files.write_pmx(tmp_path / "ミク.pmx"))
    verts, uvs, weights, tris, n_skin, bones = mmd_files.geometry(d_bones=True)
    assert model.name == "ミク"
    assert model.bone_names == [b[0] for b in bones]
    assert model.bones[3].name_en == "upper body"
    np.testing.assert_allclose(model.positions, verts, atol=1e-5)
    np.testing.assert_array_equal(model.triangles, tris)
    assert [(m.name, m.texture, m.faces) for m in model.materials] == [("肌", "tex/肌.png", n_skin),
                                                                         ("服", None, len(tris) - n_skin)]
    # BDEF2 on the upper arm's far end, shared with the twist bone
    twist = model.bone_names.index("左腕捩")
    shared = (model.bone_indices[:, 1] == twist)
    assert shared.any() and np.allclose(model.bone_weights[shared, :2], 0.5)
    iks = {model.bones[k.bone].name: ([model.bones[j].name for j in k.links], model.bones[k.effector].name)
           for k in model.iks}
    assert iks["左足ＩＫ"] == (["左ひざ", "左足"], "左足首") and iks["右つま先ＩＫ"] == (["右足首"], "右つま先")
    j = model.bone_names.index("左ひじ")
    np.testing.assert_allclose(model.bones[j].tail, model.bones[model.bone_names.index("左手捩")].tail, atol=1e-5)


def test_pmx_2_1_with_utf8_names_and_qdef_weights(tmp_path):
    a = load_model(mmd_files.write_pmx(tmp_path / "a" / "ミク.pmx"))
    b = load_model(mmd_files.write_pmx(tmp_path / "b" / "ミク.pmx", version=2.1, utf8=True))
    assert b.bone_names == a.bone_names and b.materials[0].texture == "tex/肌.png"
    np.testing.assert_allclose(b.bone_weights, a.bone_weights)
    np.testing.assert_array_equal(np.where(b.bone_weights > 0, b.bone_indices, -1),
                                  np.where(a.bone_weights > 0, a.bone_indices, -1))


def test_pmd_with_shift_jis_names(tmp_path):
    model = load_model(mmd_files.write_pmd(tmp_path / "モデル" / "ミク.pmd"))
    assert model.name == "ミク" and "左ひざ" in model.bone_names and "左足D" not in model.bone_names
    assert model.materials[0].texture == "tex/肌.png"
    assert len(model.iks) == 4
    knee = model.bone_names.index("左ひざ")
    np.testing.assert_allclose(model.bones[knee].tail, model.bones[model.bone_names.index("左足首")].position)


def test_vmd_and_vpd(tmp_path):
    m = load_motion(mmd_files.write_vmd(tmp_path / "踊り.vmd", mmd_files.dance_keys(30)))
    assert m.model == "ミク" and m.num_frames == 31 and m.fps == 30
    assert set(m.tracks) == {"センター", "上半身", "頭", "左腕", "右腕", "右ひじ", "左足ＩＫ", "右足ＩＫ"}
    np.testing.assert_allclose(m.tracks["左足ＩＫ"].positions[-1], [0, 3, -2])
    pose = [("左腕", (0, 0, 0), mmd_files.quat((0, 0, 1), 30)), ("センター", (0, 1, 0), (0, 0, 0, 1))]
    p = load_motion(mmd_files.write_vpd(tmp_path / "ポーズ.vpd", pose))
    assert p.num_frames == 1 and set(p.tracks) == {"左腕", "センター"}
    np.testing.assert_allclose(p.tracks["左腕"].quats[0], pose[0][2], atol=1e-6)


def test_bezier_easing():
    t = np.linspace(0, 1, 11)
    linear = np.tile(np.array([20, 20, 107, 107]) / 127, (11, 1))
    np.testing.assert_allclose(bezier_weights(linear, t), t, atol=1e-6)
    ease = np.tile([0.9, 0.0, 1.0, 0.1], (11, 1))  # slow start
    w = bezier_weights(ease, t)
    assert w[0] == pytest.approx(0) and w[-1] == pytest.approx(1) and (w[1:-1] < t[1:-1]).all()


def test_standard_names_prefer_the_deforming_d_bones():
    names = [b[0] for b in mmd_files.skeleton(d_bones=True)]
    deform = mmd_keypoints(names)
    assert deform["LeftUpperLeg"] == "左足D" and deform["RightFoot"] == "右足首D" and deform["LeftToes"] == "左足先EX"
    assert deform["LeftLowerArm"] == "左ひじ" and deform["Hips"] == "下半身" and len(deform) == 20
    motion = mmd_keypoints(names, deform=False)
    assert motion["LeftUpperLeg"] == "左足" and motion["LeftToes"] == "左つま先"
    # English names (a PMX's English field, or as the names themselves), full-width letters folded
    english = {f"b{i}": en for i, (_, en, *_r) in enumerate(mmd_files.skeleton(d_bones=False))}
    by_english = mmd_keypoints(list(english), english)
    assert english[by_english["LeftLowerArm"]] == "elbow_L" and english[by_english["Neck"]] == "neck"
    assert mmd_keypoints(["ｌｅｇ_L", "neck"]) == {"LeftUpperLeg": "ｌｅｇ_L"}  # a bare "neck" is not MMD's
    mapping = map_bones(names)  # the general mapper knows MMD's names
    assert mapping["LeftLowerLeg"].bone == "左ひざD" and mapping["Neck"].bone == "首"


def test_leg_ik_puts_the_ankle_on_its_target_and_bends_the_knee_forward(tmp_path):
    sk = Skeleton.from_model(load_model(mmd_files.write_pmx(tmp_path / "ミク.pmx")))
    motion = load_motion(mmd_files.write_vmd(tmp_path / "d.vmd", mmd_files.dance_keys(30)))
    P, G, skipped = play(motion, sk)
    assert skipped == []
    i = {n: j for j, n in enumerate(sk.names)}
    for side in "左右":
        np.testing.assert_allclose(P[:, i[f"{side}足首"]], P[:, i[f"{side}足ＩＫ"]], atol=1e-6)
        thigh = np.linalg.norm(P[:, i[f"{side}ひざ"]] - P[:, i[f"{side}足"]], axis=1)
        np.testing.assert_allclose(thigh, np.linalg.norm(sk.rest[i[f"{side}ひざ"]] - sk.rest[i[f"{side}足"]]))
    # the lifted left knee comes forward (MMD's front is -Z) and the ankle rises by 3 units
    assert P[-1, i["左ひざ"], 2] < P[0, i["左ひざ"], 2] - 1.0
    assert P[-1, i["左足首"], 1] == pytest.approx(sk.rest[i["左足首"], 1] + 3.0)
    # the centre went down 0.8: the hips follow, the right foot (its IK at +0.8) stays 0.8 up
    assert P[-1, i["下半身"], 1] == pytest.approx(sk.rest[i["下半身"], 1] - 0.8)


def test_a_motion_for_another_model_skips_what_it_cannot_play(tmp_path):
    keys = mmd_files.dance_keys(10) + [("謎のボーン", 0, (0, 0, 0), (0, 0, 0, 1)), ("左親指１", 5, (0, 0, 0), (0, 0, 0, 1))]
    motion = load_motion(mmd_files.write_vmd(tmp_path / "other.vmd", keys, model="別のモデル"))
    src, skipped = source_pose(motion, STANDARD)
    assert sorted(skipped) == ["左親指１", "謎のボーン"]
    # a bone of the model that no keypoint depends on (a finger, hair) is played, not skipped
    assert source_pose(motion, Skeleton(STANDARD.names + ["左親指１"], np.append(STANDARD.parents, 0),
                                        np.vstack([STANDARD.rest, [0, 0, 0]]), np.vstack([STANDARD.tails, [0, 1, 0]]),
                                        STANDARD.iks, {}))[1] == ["謎のボーン"]
    assert np.isfinite(np.stack(list(src.points.values()))).all()
    alien = load_motion(mmd_files.write_vmd(tmp_path / "alien.vmd", [("謎のボーン", 0, (0, 0, 0), (0, 0, 0, 1))]))
    with pytest.raises(MMDError) as e:
        source_pose(alien, STANDARD)
    assert "alien.vmd" in str(e.value) and "none of its 1 bones" in str(e.value) and "\n" not in str(e.value)


def _target(model) -> retarget.TargetRig:
    names = model.bone_names
    mapping = mmd_keypoints(names)
    idx = {n: j for j, n in enumerate(names)}
    return retarget.TargetRig(names, np.array([b.parent for b in model.bones]),
                              to_blender([b.position for b in model.bones]), to_blender([b.tail for b in model.bones]),
                              np.broadcast_to(np.eye(3), (len(names), 3, 3)).copy(),
                              {k: idx[b] for k, b in mapping.items()})


def test_a_vmd_retargets_onto_the_d_bones_of_a_model_whose_hips_and_spine_share_a_point(tmp_path):
    """下半身 and 上半身 start at one point: the hips' up comes from between the thighs (no NaN)."""
    model = load_model(mmd_files.write_pmx(tmp_path / "ミク.pmx"))
    rig = _target(model)
    np.testing.assert_allclose(rig.keypoint_rest("Hips"), rig.keypoint_rest("Spine"))
    src, _ = source_pose(load_motion(mmd_files.write_vmd(tmp_path / "d.vmd", mmd_files.dance_keys(30))),
                         Skeleton.from_model(model))
    res = retarget.retarget(src, rig)
    assert np.isfinite(res.quats).all() and np.isfinite(res.heads).all()
    kp = retarget.posed_keypoints(rig, res)
    # same skeleton both sides: the retargeted limbs point where the motion's do
    for a, b in (("LeftUpperArm", "LeftLowerArm"), ("RightLowerArm", "RightHand"), ("LeftUpperLeg", "LeftLowerLeg"),
                 ("LeftLowerLeg", "LeftFoot")):
        want = src.points[b] - src.points[a]
        got = kp[b] - kp[a]
        cos = np.einsum("fi,fi->f", want, got) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1)
        assert (cos > 0.999).all(), (a, b, cos.min())


@pytest.mark.parametrize("kind,make,cut", [
    ("pmx", lambda d: mmd_files.write_pmx(d / "ミク.pmx"), 0.5), ("pmx", lambda d: mmd_files.write_pmx(d / "ミク.pmx"), 0.02),
    ("pmd", lambda d: mmd_files.write_pmd(d / "ミク.pmd"), 0.5),
    ("vmd", lambda d: mmd_files.write_vmd(d / "踊り.vmd", mmd_files.dance_keys()), 0.5),
])
def test_truncated_files_are_one_line_errors(tmp_path, kind, make, cut):
    path = make(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    load = load_model if kind in ("pmx", "pmd") else load_motion
    with pytest.raises(MMDError) as e:
        load(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and "\n" not in msg and ("truncated" in msg or "corrupt" in msg), msg


def test_garbage_files_are_one_line_errors(tmp_path):
    for name, data, load, what in [("a.pmx", b"\x00" * 100, load_model, "not an MMD model"),
                                   ("a.pmx", b"PMX " + b"\xff" * 60, load_model, "PMX version"),
                                   ("b.vmd", b"hello", load_motion, "not a VMD"),
                                   ("c.vpd", "Vocaloid Pose Data file\n\nm.osm;\n2;\nBone0{左腕\n 1,2;\n}\n".encode("shift_jis"),
                                    load_motion, "needs 3 position and 4 rotation")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(MMDError) as e:
            load(tmp_path / name)
        assert str(e.value).startswith(str(tmp_path / name)) and what in str(e.value), str(e.value)
