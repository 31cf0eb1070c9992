"""BVH motion capture files: parser and forward kinematics in numpy (Biovision hierarchy format).

A BVH file has a HIERARCHY of joints (OFFSET from the parent, CHANNELS in the order the values
appear, nested JOINTs, End Sites) and a MOTION table of one row of channel values per frame. Each joint's
local transform is ``T(offset + position channels) @ R`` with R the product of its rotation channels in
the listed order (``Zrotation Yrotation Xrotation`` -> Rz @ Ry @ Rx), angles in degrees. Channel order
may differ per joint (the CMU 3dsMax conversion uses Z X Y for the arms).
"""
from __future__ import annotations

import math

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.errors import DatagenError


class BVHError(DatagenError):
    """A BVH file that cannot be parsed; the message names the file and the line."""


_AXIS = {"X": 0, "Y": 1, "Z": 2}


@dataclass
class BVH:
    """A parsed BVH clip. J joints, F frames, C channels in all."""

    names: list[str]  # (J,) joint names, parents before children
    parents: np.ndarray  # (J,) int, -1 for the root
    offsets: np.ndarray  # (J,3) rest offset from the parent, file units
    channels: list[list[str]]  # per joint, e.g. ["Xposition", ..., "Zrotation", "Xrotation", "Yrotation"]
    end_sites: dict[int, np.ndarray]  # joint index -> End Site offset (3,)
    frame_time: float  # seconds per frame
    motion: np.ndarray  # (F, C) channel values

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def num_frames(self) -> int:
        return self.motion.shape[0]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, j: int) -> list[int]:
        return [i for i, p in enumerate(self.parents) if p == j]

    def _columns(self) -> list[int]:
        starts, c = [], 0
        for ch in self.channels:
            starts.append(c)
            c += len(ch)
        return starts

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """-> local rotations (F,J,3,3) and translations (F,J,3) of each joint relative to its parent."""
        F, J = self.num_frames, len(self.names)
        R = np.broadcast_to(np.eye(3), (F, J, 3, 3)).copy()
        T = np.broadcast_to(self.offsets, (F, J, 3)).copy()
        for j, (ch, c0) in enumerate(zip(self.channels, self._columns())):
            for k, name in enumerate(ch):
                v = self.motion[:, c0 + k]
                axis = _AXIS[name[0].upper()]
                if name[1:].lower() == "position":
                    T[:, j, axis] += v
                elif name[1:].lower() == "rotation":
                    R[:, j] = R[:, j] @ axis_rotation(axis, np.radians(v))
        return R, T

    def forward_kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        """-> global joint positions (F,J,3) and rotations (F,J,3,3), in the file's frame and units."""
        R, T = self.local_transforms()
        F, J = R.shape[:2]
        GR = np.empty_like(R)
        GP = np.empty((F, J, 3))
        for j in range(J):
            p = self.parents[j]
            if p < 0:
                GR[:, j] = R[:, j]
                GP[:, j] = T[:, j]
            else:
                GR[:, j] = GR[:, p] @ R[:, j]
                GP[:, j] = GP[:, p] + np.einsum("fij,fj->fi", GR[:, p], T[:, j])
        return GP, GR

    def end_positions(self, GP: np.ndarray, GR: np.ndarray) -> dict[int, np.ndarray]:
        """Global End Site positions (F,3) per joint that has one."""
        return {j: GP[:, j] + np.einsum("fij,j->fi", GR[:, j], off) for j, off in self.end_sites.items()}

    def rest_positions(self) -> np.ndarray:
        """(J,3) joint positions of the rest (zero-channel) pose."""
        P = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            P[j] = self.offsets[j] + (P[p] if p >= 0 else 0.0)
        return P


def axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(N,) radians -> (N,3,3) rotations about coordinate axis 0, 1 or 2 (right-handed)."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    if axis == 0:
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == 1:
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), [0, 1], [-2, -1])


