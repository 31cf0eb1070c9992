"""The contract between every stage: dataset format v1 (docs/format.md) and the keypoint sets.

This is the only part of datagen that the trainer (``psgan``) imports; it needs neither Blender nor
torch. Producers write through :class:`DatasetWriter`, consumers open files with :func:`open_dataset`.
"""
from datagen.format.keypoint_sets import KEYPOINT_SETS, KeypointSet, convert_keypoints, get_keypoint_set
from datagen.format.schema import (FORMAT_NAME, FORMAT_VERSION, IMAGE_COMPRESSIONS, IMPORTED_FIELDS,
                                   RENDERED_FIELDS, REQUIRED_FIELDS, ROW_FIELDS, DatasetHeader)
from datagen.format.concat import concat_files
from datagen.format.writer import DatasetWriter
from datagen.format.reader import DatasetReader, open_dataset
from datagen.format.rows import parse_rows

__all__ = ["KEYPOINT_SETS", "KeypointSet", "convert_keypoints", "get_keypoint_set", "FORMAT_NAME", "FORMAT_VERSION",
           "IMAGE_COMPRESSIONS", "IMPORTED_FIELDS", "RENDERED_FIELDS", "REQUIRED_FIELDS", "ROW_FIELDS",
           "DatasetHeader", "concat_files", "DatasetWriter", "DatasetReader", "open_dataset", "parse_rows"]
