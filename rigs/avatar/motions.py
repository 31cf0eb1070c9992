"""The avatar's motion library, procedurally: idle, walk, run, wave, jump, turn360, dance, bow.

A pose is a set of per-bone angles (degrees) in the parent's rest-aligned world frame (X = character's
left, Y = back, Z = up), composed as ``Rz @ Rx @ Ry @ twist`` where twist turns about the bone's own rest
direction. Conventions: for legs, rx < 0 swings the leg forward; for the spine, neck and head, rx > 0
bends forward and rz > 0 turns to the character's left; for the left arm, ry > 0 lowers it (the rest
pose holds the arms 30 degrees below horizontal). Lower arms and lower legs bend about their flexion
axis: ``flex`` > 0 brings the hand forward / the heel back. Right-side angles are given for the left
side and mirrored (ry, rz and twist change sign).

Every clip starts and ends in the common NEUTRAL pose (arms down, standing), so clips chain smoothly.
The root height is set each frame so that the lowest foot contact point touches the floor (z = 0);
the jump adds its flight on top. Output: per-frame world rotation deltas per bone, the root position,
and local quaternions for Blender via the rest matrices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.pose import continuous_quats, quat_from_matrix

from .skeleton import ANKLE_L, BALL_L, BONE_NAMES, BONES, TOETIP_L, mirror_x

FPS = 24
CLIPS: dict[str, float] = {  # name -> duration in seconds
    "idle": 3.0, "walk": 3.0, "run": 2.5, "wave": 3.0, "jump": 2.5, "turn360": 3.0, "dance": 4.0, "bow": 3.0,
}

Pose = dict  # bone name -> (rx, ry, rz, twist, flex) degrees; "root" -> (x, y, z) metres offset

NEUTRAL: Pose = {
    "LeftUpperArm": (4, 52, 0, 0, 0), "RightUpperArm": (4, 52, 0, 0, 0),
    "LeftLowerArm": (0, 0, 0, 0, 14), "RightLowerArm": (0, 0, 0, 0, 14),
    "LeftUpperLeg": (0, 1, 0, 0, 0), "RightUpperLeg": (0, 1, 0, 0, 0),
    "LeftLowerLeg": (0, 0, 0, 0, 3), "RightLowerLeg": (0, 0, 0, 0, 3),
    "LeftFoot": (-1, 0, 0, 0, 0), "RightFoot": (-1, 0, 0, 0, 0),
    "LeftShoulder": (0, 4, 0, 0, 0), "RightShoulder": (0, 4, 0, 0, 0),
}


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _envelope(t: float, dur: float, ramp: float = 0.45) -> float:
    return float(_smooth(t / ramp) * _smooth((dur - t) / ramp))


def _add(pose: Pose, bone: str, rx=0.0, ry=0.0, rz=0.0, twist=0.0, flex=0.0, both: bool = False) -> None:
    """Add angles to a bone (authored for the left side; ``both`` mirrors onto the right too)."""
    names = [bone]
    if both:
        names = ["Left" + bone, "Right" + bone]
    for n in names:
        cur = np.array(pose.get(n, (0, 0, 0, 0, 0)), float)
        pose[n] = tuple(cur + np.array([rx, ry, rz, twist, flex], float))


def _pose_at(clip: str, t: float, dur: float) -> Pose:
    """The authored pose of ``clip`` at time t (s), as an offset added onto NEUTRAL."""
    p: Pose = {}
    w = _envelope(t, dur, 0.7 if clip == "run" else 0.45)
    if clip == "idle":
        s = np.sin(2 * np.pi * t / dur)
        b = np.sin(4 * np.pi * t / dur)
        _add(p, "Chest", rx=1.5 * b)
        _add(p, "Hips", ry=2.0 * s)
        _add(p, "Spine", ry=-2.0 * s)
        _add(p, "Head", rz=6.0 * s, ry=-2.0 * b)
        _add(p, "UpperArm", rx=-2.0 * b, ry=1.5 * s, both=True)
        _add(p, "LowerArm", flex=4 * b * b, both=True)
    elif clip in ("walk", "run"):
        run = clip == "run"
        period = 0.66 if run else 1.0
        ph = 2 * np.pi * t / period
        sw = 1.0 if run else 0.0
        for side, sg in (("Left", 1.0), ("Right", -1.0)):
            phi = ph if sg > 0 else ph + np.pi
            thigh = -(24 + 14 * sw) * np.sin(phi) - 5 * sw  # forward < 0
            knee = 6 + (42 + 45 * sw) * max(0.0, np.cos(phi - 0.3)) ** 2 + 8 * sw
            foot = -8 * np.cos(phi) + 6 * max(0.0, np.sin(phi + 0.6))
            _add(p, side + "UpperLeg", rx=w * thigh)
            _add(p, side + "LowerLeg", flex=w * knee)
            _add(p, side + "Foot", rx=w * foot)
            arm = (20 + 18 * sw) * np.sin(phi)  # opposite to the same-side leg
            _add(p, side + "UpperArm", rx=w * (arm - 6 * sw), ry=w * (-4 * sw))
            _add(p, side + "LowerArm", flex=w * (16 + 55 * sw + 12 * max(0.0, -np.sin(phi))))
        _add(p, "Hips", rz=w * 6 * np.sin(ph), ry=w * 2 * np.sin(ph))
        _add(p, "Chest", rz=-w * 8 * np.sin(ph))
        _add(p, "Spine", rx=w * (3 + 8 * sw))
        _add(p, "Head", rx=-w * (2 + 5 * sw))
    elif clip == "wave":
        a = _smooth((t - 0.2) / 0.6) * _smooth((dur - 0.2 - t) / 0.6)
        osc = np.sin(2 * np.pi * 2.2 * (t - 0.8)) * _smooth((t - 0.8) / 0.3) * _smooth((dur - 0.8 - t) / 0.3)
        p["RightUpperArm"] = (-a * 15, -a * 118, 0, -a * 90, 0)  # left-authored, mirrored
        p["RightLowerArm"] = (0, 0, 0, 0, a * (55 + 25 * osc))
        _add(p, "Head", rz=-a * 8, ry=a * 6)
        _add(p, "Chest", ry=a * 3)
        _add(p, "Hips", ry=-a * 2)
    elif clip == "jump":
        crouch = _smooth(t / 0.5) * (1 - _smooth((t - 0.55) / 0.25)) + \
            _smooth((t - 1.15) / 0.12) * (1 - _smooth((t - 1.35) / 0.6))
        tuck = _smooth((t - 0.75) / 0.15) * (1 - _smooth((t - 1.0) / 0.2))
        arms_up = _smooth((t - 0.45) / 0.35) * (1 - _smooth((t - 1.1) / 0.45))
        arms_back = crouch * (1 - arms_up)
        for side in ("Left", "Right"):
            _add(p, side + "UpperLeg", rx=-48 * crouch - 30 * tuck)
            _add(p, side + "LowerLeg", flex=80 * crouch + 55 * tuck)
            _add(p, side + "Foot", rx=-28 * crouch + 18 * tuck + 20 * arms_up * (1 - tuck))
            _add(p, side + "UpperArm", rx=35 * arms_back - 120 * arms_up, ry=-20 * arms_up)
            _add(p, side + "LowerArm", flex=15 * arms_back + 10 * arms_up)
        _add(p, "Spine", rx=22 * crouch)
        _add(p, "Chest", rx=8 * crouch)
        _add(p, "Head", rx=-18 * crouch)
        flight = np.clip((t - 0.72) / 0.45, 0, 1)
        p["root"] = (0.0, 0.0, 0.30 * 4 * flight * (1 - flight))
    elif clip == "turn360":
        u = _smooth((t - 0.3) / (dur - 0.6))
        p["Hips"] = (0, 0, 360.0 * u, 0, 0)
        steps = np.sin(np.pi * 4 * u)
        for side, sg in (("Left", 1), ("Right", -1)):
            lift = max(0.0, sg * steps) * w
            _add(p, side + "UpperLeg", rx=-22 * lift)
            _add(p, side + "LowerLeg", flex=40 * lift)
            _add(p, side + "UpperArm", ry=-12 * w, rx=-8 * w)
            _add(p, side + "LowerArm", flex=20 * w)
        _add(p, "Head", rz=12 * w * np.sin(2 * np.pi * u))
    elif clip == "dance":
        beat = 2 * np.pi * t / 1.0
        for side, sg in (("Left", 1.0), ("Right", -1.0)):
            ph = beat if sg > 0 else beat + np.pi
            up = 0.5 + 0.5 * np.sin(ph)
            _add(p, side + "UpperArm", ry=w * (-95 * up - 10), rx=w * (-25 + 20 * np.cos(ph)), twist=-w * 60 * up)
            _add(p, side + "LowerArm", flex=w * (30 + 60 * (1 - up)))
            bounce = max(0.0, np.sin(2 * beat))
            _add(p, side + "UpperLeg", rx=-w * (10 * bounce + 6 * max(0.0, sg * np.sin(beat))), ry=w * 6)
            _add(p, side + "LowerLeg", flex=w * (20 * bounce + 14 * max(0.0, sg * np.sin(beat))))
            _add(p, side + "Foot", rx=w * 6 * bounce)
        _add(p, "Hips", ry=w * 9 * np.sin(beat), rz=w * 10 * np.sin(beat / 2))
        _add(p, "Spine", ry=-w * 7 * np.sin(beat))
        _add(p, "Chest", ry=-w * 4 * np.sin(beat), rz=-w * 8 * np.sin(beat / 2))
        _add(p, "Head", ry=w * 10 * np.sin(beat + 0.5), rx=w * 5 * np.sin(2 * beat))
        p["root"] = (w * 0.05 * np.sin(beat), 0.0, 0.0)
    elif clip == "bow":
        a = _smooth((t - 0.3) / 0.8) * (1 - _smooth((t - 1.7) / 0.9))
        _add(p, "Spine", rx=26 * a)
        _add(p, "Chest", rx=18 * a)
        _add(p, "Neck", rx=8 * a)
        _add(p, "Head", rx=6 * a)
        _add(p, "UpperLeg", rx=-12 * a, both=True)
        _add(p, "UpperArm", rx=-22 * a, ry=4 * a, rz=-18 * a, both=True)
        _add(p, "LowerArm", flex=25 * a, both=True)
        p["root"] = (0.0, 0.06 * a, 0.0)
    else:
        raise KeyError(clip)
    return p


def clip_poses(clip: str, fps: int = FPS) -> list[Pose]:
    """NEUTRAL + the clip's offsets at each frame (frame i at time i / fps; the last at the duration)."""
    dur = CLIPS[clip]
    n = int(round(dur * fps)) + 1
    out = []
    for i in range(n):
        off = _pose_at(clip, i / fps, dur)
        pose = dict(NEUTRAL)
        for k, v in off.items():
            if k == "root":
                pose[k] = tuple(v)
            else:
                pose[k] = tuple(np.array(pose.get(k, (0, 0, 0, 0, 0)), float) + np.array(v, float))
        out.append(pose)
    return out