def load_bvh(path: str | Path) -> BVH:
    """Parse a BVH file; raise BVHError naming the file and line on malformed input."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise BVHError(f"{path}: cannot read BVH file ({e.strerror})") from None
    return parse_bvh(text, str(path))


def parse_bvh(text: str, source: str = "<bvh>") -> BVH:
    lines = text.splitlines()
    toks: list[tuple[str, int]] = []
    motion_line = None
    for ln, line in enumerate(lines, 1):
        if line.strip().upper().startswith("MOTION"):
            motion_line = ln
            break
        toks.extend((t, ln) for t in line.replace("{", " { ").replace("}", " } ").split())
    if not toks or toks[0][0].upper() != "HIERARCHY":
        raise BVHError(f"{source}: not a BVH file (no HIERARCHY at the top)")
    if motion_line is None:
        raise BVHError(f"{source}: no MOTION section")

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_sites: dict[int, np.ndarray] = {}
    stack: list[int] = []  # joint index per open brace (-2 for an End Site)
    pending: tuple[str, str] | None = None  # ("JOINT", name) or ("END", "")
    i = 1

    def need(k: int) -> list[tuple[str, int]]:
        if i + k > len(toks):
            raise BVHError(f"{source}:{toks[-1][1]}: unexpected end of HIERARCHY")
        return toks[i:i + k]

    def num(tok: tuple[str, int]) -> float:
        try:
            value = float(tok[0])
        except ValueError:
            raise BVHError(f"{source}:{tok[1]}: expected a number, got {tok[0]!r}") from None
        if not math.isfinite(value):
            raise BVHError(f"{source}:{tok[1]}: {tok[0]!r} is not a finite number")
        return value

    while i < len(toks):
        t, ln = toks[i]
        u = t.upper()
        if u in ("ROOT", "JOINT"):
            (nm, _), = need(2)[1:]
            pending = ("JOINT", nm)
            i += 2
        elif u == "END":
            pending = ("END", "")
            i += 2  # "End Site"
        elif t == "{":
            if pending is None:
                raise BVHError(f"{source}:{ln}: '{{' without a joint")
            if pending[0] == "JOINT":
                names.append(pending[1])
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                stack.append(len(names) - 1)
            else:
                if not stack or stack[-1] < 0:
                    raise BVHError(f"{source}:{ln}: End Site outside a joint")
                stack.append(-2 - stack[-1])  # encodes the owning joint
            pending = None
            i += 1
        elif t == "}":
            if not stack:
                raise BVHError(f"{source}:{ln}: unbalanced '}}'")
            stack.pop()
            i += 1
        elif u == "OFFSET":
            vals = [num(x) for x in need(4)[1:]]
            top = stack[-1] if stack else None
            if top is None:
                raise BVHError(f"{source}:{ln}: OFFSET outside a joint")
            if top >= 0:
                offsets[top] = vals
            else:
                end_sites[-2 - top] = np.array(vals)
            i += 4
        elif u == "CHANNELS":
            n = int(num(need(2)[1]))
            chans = [x[0] for x in need(2 + n)[2:]]
            for c in chans:
                if len(c) < 2 or c[0].upper() not in _AXIS or c[1:].lower() not in ("position", "rotation"):
                    raise BVHError(f"{source}:{ln}: unknown channel {c!r}")
            if not stack or stack[-1] < 0:
                raise BVHError(f"{source}:{ln}: CHANNELS outside a joint")
            channels[stack[-1]] = chans
            i += 2 + n
        else:
            raise BVHError(f"{source}:{ln}: unexpected {t!r} in HIERARCHY")
    if stack:
        raise BVHError(f"{source}: unclosed joint {names[stack[-1]]!r}")
    if not names:
        raise BVHError(f"{source}: no joints")

    rest = lines[motion_line:]
    header: dict[str, str] = {}
    data_start = None
    for k, line in enumerate(rest):
        s = line.strip()
        if not s:
            continue
        low = s.lower()
        if low.startswith("frames:"):
            header["frames"] = s.split(":", 1)[1]
        elif low.startswith("frame time:"):
            header["time"] = s.split(":", 1)[1]
        else:
            data_start = k
            break
    try:
        n_frames = int(header["frames"])
        frame_time = float(header["time"])
    except (KeyError, ValueError):
        raise BVHError(f"{source}:{motion_line}: MOTION needs 'Frames: N' and 'Frame Time: T'") from None
    if not (math.isfinite(frame_time) and frame_time > 0):
        raise BVHError(f"{source}:{motion_line}: Frame Time {header['time'].strip()} must be a positive number")
    if n_frames < 1:
        raise BVHError(f"{source}:{motion_line}: Frames {n_frames} must be at least 1")
    n_ch = sum(len(c) for c in channels)
    rows = [] if data_start is None else [r for r in rest[data_start:] if r.strip()]
    if len(rows) < n_frames:
        raise BVHError(f"{source}: {n_frames} frames announced, {len(rows)} found")
    values = [r.split() for r in rows[:n_frames]]
    for k, v in enumerate(values):
        if len(v) != n_ch:
            raise BVHError(f"{source}: frame {k}: each frame needs {n_ch} values (the CHANNELS total), "
                           f"found {len(v)}")
    try:
        motion = np.array(values, dtype=np.float64).reshape(n_frames, n_ch)
    except ValueError:
        raise BVHError(f"{source}: non-numeric value in MOTION data") from None
    bad = ~np.isfinite(motion)
    if bad.any():
        k, c = np.argwhere(bad)[0]
        raise BVHError(f"{source}: frame {k} channel {c} is {values[k][c]!r}, not a finite number")
    return BVH(names, np.array(parents, dtype=np.int64), np.array(offsets, dtype=np.float64), channels,
               end_sites, frame_time, motion)
