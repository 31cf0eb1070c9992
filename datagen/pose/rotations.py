"""Rotation helpers of the retargeting (pure numpy): rotations between vectors, frames, quaternions
(w, x, y, z) from and to matrices, and sign-continuous quaternion tracks for keyframes."""
from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimal rotations (N,3,3) taking directions a (N,3) to b (N,3)."""
    a, b = unit(np.atleast_2d(a)), unit(np.atleast_2d(b))
    v = np.cross(a, b)
    c = np.einsum("ij,ij->i", a, b)
    s = np.linalg.norm(v, axis=1)
    K = np.zeros((len(a), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    R = np.eye(3) + K + K @ K * (1.0 / np.maximum(1.0 + c, 1e-12))[:, None, None]
    # opposite directions: half turn about any axis perpendicular to a
    opp = c < -1 + 1e-9
    if opp.any():
        ax = unit(np.cross(a[opp], np.where(np.abs(a[opp, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])))
        R[opp] = 2 * np.einsum("ni,nj->nij", ax, ax) - np.eye(3)
    del s
    return R


def frame(up: np.ndarray, lateral: np.ndarray) -> np.ndarray:
    """Orthonormal frames (N,3,3) with columns (lateral', up, lateral' x up)."""
    u = unit(up)
    l_ = unit(lateral - np.einsum("ij,ij->i", lateral, u)[:, None] * u)
    return np.stack([l_, u, np.cross(l_, u)], axis=2)


def quat_from_matrix(R: np.ndarray) -> np.ndarray:
    """(...,3,3) rotations -> (...,4) unit quaternions (w, x, y, z), w >= 0 where possible."""
    R = np.asarray(R, float)
    shp = R.shape[:-2]
    R = R.reshape(-1, 3, 3)
    q = np.empty((len(R), 4))
    tr = np.trace(R, axis1=1, axis2=2)
    cands = np.stack([tr, R[:, 0, 0], R[:, 1, 1], R[:, 2, 2]], axis=1)
    k = np.argmax(cands, axis=1)
    for case in range(4):
        m = k == case
        if not m.any():
            continue
        r = R[m]
        if case == 0:
            s = np.sqrt(1.0 + tr[m]) * 2
            q[m] = np.stack([0.25 * s, (r[:, 2, 1] - r[:, 1, 2]) / s, (r[:, 0, 2] - r[:, 2, 0]) / s,
                             (r[:, 1, 0] - r[:, 0, 1]) / s], 1)
        else:
            i = case - 1
            j, kk = (i + 1) % 3, (i + 2) % 3
            s = np.sqrt(1.0 + r[:, i, i] - r[:, j, j] - r[:, kk, kk]) * 2
            qq = np.empty((m.sum(), 4))
            qq[:, 0] = (r[:, kk, j] - r[:, j, kk]) / s
            qq[:, 1 + i] = 0.25 * s
            qq[:, 1 + j] = (r[:, j, i] + r[:, i, j]) / s
            qq[:, 1 + kk] = (r[:, kk, i] + r[:, i, kk]) / s
            q[m] = qq
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return unit(q).reshape(shp + (4,))


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    q = unit(np.asarray(q, float))
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (frames) so consecutive quaternions are in the same hemisphere."""
    q = q.copy()
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1
    return q
