"""`datagen poses`: pose-only files (no images), valid, and equal to a full render of the same plan."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main
from datagen.errors import DatasetError
from datagen.format import open_dataset
from datagen.format.validate import validate_dataset

pytestmark = pytest.mark.blender


def _poses(*args):
    r = CliRunner().invoke(main, ["poses", *map(str, args)], catch_exceptions=False)
    return r.exit_code, r.output


def test_pose_only_file_is_valid_and_has_no_images(tmp_path):
    out = tmp_path / "p.h5"
    code, text = _poses("--keypoints", "body25", "--frames", "12", "--size", "64", "-o", out)
    assert code == 0, text
    assert "12 poses over 8 clips" in text
    assert validate_dataset(out) == 12
    with h5py.File(out, "r") as f:
        assert int(f.attrs["pose_only"]) == 1 and "images" not in f and "masks" not in f
        assert f["pose/xy"].shape == (12, 25, 2) and "meta/costume" not in f
    with open_dataset(out) as ds:
        assert ds.pose_only and ds.resolutions == []
        with pytest.raises(DatasetError, match="pose-only"):
            ds.images()
        assert (ds.visibility == 2).mean() > 0.9
    code, text = _poses("--frames", "2", "--size", "64", "-o", out)
    assert code == 1 and "exists" in text


def test_pose_only_rows_equal_a_full_render_of_the_same_plan(tmp_path):
    from datagen.render import DEFAULT_RIG, RenderConfig
    from datagen.render.blender.session import BlenderSession
    from datagen.render.plan import make_plan
    from datagen.render.poses import pose_rows
    from datagen.render.rows import render_job

    cfg = RenderConfig(rig=str(DEFAULT_RIG), rig_sha256="-", frames=5, size=64, keypoint_set="coco18")
    skeleton = BlenderSession(DEFAULT_RIG, keypoint_set="coco18")
    skeleton.skeleton_only()
    plan = make_plan(skeleton, cfg, mesh_framing=False)
    rows = pose_rows(plan, 64)

    full = BlenderSession(DEFAULT_RIG, keypoint_set="coco18")
    full.configure("workbench", 64, None, cfg.lens_mm)
    c = len(plan.costume_names)
    for pose in range(5):
        row = render_job(full, plan, pose * c)  # the pose in the first costume, with its image
        assert row["images"].shape == (64, 64, 3)
        np.testing.assert_array_equal(row["pose/xy"], rows["pose/xy"][pose])
        np.testing.assert_array_equal(row["pose/xyz"], rows["pose/xyz"][pose])
        np.testing.assert_array_equal(row["camera/extrinsics"], rows["camera/extrinsics"][pose])
        # a render also marks occluded points (1); pose-only has no occlusion test
        np.testing.assert_array_equal(row["pose/visibility"] > 0, rows["pose/visibility"][pose] > 0)
    full.close()


def test_pose_only_from_a_bvh_clip(tmp_path):
    out = tmp_path / "m.h5"
    code, text = _poses("--motion", SHARED_ASSETS / "motion" / "131_01.bvh", "--keypoints", "coco18",
                        "--frames", "20", "--size", "64", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        assert ds.names("clip") == ["131_01"] and len(ds) == 20
        xy = ds.xy
    assert np.ptp(xy[:, 0, 0]) > 0.5 or np.ptp(xy[:, 0, 1]) > 0.5  # the head moves over the clip
