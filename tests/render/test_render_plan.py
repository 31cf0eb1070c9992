"""The plan maths of `datagen render` (no Blender)."""
import numpy as np
import pytest

from datagen.format import camera as C
from datagen.render import framing as P
from datagen.render import RenderError
from datagen.render.plan import chunk_ranges, parse_shard, plan_cameras, sample_poses, shard_range


def test_sample_poses_spread_over_the_clips():
    clip, t = sample_poses([10.0, 20.0, 10.0], 8)  # 40 frames: shares of 2, 4, 2 poses
    assert clip.tolist() == [0, 0, 1, 1, 1, 1, 2, 2]
    np.testing.assert_allclose(t[:2], [10 * 0.309017, 10 * 0.927051], atol=1e-5)   # golden-ratio phases
    for c, d in ((0, 10), (1, 20), (2, 10)):
        tc = t[clip == c]
        assert (np.diff(tc) > 0).all() and (tc > 0).all() and (tc < d).all()
    clip, t = sample_poses([3.0], 4)
    assert (np.diff(t) > 0).all() and np.diff(t).max() < 1.5      # fractional frames between keys, spread
    clip, t = sample_poses([1.0, 100.0], 2)
    assert clip.tolist() == [0, 1]                                # a short clip is not skipped


def test_tiny_runs_show_different_moments_of_many_clips():
    clip, t = sample_poses([30.0] * 5, 8)        # --frames 8 over five clips: no first frames
    assert sorted(set(clip.tolist())) == [0, 1, 2, 3, 4] and (t > 0).all()
    assert len({(c, round(x, 6)) for c, x in zip(clip, t)}) == 8
    clip, t = sample_poses([40.0] * 8, 16)       # two poses a clip: not half a clip apart (a wave's one pose)
    assert not np.allclose(np.abs(t[1::2] - t[::2]), 20.0)
    clip, t = sample_poses([30.0] * 12, 4)       # fewer poses than clips: clips spread over the list
    assert clip.tolist() == [0, 3, 6, 9]
    for n in (1, 5, 7, 100, 1001):
        assert len(sample_poses([3.0, 50.0, 0.5, 20.0, 7.0], n)[0]) == n


def test_shards_partition_the_jobs():
    assert parse_shard(None) == (0, 1) and parse_shard("3/8") == (3, 8)
    for bad in ("8/8", "-1/2", "a/b", "3", "1/0"):
        with pytest.raises(RenderError, match="--shard"):
            parse_shard(bad)
    for jobs in (1, 7, 12, 47400):
        for n in (1, 2, 3, 8):
            ranges = [shard_range(jobs, (k, n)) for k in range(n)]
            assert ranges[0][0] == 0 and ranges[-1][1] == jobs
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert chunk_ranges(10, 25, 6) == [(10, 16), (16, 22), (22, 25)]


@pytest.mark.parametrize("framing", ["run", "clip", "follow"])
def test_plan_cameras_frame_every_pose(framing):
    rng = np.random.default_rng(0)
    clip = np.repeat([0, 1], 10)
    poses = [rng.normal(size=(30, 3)) * 0.3 + [0.1 * i, 0, 1 + 2 * (i >= 10)] for i in range(20)]
    R = np.stack([P.view_rotation([0, -1, 0], a, 5) for a in (0, 30)])
    t = C.tan_half_fov(50)
    bounds = np.stack([P.frame_bounds(p, R[0 if framing == "run" else c], t) for p, c in zip(poses, clip)])
    cams = plan_cameras(framing, clip, R if framing != "run" else R[[0, 0]], bounds, t, np.array([2.0, 2.0]))
    K = C.intrinsics(50, 36, 64)
    for p, E in zip(poses, cams):
        xy, z = C.project(p, K, E)
        assert (z > 0).all() and (xy > -1e-6).all() and (xy < 64 + 1e-6).all()
    distinct = len({E.tobytes() for E in cams})
    assert distinct == {"run": 1, "clip": 2, "follow": 20}[framing]
