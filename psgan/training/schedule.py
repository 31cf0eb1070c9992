"""The progressive schedule of Progressive GAN (Karras et al. 2018, sec. 3 and appendix A.1).

Training starts with a stabilisation phase at 4x4; each doubling of the resolution is a fade-in phase
(the new blocks blend in linearly, alpha 0 -> 1) followed by a stabilisation phase. The paper shows
600k real images per phase; minibatch and learning rate depend on the phase's resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

from psgan.config import ScheduleConfig
from psgan.data import rank_batches
from psgan.errors import PsganError


@dataclass(frozen=True)
class Phase:
    index: int
    resolution: int
    fade: bool          # True: fade-in of ``resolution``'s blocks; False: stabilisation
    images: int         # real images shown in this phase
    batch: int          # global minibatch
    lr: float

    @property
    def name(self) -> str:
        return f"{'fade' if self.fade else 'stab'}{self.resolution}"

    def alpha(self, images_done: int) -> float:
        """Fade-in weight of the top blocks after ``images_done`` images of this phase."""
        return min(1.0, images_done / self.images) if self.fade else 1.0


def ema_decay(beta: float, step: int, images: int, batch: int, warmup: bool = True,
              rampup: float | None = None) -> float:
    """Decay of the generator average at step ``step`` (0-based) of ``batch`` images, ``images`` seen
    including this step: ``beta`` capped by a warm-up so that a young average is not mostly the random
    initialisation. ``rampup`` (StyleGAN's ``ema_rampup``): the half-life is at most that fraction of
    the images seen, 0.5 ** (batch / (rampup * images)); else TensorFlow's (1 + t) / (10 + t), whose
    half-life is about 8% of the steps, when ``warmup``."""
    if rampup is not None:
        return min(beta, 0.5 ** (batch / max(rampup * images, 1e-8)))
    if warmup:
        return min(beta, (1 + step) / (10 + step))
    return beta


def build_phases(s: ScheduleConfig) -> list[Phase]:
    """[stab4, fade8, stab8, ..., fade max_res, stab max_res]."""
    plan = [(4, False)]
    r = 8
    while r <= s.max_res:
        plan += [(r, True), (r, False)]
        r *= 2
    phases = []
    for i, (res, fade) in enumerate(plan):
        kimg = s.final_kimg if (i == len(plan) - 1 and s.final_kimg is not None) else s.kimg_per_phase
        phases.append(Phase(i, res, fade, max(1, round(kimg * 1000)), s.batch_at(res), s.lr_at(res)))
    return phases


def check_batches(phases: list[Phase], world: int) -> None:
    """Every rank needs 2 images at least per step: with 1, its minibatch-stddev channel is a constant."""
    if world == 1:
        return
    for ph in phases:
        if min(rank_batches(ph.batch, world)) < 2:
            raise PsganError(f"--batch {ph.batch} at {ph.resolution}x{ph.resolution} cannot be split over "
                             f"{world} processes with 2 images each at least; use --batch {ph.resolution}:"
                             f"{2 * world} or fewer processes")
