"""Face landmarks (nose, eyes, ears) from the head's own geometry, for rigs without eye bones (docs/rigs.md,
"Landmarks").

Pure numpy: the Blender side gathers the rest-pose vertices the head bone deforms
(:func:`datagen.render.blender.landmarks.head_vertices`). The points are measured on that mesh, in the
character's frame (``up``, ``fwd`` its front, ``side`` its left), from the head's own extent (chin to
crown, its width and depth at each height), so they follow its proportions, an adult's head or a large
anime one alike (the fixed offsets of :func:`datagen.pose.landmarks.fallback_points` scale with the head
bone instead, whose joint sits at the chin of a large anime head):

* **eyes** at 0.35 of the head's height above its lowest point, 0.42 of its half-width there either
  side, on the front surface (the most forward vertex around that height and side);
* **nose** at 0.25 of the height, on the midline, on the front surface;
* **ears** at 0.30 of the height, on the sides of the head there, a tenth of its depth behind its middle.

The fractions are read off two heads that carry their own face points: the default avatar (its ``kp_``
empties) and the Godette VRM (its eyes, found by their texture); both land within 2 cm (tests).
"""
from __future__ import annotations

import numpy as np

# Fractions of the head's measures (see the module docstring).
EYE_HEIGHT, NOSE_HEIGHT, EAR_HEIGHT = 0.35, 0.25, 0.30
EYE_SIDE = 0.42  # of the half-width at eye height
EAR_BACK = 0.1  # of the head's depth, behind its middle
MIN_VERTICES = 20


def head_frame(side: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """(3, 3) rows (side, up, fwd): the character's left (levelled), up, and front (side x up, so -Y for
    a character facing -Y with its left at +X)."""
    u = np.asarray(up, float) / np.linalg.norm(up)
    s = np.asarray(side, float) - u * (np.asarray(side, float) @ u)  # level: the vertical stays vertical
    s /= np.linalg.norm(s)
    return np.stack([s, u, np.cross(s, u)])


def _front(p: np.ndarray, u0: float, s0: float, du: float, ds: float) -> float:
    """The most forward f of the points near height u0 and side s0 (the window widened until it holds some)."""
    for k in (1.0, 2.0, 4.0, 8.0):
        near = (np.abs(p[:, 1] - u0) < du * k) & (np.abs(p[:, 0] - s0) < ds * k)
        if near.any():
            return float(p[near, 2].max())
    return float(p[:, 2].max())


def face_points(vertices: np.ndarray, side: np.ndarray,
                up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> dict[str, np.ndarray] | None:
    """nose, left/right eye and ear (same space as ``vertices``, (n, 3) of the head) or None when the
    head has too few vertices to measure; ``side`` points to the character's left."""
    v = np.asarray(vertices, float)
    if len(v) < MIN_VERTICES:
        return None
    frame = head_frame(side, up)
    centre = np.median(v, axis=0)
    p = (v - centre) @ frame.T  # (s, u, f)
    bottom, top = np.percentile(p[:, 1], [0.5, 99.5])
    height = top - bottom
    half = float(np.percentile(np.abs(p[:, 0]), 99.0))
    back, front = np.percentile(p[:, 2], [0.5, 99.5])
    if height <= 0 or half <= 0:
        return None
    du, ds = 0.05 * height, 0.1 * half

    def half_width(u0: float) -> float:
        near = np.abs(p[:, 1] - u0) < du
        return float(np.abs(p[near, 0]).max()) if near.any() else half

    u_eye, u_nose, u_ear = (bottom + f * height for f in (EYE_HEIGHT, NOSE_HEIGHT, EAR_HEIGHT))
    out = {"nose": np.array([0.0, u_nose, _front(p, u_nose, 0.0, du, ds)])}
    eye_s, ear_s = EYE_SIDE * half_width(u_eye), half_width(u_ear)
    ear_f = 0.5 * (front + back) - EAR_BACK * (front - back)
    for name, sign in (("left", 1.0), ("right", -1.0)):
        out[f"{name}_eye"] = np.array([sign * eye_s, u_eye, _front(p, u_eye, sign * eye_s, du, ds)])
        out[f"{name}_ear"] = np.array([sign * ear_s, u_ear, ear_f])
    return {k: centre + pt @ frame for k, pt in out.items()}
