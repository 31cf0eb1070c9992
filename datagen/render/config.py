"""The settings of a ``datagen render`` run: what decides the rendered rows (docs/rendering.md)."""
from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datagen
from datagen.errors import DatagenError
from datagen.format.keypoint_sets import get_keypoint_set
from datagen.render.engines import get_engine

def _default_rig() -> Path:
    """The default avatar: rigs/avatar.blend of a checkout, or the copy a wheel installs under the
    environment's share/ folder (pyproject.toml's data-files)."""
    checkout = Path(datagen.__file__).resolve().parents[1] / "rigs" / "avatar.blend"
    installed = Path(sys.prefix) / "share" / "psgan-toolkit" / "avatar.blend"
    return checkout if checkout.is_file() or not installed.is_file() else installed


DEFAULT_RIG = _default_rig()


class RenderError(DatagenError):
    """A render run that cannot start or continue (bad option, incompatible --resume)."""


@dataclass
class RenderConfig:
    """Everything that decides the rendered rows (stored as the dataset's ``config``).

    Not in here, because they never change the result: the output path, --workers, --shard and
    --resume.
    """

    rig: str | list[str]  # a list: several rigs in one dataset (docs/rigs.md)
    rig_sha256: str | list[str]
    frames: int = 600
    size: int = 1024
    costumes: list[str] | None = None
    clips: list[str] | None = None
    keypoint_set: str = "avatar20"
    engine: str = "workbench"
    samples: int | None = None
    framing: str = "clip"
    margin: float = 0.05
    lens_mm: float = 50.0
    azimuth: float = 0.0
    elevation: float = 5.0
    azimuth_jitter: float = 0.0
    follow_sigma_s: float = 0.5
    seed: int = 0
    occlusion_tolerance: float = 0.02
    keymap: dict | None = None
    motions: list[str] | None = None  # BVH files retargeted onto the rig; they replace the rig's clips
    motions_sha256: list[str] | None = None
    motion_fps: float | None = None  # resample the BVH clips to this rate (default: the scene's)
    render: dict = field(default_factory=dict)  # engine settings as applied (filled in by the plan; per rig when several)
    keypoint_bones: dict = field(default_factory=dict)  # keypoint -> bone (filled in by the plan; per rig when several)

    def __post_init__(self) -> None:
        get_engine(self.engine)
        get_keypoint_set(self.keypoint_set)
        # The library's own boundary (the CLI checks the same): a NaN here would render blank images
        # with NaN cameras, and validate would only find out afterwards.
        for name, lo, hi in (("margin", -0.9, 0.9), ("lens_mm", 5, 500), ("azimuth", None, None),
                             ("elevation", -89, 89), ("azimuth_jitter", 0, 180), ("follow_sigma_s", 0, None),
                             ("occlusion_tolerance", 0, None), ("motion_fps", 1, 1000)):
            value = getattr(self, name)
            if value is None and name == "motion_fps":
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                    or (lo is not None and value < lo) or (hi is not None and value > hi):
                span = f" in {lo}..{hi}" if lo is not None and hi is not None else f" >= {lo}" if lo is not None else ""
                raise RenderError(f"--{name.replace('_', '-')} {value!r}: expected a finite number{span}")
        for name, lo in (("frames", 1), ("size", 4), ("seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < lo:
                raise RenderError(f"--{name} {value!r}: expected an integer >= {lo}")
        if self.seed >= 2**63:
            raise RenderError(f"--seed {self.seed}: expected an integer below 2**63")
        if self.size & (self.size - 1):
            raise RenderError(f"--size {self.size}: not a power of two")
        if self.samples is not None and (not isinstance(self.samples, int) or self.samples < 1):
            raise RenderError(f"--samples {self.samples!r}: expected an integer >= 1")

    def rig_paths(self) -> list[str]:
        return [self.rig] if isinstance(self.rig, str) else list(self.rig)

    def key(self) -> dict:
        """The settings a --resume must match (the inputs, not what the plan derived)."""
        d = asdict(self)
        d.pop("render")
        d.pop("keypoint_bones")
        return d


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


BLENDER_MODULES = ("bpy", "mathutils", "bpy_extras")


def blender_session_class():
    """:class:`datagen.render.blender.session.BlenderSession`, or a one-line error saying how to get
    Blender when the base install (no bpy) runs a command that renders."""
    try:
        from datagen.render.blender.session import BlenderSession
    except ModuleNotFoundError as e:
        if e.name not in BLENDER_MODULES:
            raise
        raise RenderError("rendering needs Blender's Python module (bpy 5.0.1, Python 3.11), which this install "
                          "lacks: pip install 'psgan-toolkit[render]'") from None
    return BlenderSession

