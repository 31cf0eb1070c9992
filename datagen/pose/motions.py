"""Motion files by type: ``--motion`` takes BVH motion capture and MMD motions (.vmd dances, .vpd poses).

:func:`check_motion` parses a file before Blender starts (a malformed file fails with one line and
nothing written); :func:`motion_source` gives its keypoint trajectories for datagen.pose.retarget, with
the names of the bones it had to skip (an MMD motion made for another model).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from datagen.mmd import MODEL_SUFFIXES, MOTION_SUFFIXES
from datagen.pose import retarget
from datagen.pose.bvh import load_bvh


def _bvh(path: Path, skeleton=None) -> tuple[retarget.SourcePose, list[str]]:
    return retarget.source_pose(load_bvh(path)), []


def _mmd(path: Path, skeleton=None) -> tuple[retarget.SourcePose, list[str]]:
    from datagen.mmd.motion import load_motion
    from datagen.mmd.skeleton import STANDARD, source_pose

    return source_pose(load_motion(path), skeleton or STANDARD)


# suffix -> (path, MMD skeleton or None) -> (SourcePose, skipped bone names); anything else is read as BVH.
SOURCES: dict[str, Callable] = {".bvh": _bvh, **{s: _mmd for s in MOTION_SUFFIXES}}


def motion_source(path: str | Path, skeleton=None) -> tuple[retarget.SourcePose, list[str]]:
    """Keypoint trajectories of a motion file; an MMD motion plays on ``skeleton`` (an MMD model's,
    datagen.mmd.skeleton.Skeleton) or else on MMD's standard skeleton."""
    path = Path(path)
    return SOURCES.get(path.suffix.lower(), _bvh)(path, skeleton)


def rig_skeleton(rig: str | Path | None):
    """The MMD skeleton of a .pmx/.pmd rig (what its VMDs play on), None for other rigs."""
    if rig is None or Path(rig).suffix.lower() not in MODEL_SUFFIXES:
        return None
    from datagen.mmd.model import load_model
    from datagen.mmd.skeleton import Skeleton

    return Skeleton.from_model(load_model(rig))


def check_motion(path: str | Path, rig: str | Path | None = None) -> None:
    """Parse (and for MMD, play on the rig's skeleton) a motion file; raise its one-line error."""
    path = Path(path)
    if path.suffix.lower() in MOTION_SUFFIXES:
        motion_source(path, rig_skeleton(rig))
    else:
        load_bvh(path)
