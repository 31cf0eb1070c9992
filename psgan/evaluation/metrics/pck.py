"""PCK (percentage of correct keypoints) and mean keypoint error, the pose-consistency scores of
docs/evaluation.md.

A predicted keypoint is correct when it lies within ``t * image_size`` pixels of the target (PCK@t), or
within ``t`` times the target person's size, the larger side of its keypoint box (``pck_person@t``, as
PCK@bbox; PCKh uses the head instead). Only the
keypoints present in the target count: visibility > 0 (COCO's rule, which also scores occluded but
labelled points) with finite coordinates inside the frame.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

THRESHOLDS = (0.05, 0.1)


def pck(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, image_size: float,
        thresholds: tuple[float, ...] = THRESHOLDS) -> dict[str, float]:
    """Score predicted keypoints against targets.

    pred, target: (N, K, 2) pixels of an ``image_size`` square image; mask: (N, K) bool, the target
    keypoints that count (see :func:`psgan.data.present_mask`). Returns ``{"pck@0.05": .., "pck@0.1": ..,
    "mean_error_px": .., "keypoints": count}``; PCK in [0, 1], the error in pixels of ``image_size``.
    A non-finite prediction counts as wrong (infinite error is left out of the mean, counted in PCK).
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    assert pred.shape == target.shape and pred.shape[:2] == mask.shape, (pred.shape, target.shape, mask.shape)
    err = np.linalg.norm(pred - np.nan_to_num(target), axis=-1)[mask]        # (M,)
    out: dict[str, float] = {}
    n = int(err.size)
    for t in thresholds:
        out[f"pck@{t:g}"] = float(np.mean(err <= t * image_size)) if n else float("nan")
    finite = err[np.isfinite(err)]
    out["mean_error_px"] = float(finite.mean()) if finite.size else float("nan")
    out["keypoints"] = n
    return out


# -- person-relative PCK, joint groups ---------------------------------------------------------------

PERSON_THRESHOLDS = (0.1, 0.2)

# Joint groups by landmark (datagen.format.keypoint_sets), so every keypoint set is grouped alike.
JOINT_GROUPS: dict[str, frozenset[str]] = {
    "head": frozenset({"head", "nose", "left_eye", "right_eye", "left_ear", "right_ear"}),
    "torso": frozenset({"pelvis", "spine", "neck", "mid_hip", "left_clavicle", "right_clavicle",
                        "left_shoulder", "right_shoulder", "left_hip", "right_hip"}),
    "arms": frozenset({"left_elbow", "right_elbow", "left_wrist", "right_wrist"}),
    "legs": frozenset({"left_knee", "right_knee", "left_ankle", "right_ankle", "left_toes", "right_toes",
                       "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
                       "left_heel", "right_heel"}),
}


def group_masks(landmarks: tuple[str, ...] | list[str]) -> dict[str, np.ndarray]:
    """{group: (K,) bool} for a keypoint set's landmarks; groups without keypoints are left out."""
    out = {g: np.array([lm in members for lm in landmarks]) for g, members in JOINT_GROUPS.items()}
    return {g: m for g, m in out.items() if m.any()}


def person_size(xy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N,) the larger side of each target's keypoint bounding box (PCK@bbox's reference length), in
    the pixels of ``xy``; NaN where fewer than two keypoints are present."""
    xy = np.nan_to_num(np.asarray(xy, dtype=np.float64))
    big = np.where(mask[..., None], xy, np.nan)
    with np.errstate(all="ignore"), _quiet():
        side = np.nanmax(big, 1) - np.nanmin(big, 1)              # (N, 2)
        size = np.nanmax(side, -1)
    size[np.asarray(mask).sum(1) < 2] = np.nan
    return size


def pck_person(pred: np.ndarray, target: np.ndarray, mask: np.ndarray,
               thresholds: tuple[float, ...] = PERSON_THRESHOLDS, counted: np.ndarray | None = None
               ) -> dict[str, float]:
    """PCK with the threshold ``t * person_size(target)`` of each row (PCK@bbox): independent of how
    much of the frame the person fills. Keys ``pck_person@0.1`` ...; rows whose size is undefined or
    zero are left out. The size comes from every keypoint of ``mask``; ``counted`` (default ``mask``)
    selects the keypoints scored, e.g. one joint group."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    size = person_size(target, mask)
    ok = np.isfinite(size) & (size > 0)
    m = np.asarray(mask if counted is None else counted, dtype=bool) & np.asarray(mask, bool) & ok[:, None]
    err = np.linalg.norm(pred - np.nan_to_num(target), axis=-1)
    ref = np.where(ok, size, 1.0)[:, None]
    out = {}
    for t in thresholds:
        out[f"pck_person@{t:g}"] = float(np.mean((err <= t * ref)[m])) if m.any() else float("nan")
    return out


def pck_groups(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, groups: dict[str, np.ndarray],
               t: float = 0.1) -> dict[str, float]:
    """Person-relative PCK@t (the verdict's 0.1) over each joint group's keypoints: {"head": .., "torso": .., ...}."""
    return {g: pck_person(pred, target, mask, (t,), counted=mask & gm[None, :])[f"pck_person@{t:g}"]
            for g, gm in groups.items()}


