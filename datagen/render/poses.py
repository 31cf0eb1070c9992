"""``datagen poses``: a pose-only run -- keypoints, visibility, cameras and times, no images.

The plan is a render's plan (poses evenly spaced over the clips, the same camera rules) framed on the
skeleton instead of the meshes, so no mesh is evaluated per pose and nothing is rendered. One row per
pose (no costume). Without images there is no occlusion test: a point's visibility is 2 when it is
mapped, in front of the camera and inside the frame, else 0. The file is a valid format-v1 file with
the root attribute ``pose_only = 1`` and no ``/images`` (docs/format.md), for driving generation
(``psgan generate --poses clip.bvh``) or for pose datasets.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from datagen.format import DatasetHeader, DatasetWriter
from datagen.format.outputs import OutputLock, check_output, remove_leftovers, write_errors
from datagen.format.schema import POSE_ONLY_ATTR
from datagen.format import camera
from datagen.pose.motions import check_motion, rig_skeleton
from datagen.render.config import RenderConfig, RenderError, blender_session_class
from datagen.render.plan import Plan, make_plan


def pose_rows(plan: Plan, size: int) -> dict[str, np.ndarray]:
    """Every pose of ``plan`` as pose-only rows (arrays with a leading row axis)."""
    n = len(plan.clip)
    xyz = plan.xyz
    K = plan.intrinsics
    xy = np.empty(xyz.shape[:2] + (2,))
    z = np.empty(xyz.shape[:2])
    for i in range(n):
        xy[i], z[i] = camera.project(xyz[i], K, plan.extrinsics[i])
    with np.errstate(invalid="ignore"):
        inside = (z > 0) & np.isfinite(xy).all(-1) & (xy >= 0).all(-1) & (xy < size).all(-1)
    vis = np.where(inside & plan.mapped[None], 2, 0).astype(np.uint8)
    return {"pose/xy": xy.astype(np.float32), "pose/visibility": vis, "pose/xyz": xyz.astype(np.float32),
            "camera/intrinsics": np.repeat(K[None], n, 0), "camera/extrinsics": plan.extrinsics,
            "meta/clip": plan.clip.astype(np.int32), "meta/frame": plan.time.astype(np.float32)}


def run_poses(config: RenderConfig, out: Path, overwrite: bool = False) -> dict:
    """Write the pose-only file ``out``; return a summary (poses, seconds, poses/s)."""
    check_output(out, overwrite=overwrite)
    for rig in config.rig_paths():
        rig_skeleton(rig)  # a malformed .pmx/.pmd fails here, before Blender starts
        for motion in config.motions or []:
            check_motion(motion, rig)  # a malformed or NaN clip fails here, before Blender starts
    BlenderSession = blender_session_class()
    with OutputLock(out):
        remove_leftovers(out)
        if out.exists() and not overwrite:  # written by another run since the check
            raise RenderError(f"{out}: exists (use --overwrite to replace it)")
        with write_errors(out, resumable=False):
            return _run_poses_locked(config, out, BlenderSession)


def _run_poses_locked(config: RenderConfig, out: Path, BlenderSession) -> dict:
    t0 = time.perf_counter()
    from datagen.render.blender.session import quiet_fds

    session = BlenderSession(Path(config.rig), keymap=config.keymap, costumes=config.costumes, clips=config.clips,
                             motions=config.motions, motion_fps=config.motion_fps, keypoint_set=config.keypoint_set)
    config.keypoint_bones = {k: (str(s) if s else None) for k, s in session.mapping.items()}
    config.render = {"engine": None, "pose_only": True}
    session.skeleton_only()
    t_load = time.perf_counter()
    with quiet_fds(session.quiet):
        plan = make_plan(session, config, mesh_framing=False)
    rows = pose_rows(plan, config.size)
    header = DatasetHeader(config.keypoint_set, config.size, config=asdict(config), clip_names=plan.clip_names,
                           attrs={POSE_ONLY_ATTR: 1})
    writer = DatasetWriter(out, header, segment_rows=max(1, len(plan.clip)))  # whole or absent
    try:
        writer.append(rows)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    session.close()
    t1 = time.perf_counter()
    n = len(plan.clip)
    return {"out": str(out), "poses": n, "clips": plan.clip_names, "seconds": t1 - t0,
            "load_seconds": t_load - t0, "poses_per_s": n / (t1 - t_load) if t1 > t_load else 0.0,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