# ---- pose -> rotations ---------------------------------------------------------------------------

def _axis_angle(axis: np.ndarray, deg: float) -> np.ndarray:
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    th = np.radians(deg)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K


_X, _Y, _Z = np.eye(3)
_FWD = np.array([0.0, -1.0, 0.0])


def bone_rotation(name: str, angles) -> np.ndarray:
    """The relative rotation (3x3, parent-rest-aligned world frame) of bone ``name`` for its angles."""
    rx, ry, rz, twist, flex = angles
    right = name.startswith("Right")
    if right:  # authored for the left side: mirror across the YZ plane
        ry, rz, twist = -ry, -rz, -twist
    b = BONES[BONE_NAMES.index(name)]
    d = np.subtract(b.tail, b.head)
    d = d / np.linalg.norm(d)
    R = _axis_angle(_Z, rz) @ _axis_angle(_X, rx) @ _axis_angle(_Y, ry) @ _axis_angle(d, twist)
    if flex:
        if "LowerLeg" in name:
            axis = _X  # heel goes back (+Y) for flex > 0
        else:
            axis = np.cross(d, _FWD)  # hand comes forward
        R = R @ _axis_angle(axis, flex)
    return R


def pose_deltas(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """World rotation deltas (B,3,3) of every bone and the root offset (3,) for one pose."""
    B = len(BONES)
    D = np.empty((B, 3, 3))
    for i, b in enumerate(BONES):  # BONES lists parents first
        E = bone_rotation(b.name, pose[b.name]) if b.name in pose else np.eye(3)
        D[i] = E if b.parent is None else D[BONE_NAMES.index(b.parent)] @ E
    return D, np.asarray(pose.get("root", (0.0, 0.0, 0.0)), float)


def joint_positions(D: np.ndarray, root: np.ndarray) -> np.ndarray:
    """(B,3) posed bone heads for deltas D (B,3,3) and the Hips head at rest head + root."""
    heads = np.array([b.head for b in BONES])
    out = np.empty_like(heads)
    for i, b in enumerate(BONES):
        if b.parent is None:
            out[i] = heads[i] + root
        else:
            p = BONE_NAMES.index(b.parent)
            out[i] = out[p] + D[p] @ (heads[i] - heads[p])
    return out


def _contacts() -> list[tuple[str, np.ndarray]]:
    """Sole points (bone, rest position) of both feet: heel, ball, toe tip."""
    pts = []
    for m in (lambda v: np.asarray(v, float), mirror_x):
        side = "Left" if m(np.array([1.0, 0, 0]))[0] > 0 else "Right"
        pts.append((side + "Foot", m(ANKLE_L * np.array([1, 1, 0]) + np.array([0, 0.012, 0]))))
        pts.append((side + "Foot", m(BALL_L * np.array([1, 1, 0]))))
        pts.append((side + "Toes", m(TOETIP_L * np.array([1, 1, 0]))))
    return pts


def ground_offset(D: np.ndarray, root: np.ndarray) -> float:
    """Vertical shift that puts the lowest sole point of the pose on the floor (z = 0)."""
    J = joint_positions(D, root)
    heads = np.array([b.head for b in BONES])
    zs = []
    for bone, p in _contacts():
        i = BONE_NAMES.index(bone)
        zs.append((J[i] + D[i] @ (p - heads[i]))[2])
    return -min(zs)


@dataclass
class Clip:
    name: str
    fps: int
    deltas: np.ndarray  # (T,B,3,3) world rotation deltas
    root: np.ndarray  # (T,3) Hips head offset from its rest position (metres, world)

    def joints(self) -> np.ndarray:
        """(T,B,3) posed bone heads."""
        return np.stack([joint_positions(d, r) for d, r in zip(self.deltas, self.root)])

    def local_quaternions(self, rest: np.ndarray) -> np.ndarray:
        """(T,B,4) wxyz pose-bone rotations for Blender, given rest rotations (B,3,3) (bone.matrix_local)."""
        T, B = self.deltas.shape[:2]
        Q = np.empty((T, B, 4))
        for i, b in enumerate(BONES):
            if b.parent is None:
                rel = self.deltas[:, i]
            else:
                p = BONE_NAMES.index(b.parent)
                rel = np.swapaxes(self.deltas[:, p], 1, 2) @ self.deltas[:, i]
            Q[:, i] = quat_from_matrix(rest[i].T @ rel @ rest[i])
        return continuous_quats(np.round(Q, 6))

    def root_location(self, rest: np.ndarray) -> np.ndarray:
        """(T,3) location channel of the root bone (in its rest frame)."""
        return self.root @ rest[BONE_NAMES.index("Hips")]


def make_clip(name: str, fps: int = FPS) -> Clip:
    poses = clip_poses(name, fps)
    Ds, roots = [], []
    for pose in poses:
        D, r = pose_deltas(pose)
        r = r.copy()
        r[2] += ground_offset(D, np.array([r[0], r[1], 0.0]))
        Ds.append(D)
        roots.append(r)
    return Clip(name, fps, np.array(Ds), np.array(roots))
