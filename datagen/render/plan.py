"""The plan of a render run: which pose of which clip, seen from which camera, in which costume.

The work is a list of jobs, pose-major: job j renders pose j // C in costume j % C (C costumes). The
pure maths (pose sampling, shards, chunks, cameras) is tested without Blender; :func:`make_plan`
asks a Blender session for the poses once and stores everything every process agrees on.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from datagen.format.keypoint_sets import get_keypoint_set
from datagen.format import camera
from datagen.render import framing as framing_maths
from datagen.render import visibility
from datagen.render.config import RenderConfig, RenderError

EDGE_PAD_PX = 3.0  # framing keeps the geometry this many pixels inside the image border


GOLDEN = (5 ** 0.5 - 1) / 2   # 0.618...: the most irrational step, so no period of a motion aliases it


def poses_per_clip(durations: list[float], n: int) -> np.ndarray:
    """How many of ``n`` poses each clip gets: its share of the total duration (largest remainder), at
    least one each while n reaches the clip count, so a short clip is not skipped; with fewer poses than
    clips, one each for n clips spread evenly over the list from its first."""
    d = np.asarray(durations, dtype=np.float64)
    a = len(d)
    if n < a:
        k = np.zeros(a, np.int64)
        k[(np.arange(n) * a) // n] = 1     # clips 0, a/n, 2a/n, ...: the first clip, then evenly on
        return k
    quota = n * d / d.sum() if d.sum() > 0 else np.full(a, n / a)
    k = np.maximum(1, np.floor(quota)).astype(np.int64)
    while k.sum() > n:      # the forced ones overshot: take back from the clips most above their share
        i = int(np.argmax(np.where(k > 1, k - quota, -np.inf)))
        k[i] -= 1
    while k.sum() < n:      # hand out the rest to the clips most below their share
        i = int(np.argmax(quota - k))
        k[i] += 1
    return k


def sample_poses(durations: list[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    """N poses over the clips -> (clip index (N,), time in clip (N,)), in clip order.

    Clip c gets :func:`poses_per_clip` poses at the phases of the golden-ratio sequence
    frac((j + 1/2) * 0.618...), j < k, sorted in time: spread over the clip like even spacing, never
    its first frame (most clips start from the rest pose, so first frames of several clips look alike),
    and never at equal steps, which land on the same pose of a periodic motion (a wave's two poses half
    a clip apart are one pose).
    """
    d = np.asarray(durations, dtype=np.float64)
    k = poses_per_clip(durations, n)
    clip = np.repeat(np.arange(len(d)), k)
    phase = np.concatenate([np.sort(np.mod((np.arange(c) + 0.5) * GOLDEN, 1.0)) for c in k]) if n else np.zeros(0)
    return clip.astype(np.int32), phase * d[clip]


def parse_shard(text: str | None) -> tuple[int, int]:
    """'K/N' (0 <= K < N) -> (K, N); None -> (0, 1)."""
    if text is None:
        return 0, 1
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise RenderError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= k < n):
        raise RenderError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/4")
    return k, n


def shard_range(jobs: int, shard: tuple[int, int]) -> tuple[int, int]:
    """The contiguous job range [start, end) of shard K of N."""
    k, n = shard
    return jobs * k // n, jobs * (k + 1) // n


def chunk_ranges(start: int, end: int, chunk_rows: int) -> list[tuple[int, int]]:
    return [(a, min(end, a + chunk_rows)) for a in range(start, end, chunk_rows)]


def plan_cameras(framing: str, clip_of_pose: np.ndarray, rotations: np.ndarray, bounds: np.ndarray,
                 tan_half: float, sigma_poses: np.ndarray) -> np.ndarray:
    """World-to-camera (N, 4, 4) per pose from per-pose framing bounds (N, 4).

    rotations: (A, 3, 3) per clip (all equal for framing "run"); "run": one camera framing every
    pose; "clip": one per clip; "follow": a smooth camera per clip (:func:`datagen.render.framing.follow_cameras`).
    """
    n = len(clip_of_pose)
    out = np.empty((n, 4, 4))
    if framing == "run":
        c, d = framing_maths.fit_distance(framing_maths.merge_bounds(bounds), tan_half)
        out[:] = framing_maths.camera_from_fit(rotations[0], c, d)
        return out
    for a in np.unique(clip_of_pose):
        sel = np.flatnonzero(clip_of_pose == a)
        if framing == "clip":
            c, d = framing_maths.fit_distance(framing_maths.merge_bounds(bounds[sel]), tan_half)
            out[sel] = framing_maths.camera_from_fit(rotations[a], c, d)
        else:
            out[sel] = framing_maths.follow_cameras(bounds[sel], rotations[a], tan_half, float(sigma_poses[a]))
    return out


@dataclass
class Plan:
    """What every process of a run agrees on before rendering (saved as plan.npz)."""

    costume_names: list[str]
    clip_names: list[str]
    clip: np.ndarray  # (N,) int32 clip index of each pose
    time: np.ndarray  # (N,) float64 time within the clip, frames from its first frame
    frame: np.ndarray  # (N,) float64 absolute scene frame
    xyz: np.ndarray  # (N, K, 3) world keypoints (NaN: unmapped)
    mapped: np.ndarray  # (K,) bool
    intrinsics: np.ndarray  # (3, 3)
    extrinsics: np.ndarray  # (N, 4, 4)
    radius: np.ndarray  # (K,) occlusion radius per joint, metres
    near: float
    far: float

    @property
    def jobs(self) -> int:
        return len(self.clip) * len(self.costume_names)

    def save(self, path: Path) -> None:
        arrays = {k: v for k, v in asdict(self).items() if isinstance(v, np.ndarray)}
        meta = json.dumps({"costume_names": self.costume_names, "clip_names": self.clip_names,
                           "near": self.near, "far": self.far})
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(meta), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "Plan":
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
        return cls(**meta, **arrays)


def make_plan(session, config: RenderConfig, mesh_framing: bool = True) -> Plan:
    """Evaluate every pose once: keypoints, framing over all costumes, cameras, joint radii.

    ``mesh_framing=False`` (pose-only runs) frames the skeleton's bone ends instead of the meshes: no
    mesh is evaluated per pose, so the plan costs about what the keypoints cost.
    """
    clips = session.clips
    n = config.frames
    clip, t = sample_poses([c.duration for c in clips], n)
    frame = np.array([clips[a].start for a in clip]) + t
    kps = get_keypoint_set(config.keypoint_set)
    names = kps.names
    rest = session.rest_keypoints()
    left = [i for i, lm in enumerate(kps.landmarks) if lm.startswith("left_") and session.mapped[i]
            and session.mapped[kps.flip[i]]]
    right = [kps.flip[i] for i in left]
    front = framing_maths.character_front(rest[left], rest[right])
    height = float(np.ptp(rest[np.isfinite(rest).all(1), 2])) or 1.0

    rng = np.random.default_rng(config.seed)
    jitter = rng.uniform(-1, 1, len(clips)) * config.azimuth_jitter
    if config.framing == "run":
        jitter[:] = jitter[0]
    rotations = np.stack([framing_maths.view_rotation(front, config.azimuth + j, config.elevation) for j in jitter])
    # The anti-aliasing filter and the outline reach ~2 px past the geometry: keep them off the border.
    tan_frame = camera.tan_half_fov(config.lens_mm) * (1.0 - config.margin - 2 * EDGE_PAD_PX / config.size)

    objects = session.framing_objects() if mesh_framing else []
    if mesh_framing:
        session.show_all_costumes()
    xyz = np.empty((n, len(names), 3))
    bounds = np.empty((n, 4))
    for i in range(n):
        session.go_to(int(clip[i]), float(frame[i]))
        xyz[i] = session.keypoints()
        pts = session.framing_points(objects) if mesh_framing else session.all_bone_points()
        bounds[i] = framing_maths.frame_bounds(pts, rotations[clip[i]], tan_frame)
    fps = session.scene.render.fps / session.scene.render.fps_base
    spacing = sum(c.duration for c in clips) / n  # frames between poses
    sigma = np.full(len(clips), config.follow_sigma_s * fps / spacing)
    extrinsics = plan_cameras(config.framing, clip, rotations, bounds, tan_frame, sigma)
    dist = np.array([e[2, 3] for e in extrinsics])
    near, far = max(1e-3, 0.01 * float(dist.min())), 100.0 * float(dist.max()) + 10 * height

    dirs = visibility.view_directions()
    depths = session.joint_surface_depths(rest, dirs, reach=2 * height)
    radius = visibility.joint_radii(depths, tolerance=config.occlusion_tolerance * height)
    return Plan(costume_names=[c.name for c in session.costumes], clip_names=[c.name for c in clips],
                clip=clip, time=t, frame=frame, xyz=xyz, mapped=session.mapped.copy(),
                intrinsics=camera.intrinsics(config.lens_mm, camera.SENSOR_MM, config.size),
                extrinsics=extrinsics, radius=radius, near=near, far=far)
