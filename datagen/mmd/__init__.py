"""MikuMikuDance files in pure Python/numpy: models (.pmx 2.0/2.1, .pmd) and motions (.vmd, .vpd).

:mod:`.binary` reads little-endian records with one-line errors, :mod:`.model` parses models,
:mod:`.motion` parses motions, :mod:`.skeleton` turns a motion into keypoint trajectories (forward
kinematics with MMD's leg IK). No Blender here: the Blender layer builds objects from :class:`.model.Model`.

Why not a package: ``pypmxvmd`` (MIT) is an sdist only (8,700 lines, C extensions compiled at install,
prebuilt binaries only for Windows) and reads no PMD; ``mmd-bone-tools`` (MIT) renames bones and keeps vertices as raw
bytes (no geometry, no VPD). What is needed here (geometry, weights, materials, bones, IK chains, bone
keys) is a few hundred lines of ``struct``/numpy.
"""
from datagen.mmd.binary import MMDError

MODEL_SUFFIXES = (".pmx", ".pmd")
MOTION_SUFFIXES = (".vmd", ".vpd")

__all__ = ["MMDError", "MODEL_SUFFIXES", "MOTION_SUFFIXES"]
