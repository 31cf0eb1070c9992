"""OpenPose JSON for the importers and exporters: the parser lives in :mod:`datagen.format.openpose_json`
(part of the format contract, so ``psgan generate --poses DIR`` can read OpenPose output without the
rest of datagen); this module keeps the old import path."""
from datagen.format.openpose_json import (KEYPOINTS_SUFFIX, OPENPOSE_SETS, OPENPOSE_TO_FORMAT,  # noqa: F401
                                          OpenPoseError, from_format, image_stem, openpose_document,
                                          parse_openpose, present, rank_people, read_openpose, to_format,
                                          write_openpose)
