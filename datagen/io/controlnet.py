"""The ControlNet export: a Hugging Face dataset folder (Parquet, :mod:`datagen.io.hf`) with the columns
diffusers' ``examples/controlnet/train_controlnet.py`` reads by default: ``image``, ``conditioning_image``
(the exact skeleton drawn as the OpenPose ControlNet models read it, :mod:`datagen.format.openpose_draw`)
and ``text`` (a caption, :mod:`datagen.io.captions`). Both image columns are ``Image`` features, so the
script's ``load_dataset(train_data_dir)`` gets images, not file names. docs/training-other-models.md."""
from __future__ import annotations

from pathlib import Path


from datagen.format.openpose_draw import draw_openpose
from datagen.io.captions import DEFAULT_CAPTION, character_of, check_template, fill, row_fields, view_of
from datagen.io.coco import PIXEL_CENTRE_SHIFT
from datagen.io.export_rows import ExportJob, png_bytes
from datagen.io.hf import ParquetDatasetWriter, dataset_card


def write(job: ExportJob, tmp: Path, bar) -> None:
    from datasets import Image, Value

    template = job.options.caption or DEFAULT_CAPTION
    check_template(template)
    feats = {"image": Image(), "conditioning_image": Image(), "text": Value("string"), "row": Value("int64")}
    writer = ParquetDatasetWriter(tmp, feats, ("image", "conditioning_image"))
    meta, character = job.meta(), character_of(job.reader.config)
    for block in job.blocks():
        cols = {k: [] for k in feats}
        for row, rgb in zip(block.rows, block.images):
            present = job.vis[row] > 0
            skeleton = draw_openpose(job.xy[row] - PIXEL_CENTRE_SHIFT, present, job.kps, job.size)
            view = view_of(job.xy[row], job.vis[row], job.kps)
            cols["image"].append(png_bytes(rgb))
            cols["conditioning_image"].append(png_bytes(skeleton))
            cols["text"].append(fill(template, row_fields(meta, int(row), character, view)))
            cols["row"].append(int(row))
        writer.add(cols)
        bar.update(len(block.rows))
    prov = {**job.provenance(), "caption_template": template}
    text = ("Columns for diffusers' ControlNet training (`--image_column image --conditioning_image_column "
            f"conditioning_image --caption_column text`): `image`, `conditioning_image` (the {job.kps.name} "
            "skeleton drawn in OpenPose's style on black), `text` (the caption), `row`.")
    writer.close(dataset_card("ControlNet OpenPose pairs (datagen export)", prov, text, feats), prov)


