"""Several rigs in one run without Blender: names, costume and clip choice, the plan's job order and file."""
from __future__ import annotations

import numpy as np
import pytest

from datagen.render.cast import CastPlan, costume_names, rig_files, rig_labels, select_costumes, shared_clips
from datagen.render.config import RenderError
from datagen.render.estimate import summarize_plan
from datagen.render.plan import Plan


def plan(costumes: list[str], clips: list[str], clip: list[int], seed: int = 0) -> Plan:
    rng = np.random.default_rng(seed)
    n = len(clip)
    return Plan(costume_names=costumes, clip_names=clips, clip=np.asarray(clip, np.int32), time=rng.random(n),
                frame=rng.random(n), xyz=rng.random((n, 20, 3)), mapped=np.ones(20, bool), intrinsics=np.eye(3),
                extrinsics=np.repeat(np.eye(4)[None], n, 0), radius=rng.random(20), near=0.1, far=10.0 + seed)


def test_labels_and_costume_names():
    assert rig_labels(["a/girl.vrm", "b/robot.glb"]) == ["girl", "robot"]
    assert rig_labels(["a/girl.vrm", "a/girl.glb"]) == ["girl.vrm", "girl.glb"]  # stems repeat
    assert rig_labels(["a/girl.vrm", "b/girl.vrm"]) == ["a/girl.vrm", "b/girl.vrm"]  # names repeat
    assert costume_names("girl", ["summer", "winter"]) == ["girl/summer", "girl/winter"]
    assert costume_names("robot", ["default"]) == ["robot"]  # a rig without costumes is one costume


def test_rig_files_expand_folders_sorted_and_refuse_twice(tmp_path):
    d = tmp_path / "outfits"
    d.mkdir()
    for name in ("c.vrm", "a.glb", "notes.txt", "b.BLEND"):
        (d / name).write_text("x")
    one = tmp_path / "one.fbx"
    one.write_text("x")
    got = rig_files([one, d], (".blend", ".glb", ".vrm", ".fbx"))
    assert [p.name for p in got] == ["one.fbx", "a.glb", "b.BLEND", "c.vrm"]
    with pytest.raises(RenderError, match="a.glb: rig given twice"):
        rig_files([d, d / "a.glb"], (".glb",))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RenderError, match="empty: holds no rig file"):
        rig_files([tmp_path / "empty"], (".glb",))


def test_costumes_chosen_by_dataset_or_rig_names():
    labels, own = ["girl", "robot"], [["summer", "winter"], ["default"]]
    assert select_costumes(labels, own, None) == [["summer", "winter"], ["default"]]
    assert select_costumes(labels, own, ["winter"]) == [["winter"], ["default"]]  # the robot keeps its own
    assert select_costumes(labels, own, ["girl/summer", "robot"]) == [["summer"], ["default"]]
    with pytest.raises(RenderError, match="no costume named 'autumn' .*girl/summer, girl/winter, robot"):
        select_costumes(labels, own, ["autumn"])


def test_shared_clips_and_the_error_when_none_is_shared():
    assert shared_clips(["a", "b"], [["Idle", "Walk", "Wave"], ["Walk", "Idle", "Run"]]) == (["Idle", "Walk"],
                                                                                          ["Run", "Wave"])
    with pytest.raises(RenderError, match=r"no clip name in common \(a: Idle; b: none\); give --motion"):
        shared_clips(["a", "b"], [["Idle"], []])


def test_cast_jobs_go_rig_after_rig_with_costumes_and_clips_renumbered():
    cast = CastPlan.of([plan(["red", "blue"], ["Idle", "Walk"], [0, 1, 1]),
                        plan(["default"], ["Idle", "Walk"], [0, 0, 1], seed=1)], ["x/boy.blend", "y/robot.glb"])
    assert cast.several and cast.jobs == 9 and cast.poses == 3
    assert cast.costume_names == ["boy/red", "boy/blue", "robot"]
    assert cast.costume_rigs() == ["x/boy.blend", "x/boy.blend", "y/robot.glb"]
    assert [cast.locate(j) for j in (0, 5, 6, 8)] == [(0, 0), (0, 5), (1, 0), (1, 2)]
    assert cast.costume_offset(1) == 2
    s = summarize_plan(cast, 64, cast.jobs)
    assert (s.rows, s.poses, s.costumes) == (9, 3, 3) and s.clip_rows == {"Idle": 2 + 2, "Walk": 4 + 1}
    # A rig whose Actions sort alike maps by name; --motion clips a rig renamed map by position.
    named = CastPlan.of([plan(["a"], ["Idle", "Walk"], [0]), plan(["b"], ["Walk", "Idle"], [0])], ["a", "b"])
    assert named.clip_map(1).tolist() == [1, 0]
    renamed = CastPlan.of([plan(["a"], ["walk"], [0]), plan(["b"], ["walk.001"], [0])], ["a", "b"])
    assert renamed.clip_map(1).tolist() == [0]


def test_plan_file_one_rig_as_before_several_round_trip(tmp_path):
    one = CastPlan.of([plan(["red"], ["Idle"], [0, 0])], ["boy.blend"])
    one.save(tmp_path / "one.npz")
    again = Plan.load(tmp_path / "one.npz")  # the file a one-rig run always wrote
    assert again.costume_names == ["red"] and not CastPlan.load(tmp_path / "one.npz", ["boy.blend"]).several
    cast = CastPlan.of([plan(["red"], ["Idle"], [0, 0]), plan(["default"], ["Idle"], [0, 0], seed=2)], ["a.blend", "b.glb"])
    cast.save(tmp_path / "two.npz")
    back = CastPlan.load(tmp_path / "two.npz", ["a.blend", "b.glb"])
    assert back.costume_names == cast.costume_names and back.rigs == cast.rigs
    for p, q in zip(cast.parts, back.parts):
        assert p.far == q.far and p.costume_names == q.costume_names
        for k, v in vars(p).items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(v, getattr(q, k))
