import json
import struct

import pytest

from datagen.pose.bone_mapping import JointSource, RigError, load_keymap, map_bones, parse_bone_name, \
    read_gltf_json, vrm_humanoid
from datagen.format.keypoint_sets import AVATAR20


def _chain(names):
    """parents for a list of (name, parent) pairs."""
    return {n: p for n, p in names}


def _heads(mapping):
    return {k: (s.bone if s.end == "head" else f"{s.bone}@tail") for k, s in mapping.items()}


def _sided(fmt_left, fmt_right, parts):
    out = {}
    for side, fmt in (("Left", fmt_left), ("Right", fmt_right)):
        for kp, name in parts.items():
            out[side + kp] = fmt.format(name)
    return out


UNITY = {k: k for k in AVATAR20.names}


def test_unity_names_map_to_themselves_with_extra_bones_ignored():
    bones = list(AVATAR20.names) + ["Chest", "UpperChest", "LeftEye", "LeftThumbProximal", "Jaw"]
    parents = {"Spine": "Hips", "Chest": "Spine", "Neck": "Chest", "Head": "Neck"}
    assert _heads(map_bones(bones, parents)) == UNITY


def test_mixamo():
    parts = {"Shoulder": "Shoulder", "UpperArm": "Arm", "LowerArm": "ForeArm", "Hand": "Hand",
             "UpperLeg": "UpLeg", "LowerLeg": "Leg", "Foot": "Foot", "Toes": "ToeBase"}
    expect = {"Hips": "Hips", "Spine": "Spine", "Neck": "Neck", "Head": "Head",
              **_sided("Left{}", "Right{}", parts)}
    expect = {k: "mixamorig:" + v for k, v in expect.items()}
    bones = list(expect.values()) + ["mixamorig:Spine1", "mixamorig:Spine2", "mixamorig:HeadTop_End",
                                     "mixamorig:LeftHandIndex1", "mixamorig:LeftToe_End"]
    parents = {"mixamorig:Spine": "mixamorig:Hips", "mixamorig:Spine1": "mixamorig:Spine",
               "mixamorig:Spine2": "mixamorig:Spine1", "mixamorig:Neck": "mixamorig:Spine2"}
    assert _heads(map_bones(bones, parents)) == dict(sorted(expect.items(), key=lambda kv: AVATAR20.names.index(kv[0])))


def test_rigify_metarig_and_generated_rig():
    parts = {"Shoulder": "shoulder", "UpperArm": "upper_arm", "LowerArm": "forearm", "Hand": "hand",
             "UpperLeg": "thigh", "LowerLeg": "shin", "Foot": "foot", "Toes": "toe"}
    sided = _sided("{}.L", "{}.R", parts)
    spine = [f"spine.{i:03d}" for i in range(1, 7)]
    bones = ["spine", *spine, *sided.values(), "pelvis.L", "pelvis.R", "heel.02.L", "breast.L"]
    parents = {"spine.001": "spine", **{spine[i]: spine[i - 1] for i in range(1, 6)}}
    m = _heads(map_bones(bones, parents))
    assert m["Hips"] == "spine" and m["Spine"] == "spine.001" and m["Neck"] == "spine.004" and m["Head"] == "spine.006"
    assert all(m[k] == v for k, v in sided.items())
    # A generated rig: deform bones win over ORG- and control bones.
    gen = [p + b for b in bones for p in ("DEF-", "ORG-")] + ["upper_arm_fk.L", "upper_arm_ik.L", "MCH-spine",
                                                               "torso", "upper_arm_tweak.L", "DEF-upper_arm.L.001"]
    m = _heads(map_bones(gen, {}))
    assert m["LeftUpperArm"] == "DEF-upper_arm.L" and m["Hips"] == "DEF-spine" and m["Neck"] == "DEF-spine.004"


