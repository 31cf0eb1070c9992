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
from datagen.io.export_rows import ExportJob, on_all_cpus, png_bytes
from datagen.io.hf import ParquetDatasetWriter, dataset_card


def write(job: ExportJob, tmp: Path, bar) -> None:
    from datasets import Image, Value

    template = job.options.caption or DEFAULT_CAPTION
    check_template(template)
    feats = {"image": Image(), "conditioning_image": Image(), "text": Value("string"), "row": Value("int64")}
    writer = ParquetDatasetWriter(tmp, feats, ("image", "conditioning_image"))
    meta, character = job.meta(), character_of(job.reader.config)

    def pair(item) -> tuple[bytes, bytes]:
        row, rgb = item
        skeleton = draw_openpose(job.xy[row] - PIXEL_CENTRE_SHIFT, job.vis[row] > 0, job.kps, job.size)
        return png_bytes(rgb), png_bytes(skeleton)

    for block in job.blocks():
        pairs = on_all_cpus(pair, list(zip(block.rows, block.images)))
        rows = [int(r) for r in block.rows]
        writer.add({"image": [p[0] for p in pairs], "conditioning_image": [p[1] for p in pairs],
                    "text": [fill(template, row_fields(meta, r, character, view_of(job.xy[r], job.vis[r], job.kps)))
                             for r in rows],
                    "row": rows})
        bar.update(len(rows))
    prov = {**job.provenance(), "caption_template": template}
    text = ("Columns for diffusers' ControlNet training (`--image_column image --conditioning_image_column "
            f"conditioning_image --caption_column text`): `image`, `conditioning_image` (the {job.kps.name} "
            "skeleton drawn in OpenPose's style on black), `text` (the caption), `row`.")
    writer.close(dataset_card("ControlNet OpenPose pairs (datagen export)", prov, text, feats), prov)