def normalised_poses(xy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N, K, 2) poses centred on their present keypoints' mean and scaled by :func:`person_size`, NaN
    where absent: what :func:`pose_distance` compares."""
    xy = np.where(mask[..., None], np.nan_to_num(np.asarray(xy, dtype=np.float64)), np.nan)
    with _quiet():
        centre = np.nanmean(xy, 1, keepdims=True)
    size = person_size(np.nan_to_num(xy), mask)
    size = np.where(np.isfinite(size) & (size > 0), size, 1.0)
    return (xy - centre) / size[:, None, None]


def pose_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Normalised poses (A, K, 2) x (B, K, 2) -> (A, B) mean distance over keypoints present in both
    (inf when none is)."""
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)             # (A, B, K), NaN where absent
    with _quiet():
        out = np.nanmean(d, -1)
    return np.where(np.isfinite(out), out, np.inf)


@contextlib.contextmanager
def _quiet():
    """All-NaN slices are expected (absent keypoints): no RuntimeWarning for them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# The stricter person-relative threshold: at 0.2 of the person's size (10 px of a 50 px figure) the
# poses of a walk cycle are all "correct" against each other, which is the blindness this replaces.
VERDICT_KEY = "pck_person@0.1"

# Statuses from worst to best; "inconclusive" is not ranked (it says nothing about the model).
STATUS_ORDER = ("ignored", "partly", "follows")


def judge(g: float, f: float, c: float) -> str:
    """The status of a generated score ``g`` against its floor ``f`` and ceiling ``c`` (verdict's rule)."""
    if not all(isinstance(v, float) and np.isfinite(v) for v in (g, f, c)) or c - f < 0.05:
        return "inconclusive"
    gap, lift = c - f, g - f
    if lift >= max(0.1, 0.5 * gap):
        return "follows"
    if lift >= max(0.05, 0.2 * gap):
        return "partly"
    return "ignored"


def group_verdicts(pose: dict) -> dict[str, dict]:
    """{group: {"status", "generated", "floor", "ceiling"}} from the per-group scores of ``pose``
    (empty when the scores have no groups)."""
    parts = ("generated", "floor", "ceiling")
    names = [g for g in pose["generated"].get("groups", {}) if all(g in pose[p].get("groups", {}) for p in parts)]
    out = {}
    for name in names:
        g, f, c = (pose[p]["groups"][name] for p in parts)
        out[name] = {"status": judge(g, f, c), "generated": g, "floor": f, "ceiling": c}
    return out


def weakest_group(groups: dict[str, dict]) -> str | None:
    """The conclusive group with the worst status; among equals, the one that covers the least of
    its floor-to-ceiling gap. None when no group is conclusive."""
    ranked = [(STATUS_ORDER.index(v["status"]), (v["generated"] - v["floor"]) / (v["ceiling"] - v["floor"]), name)
              for name, v in groups.items() if v["status"] in STATUS_ORDER]
    return min(ranked)[2] if ranked else None


# "follows overall, arms partly", "partly follows overall, legs ignored"
_OVERALL = {"follows": "follows", "partly": "partly follows", "ignored": "ignores the pose"}
_GROUP = {"follows": "follow", "partly": "partly", "ignored": "ignored"}


def verdict(pose: dict, key: str = VERDICT_KEY) -> dict:
    """What the pose scores mean, from the generated score against the floor and the ceiling, overall
    and per joint group (docs/evaluation.md).

    ``follows``: the generated images score above the floor by at least half the floor-to-ceiling gap
    and by 0.1 at least; ``partly``: above it by a fifth of the gap and 0.05; ``ignored``: less;
    ``inconclusive``: the detector's ceiling is within 0.05 of the floor (it cannot tell poses apart
    on this data, so no model could show anything). The same rule on each joint group's scores gives
    ``groups``; ``weakest`` names the conclusive group that does worst, and the text says it
    ("follows overall, arms partly: ...") when it is below the overall status."""
    g, f, c = (pose[p][key] for p in ("generated", "floor", "ceiling"))
    if not all(isinstance(v, float) and np.isfinite(v) for v in (g, f, c)):
        return {"status": "inconclusive", "metric": key, "text": "no scores (no keypoints to score)"}
    status = judge(g, f, c)
    scores = f"{g:.2f} against a floor of {f:.2f} (ceiling {c:.2f})"
    text = {"inconclusive": (f"inconclusive: the detector scores real images {c:.2f} and the floor "
                             f"{f:.2f}; it cannot tell these poses apart"),
            "follows": f"follows the pose: {scores}",
            "partly": f"partly follows the pose: {scores}",
            "ignored": f"at its floor: the pose is ignored ({g:.2f} against {f:.2f}, ceiling {c:.2f})"}[status]
    out = {"status": status, "metric": key, "generated": g, "floor": f, "ceiling": c}
    groups = group_verdicts(pose)
    weakest = weakest_group(groups)
    if groups:
        out.update(groups=groups, weakest=weakest,
                   weakest_status=groups[weakest]["status"] if weakest else "inconclusive")
    if weakest is not None and status in STATUS_ORDER:
        w = groups[weakest]
        wscores = f"{weakest} {w['generated']:.2f} against {w['floor']:.2f} (ceiling {w['ceiling']:.2f})"
        if STATUS_ORDER.index(w["status"]) < STATUS_ORDER.index(status):
            text = f"{_OVERALL[status]} overall, {weakest} {_GROUP[w['status']]}: {scores}; {wscores}"
        else:
            text += (f"; every joint group {_OVERALL[status]}, the weakest {wscores}" if w["status"] == status
                     else f"; weakest group {wscores}")
    out["text"] = text
    return out
