"""Framing for the renderer: camera rotations around a character and the distance that fits a set of world
points in the image (docs/rendering.md, "Framing"). Pure numpy; the camera convention itself is
:mod:`datagen.format.camera`.
"""
from __future__ import annotations

import numpy as np

def look_rotation(forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World-to-camera rotation (3, 3) whose rows are the camera's x (right), y (down), z (forward)."""
    z = np.asarray(forward, dtype=np.float64)
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(x) < 1e-9:  # looking straight up or down: any right vector will do
        x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def character_front(left: np.ndarray, right: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Unit horizontal direction a character faces, from its left (n, 3) and right (n, 3) joints.

    The character's left is on the +x side of its facing direction f when z is up: left = up x f,
    so f = left x up.
    """
    side = np.mean(np.asarray(left, dtype=np.float64), axis=0) - np.mean(np.asarray(right, dtype=np.float64), axis=0)
    f = np.cross(side, np.asarray(up, dtype=np.float64))
    n = np.linalg.norm(f)
    return f / n if n > 1e-9 else np.array([0.0, -1.0, 0.0])  # Blender's front view looks along +Y


def view_rotation(front: np.ndarray, azimuth_deg: float, elevation_deg: float,
                  up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """World-to-camera rotation (3, 3) of a camera looking at the character.

    Azimuth 0 puts the camera in front of the character (``front`` is the direction it faces),
    +90 on the character's left; elevation > 0 lifts the camera to look down.
    """
    up = np.asarray(up, dtype=np.float64)
    f = np.asarray(front, dtype=np.float64)
    left = np.cross(up, f)
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    to_camera_dir = np.cos(e) * (np.cos(a) * f + np.sin(a) * left) + np.sin(e) * up
    return look_rotation(-to_camera_dir, up)


def frame_bounds(points: np.ndarray, rotation: np.ndarray, tan_half: float) -> np.ndarray:
    """The framing bounds of world points (n, 3) seen through a camera with rotation (3, 3).

    Returns (4,) = [A_x, B_x, A_y, B_y]: with the camera at rotated position (o_x, o_y, -D), every
    point is inside the half-angle ``tan_half`` frustum iff o_x + t D >= B_x, o_x - t D <= A_x and
    the same in y (t = tan_half). Bounds of several point sets combine by :func:`merge_bounds`.
    """
    q = np.asarray(points, dtype=np.float64) @ np.asarray(rotation, dtype=np.float64).T
    tz = tan_half * q[:, 2]
    return np.array([(q[:, 0] + tz).min(), (q[:, 0] - tz).max(), (q[:, 1] + tz).min(), (q[:, 1] - tz).max()])


def merge_bounds(bounds: np.ndarray) -> np.ndarray:
    """Bounds (..., 4) of several point sets -> the bounds (4,) of their union."""
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    return np.array([b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max()])


def fit_distance(bounds: np.ndarray, tan_half: float, centre: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Smallest camera distance D (and the centre (o_x, o_y)) that frames points with these bounds.

    With ``centre`` given, D is the smallest distance for that fixed centre; otherwise the centre is
    chosen to minimise D (the midpoints of the bounds).
    """
    ax, bx, ay, by = np.asarray(bounds, dtype=np.float64)
    if centre is None:
        centre = np.array([(ax + bx) / 2, (ay + by) / 2])
    ox, oy = centre
    d = max(bx - ox, ox - ax, by - oy, oy - ay) / tan_half
    return np.asarray(centre, dtype=np.float64), float(d)


def camera_from_fit(rotation: np.ndarray, centre: np.ndarray, distance: float) -> np.ndarray:
    """World-to-camera (4, 4) of the camera with this rotation at rotated position (o_x, o_y, -D)."""
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = -np.array([centre[0], centre[1], -distance])
    return out


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of a sequence (n, ...) along axis 0 with edge padding (sigma in samples)."""
    x = np.asarray(x, dtype=np.float64)
    if sigma <= 0 or len(x) < 2:
        return x.copy()
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.concatenate([np.repeat(x[:1], r, 0), x, np.repeat(x[-1:], r, 0)])
    return np.stack([np.tensordot(k, pad[i:i + 2 * r + 1], axes=(0, 0)) for i in range(len(x))])


def follow_cameras(bounds: np.ndarray, rotation: np.ndarray, tan_half: float, sigma: float) -> np.ndarray:
    """World-to-camera (n, 4, 4) of a camera that follows the character smoothly over n poses.

    bounds: (n, 4) per-pose framing bounds. The centre is the smoothed per-pose best centre; the
    distance is a smoothed running maximum of the needed distance, never less than what each pose
    needs, so every pose stays framed.
    """
    b = np.asarray(bounds, dtype=np.float64)
    centres = gaussian_smooth(np.stack([(b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2], 1), sigma)
    need = np.array([fit_distance(bi, tan_half, ci)[1] for bi, ci in zip(b, centres)])
    r = int(np.ceil(2 * sigma))
    runmax = np.array([need[max(0, i - r):i + r + 1].max() for i in range(len(need))])
    dist = np.maximum(gaussian_smooth(runmax, sigma), need)
    return np.stack([camera_from_fit(rotation, c, d) for c, d in zip(centres, dist)])
