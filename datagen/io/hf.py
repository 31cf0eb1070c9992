"""The Hugging Face export: a folder of Parquet shards with a dataset card, which
``datasets.load_dataset(folder)`` reads with no code of ours (image columns decode as images).

:class:`ParquetDatasetWriter` streams rows block by block into ``data/train-XXXXX-of-NNNNN.parquet``
(a new shard past :data:`SHARD_BYTES`), with the column types taken from ``datasets.Features`` so the
Parquet schema carries the metadata ``datasets`` reads them back with. The ``hf`` columns
(:func:`write`) are the row itself: image, mask, keypoints, visibility, camera, clip/costume/frame or
source; the provenance is in the card (README.md) and in ``provenance.json``. docs/training-other-models.md.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from datagen.io.export_rows import ExportJob, on_all_cpus, png_bytes

SHARD_BYTES = 500 << 20  # the shard size datasets' own push_to_hub aims at
DATA_DIR = "data"


class ParquetDatasetWriter:
    """Rows -> ``folder/data/train-*.parquet`` with a dataset card. ``features`` is a dict of
    ``datasets`` feature objects; rows are added as column dicts (images as PNG bytes)."""

    def __init__(self, folder: Path, features: dict, image_columns: tuple[str, ...]) -> None:
        import datasets
        import pyarrow as pa

        self.pa = pa
        self.folder = folder
        self.features = datasets.Features(features)
        self.schema = self.features.arrow_schema
        self.image_columns = image_columns
        self.shards: list[Path] = []
        self.rows = 0
        self._writer = None
        (folder / DATA_DIR).mkdir(parents=True)

    def _open(self) -> None:
        import pyarrow.parquet as pq

        path = self.folder / DATA_DIR / f"train-{len(self.shards):05d}.parquet"
        self.shards.append(path)
        self._writer = pq.ParquetWriter(path, self.schema)

    def add(self, columns: dict[str, list]) -> None:
        """One block of rows: column name -> values (image columns: PNG bytes; None for no image)."""
        if self._writer is None:
            self._open()
        cols = {k: ([None if b is None else {"bytes": b, "path": None} for b in v] if k in self.image_columns else v)
                for k, v in columns.items()}
        self._writer.write_table(self.pa.Table.from_pydict(cols, schema=self.schema))
        self.rows += len(next(iter(columns.values())))
        if self.shards[-1].stat().st_size >= SHARD_BYTES:
            self._writer.close()
            self._writer = None

    def close(self, card: str, provenance: dict) -> None:
        """Finish the last shard, name the shards ``-of-N``, write README.md and provenance.json."""
        if self._writer is not None:
            self._writer.close()
        n = len(self.shards)
        for k, path in enumerate(self.shards):
            path.rename(path.with_name(f"train-{k:05d}-of-{n:05d}.parquet"))
        (self.folder / "provenance.json").write_text(json.dumps(provenance, indent=1, allow_nan=False) + "\n")
        (self.folder / "README.md").write_text(card)


def dataset_card(title: str, provenance: dict, columns: str, features: dict) -> str:
    """A dataset card: YAML (the data files, the features) and a description naming the source."""
    import datasets

    info = datasets.DatasetInfo(features=datasets.Features(features))
    yaml_features = json.dumps(info._to_yaml_dict()["features"])  # YAML is a superset of JSON
    return (f"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: {DATA_DIR}/train-*\n"
            f"dataset_info:\n  features: {yaml_features}\n---\n\n# {title}\n\n"
            f"Exported by {provenance['exporter']} from `{provenance['source_file']}` "
            f"({provenance['rows']} rows, keypoint set `{provenance['exported_keypoint_set']}`, "
            f"{provenance['exported_size']} px). {columns}\n\n"
            f"```json\n{json.dumps(provenance, indent=1, allow_nan=False)}\n```\n")


def hf_features(job: ExportJob) -> dict:
    import datasets
    from datasets import Array2D, Image, Value

    k = job.kps.size
    feats = {"image": Image(), "row": Value("int64"),
             "keypoints": Array2D((k, 2), "float32"), "visibility": datasets.List(Value("uint8"), length=k)}
    r = job.reader
    if r.has(f"masks/{r.image_size}"):
        feats["mask"] = Image()
    if r.has("pose/xyz") and job.kps.name == r.keypoint_set.name:
        feats["keypoints_3d"] = Array2D((k, 3), "float32")
    if r.has("camera/intrinsics"):
        feats["camera_intrinsics"] = Array2D((3, 3), "float64")
        feats["camera_extrinsics"] = Array2D((4, 4), "float64")
    for key in job.meta():
        feats[key] = Value("float32") if key == "frame" else Value("string")
    return feats


def write(job: ExportJob, tmp: Path, bar) -> None:
    """The ``hf`` export of ``job`` into the folder ``tmp``."""
    feats = hf_features(job)
    writer = ParquetDatasetWriter(tmp, feats, ("image", "mask"))
    r, meta = job.reader, job.meta()
    scale = job.size / r.image_size
    for block in job.blocks(with_masks="mask" in feats):
        rows = block.rows
        cols = {"image": on_all_cpus(png_bytes, block.images), "row": rows.tolist(),
                "keypoints": job.xy[rows].tolist(), "visibility": job.vis[rows].tolist()}
        if "mask" in feats:
            cols["mask"] = on_all_cpus(png_bytes, block.masks)
        if "keypoints_3d" in feats:
            cols["keypoints_3d"] = r.file["pose/xyz"][rows[0]:rows[-1] + 1].tolist()
        if "camera_intrinsics" in feats:
            intr = r.file["camera/intrinsics"][rows[0]:rows[-1] + 1].astype(np.float64)
            intr[:, :2] *= scale  # the camera of the export size's pixels
            cols["camera_intrinsics"] = intr.tolist()
            cols["camera_extrinsics"] = r.file["camera/extrinsics"][rows[0]:rows[-1] + 1].astype(np.float64).tolist()
        for key, values in meta.items():
            cols[key] = [values[i] for i in rows]
        writer.add(cols)
        bar.update(len(rows))
    prov = {**job.provenance(), "keypoint_names": list(job.kps.names)}
    cols = ("Columns: `image` (PNG), `row`, `keypoints` (K x 2 pixels of the image, the centre of pixel i "
            "at i + 0.5, NaN where absent), `visibility` (0 absent, 1 occluded, 2 visible) in the order of "
            "`keypoint_names` below, and where the file has them `mask`, `keypoints_3d` (world "
            "metres), `camera_intrinsics` (of these pixels), `camera_extrinsics` (world to camera, OpenCV "
            "axes), `clip`, `costume`, `frame` or `source`.")
    writer.close(dataset_card("Pose dataset (datagen export)", prov, cols, feats), prov)
