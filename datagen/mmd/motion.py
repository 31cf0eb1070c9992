"""MMD motions: VMD (keyframed bone motion, 30 frames per second) and VPD (one pose, text) files.

Only bone keys are read (morph, camera, light and IK-switch keys are not used for keypoints). A key
holds a translation and a rotation quaternion (x, y, z, w) in MMD's frame, relative to the bone's rest;
VMD's Bezier easing is read (:func:`bezier_weights`) and applied between keys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.mmd.binary import MMDError, Reader, read_bytes

VMD_FPS = 30.0


@dataclass
class BoneTrack:
    frames: np.ndarray  # (K,) int, ascending
    positions: np.ndarray  # (K,3)
    quats: np.ndarray  # (K,4) x, y, z, w
    curves: np.ndarray  # (K,4,4) Bezier (x1, y1, x2, y2) / 127 per channel X, Y, Z, rotation


@dataclass
class Motion:
    path: Path
    model: str  # the model the motion was made for (as the file says)
    tracks: dict[str, BoneTrack]
    fps: float = VMD_FPS

    @property
    def num_frames(self) -> int:
        return 1 + max((int(t.frames[-1]) for t in self.tracks.values()), default=0)


def load_motion(path: str | Path) -> Motion:
    """Parse a .vmd or .vpd file (by suffix); raise MMDError naming the file on anything malformed."""
    path = Path(path)
    if path.suffix.lower() == ".vpd":
        return _vpd(path)
    return _vmd(path)


_LINEAR = np.array([20, 20, 107, 107]) / 127.0


def _vmd(path: Path) -> Motion:
    r = Reader(read_bytes(path, "VMD motion"), str(path), "VMD motion")
    magic = r.take(30, "the header") if len(r.data) >= 30 else b""
    if magic.startswith(b"Vocaloid Motion Data 0002"):
        model = r.fixed_text(20, "the model name")
    elif magic.startswith(b"Vocaloid Motion Data file"):
        model = r.fixed_text(10, "the model name")
    else:
        raise MMDError(f"{path}: not a VMD motion (no 'Vocaloid Motion Data' header)")
    n = r.count("I", "bone keys", 111)
    dt = np.dtype([("name", "S15"), ("frame", "<u4"), ("pos", "<f4", 3), ("rot", "<f4", 4), ("interp", "u1", 64)])
    keys = np.frombuffer(r.take(n * dt.itemsize, "the bone keys"), dtype=dt)
    r.finite(keys["pos"], "a bone key's position")
    r.finite(keys["rot"], "a bone key's rotation")
    names = [k.split(b"\0", 1)[0].decode("shift_jis", errors="replace") for k in keys["name"]]
    tracks: dict[str, BoneTrack] = {}
    order = np.lexsort((keys["frame"],))
    by_name: dict[str, list[int]] = {}
    for i in order:
        by_name.setdefault(names[i], []).append(int(i))
    for name, idx in by_name.items():
        k = keys[idx]
        # The interpolation block: X, Y, Z, R curves' x1, y1, x2, y2 at bytes 0, 4, 8, 12 (+ channel).
        ib = k["interp"].astype(float)
        curves = np.stack([ib[:, [c, 4 + c, 8 + c, 12 + c]] for c in range(4)], 1) / 127.0
        q = k["rot"].astype(float)
        norm = np.linalg.norm(q, axis=1, keepdims=True)
        if (norm < 1e-6).any():
            raise MMDError(f"{path}: bone {name!r} has a zero rotation quaternion")
        tracks[name] = BoneTrack(k["frame"].astype(np.int64), k["pos"].astype(float), q / norm, curves)
    return Motion(path, model, tracks)


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VPD_BONE = re.compile(r"Bone\d+\s*\{\s*([^\n]*?)\s*\n(.*?)\}", re.S)


def _vpd(path: Path) -> Motion:
    raw = read_bytes(path, "VPD pose")
    text = None
    for enc in ("shift_jis", "utf-8"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None or not text.lstrip("\ufeff").startswith("Vocaloid Pose Data file"):
        raise MMDError(f"{path}: not a VPD pose (no 'Vocaloid Pose Data file' header)")
    text = re.sub(r"//[^\n]*", "", text)
    tracks = {}
    for m in _VPD_BONE.finditer(text):
        nums = [float(x) for x in re.findall(_NUM, m.group(2))]
        if len(nums) != 7 or not np.isfinite(nums).all():
            raise MMDError(f"{path}: bone {m.group(1)!r} needs 3 position and 4 rotation numbers, "
                           f"found {len(nums)}")
        q = np.array(nums[3:])
        if np.linalg.norm(q) < 1e-6:
            raise MMDError(f"{path}: bone {m.group(1)!r} has a zero rotation quaternion")
        tracks[m.group(1)] = BoneTrack(np.zeros(1, dtype=np.int64), np.array([nums[:3]]),
                                       (q / np.linalg.norm(q))[None], np.tile(_LINEAR, (1, 4, 1)))
    declared = re.search(r"\n\s*(\d+)\s*;", text)
    if declared and int(declared.group(1)) != len(tracks):
        raise MMDError(f"{path}: {declared.group(1)} bones announced, {len(tracks)} found (truncated?)")
    if not tracks:
        raise MMDError(f"{path}: no bone poses")
    return Motion(path, "", tracks)


def bezier_weights(curve: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Eased weights for linear times ``t`` (N,) in [0, 1] through MMD Bezier curves (N,4) = (x1, y1, x2, y2),
    the curve running from (0, 0) to (1, 1): solve x(s) = t by bisection, return y(s)."""
    x1, y1, x2, y2 = curve.T
    lo, hi = np.zeros_like(t), np.ones_like(t)
    for _ in range(30):
        s = 0.5 * (lo + hi)
        x = 3 * (1 - s) ** 2 * s * x1 + 3 * (1 - s) * s ** 2 * x2 + s ** 3
        lo, hi = np.where(x < t, s, lo), np.where(x < t, hi, s)
    s = 0.5 * (lo + hi)
    return 3 * (1 - s) ** 2 * s * y1 + 3 * (1 - s) * s ** 2 * y2 + s ** 3


def _slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    dot = np.sum(q0 * q1, axis=1)
    q1 = np.where(dot[:, None] < 0, -q1, q1)
    dot = np.abs(dot).clip(-1, 1)
    theta = np.arccos(dot)
    small = theta < 1e-6
    s = np.sin(np.where(small, 1.0, theta))
    a = np.where(small, 1 - w, np.sin((1 - w) * theta) / s)
    b = np.where(small, w, np.sin(w * theta) / s)
    q = a[:, None] * q0 + b[:, None] * q1
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def sample(track: BoneTrack, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (N,3) and quaternions (N,4, xyzw) of a track at frame times (N,): held before the first
    and after the last key, eased between keys by the next key's curves (as MMD does)."""
    f = track.frames.astype(float)
    k1 = np.searchsorted(f, times, side="right").clip(1, max(len(f) - 1, 1))
    k0 = k1 - 1
    if len(f) == 1:
        return np.repeat(track.positions, len(times), 0), np.repeat(track.quats, len(times), 0)
    span = np.maximum(f[k1] - f[k0], 1e-9)
    u = ((times - f[k0]) / span).clip(0, 1)
    curves = track.curves[k1]
    pos = np.empty((len(times), 3))
    for c in range(3):
        w = bezier_weights(curves[:, c], u)
        pos[:, c] = track.positions[k0, c] * (1 - w) + track.positions[k1, c] * w
    quat = _slerp(track.quats[k0], track.quats[k1], bezier_weights(curves[:, 3], u))
    return pos, quat
