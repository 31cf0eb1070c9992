"""Masks from coverage (docs/format.md#masks): the mask is how much of each pixel the figure covers,
from the same samples as the image, so at 64x64 every pixel that differs from white lies inside it.

A binary mask at 50% coverage misses limbs thinner than a pixel at small sizes; the coverage does not.
Default avatar and a glTF rig, 1, 2 and 8 samples.
"""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main
from datagen.format import open_dataset
from datagen.render.compositing import MASK_THRESHOLD

pytestmark = [pytest.mark.blender, pytest.mark.slow]
ROBOT = SHARED_ASSETS / "rigs" / "RobotExpressive.glb"
NOISE = 2  # levels from white that rounding of the anti-aliased blend may leave (none were measured)


def grow(mask: np.ndarray, px: int = 1) -> np.ndarray:
    out = mask.copy()
    for dy in range(-px, px + 1):
        for dx in range(-px, px + 1):
            out |= np.roll(mask, (dy, dx), axis=(-2, -1))
    return out


@pytest.mark.parametrize("rig", ["avatar", "robot"])
def test_every_non_white_pixel_lies_in_the_mask(rig, tmp_path):
    if rig == "robot" and not ROBOT.is_file():
        pytest.skip("shared RobotExpressive.glb not present")
    rig_args = [] if rig == "avatar" else ["--rig", str(ROBOT), "--clips", "Wave"]
    for samples in (1, 2, 8):
        out = tmp_path / f"{rig}-{samples}.h5"
        r = CliRunner().invoke(main, ["render", "--quiet", *rig_args, "--frames", "2", "--size", "64", "--costumes",
                                      "default" if rig == "robot" else _first_costume(), "--samples", str(samples),
                                      "-o", str(out)])
        assert r.exit_code == 0, r.output
        with open_dataset(out) as ds:
            images, masks = ds.images()[:], ds.read("masks/64")
        ink = (255 - images.astype(int)).max(-1) > NOISE
        covered = masks > 0
        assert ink.any() and not (ink & ~grow(covered)).any(), (samples, np.argwhere(ink & ~grow(covered))[:5])
        assert ((masks == 0) <= (images == 255).all(-1)).all()  # no coverage: exactly white
        if samples > 1:
            assert ((masks > 0) & (masks < 255)).any()  # the anti-aliased rim has partial coverage
        assert ((masks >= MASK_THRESHOLD) <= covered).all()  # the 50% silhouette lies inside the coverage


def _first_costume() -> str:
    from datagen.render import DEFAULT_RIG
    from datagen.render.blender.rig import load_rig

    return load_rig(DEFAULT_RIG).costumes[0].name
