"""The camera convention of dataset format v1 (docs/format.md): pinhole intrinsics, OpenCV extrinsics,
point projection.

Pure numpy, no Blender: intrinsics ``K`` from a Blender lens, OpenCV world-to-camera extrinsics from a
Blender camera matrix (and back), and point projection. Readers that check a file's keypoints against
its cameras (validate) and the renderer that writes them share these functions.

Conventions: world is Blender's (metres, Z up). Camera coordinates are OpenCV's: x right, y down,
z forward. Pixel i covers [i, i+1), so the image centre of an S x S image is (S/2, S/2).
"""
from __future__ import annotations

import numpy as np

# Blender's camera looks down its local -Z with +Y up; OpenCV's looks down +Z with +Y down.
_BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
SENSOR_MM = 36.0  # the renderer's camera sensor width (Blender's default)


def tan_half_fov(lens_mm: float, sensor_mm: float = SENSOR_MM) -> float:
    """tan of half the horizontal (= vertical, square images) field of view."""
    return sensor_mm / 2.0 / lens_mm


def intrinsics(lens_mm: float, sensor_mm: float, size: int) -> np.ndarray:
    """K (3, 3) of a Blender perspective camera rendering an S x S image (sensor fit AUTO, no shift).

    Blender maps the sensor width onto the image width, so the focal length in pixels is
    ``lens / sensor * S``; the principal point is the image centre (S/2, S/2) in our convention.
    """
    f = lens_mm / sensor_mm * size
    return np.array([[f, 0.0, size / 2.0], [0.0, f, size / 2.0], [0.0, 0.0, 1.0]])


def extrinsics_from_blender(cam_to_world: np.ndarray) -> np.ndarray:
    """World-to-camera (4, 4) in OpenCV axes from a Blender camera's ``matrix_world`` (4, 4).

    The camera matrix must be a rigid transform (no scale).
    """
    m = np.asarray(cam_to_world, dtype=np.float64)
    r_bl, c = m[:3, :3], m[:3, 3]
    r = _BLENDER_TO_OPENCV @ r_bl.T
    out = np.eye(4)
    out[:3, :3] = r
    out[:3, 3] = -r @ c
    return out


def blender_from_extrinsics(world_to_cam: np.ndarray) -> np.ndarray:
    """The Blender camera ``matrix_world`` (4, 4) of an OpenCV world-to-camera matrix (inverse of above)."""
    e = np.asarray(world_to_cam, dtype=np.float64)
    r, t = e[:3, :3], e[:3, 3]
    out = np.eye(4)
    out[:3, :3] = (_BLENDER_TO_OPENCV @ r).T
    out[:3, 3] = -r.T @ t
    return out


def to_camera(points: np.ndarray, world_to_cam: np.ndarray) -> np.ndarray:
    """World points (..., 3) -> camera coordinates (..., 3), OpenCV axes (z > 0 in front).

    world_to_cam is one (4, 4) matrix, or one per row (N, 4, 4) for points (N, K, 3).
    """
    e = np.asarray(world_to_cam, dtype=np.float64)
    t = e[..., :3, 3] if e.ndim == 2 else e[..., None, :3, 3]
    return np.asarray(points, dtype=np.float64) @ np.swapaxes(e[..., :3, :3], -1, -2) + t


def project(points: np.ndarray, K: np.ndarray, world_to_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points (..., 3) -> (pixels (..., 2), depth z (...,)) in the format's convention.

    K (3, 3) and world_to_cam (4, 4), or per row (N, 3, 3) and (N, 4, 4) for points (N, K, 3).
    Points behind the camera (z <= 0) get their mathematical projection; callers decide visibility.
    """
    c = to_camera(points, world_to_cam)
    u = c @ np.swapaxes(np.asarray(K, dtype=np.float64), -1, -2)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = u[..., :2] / u[..., 2:3]
    return xy, c[..., 2]
