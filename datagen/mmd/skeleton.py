"""An MMD motion played on an MMD skeleton, as keypoint trajectories for datagen.pose.retarget.

VMD keys are rotations and translations relative to the rest pose of the model they were made for,
about MMD's world axes (MMD bones have no rest orientation): ``G_j = G_parent R_j``, ``P_j = P_parent +
G_parent (rest_j - rest_parent + t_j)``. The legs are then solved by MMD's IK chains (足ＩＫ: the knee
bends forward in the plane of hip, target and the thigh's forward axis; つま先ＩＫ: the ankle aims the
toe at its target), so the keypoints follow the legs as MMD shows them. A motion made for another
model plays on its bones that this skeleton has; the rest are reported as skipped.

Without a model (a VMD on a glTF or Blender rig) the skeleton is :data:`STANDARD`, an MMD skeleton of
the usual proportions (arms about 37 degrees below horizontal at rest, as MMD models stand).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.mmd.binary import MMDError
from datagen.mmd.model import MMD_TO_BLENDER, Model
from datagen.mmd.motion import Motion, sample
from datagen.mmd.names import mmd_keypoints, normalised
from datagen.pose.retarget import SourcePose
from datagen.pose.rotations import rotation_between, unit


@dataclass
class Skeleton:
    names: list[str]
    parents: np.ndarray  # (J,) -1 at roots
    rest: np.ndarray  # (J,3) MMD units and axes
    tails: np.ndarray  # (J,3)
    iks: list[tuple[int, int, list[int]]]  # (IK bone, effector, links nearest first)
    english: dict[str, str]

    @classmethod
    def from_model(cls, model: Model) -> "Skeleton":
        return cls([b.name for b in model.bones], np.array([b.parent for b in model.bones]),
                   np.array([b.position for b in model.bones], float), np.array([b.tail for b in model.bones], float),
                   [(k.bone, k.effector, list(k.links)) for k in model.iks],
                   {b.name: b.name_en for b in model.bones})


def _standard() -> Skeleton:
    bones: dict[str, tuple[tuple[float, float, float], tuple[float, float, float], str | None]] = {
        "全ての親": ((0, 0, 0), (0, 1, 0), None),
        "センター": ((0, 8.0, 0), (0, 7.0, 0), "全ての親"),
        "グルーブ": ((0, 8.4, 0), (0, 9.4, 0), "センター"),
        "下半身": ((0, 11.6, 0.2), (0, 10.2, 0.2), "グルーブ"),
        "上半身": ((0, 11.6, 0.2), (0, 13.5, 0.2), "グルーブ"),
        "上半身2": ((0, 13.5, 0.2), (0, 15.9, 0.3), "上半身"),
        "首": ((0, 16.0, 0.3), (0, 17.0, 0.2), "上半身2"),
        "頭": ((0, 17.0, 0.2), (0, 19.6, 0.2), "首"),
    }
    c, s = np.cos(np.radians(37)), np.sin(np.radians(37))
    for j, x in (("左", 1.0), ("右", -1.0)):
        elbow = (x * (1.5 + 3.2 * c), 15.3 - 3.2 * s, 0.5)
        wrist = (elbow[0] + x * 3.0 * c, elbow[1] - 3.0 * s, 0.5)
        bones.update({
            f"{j}肩": ((x * 0.3, 15.6, 0.4), (x * 1.5, 15.3, 0.5), "上半身2"),
            f"{j}腕": ((x * 1.5, 15.3, 0.5), elbow, f"{j}肩"),
            f"{j}ひじ": (elbow, wrist, f"{j}腕"),
            f"{j}手首": (wrist, (wrist[0] + x * 1.2 * c, wrist[1] - 1.2 * s, 0.5), f"{j}ひじ"),
            f"{j}足": ((x * 0.9, 10.4, 0.2), (x * 0.9, 5.6, -0.1), "下半身"),
            f"{j}ひざ": ((x * 0.9, 5.6, -0.1), (x * 0.9, 1.1, 0.3), f"{j}足"),
            f"{j}足首": ((x * 0.9, 1.1, 0.3), (x * 0.9, 0.1, -1.5), f"{j}ひざ"),
            f"{j}つま先": ((x * 0.9, 0.1, -1.5), (x * 0.9, 0.1, -2.0), f"{j}足首"),
            f"{j}足ＩＫ": ((x * 0.9, 1.1, 0.3), (x * 0.9, 1.1, -0.7), "全ての親"),
            f"{j}つま先ＩＫ": ((x * 0.9, 0.1, -1.5), (x * 0.9, -0.9, -1.5), f"{j}足ＩＫ"),
        })
    names = list(bones)
    idx = {n: i for i, n in enumerate(names)}
    iks = [(idx[f"{j}足ＩＫ"], idx[f"{j}足首"], [idx[f"{j}ひざ"], idx[f"{j}足"]]) for j in "左右"]
    iks += [(idx[f"{j}つま先ＩＫ"], idx[f"{j}つま先"], [idx[f"{j}足首"]]) for j in "左右"]
    return Skeleton(names, np.array([idx[p] if p else -1 for _, _, p in bones.values()]),
                    np.array([h for h, _, _ in bones.values()], float),
                    np.array([t for _, t, _ in bones.values()], float), iks, {})


STANDARD = _standard()


def matrices_from_xyzw(q: np.ndarray) -> np.ndarray:
    """(...,4) quaternions (x, y, z, w) -> (...,3,3) rotation matrices (column vectors)."""
    q = unit(np.asarray(q, float))
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)


def _order(parents: np.ndarray) -> list[int]:
    order, seen = [], set()

    def visit(j: int, depth: int = 0) -> None:
        if j in seen or depth > len(parents):
            return
        seen.add(j)
        if parents[j] >= 0:
            visit(int(parents[j]), depth + 1)
        order.append(j)
    for j in range(len(parents)):
        visit(j)
    return order


def forward(sk: Skeleton, R: np.ndarray, T: np.ndarray, order: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations (F,J,3,3) and positions (F,J,3) from local rotations R and translations T."""
    G = np.empty_like(R)
    P = np.empty(T.shape)
    for j in order:
        p = sk.parents[j]
        if p < 0:
            G[:, j] = R[:, j]
            P[:, j] = sk.rest[j] + T[:, j]
        else:
            G[:, j] = G[:, p] @ R[:, j]
            P[:, j] = P[:, p] + np.einsum("fij,fj->fi", G[:, p], sk.rest[j] - sk.rest[p] + T[:, j])
    return G, P


