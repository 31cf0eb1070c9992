"""Reading and writing OpenPose's per-image JSON keypoint files (pure: JSON and numpy only; part of the format contract).

Every JSON version OpenPose has written is read: ``pose_keypoints`` (format 1.0, 1.1) and
``pose_keypoints_2d`` (1.2 on), in the COCO-18 body model (54 numbers per person) or BODY_25 (75),
converted to the keypoint set asked for by landmark (:func:`datagen.format.convert_keypoints`). Each person's values are flat ``x, y, confidence`` triples in
pixels; a missing part is written ``0, 0, 0``. Files are written as OpenPose 1.3.

OpenPose's pixel convention is OpenCV's: integer coordinates are pixel *centres* (the top-left pixel's
centre is (0, 0)). Dataset format v1 puts that centre at (0.5, 0.5), so format = OpenPose + 0.5
(:data:`OPENPOSE_TO_FORMAT`); docs/importers.md.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from datagen.errors import DatagenError
from datagen.format import jsonsafe
from datagen.format.keypoint_sets import BODY25, COCO18, KeypointSet, conversion_index, get_keypoint_set

OPENPOSE_TO_FORMAT = 0.5  # add to OpenPose pixel coordinates to get format-v1 coordinates
KEYPOINTS_SUFFIX = "_keypoints.json"

# The keypoint set of each OpenPose body model, by the number of values per person.
_BODY_MODELS = {3 * BODY25.size: BODY25, 3 * COCO18.size: COCO18}
OPENPOSE_SETS = tuple(s.name for s in _BODY_MODELS.values())  # the sets OpenPose JSON can hold as they are


class OpenPoseError(DatagenError):
    """A keypoint file that is not usable OpenPose output; the message names the file.

    ``reason`` is a short label for import summaries ("bad JSON", "wrong number of values", ...).
    """

    def __init__(self, message: str, reason: str = "bad keypoint file") -> None:
        super().__init__(message)
        self.reason = reason


def parse_openpose(data: object, source: str = "<json>", keypoint_set: KeypointSet | str = COCO18) -> np.ndarray:
    """The people of one decoded OpenPose JSON document, in ``keypoint_set``'s order.

    Returns (P, K, 3) float64: OpenPose pixel coordinates x, y and the confidence (0 for a missing
    part, and for a part the file's body model does not have). COCO-18 and BODY_25 files are both
    read and converted by landmark. Raises OpenPoseError naming ``source`` for anything else.
    """
    kps = keypoint_set if isinstance(keypoint_set, KeypointSet) else get_keypoint_set(keypoint_set)
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise OpenPoseError(f"{source}: not OpenPose output (no 'people' list)", "not OpenPose output")
    people = []
    for p, person in enumerate(data["people"]):
        if not isinstance(person, dict):
            raise OpenPoseError(f"{source}: person {p} is not an object", "not OpenPose output")
        key = "pose_keypoints_2d" if "pose_keypoints_2d" in person else "pose_keypoints"
        values = person.get(key)
        if values is None:
            raise OpenPoseError(f"{source}: person {p} has neither pose_keypoints_2d nor pose_keypoints",
                                "not OpenPose output")
        if not isinstance(values, list) or len(values) not in _BODY_MODELS:
            n = len(values) if isinstance(values, list) else type(values).__name__
            raise OpenPoseError(f"{source}: person {p} has {n} {key} values, expected 54 (COCO-18) "
                                f"or 75 (BODY_25)", "wrong number of values")
        if not set(map(type, values)) <= {int, float}:  # not bool, str, list, None
            raise OpenPoseError(f"{source}: person {p} {key} holds a value that is not a number",
                                "non-numeric value")
        kp = np.array(values, dtype=np.float64).reshape(-1, 3)
        if not np.isfinite(kp).all():
            raise OpenPoseError(f"{source}: person {p} {key} holds NaN or infinity", "NaN value")
        idx = conversion_index(_BODY_MODELS[len(values)], kps)
        out = np.zeros((kps.size, 3))
        out[idx >= 0] = kp[idx[idx >= 0]]
        people.append(out)
    return np.stack(people) if people else np.zeros((0, kps.size, 3))


def read_openpose(path: str | os.PathLike, keypoint_set: KeypointSet | str = COCO18) -> np.ndarray:
    """Read one ``*_keypoints.json`` file: (P, K, 3) float64 as :func:`parse_openpose`."""
    try:
        text = Path(path).read_bytes()
    except OSError as e:
        raise OpenPoseError(f"{path}: cannot read ({e.strerror or e})", "unreadable file") from None
    try:
        data = jsonsafe.loads(text)
    except jsonsafe.NonFiniteError as e:
        raise OpenPoseError(f"{path}: holds NaN or infinity ({e})", "NaN value") from None
    except ValueError as e:
        raise OpenPoseError(f"{path}: not valid JSON, truncated or corrupt ({e})", "bad JSON") from None
    return parse_openpose(data, str(path), keypoint_set)


def present(people: np.ndarray, min_confidence: float = 0.0) -> np.ndarray:
    """(..., K, 3) -> (..., K) bool: detected parts (confidence > 0 and >= ``min_confidence``)."""
    conf = people[..., 2]
    return (conf > 0) & (conf >= min_confidence)


def rank_people(people: np.ndarray, min_confidence: float = 0.0) -> np.ndarray:
    """Indices of ``people`` (P, K, 3), most complete first, ties broken by the summed confidence."""
    ok = present(people, min_confidence)
    count = ok.sum(-1)
    conf = np.where(ok, people[..., 2], 0.0).sum(-1)
    return np.lexsort((-conf, -count)).astype(np.intp)  # last key is the primary one


def to_format(people: np.ndarray, min_confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., K, 3) OpenPose -> xy (..., K, 2) float64 in format-v1 pixels (NaN where missing),
    present (..., K) bool, confidence (..., K) float64 (0 where missing)."""
    ok = present(people, min_confidence)
    xy = np.where(ok[..., None], people[..., :2] + OPENPOSE_TO_FORMAT, np.nan)
    return xy, ok, np.where(ok, people[..., 2], 0.0)


def from_format(xy: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_format`: xy (..., K, 2) format-v1 pixels, confidence (..., K) (0 or
    NaN xy: missing) -> (..., K, 3) OpenPose values with 0, 0, 0 for a missing part."""
    xy = np.asarray(xy, dtype=np.float64)
    conf = np.asarray(confidence, dtype=np.float64)
    ok = (conf > 0) & np.isfinite(xy).all(-1)
    out = np.zeros(xy.shape[:-1] + (3,))
    out[..., :2] = np.where(ok[..., None], xy - OPENPOSE_TO_FORMAT, 0.0)
    out[..., 2] = np.where(ok, conf, 0.0)
    return out


def openpose_document(people: np.ndarray) -> dict:
    """(P, K, 3) OpenPose values of a COCO-18 or BODY_25 layout -> an OpenPose 1.3 JSON document (as
    OpenPose writes it)."""
    assert people.ndim == 3 and people.shape[2] == 3 and 3 * people.shape[1] in _BODY_MODELS, people.shape
    return {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": [float(v) for v in person.reshape(-1)],
         "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
         "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
         "hand_right_keypoints_3d": []}
        for person in people]}


def write_openpose(path: str | os.PathLike, people: np.ndarray) -> None:
    """Write (P, K, 3) COCO-18 or BODY_25 OpenPose values as an OpenPose 1.3 ``*_keypoints.json`` file."""
    Path(path).write_text(json.dumps(openpose_document(people), separators=(",", ":")))


def image_stem(keypoint_file: str | os.PathLike) -> str | None:
    """``<image>_keypoints.json`` -> ``<image>``; None for other names."""
    name = Path(keypoint_file).name
    return name[:-len(KEYPOINTS_SUFFIX)] if name.endswith(KEYPOINTS_SUFFIX) else None
