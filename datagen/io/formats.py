"""The export formats as data: what each writes, which keypoint sets it holds and which extra it needs
(no heavy imports, so the command line can list them instantly)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    name: str
    keypoint_sets: tuple[str, ...]  # the sets the format can hold (none: any); the first is the one others convert to
    description: str
    layout: str  # which writer (datagen.io.exporters.WRITERS): coco, openpose, hf, controlnet, yolo
    needs: tuple[str, ...] = ()  # modules the writer imports that the base install lacks
    extra: str = ""  # the pip extra that brings them

    def target_set(self, source_set: str) -> str:
        """A dataset's own set when the format holds it, else the format's first set (by landmark)."""
        if not self.keypoint_sets or source_set in self.keypoint_sets:
            return source_set
        return self.keypoint_sets[0]


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("coco", ("coco17",), "person_keypoints.json in the standard 17-point COCO person layout "
                 "(COCOeval runs on it) + images/", "coco"),
    ExportFormat("coco18", ("coco18",), "person_keypoints.json with OpenPose's 18-point COCO-18 layout "
                 "(COCOeval needs 18 sigmas) + images/", "coco"),
    ExportFormat("openpose", ("coco18", "body25"), "keypoints/<image>_keypoints.json (OpenPose 1.3) + images/",
                 "openpose"),
    ExportFormat("hf", (), "a Hugging Face dataset (Parquet shards; datasets.load_dataset reads the "
                 "folder): image, mask, keypoints, visibility, camera, clip/costume/frame or source",
                 "hf", ("datasets",), "hf"),
    ExportFormat("controlnet", ("coco18", "body25"), "a Hugging Face dataset for diffusers' ControlNet "
                 "training: image, conditioning_image (OpenPose-style skeleton), text (caption)",
                 "controlnet", ("datasets",), "controlnet"),
    ExportFormat("yolo", (), "Ultralytics YOLO pose: images/{train,val}, labels/{train,val}, data.yaml "
                 "(kpt_shape, flip_idx), split by pose", "yolo"),
)}