def _set_global(sk: Skeleton, R: np.ndarray, G: np.ndarray, j: int, new: np.ndarray) -> None:
    p = sk.parents[j]
    R[:, j] = new if p < 0 else np.swapaxes(G[:, p], 1, 2) @ new
    G[:, j] = new


def solve_ik(sk: Skeleton, R: np.ndarray, T: np.ndarray, order: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Apply the skeleton's IK chains (in file order) to local rotations R; return the final G, P."""
    G, P = forward(sk, R, T, order)
    forward_axis = np.array([0.0, 0.0, -1.0])  # MMD models face -Z
    for ik, eff, links in sk.iks:
        target = P[:, ik]
        if len(links) == 1:
            j = links[0]
            S = rotation_between(P[:, eff] - P[:, j], target - P[:, j])
            _set_global(sk, R, G, j, S @ G[:, j])
        elif len(links) >= 2 and sk.parents[eff] == links[0] and sk.parents[links[0]] == links[1]:
            knee, upper = links[0], links[1]
            a = np.linalg.norm(sk.rest[knee] - sk.rest[upper])
            b = np.linalg.norm(sk.rest[eff] - sk.rest[knee])
            H = P[:, upper]
            dvec = target - H
            u = unit(dvec)
            d = np.clip(np.linalg.norm(dvec, axis=1), abs(a - b) + 1e-6 * (a + b), (a + b) * (1 - 1e-6))
            pole = np.einsum("fij,j->fi", G[:, upper], forward_axis)
            v = pole - np.einsum("fi,fi->f", pole, u)[:, None] * u
            v = unit(v)
            cos_a = ((a * a + d * d - b * b) / (2 * a * d)).clip(-1, 1)
            K = H + a * (cos_a[:, None] * u + np.sqrt(1 - cos_a ** 2)[:, None] * v)
            S1 = rotation_between(P[:, knee] - H, K - H)
            G_upper = S1 @ G[:, upper]
            carried = np.einsum("fij,fj->fi", S1, P[:, eff] - P[:, knee])
            S2 = rotation_between(carried, H + d[:, None] * u - K)
            G_knee = S2 @ S1 @ G[:, knee]
            _set_global(sk, R, G, upper, G_upper)
            _set_global(sk, R, G, knee, G_knee)
        else:
            continue
        G, P = forward(sk, R, T, order)
    return G, P


def pruned(sk: Skeleton) -> Skeleton:
    """The part of ``sk`` the keypoints depend on: the keypoint bones, the IK chains, and their ancestors
    (real models carry hundreds of hair, skirt and finger bones; a long dance would hold them all)."""
    keep = set(mmd_keypoints(sk.names, sk.english, deform=False).values())
    keep = {sk.names.index(n) for n in keep}
    for ik, eff, links in sk.iks:
        keep |= {ik, eff, *links}
    for j in list(keep):
        seen = set()
        while j >= 0 and j not in seen:
            seen.add(j)
            keep.add(j)
            j = int(sk.parents[j])
    order = sorted(keep)
    new = {j: i for i, j in enumerate(order)}
    return Skeleton([sk.names[j] for j in order], np.array([new.get(int(sk.parents[j]), -1) for j in order]),
                    sk.rest[order], sk.tails[order],
                    [(new[a], new[b], [new[k] for k in c]) for a, b, c in sk.iks],
                    {sk.names[j]: sk.english.get(sk.names[j], "") for j in order})


def _index(sk: Skeleton) -> dict[str, int]:
    index = {normalised(n): j for j, n in enumerate(sk.names)}
    for j, n in enumerate(sk.names):
        index.setdefault(normalised(sk.english.get(n) or n), j)
    return index


def skipped_bones(motion: Motion, sk: Skeleton) -> list[str]:
    """The motion's bone names ``sk`` lacks; MMDError when it has none of them."""
    known = _index(sk)
    skipped = [name for name in motion.tracks if normalised(name) not in known]
    if len(skipped) == len(motion.tracks):
        shown = ", ".join(list(motion.tracks)[:8]) + (" ..." if len(motion.tracks) > 8 else "")
        raise MMDError(f"{motion.path}: none of its {len(motion.tracks)} bones ({shown or 'none'}) is a bone "
                       f"of the skeleton it plays on (made for {motion.model or 'another model'!r})")
    return skipped


def play(motion: Motion, sk: Skeleton, times: np.ndarray | None = None,
         full: Skeleton | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Global positions (F,J,3) and rotations of ``sk`` playing ``motion`` at frame ``times`` (default:
    every frame), and the motion's bone names the skeleton (``full``, when ``sk`` is a part of it) lacks.
    Raises MMDError when it has none of them."""
    skipped = skipped_bones(motion, full or sk)
    times = np.arange(motion.num_frames, dtype=float) if times is None else np.asarray(times, float)
    index = _index(sk)
    F, J = len(times), len(sk.names)
    R = np.broadcast_to(np.eye(3), (F, J, 3, 3)).copy()
    T = np.zeros((F, J, 3))
    for name, track in motion.tracks.items():
        j = index.get(normalised(name))
        if j is not None:
            pos, quat = sample(track, times)
            R[:, j] = matrices_from_xyzw(quat)
            T[:, j] = pos
    G, P = solve_ik(sk, R, T, _order(sk.parents))
    return P, G, skipped


def source_pose(motion: Motion, sk: Skeleton = STANDARD) -> tuple[SourcePose, list[str]]:
    """Keypoint trajectories (Blender's frame) of ``sk`` playing ``motion``, for datagen.pose.retarget,
    and the skipped bone names."""
    full, sk = sk, pruned(sk)
    P, G, skipped = play(motion, sk, full=full)
    kp = mmd_keypoints(sk.names, sk.english, deform=False)
    idx = {n: j for j, n in enumerate(sk.names)}
    missing = [k for k in ("Hips", "Spine", "Neck", "Head", "LeftUpperArm", "LeftLowerArm", "LeftHand",
                           "RightUpperArm", "RightLowerArm", "RightHand", "LeftUpperLeg", "LeftLowerLeg",
                           "LeftFoot", "RightUpperLeg", "RightLowerLeg", "RightFoot") if k not in kp]
    if missing:
        raise MMDError(f"{motion.path}: the skeleton it plays on has no MMD bone for {', '.join(missing)}")
    pts = {k: P[:, idx[b]] for k, b in kp.items()}

    def tip(b: str) -> np.ndarray:
        j = idx[b]
        return P[:, j] + np.einsum("fij,j->fi", G[:, j], sk.tails[j] - sk.rest[j])
    pts["HeadTop"] = tip(kp["Head"])
    for s in ("Left", "Right"):
        if s + "Shoulder" not in pts:
            pts[s + "Shoulder"] = pts["Neck"]
        pts[s + "HandEnd"] = tip(kp[s + "Hand"])
        pts.setdefault(s + "Toes", tip(kp[s + "Foot"]))
        pts[s + "ToesEnd"] = tip(kp[s + "Toes"]) if s + "Toes" in kp else pts[s + "Toes"]
    pts = {k: v @ MMD_TO_BLENDER.T for k, v in pts.items()}
    r = {k: sk.rest[idx[b]] for k, b in kp.items()}
    leg = np.mean([np.linalg.norm(r[s + "UpperLeg"] - r[s + "LowerLeg"]) + np.linalg.norm(r[s + "LowerLeg"] - r[s + "Foot"])
                   for s in ("Left", "Right")])
    return SourcePose(pts, motion.fps, float(leg)), skipped
