"""A pose sequence to drive a model: OpenPose JSON of a video, normalised to the training data, smoothed.

Pure numpy (part of the format contract, so ``psgan generate --poses DIR`` can use it; docs/animation.md):

* :func:`read_openpose_folder` -- a folder of per-frame ``*_keypoints.json`` files (any OpenPose JSON
  version, COCO-18 or BODY_25) -> one person per frame in a keypoint set, chosen consistently: the most
  complete person of the first frame with anyone in it, then in each frame the person nearest to the
  one chosen before (so a second dancer entering the shot does not steal the track).
* :func:`pose_stats` and :func:`normalise_sequence` -- the global pose normalisation of "Everybody Dance
  Now" (Chan et al. 2019, sec. 3.3): the feet's image height decides, by linear interpolation between
  the farthest and the closest foot positions of each side, the scale (ratio of the person's heights
  there) and the vertical placement; the hips' centre gives the horizontal placement.
* :func:`one_euro` -- the One-Euro filter (Casiez et al. 2012) along time, per coordinate, restarting
  after a gap of missing frames.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.format.keypoint_sets import KeypointSet, get_keypoint_set
from datagen.format.openpose_json import KEYPOINTS_SUFFIX, OpenPoseError, rank_people, read_openpose, to_format

# Landmark groups the normalisation measures (whichever of them the keypoint set has).
FEET = ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_big_toe", "right_big_toe",
        "left_small_toe", "right_small_toe", "left_toes", "right_toes")
HEAD = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head", "neck")
HIPS = ("left_hip", "right_hip", "mid_hip", "pelvis")


@dataclass
class PoseSequence:
    """Keypoints of one person over T frames in a keypoint set: xy (T, K, 2) pixels (format-v1
    convention, NaN where missing), confidence (T, K) (0 where missing), and where each frame came from."""

    keypoint_set: str
    xy: np.ndarray
    confidence: np.ndarray
    sources: list[str]

    @property
    def present(self) -> np.ndarray:
        return (self.confidence > 0) & np.isfinite(self.xy).all(-1)

    def __len__(self) -> int:
        return len(self.xy)


def openpose_files(folder: str | os.PathLike) -> list[Path]:
    """The per-frame JSON files of one video, in frame order (OpenPose's zero-padded names sort)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OpenPoseError(f"{folder}: not a folder of OpenPose JSON files", "not a folder")
    files = sorted(folder.glob("*" + KEYPOINTS_SUFFIX)) or sorted(folder.glob("*.json"))
    if not files:
        raise OpenPoseError(f"{folder}: holds no OpenPose JSON (*{KEYPOINTS_SUFFIX}) files", "no files")
    return files


def choose_track(frames: list[np.ndarray]) -> list[int | None]:
    """One person index per frame (None: nobody), frames: list of (P, K, 3) OpenPose arrays.

    Start with the most complete person of the first non-empty frame; after that, take the person whose
    points shared with the last chosen pose lie nearest on average (the most complete when none share a
    point).
    """
    out: list[int | None] = []
    last: np.ndarray | None = None
    for people in frames:
        if len(people) == 0:
            out.append(None)
            continue
        order = rank_people(people)
        pick = int(order[0])
        if last is not None:
            best = np.inf
            for p in order:
                both = (people[p, :, 2] > 0) & (last[:, 2] > 0)
                if both.any():
                    d = float(np.linalg.norm(people[p, both, :2] - last[both, :2], axis=1).mean())
                    if d < best:
                        best, pick = d, int(p)
        out.append(pick)
        last = people[pick]
    return out


def read_openpose_folder(folder: str | os.PathLike, keypoint_set: KeypointSet | str) -> PoseSequence:
    """A folder of OpenPose JSON (one file per video frame) -> the tracked person in ``keypoint_set``."""
    kps = keypoint_set if isinstance(keypoint_set, KeypointSet) else get_keypoint_set(keypoint_set)
    files = openpose_files(folder)
    frames = [read_openpose(f, kps) for f in files]
    track = choose_track(frames)
    if all(t is None for t in track):
        raise OpenPoseError(f"{folder}: no person in any of its {len(files)} OpenPose files", "no people")
    people = np.stack([frames[i][t] if t is not None else np.zeros((kps.size, 3)) for i, t in enumerate(track)])
    xy, _, conf = to_format(people)
    return PoseSequence(kps.name, xy, conf, [str(f) for f in files])


# ---- normalisation ----------------------------------------------------------------------------------

def _group(kps: KeypointSet, names: tuple[str, ...]) -> np.ndarray:
    return np.array([i for i, lm in enumerate(kps.landmarks) if lm in names], dtype=np.intp)


def _frame_measures(xy: np.ndarray, present: np.ndarray, kps: KeypointSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: feet y (lowest foot point), height (feet y - highest head point), hip centre x;
    NaN where the frame lacks the points."""
    y = np.where(present, xy[..., 1], np.nan)
    x = np.where(present, xy[..., 0], np.nan)
    with warnings.catch_warnings():  # all-NaN rows give NaN, which is the answer wanted
        warnings.simplefilter("ignore", RuntimeWarning)
        feet = np.nanmax(y[:, _group(kps, FEET)], axis=1) if len(_group(kps, FEET)) else np.full(len(xy), np.nan)
        top = np.nanmin(y[:, _group(kps, HEAD)], axis=1) if len(_group(kps, HEAD)) else np.full(len(xy), np.nan)
        hips = np.nanmean(x[:, _group(kps, HIPS)], axis=1) if len(_group(kps, HIPS)) else np.full(len(xy), np.nan)
    return feet, feet - top, hips


@dataclass(frozen=True)
class PoseStats:
    """Where a person stands in a set of poses: feet y farthest (``far``, highest in the image) and
    closest (``close``), the person's height near each, the median hip centre x (NaN without a full
    body), and the mean pose (K, 2) (NaN for points never present)."""

    far: float
    close: float
    height_far: float
    height_close: float
    hip_x: float
    mean: np.ndarray

    @property
    def full_body(self) -> bool:
        return bool(np.isfinite([self.far, self.close, self.height_far, self.height_close]).all())

    def at(self, feet_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(alpha in [0, 1] from far to close, height) at feet heights (T,)."""
        span = self.close - self.far
        a = np.clip((feet_y - self.far) / span, 0.0, 1.0) if span > 0 else np.full(np.shape(feet_y), 0.5)
        return a, self.height_far + a * (self.height_close - self.height_far)


def pose_stats(xy: np.ndarray, present: np.ndarray, keypoint_set: KeypointSet | str,
               band: float = 0.1) -> PoseStats:
    """Statistics of poses (N, K, 2) with present (N, K) for the normalisation.

    As in Everybody Dance Now, the height at the far (close) end is the largest height among the poses
    whose feet lie within ``band`` of the feet range of that end (a crouch does not shrink the person).
    """
    kps = keypoint_set if isinstance(keypoint_set, KeypointSet) else get_keypoint_set(keypoint_set)
    xy = np.asarray(xy, np.float64)
    present = np.asarray(present, bool)
    feet, height, hips = _frame_measures(xy, present, kps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(np.where(present[..., None], xy, np.nan), axis=0)
    ok = np.isfinite(feet) & np.isfinite(height) & (height > 0)
    if not ok.any():
        return PoseStats(np.nan, np.nan, np.nan, np.nan, np.nan, mean)
    f, h = feet[ok], height[ok]
    far, close = float(f.min()), float(f.max())
    tol = band * (close - far)
    h_far = float(h[f <= far + tol].max())
    h_close = float(h[f >= close - tol].max())
    hip_x = float(np.nanmedian(hips[ok])) if np.isfinite(hips[ok]).any() else float(np.nanmedian(xy[ok][..., 0]))
    return PoseStats(far, close, h_far, h_close, hip_x, mean)


def normalise_sequence(xy: np.ndarray, present: np.ndarray, keypoint_set: KeypointSet | str,
                       target: PoseStats, source: PoseStats | None = None) -> np.ndarray:
    """Map source poses (T, K, 2) into the target's frame; missing points stay NaN.

    With feet and head in the source (a full body): per frame a scale and offset so that the feet land
    where the target's feet are at the same relative depth and the hips at the target's hip centre;
    frames without feet reuse the nearest frame's mapping. Without (an upper-body video): one scale and
    offset for the whole sequence that fits the source's mean pose onto the target's mean pose over the
    points both have.
    """
    kps = keypoint_set if isinstance(keypoint_set, KeypointSet) else get_keypoint_set(keypoint_set)
    xy = np.asarray(xy, np.float64)
    present = np.asarray(present, bool)
    source = source or pose_stats(xy, present, kps)
    if not (source.full_body and target.full_body):
        return _fit_mean_pose(xy, present, source.mean, target.mean, kps.name)
    feet, _, hips = _frame_measures(xy, present, kps)
    feet = _fill_nearest(feet)
    hips = _fill_nearest(hips) if np.isfinite(hips).any() else np.full(len(xy), source.hip_x)
    a, h_src = source.at(feet)
    h_dst = target.height_far + a * (target.height_close - target.height_far)
    scale = h_dst / h_src
    feet_dst = target.far + a * (target.close - target.far)
    out = np.empty_like(xy)
    out[..., 0] = (xy[..., 0] - hips[:, None]) * scale[:, None] + target.hip_x
    out[..., 1] = (xy[..., 1] - feet[:, None]) * scale[:, None] + feet_dst[:, None]
    out[~present] = np.nan
    return out


def _fit_mean_pose(xy: np.ndarray, present: np.ndarray, src_mean: np.ndarray, dst_mean: np.ndarray,
                   name: str) -> np.ndarray:
    common = np.isfinite(src_mean).all(-1) & np.isfinite(dst_mean).all(-1)
    if common.sum() < 2:
        raise OpenPoseError(f"the driving poses and the training data share fewer than 2 keypoints of {name}: "
                            f"cannot place the person", "no common keypoints")
    cs, cd = src_mean[common].mean(0), dst_mean[common].mean(0)
    spread = np.sum((src_mean[common] - cs) ** 2)
    scale = np.sqrt(np.sum((dst_mean[common] - cd) ** 2) / spread) if spread > 0 else 1.0
    out = (xy - cs) * scale + cd
    out[~present] = np.nan
    return out


def _fill_nearest(v: np.ndarray) -> np.ndarray:
    """NaNs replaced by the nearest finite value along the axis (all NaN: unchanged)."""
    ok = np.isfinite(v)
    if ok.all() or not ok.any():
        return v
    idx = np.flatnonzero(ok)
    pos = np.clip(np.searchsorted(idx, np.arange(len(v))), 1, len(idx) - 1) if len(idx) > 1 else np.zeros(len(v), int)
    if len(idx) > 1:
        left, right = idx[pos - 1], idx[pos]
        nearest = np.where(np.abs(np.arange(len(v)) - left) <= np.abs(right - np.arange(len(v))), left, right)
    else:
        nearest = np.full(len(v), idx[0])
    return v[nearest]


# ---- smoothing ----------------------------------------------------------------------------------

def one_euro(xy: np.ndarray, present: np.ndarray, fps: float, min_cutoff: float = 1.0,
             beta: float = 0.05, d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro filter along time of (T, K, 2) points; a point's filter restarts after it was missing.

    min_cutoff (Hz) sets the smoothing of slow motion, beta how fast the cutoff rises with speed
    (pixels/s), so slow jitter is removed and fast moves are not lagged.
    """
    xy = np.asarray(xy, np.float64)
    out = np.full_like(xy, np.nan)
    dt = 1.0 / fps

    def alpha(cutoff):
        r = 2 * np.pi * cutoff * dt
        return r / (r + 1)

    prev = np.full(xy.shape[1:], np.nan)
    dprev = np.zeros(xy.shape[1:])
    for t in range(len(xy)):
        cur = np.where(present[t][:, None], xy[t], np.nan)
        fresh = ~np.isfinite(prev) | ~np.isfinite(cur)
        dx = np.where(fresh, 0.0, (cur - np.nan_to_num(prev)) / dt)
        dhat = alpha(d_cutoff) * dx + (1 - alpha(d_cutoff)) * dprev
        a = alpha(min_cutoff + beta * np.abs(dhat))
        filt = np.where(fresh, cur, a * cur + (1 - a) * prev)
        out[t] = filt
        prev = filt
        dprev = np.where(np.isfinite(cur), dhat, 0.0)
    return out
