"""Typed configuration of the PSGAN trainer: model, schedule and run settings, with a JSON round trip.

The defaults are the paper's (Hamada et al. 2018, following Karras et al. 2018, Progressive GAN); the
CLI builds a :class:`TrainConfig`, writes it to ``OUT/config.json`` and a checkpoint carries it too.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

from datagen.format import open_dataset
from psgan.errors import PsganError

# The paper's schedule (Progressive GAN's CelebA-HQ settings): minibatch and learning rate per resolution.
PAPER_BATCH = {4: 16, 8: 16, 16: 16, 32: 16, 64: 16, 128: 16, 256: 12, 512: 5, 1024: 2}
PAPER_LR = {4: 1e-3, 8: 1e-3, 16: 1e-3, 32: 1e-3, 64: 1e-3, 128: 8e-4, 256: 6e-4, 512: 2e-4, 1024: 1e-4}


@dataclass
class ModelConfig:
    """Generator and discriminator shape (Progressive GAN, Karras et al. 2018, Table 2)."""

    num_keypoints: int = 20          # M, the pose-map channels (the dataset's keypoint count)
    use_pose: bool = True            # False: plain Progressive GAN (no structural conditions)
    latent: int = 512
    fmap_base: int = 8192            # feature maps at resolution 2^k: min(fmap_base / 2^(k-1), fmap_max)
    fmap_max: int = 512
    max_res: int = 1024              # the networks are built up to this resolution
    # How G's 3x3 convolutions pad: zeros (the paper's) make the border, and most of all the corners,
    # an input of their own that G must learn to cancel; short runs leave a coloured dot in every
    # corner (docs/training.md). "replicate" gives G nothing that marks the border.
    g_padding: str = "replicate"
    # Limb maps beside the keypoint maps (--limbs): pairs of keypoint indices, one map each; () is the
    # paper's conditions.
    limbs: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        self.limbs = tuple((int(a), int(b)) for a, b in self.limbs)   # JSON gives lists

    def nf_stage(self, stage: int) -> int:
        """The official ``nf(stage) = min(fmap_base / 2^stage, fmap_max)``."""
        return max(1, min(self.fmap_base // (2 ** stage), self.fmap_max))

    def nf(self, res: int) -> int:
        """Feature maps of the G block / D block at resolution ``res`` (512 up to 32, ..., 16 at 1024)."""
        return self.nf_stage(res.bit_length() - 2)   # stage log2(res) - 1: 4 -> 1, 8 -> 2, ...

    @property
    def pose_channels(self) -> int:
        return self.num_keypoints + len(self.limbs) if self.use_pose else 0

    @property
    def resolutions(self) -> list[int]:
        return [2 ** k for k in range(2, self.max_res.bit_length())]


@dataclass
class ScheduleConfig:
    """Progressive schedule: 4x4 stabilise, then (fade in, stabilise) per doubling up to ``max_res``."""

    max_res: int = 1024
    kimg_per_phase: float = 600.0    # thousands of real images shown per fade-in and per stabilisation
    final_kimg: float | None = None  # length of the last stabilisation phase (default kimg_per_phase)
    batch: dict[int, int] = field(default_factory=lambda: dict(PAPER_BATCH))
    lr: dict[int, float] = field(default_factory=lambda: dict(PAPER_LR))

    def __post_init__(self) -> None:
        # JSON turns int keys into strings; accept both.
        self.batch = {int(k): int(v) for k, v in self.batch.items()}
        self.lr = {int(k): float(v) for k, v in self.lr.items()}

    def batch_at(self, res: int) -> int:
        return int(_at(self.batch, res))

    def lr_at(self, res: int) -> float:
        return float(_at(self.lr, res))


def _at(table: dict[int, float], res: int) -> float:
    """The entry for ``res``, else that of the nearest lower resolution listed (else the lowest)."""
    lower = [r for r in table if r <= res]
    return table[max(lower) if lower else min(table)]


@dataclass
class TrainConfig:
    """Everything a run needs; written to OUT/config.json and into every checkpoint."""

    data: str = ""
    out: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    seed: int = 0
    mirror: bool = True              # mirror augmentation (keypoints mirrored, left/right swapped)
    ema_beta: float = 0.999          # generator EMA per step
    ema_warmup: bool = True          # beta_t = min(ema_beta, (1 + t) / (10 + t)); False: the paper's fixed 0.999
    ema_rampup: float | None = None  # StyleGAN's: the average's half-life at most this fraction of the
                                     # images seen (replaces the step warm-up; short runs: 0.02)
    gp_lambda: float = 10.0          # WGAN-GP
    drift: float = 0.001             # epsilon_drift * D(real)^2
    device: str = "auto"             # auto | cpu | cuda | cuda:N
    amp: str = "auto"                # auto (bf16 on CUDA, off on CPU) | bf16 | off
    channels_last: str = "auto"      # auto (on) | on | off
    compile: bool = False            # torch.compile G and D (CUDA)
    workers: int = 2                 # data-loader processes for levels not cached in memory
    cache_mb: int = 1024             # keep a pyramid level in memory when it is at most this big
    threads: int = 0                 # torch CPU threads (0: all cores of this process)
    tick_kimg: float = 4.0           # a log line every this many kimg (and at every phase end)
    sample_kimg: float = 50.0        # a sample grid every this many kimg (and at every phase end)
    ckpt_kimg: float = 100.0         # a checkpoint every this many kimg (and at every phase end)
    snap_kimg: float = 1000.0        # a kept network-snapshot-<kimg>.pt every this many kimg (0: none)
    keep: int = 0                    # keep the newest this many snapshots (0: all)
    sample_latents: int = 4          # rows of the sample grid
    sample_poses: int = 6            # columns of the sample grid

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        d = json.loads(text)
        d["model"] = ModelConfig(**{"g_padding": "zeros", **d.get("model", {})})   # runs saved before g_padding
        d["schedule"] = ScheduleConfig(**d.get("schedule", {}))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def flat(self) -> dict[str, object]:
        """{"model.latent": 512, "schedule.batch": {...}, "seed": 0, ...}: every field by dotted name."""
        out: dict[str, object] = {}
        for k, v in asdict(self).items():
            if isinstance(v, dict) and k in ("model", "schedule"):
                out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
            else:
                out[k] = v
        return out


# Fields a resumed run may change: where things are read and how often things are written or shown.
# The device is here too (a CUDA run continues on the CPU and back), though the continuation is then no
# longer bit-identical to an unbroken run. A larger --final-kimg is safe too: it lengthens the last phase
# (and extends a finished run). Everything else changes the maths and is refused.
SAFE_ON_RESUME = frozenset({"data", "out", "device", "workers", "cache_mb", "threads", "tick_kimg",
                            "sample_kimg", "ckpt_kimg", "snap_kimg", "keep"})


def resume_config(saved: TrainConfig, new: TrainConfig, given: set[str] | None = None
                  ) -> tuple[TrainConfig, list[str]]:
    """The config a resumed run continues with, and the list of refused differences.

    ``given``: the dotted field names the user set on this command line (None: every field of ``new``
    counts as given, as for library callers). Safe fields that were given are taken from ``new``; any
    other given field that differs from ``saved`` is a conflict, listed as ``name: saved -> new``.
    """
    a, b = saved.flat(), new.flat()
    given = set(b) if given is None else given
    extend = "schedule.final_kimg" in given and b["schedule.final_kimg"] is not None and \
        b["schedule.final_kimg"] >= (a["schedule.final_kimg"] or a["schedule.kimg_per_phase"])
    conflicts = [f"{k}: {a[k]!r} -> {b[k]!r}" for k in sorted(given)
                 if k not in SAFE_ON_RESUME and k in a and a[k] != b[k]
                 and not (k == "schedule.final_kimg" and extend)]
    out = TrainConfig.from_json(saved.to_json())
    for k in given & SAFE_ON_RESUME:
        setattr(out, k, getattr(new, k))
    if extend:   # a longer last phase: the phases before it, and so the run so far, are unchanged
        out.schedule.final_kimg = new.schedule.final_kimg
    return out, conflicts


def configure(data: str | os.PathLike, out: str | os.PathLike, *, max_res: int | None = None,
              kimg_per_phase: float = 600.0, final_kimg: float | None = None,
              batch: dict[int, int] | None = None, lr: dict[int, float] | None = None,
              use_pose: bool = True, limbs: bool = False, latent: int = 512, fmap_base: int = 8192, fmap_max: int = 512,
              **run: object) -> TrainConfig:
    """A TrainConfig for a dataset file: paper defaults, the file's keypoint count and image size, and
    the given overrides (``batch``/``lr`` entries replace the paper's from their resolution on)."""
    with open_dataset(data) as r:
        size, k, edges = r.image_size, r.keypoint_set.size, r.keypoint_set.edges
    max_res = max_res or min(size, 1024)
    if max_res & (max_res - 1) or max_res > size:
        raise PsganError(f"--max-res {max_res}: must be a power of two no larger than {data}'s image size {size}")

    def merged(paper: dict, override: dict | None) -> dict:
        if not override:
            return dict(paper)
        first = min(override)
        out = {r: v for r, v in paper.items() if r < first}
        for r in paper:
            if r >= first:
                out[r] = override[max(o for o in override if o <= r)]
        return out

    model = ModelConfig(num_keypoints=k, use_pose=use_pose, limbs=edges if limbs and use_pose else (),
                        latent=latent, fmap_base=fmap_base, fmap_max=fmap_max, max_res=max_res)
    sched = ScheduleConfig(max_res=max_res, kimg_per_phase=kimg_per_phase, final_kimg=final_kimg,
                           batch=merged(PAPER_BATCH, batch), lr=merged(PAPER_LR, lr))
    return TrainConfig(data=str(data), out=str(out), model=model, schedule=sched, **run)
