"""The skeleton drawn the way the OpenPose ControlNet models were trained to read it: OpenPose's body
rendering as lllyasviel's ControlNet annotator (and controlnet_aux) draw it, on black.

Each limb is a filled ellipse of half-width :data:`STICK_WIDTH` from joint to joint in 60 % of its
colour, then each joint a disc of radius :data:`JOINT_RADIUS` in its full colour, with the annotator's
arithmetic (normalised coordinates scaled back, truncated to integer pixels, whole-degree angles), so a
pose drawn here equals the annotator's drawing of the same keypoints pixel for pixel (tested against
controlnet_aux). ``coco18`` uses the annotator's 18 colours in OpenPose's order; ``body25`` draws its
own limbs in the same style with the set's colours (the ControlNet models were trained on COCO-18).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from datagen.format.keypoint_sets import KeypointSet

STICK_WIDTH = 4
JOINT_RADIUS = 4
LIMB_SHADE = 0.6
# The annotator's colours: limb i (OpenPose's COCO-18 limb order, that of keypoint_sets.COCO18.edges)
# and joint i (COCO-18 keypoint order) both take colour i.
COCO18_COLORS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
                 (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
                 (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))


def _colours(kps: KeypointSet) -> tuple[list, list]:
    """(limb colours, joint colours) of a set."""
    if kps.name == "coco18":
        return list(COCO18_COLORS[:len(kps.edges)]), list(COCO18_COLORS)
    joints = [kps.colors[next((e for e, ed in enumerate(kps.edges) if j in ed), 0)] for j in range(kps.size)]
    return list(kps.colors), joints


def draw_openpose(xy: np.ndarray, present: np.ndarray, kps: KeypointSet, size: int) -> np.ndarray:
    """One pose on a black ``size`` x ``size`` canvas. xy (K, 2) in OpenPose pixels (the centre of pixel
    i at i), present (K,) bool: the points drawn. Returns (size, size, 3) uint8 RGB."""
    canvas = np.zeros((size, size, 3), np.uint8)
    # The annotator keeps keypoints normalised to [0, 1] and scales them back when drawing; the same
    # round trip here keeps truncation identical.
    norm = np.asarray(xy, np.float64) / float(size)
    ok = np.asarray(present, bool) & np.isfinite(norm).all(-1)
    limb_colours, joint_colours = _colours(kps)
    for (a, b), colour in zip(kps.edges, limb_colours):
        if not (ok[a] and ok[b]):
            continue
        ys = np.array([norm[a, 0], norm[b, 0]]) * float(size)
        xs = np.array([norm[a, 1], norm[b, 1]]) * float(size)
        length = ((xs[0] - xs[1]) ** 2 + (ys[0] - ys[1]) ** 2) ** 0.5
        angle = math.degrees(math.atan2(xs[0] - xs[1], ys[0] - ys[1]))
        polygon = cv2.ellipse2Poly((int(np.mean(ys)), int(np.mean(xs))), (int(length / 2), STICK_WIDTH),
                                   int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, [int(float(c) * LIMB_SHADE) for c in colour])
    for j in np.flatnonzero(ok):
        x, y = int(norm[j, 0] * size), int(norm[j, 1] * size)
        cv2.circle(canvas, (x, y), JOINT_RADIUS, joint_colours[j], thickness=-1)
    return canvas
