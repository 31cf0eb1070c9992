"""The export formats as data: what each writes and which keypoint sets it holds (no heavy imports,
so the command line can list them instantly)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    name: str
    keypoint_sets: tuple[str, ...]  # the sets the format can hold; the first is the one others convert to
    description: str
    layout: str  # which writer: "coco" (one person_keypoints.json) or "openpose" (a JSON file per image)

    def target_set(self, source_set: str) -> str:
        """A dataset's own set when the format holds it, else the format's first set (by landmark)."""
        return source_set if source_set in self.keypoint_sets else self.keypoint_sets[0]


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("coco", ("coco17",), "person_keypoints.json in the standard 17-point COCO person layout "
                 "(COCOeval runs on it) + images/", "coco"),
    ExportFormat("coco18", ("coco18",), "person_keypoints.json with OpenPose's 18-point COCO-18 layout "
                 "(COCOeval needs 18 sigmas) + images/", "coco"),
    ExportFormat("openpose", ("coco18", "body25"), "keypoints/<image>_keypoints.json (OpenPose 1.3) + images/",
                 "openpose"),
)}