@pytest.mark.parametrize("fmt_left,fmt_right", [
    ("{}L", "{}R"), ("Left_{}", "Right_{}"), ("L_{}", "R_{}"), ("{}.L", "{}.R"), ("{}_l", "{}_r"),
    ("Left{}", "Right{}"), ("J_Bip_L_{}", "J_Bip_R_{}"), ("{} Left", "{} Right"),
])
def test_unity_style_variants(fmt_left, fmt_right):
    parts = {k: k for k in ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot", "Toes")}
    sided = _sided(fmt_left, fmt_right, parts)
    bones = ["Hips", "Spine", "Neck", "Head", *sided.values()]
    m = _heads(map_bones(bones, {}))
    assert all(m[k] == v for k, v in sided.items())


def test_unreal_biped_and_character_creator():
    unreal = ["root", "pelvis", "spine_01", "spine_02", "spine_03", "neck_01", "head"] + [
        f"{b}_{s}" for s in "lr" for b in ("clavicle", "upperarm", "lowerarm", "hand", "thigh", "calf", "foot", "ball",
                                           "upperarm_twist_01", "thigh_twist_01")]
    m = _heads(map_bones(unreal, {"spine_02": "spine_01", "spine_01": "pelvis"}))
    assert (m["Hips"], m["Spine"], m["Neck"], m["LeftShoulder"], m["RightLowerLeg"], m["LeftToes"]) == \
        ("pelvis", "spine_01", "neck_01", "clavicle_l", "calf_r", "ball_l")
    biped = ["Bip01", "Bip01 Pelvis", "Bip01 Spine", "Bip01 Spine1", "Bip01 Neck", "Bip01 Head"] + [
        f"Bip01 {s} {b}" for s in "LR" for b in ("Clavicle", "UpperArm", "Forearm", "Hand", "Thigh", "Calf", "Foot",
                                                 "Toe0", "Toe0Nub")]
    m = _heads(map_bones(biped, {"Bip01 Spine1": "Bip01 Spine"}))
    assert (m["Hips"], m["Spine"], m["LeftLowerArm"], m["RightToes"]) == \
        ("Bip01 Pelvis", "Bip01 Spine", "Bip01 L Forearm", "Bip01 R Toe0")
    cc = ["CC_Base_Hip", "CC_Base_Spine01", "CC_Base_NeckTwist01", "CC_Base_Head"] + [
        f"CC_Base_{s}_{b}" for s in "LR" for b in ("Clavicle", "Upperarm", "Forearm", "Hand", "Thigh", "Calf", "Foot",
                                                   "ToeBase")]
    with pytest.raises(RigError, match="Neck"):  # CC's neck is a twist bone: a keymap must say so
        map_bones(cc, {})
    m = _heads(map_bones(cc, {}, keymap={"Neck": "CC_Base_NeckTwist01"}))
    assert (m["Hips"], m["Neck"], m["LeftUpperArm"]) == ("CC_Base_Hip", "CC_Base_NeckTwist01", "CC_Base_L_Upperarm")


def test_cmu_joint_named_skeleton():
    """CMU mocap names joints: Collar is the shoulder bone, Shoulder the arm joint, Hip the leg."""
    bones = ["Hips", "LHipJoint", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RHipJoint", "RightHip", "RightKnee",
             "RightAnkle", "RightToe", "lowerback", "Chest", "Chest2", "lowerneck", "Neck", "Head", "LeftCollar",
             "LeftShoulder", "LeftElbow", "LeftWrist", "lhand", "RightCollar", "RightShoulder", "RightElbow",
             "RightWrist", "rhand"]
    parents = {"LHipJoint": "Hips", "LeftHip": "LHipJoint", "lowerback": "Hips", "Chest": "lowerback",
               "Chest2": "Chest", "lowerneck": "Chest2", "Neck": "lowerneck", "Head": "Neck"}
    m = _heads(map_bones(bones, parents))
    assert m["Spine"] == "lowerback" and m["Neck"] == "lowerneck"
    assert (m["LeftShoulder"], m["LeftUpperArm"], m["LeftLowerArm"], m["LeftHand"]) == \
        ("LeftCollar", "LeftShoulder", "LeftElbow", "LeftWrist")
    assert (m["RightUpperLeg"], m["RightLowerLeg"], m["RightFoot"], m["RightToes"]) == \
        ("RightHip", "RightKnee", "RightAnkle", "RightToe")


def test_robot_expressive_uses_documented_fallbacks():
    bones = ["Bone", "FootL", "Body", "Hips", "Abdomen", "Torso_1", "Neck", "Head", "ShoulderL", "UpperArmL",
             "LowerArmL", "Palm2L", "Middle1L", "ThumbL", "ShoulderR", "UpperArmR", "LowerArmR", "Palm2R",
             "UpperLegL", "LowerLegL", "UpperLegR", "LowerLegR", "PoleTargetL", "FootR", "PoleTargetR"]
    m = map_bones(bones, {})
    assert m["LeftHand"] == JointSource("LowerArmL", "tail")
    assert m["RightToes"] == JointSource("FootR", "tail")
    assert m["Spine"] == JointSource("Abdomen") and m["LeftFoot"] == JointSource("FootL")
    assert str(m["LeftHand"]) == "LowerArmL (tail)"


def test_keymap_overrides_and_null_leaves_unmapped(tmp_path):
    bones = list(AVATAR20.names) + ["Chest"]
    m = map_bones(bones, {}, keymap={"Spine": "Chest", "LeftToes": None, "RightToes": {"bone": "RightFoot", "end": "tail"}})
    assert m["Spine"] == JointSource("Chest") and m["LeftToes"] is None and m["RightToes"] == JointSource("RightFoot", "tail")
    with pytest.raises(RigError, match="unknown keypoint 'Nose'"):
        map_bones(bones, {}, keymap={"Nose": "Head"})
    with pytest.raises(RigError, match="'Skull' for Head is not in the rig"):
        map_bones(bones, {}, keymap={"Head": "Skull"})
    with pytest.raises(RigError, match="must be a bone name"):
        map_bones(bones, {}, keymap={"Head": 3})
    p = tmp_path / "map.json"
    p.write_text(json.dumps({"Spine": "Chest"}))
    assert load_keymap(p) == {"Spine": "Chest"}
    p.write_text("[1, 2]")
    with pytest.raises(RigError, match="JSON object"):
        load_keymap(p)
    p.write_text("{oops")
    with pytest.raises(RigError, match="keymap is not valid JSON"):
        load_keymap(p)


def test_non_humanoid_rejected_with_one_line_listing():
    bones = ["Bone", "Bone.001", "Bone.002"]
    with pytest.raises(RigError) as e:
        map_bones(bones, {}, rig="snake.blend")
    msg = e.value.message
    assert "\n" not in msg
    assert msg.startswith("snake.blend: cannot map keypoints Hips, Spine, Neck, Head, LeftShoulder")
    assert "the rig's bones are Bone, Bone.001, Bone.002" in msg and "--keymap" in msg


def test_helper_bones_are_not_keypoints():
    for name in ("upper_arm_ik.L", "MCH-forearm.L", "thigh_twist_01_l", "HeadTop_End", "LeftToe_End", "Bip01 L Toe0Nub",
                 "J_Sec_L_Bust1", "J_Adj_L_FaceEye"):
        assert parse_bone_name(name) is None, name
    p = parse_bone_name("DEF-upper_arm.L.001")
    assert (p.side, p.part, p.index, p.prefix_rank) == ("Left", "upperarm", 1, 0)


def _vrm0(nodes):
    return {"nodes": [{"name": n} for n in nodes],
            "extensions": {"VRM": {"humanoid": {"humanBones": [
                {"bone": "hips", "node": 0}, {"bone": "spine", "node": 2}, {"bone": "leftUpperArm", "node": 1},
                {"bone": "leftEye", "node": 3}]}}}}


def test_vrm_humanoid_tables():
    nodes = ["Root_Hips", "Arm_L_Top", "Torso", "Eye"]
    assert vrm_humanoid(_vrm0(nodes)) == {"Hips": "Root_Hips", "Spine": "Torso", "LeftUpperArm": "Arm_L_Top"}
    vrm1 = {"nodes": [{"name": n} for n in nodes],
            "extensions": {"VRMC_vrm": {"humanoid": {"humanBones": {"hips": {"node": 0}, "leftUpperArm": {"node": 1},
                                                                     "rightToes": {"node": 9}}}}}}
    assert vrm_humanoid(vrm1) == {"Hips": "Root_Hips", "LeftUpperArm": "Arm_L_Top"}
    assert vrm_humanoid({"nodes": []}) == {}
    # The humanoid table wins over the name rules.
    bones = list(AVATAR20.names) + ["Torso"]
    m = map_bones(bones, {}, humanoid={"Spine": "Torso"})
    assert m["Spine"] == JointSource("Torso")


def test_read_gltf_json_from_glb_and_gltf(tmp_path):
    doc = _vrm0(["a", "b", "c", "d"])
    raw = json.dumps(doc).encode()
    raw += b" " * (-len(raw) % 4)
    glb = b"glTF" + struct.pack("<II", 2, 12 + 8 + len(raw)) + struct.pack("<II", len(raw), 0x4E4F534A) + raw
    (tmp_path / "a.vrm").write_bytes(glb)
    (tmp_path / "a.gltf").write_text(json.dumps(doc))
    assert read_gltf_json(tmp_path / "a.vrm") == doc == read_gltf_json(tmp_path / "a.gltf")
    (tmp_path / "bad.gltf").write_text("not json")
    with pytest.raises(RigError, match="not a glTF file"):
        read_gltf_json(tmp_path / "bad.gltf")
