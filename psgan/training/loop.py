"""The PSGAN training loop: Progressive GAN's schedule, WGAN-GP, Adam(0, 0.99, 1e-8) reset per phase,
n_critic 1, a generator EMA of 0.999 for samples, exact resume, and data parallelism over torchrun ranks.

Run folder (``cfg.out``; psgan.training.run_folder)::

    config.json            the TrainConfig and its provenance (command, versions, commit, dataset)
    log.txt                the console; log.jsonl: one JSON object per tick and per phase end
    samples/               grids at fixed latents x fixed poses (each sample beside its pose); final.png
    checkpoints/latest.pt  the newest complete checkpoint (psgan.checkpoint)
    checkpoints/network-snapshot-<kimg>.pt   every --snap kimg (all, or the last --keep)
    tensorboard/           scalars, with the [tensorboard] extra
    .lock                  held by the process writing the run (psgan.training.run_lock, datagen's output lock)

Several GPUs: ``torchrun --nproc_per_node=N -m psgan.cli train ...``. Each rank draws its slice of the
global minibatch (the batch is split
exactly, unevenly when it must: 5 on 2 ranks is 3 + 2); gradients are averaged over ranks, weighted by
each rank's share, with one flattened all-reduce per network and step
(what DistributedDataParallel does; DDP's own reducer cannot follow the gradient penalty's double
backward nor the blocks that sit unused until their phase). Only rank 0 writes.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from psgan.checkpoint import load_state, save_checkpoint
from psgan.config import TrainConfig
from psgan.data import PoseData, batches, prepare_reals
from psgan.errors import PsganError
from psgan.generation.samples import fixed_sample_inputs, sample_sheet, save_png
from psgan.nets.device import compile_network, resolve_device
from psgan.nets.networks import Discriminator, Generator
from psgan.nets.pose_maps import pose_pyramid
from psgan.training.losses import d_loss, g_loss, gradient_penalty
from psgan.training.run_folder import Console, RunLog, Tick, prune_snapshots, snapshot_name
from psgan.training.schedule import Phase, build_phases, check_batches, ema_decay

log = logging.getLogger(__name__)


class Trainer:
    """Holds the networks, optimisers and position of one run; :meth:`run` trains to the end."""

    def __init__(self, cfg: TrainConfig, state: dict | None = None) -> None:
        """``state``: a checkpoint of this run to continue from, loaded and checked against ``cfg`` by
        :func:`psgan.training.run.resume_state` (the one place a resume reads latest.pt)."""
        self.rank = int(os.environ.get("RANK", 0))
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.out = Path(cfg.out)
        self.ckpt_path = self.out / "checkpoints" / "latest.pt"
        self.cfg = cfg
        self.data = PoseData(cfg.data)
        if cfg.model.use_pose and cfg.model.num_keypoints != self.data.num_keypoints:
            raise PsganError(f"{cfg.data}: has {self.data.num_keypoints} keypoints, the model expects "
                             f"{cfg.model.num_keypoints}")
        if cfg.schedule.max_res > self.data.image_size:
            raise PsganError(f"--max-res {cfg.schedule.max_res} is above the dataset's image size "
                             f"{self.data.image_size} ({cfg.data})")
        self._setup_device()
        self.phases = build_phases(cfg.schedule)
        check_batches(self.phases, self.world)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.G = Generator(cfg.model)
            self.D = Discriminator(cfg.model)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False).eval()
        for m in (self.G, self.D, self.G_ema):
            m.to(self.device, memory_format=self.memory_format)
        # Latents and GP mixing; each rank draws its own.
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed + 1 + 7919 * self.rank)
        self.phase_idx, self.phase_img, self.total_img, self.steps = 0, 0, 0, 0
        self._cache: dict[int, torch.Tensor] = {}
        self._make_optimizers()
        if state is not None:
            self._restore(state)
        elif self.world > 1:
            for m in (self.G, self.D, self.G_ema):   # same start on every rank
                for t in list(m.parameters()):
                    dist.broadcast(t.data, src=0)
        self._fixed = fixed_sample_inputs(self.data, self.cfg)
        self.resumed_from = self.total_img
        self.console = Console(self.out if self.rank == 0 else None) if self.rank == 0 else None
        self.logger = RunLog(self.out, resume=state is not None) if self.rank == 0 else None

    # -- set-up ------------------------------------------------------------------------------------

    def _setup_device(self) -> None:
        cfg = self.cfg
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
            dist.init_process_group(backend)
        if self.world > 1 and torch.cuda.is_available() and cfg.device in ("auto", "cuda"):
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(self.device)
        else:
            self.device = resolve_device(cfg.device)
        cuda = self.device.type == "cuda"
        if cfg.threads or not cuda:
            torch.set_num_threads(cfg.threads or max(1, len(os.sched_getaffinity(0)) // self.world))
        amp = cfg.amp if cfg.amp != "auto" else ("bf16" if cuda else "off")
        self.amp_dtype = torch.bfloat16 if amp == "bf16" else None
        # channels_last: cuDNN's and oneDNN's preferred layout (tests/bench: faster on this CPU too).
        cl = cfg.channels_last if cfg.channels_last != "auto" else "on"
        self.memory_format = torch.channels_last if cl == "on" else torch.contiguous_format
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _make_optimizers(self) -> None:
        lr = self.phases[min(self.phase_idx, len(self.phases) - 1)].lr   # (a finished run resumed)
        kw = dict(lr=lr, betas=(0.0, 0.99), eps=1e-8)
        # The fused kernels exist for CUDA and (torch >= 2.4) the CPU; same maths as the for-loop Adam.
        kw["fused"] = True
        self.opt_G = torch.optim.Adam(self.G.parameters(), **kw)
        self.opt_D = torch.optim.Adam(self.D.parameters(), **kw)
        self._G_step, self._D_forward = self.G, self.D
        if self.cfg.compile:
            import torch._dynamo as dynamo

            # One static graph per (resolution, fade) phase: 17 phases up to 1024 exceed the default
            # limit of 8. dynamic=False: with automatic dynamic shapes the second resolution turns the
            # resolution into a symbol and the blocks chosen by it break the graph (36 graphs, 16 breaks).
            dynamo.config.cache_size_limit = max(dynamo.config.cache_size_limit, 64)
            self._G_step, self._D_forward = compile_network(self.G), compile_network(self.D)

    def _restore(self, ck: dict) -> None:
        p = self.ckpt_path
        for name in ("G", "D", "G_ema"):
            load_state(getattr(self, name), ck[name], p, name)
        self.phase_idx, self.phase_img = int(ck["phase"]), int(ck["phase_img"])
        self.total_img, self.steps = int(ck["total_img"]), int(ck["steps"])
        self._make_optimizers()
        load_state(self.opt_G, ck["opt_G"], p, "opt_G")
        load_state(self.opt_D, ck["opt_D"], p, "opt_D")
        gens = ck["rng"]["gen"]
        if len(gens) != self.world:
            raise PsganError(f"{self.ckpt_path}: was written by {len(gens)} processes, this run has "
                             f"{self.world}; resume with the same number")
        saved_dev = ck["rng"].get("gen_device", "cpu")
        if saved_dev == self.device.type:
            self.gen.set_state(gens[self.rank].cpu())
        else:
            # A CPU (Mersenne twister) and a CUDA (Philox) generator state do not convert: continue with
            # a stream that is a function of the seed, rank and step, and say that the run forks here.
            self.gen.manual_seed(self.cfg.seed + 1 + 7919 * self.rank + 104729 * self.steps)
            log.warning("%s was written on %s, this run is on %s: continuing with a fresh latent stream "
                        "(the run is no longer bit-identical to an unbroken one)", p, saved_dev, self.device.type)
        torch.set_rng_state(ck["rng"]["torch"].cpu())

    def state(self) -> dict:
        phase = self.phases[min(self.phase_idx, len(self.phases) - 1)]
        done = self.phase_idx >= len(self.phases)
        return {
            "G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
            "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
            "phase": self.phase_idx, "phase_img": self.phase_img, "total_img": self.total_img,
            "steps": self.steps, "resolution": phase.resolution,
            "alpha": 1.0 if done else phase.alpha(self.phase_img),
            "rng": {"gen": self._gen_states(), "gen_device": self.device.type, "torch": torch.get_rng_state()},
            "config": self.cfg.to_json(),
        }

    def _gen_states(self) -> list[torch.Tensor]:
        """Every rank's training-generator state (a collective: all ranks call it)."""
        if self.world == 1:
            return [self.gen.get_state()]
        states: list = [None] * self.world
        dist.all_gather_object(states, self.gen.get_state())
        return states

    # -- the loop ------------------------------------------------------------------------------------

    def run(self, max_steps: int | None = None, progress: bool = True) -> None:
        """Train to the end of the schedule (or for ``max_steps`` steps, then checkpoint and return)."""

        total = sum(p.images for p in self.phases)
        bar = tqdm(total=total, initial=min(self.total_img, total), unit="img", unit_scale=True,
                   disable=None if progress and self.rank == 0 else True, mininterval=1.0, dynamic_ncols=True)
        steps_left = max_steps
        self._t_start = time.perf_counter()
        try:
            while self.phase_idx < len(self.phases):
                n = self._run_phase(self.phases[self.phase_idx], bar, steps_left)
                if steps_left is not None:
                    steps_left -= n
                    if steps_left <= 0 and self.phase_idx < len(self.phases):
                        self.save()
                        return
            self.save()
            self.write_samples("final")
            self._summary()
        except KeyboardInterrupt:
            if self.world > 1:   # the other ranks may not be here: no collective
                raise
            self.save()
            log.warning("interrupted: checkpoint written to %s (continue with --resume)", self.ckpt_path)
            raise
        finally:
            bar.close()
            self.close()

    def close(self) -> None:
        """Release the log files and the console handler (idempotent)."""
        if self.logger is not None:
            self.logger.close()
            self.logger = None
        if self.console is not None:
            self.console.close()
            self.console = None

    def _summary(self) -> None:
        if self.rank != 0:
            return
        dt = time.perf_counter() - self._t_start
        seen = self.total_img - self.resumed_from
        last = self.phases[-1]
        h, rem = divmod(int(dt), 3600)
        self._line(f"done: {self.total_img / 1000:.2f} kimg in total ({seen / 1000:.2f} kimg in "
                   f"{h}h {rem // 60:02d}m {rem % 60:02d}s this session, {seen / max(dt, 1e-9):.1f} img/s); "
                   f"final phase {last.name} at {last.resolution}x{last.resolution}; {self.steps} steps")

    def _line(self, msg: str) -> None:
        if self.console is not None:
            self.console.line(msg)

    def _run_phase(self, ph: Phase, bar, steps_left: int | None) -> int:
        step_img = ph.batch
        remaining = max(0, ph.images - self.phase_img)
        if remaining == 0:
            # Stopped between the phase's last step and its switch (an interrupt while the end-of-phase
            # samples were written): switch now, or the resumed run would loop on an empty phase.
            self._end_phase()
            return 0
        steps = math.ceil(remaining / step_img)
        if steps_left is not None:
            steps = min(steps, steps_left)
        stream = batches(self.data, ph.resolution, ph.batch, self.total_img, steps, seed=self.cfg.seed,
                         mirror=self.cfg.mirror, rank=self.rank, world=self.world, cache=self._cache,
                         cache_mb=self.cfg.cache_mb, workers=self.cfg.workers)
        tick = Tick(self.cfg.tick_kimg, self.cfg.sample_kimg, self.cfg.ckpt_kimg, self.total_img,
                    self.cfg.snap_kimg)
        sums = torch.zeros(5, device=self.device)
        count, t0, img0 = 0, time.perf_counter(), self.total_img
        done = 0
        for b in stream:
            alpha = ph.alpha(self.phase_img)
            sums += self.step(ph, b, alpha)
            count += 1
            done += 1
            self.phase_img += step_img
            self.total_img += step_img
            self.steps += 1
            bar.update(step_img)
            phase_end = self.phase_img >= ph.images
            due = tick.due(self.total_img)
            if "log" in due or phase_end:
                dt = time.perf_counter() - t0
                rate = (self.total_img - img0) / max(dt, 1e-9)
                self._log(ph, alpha, sums / max(count, 1), rate, bar)
                sums.zero_()
                count, t0, img0 = 0, time.perf_counter(), self.total_img
            if "snap" in due:
                self.save(snapshot=True)
            if phase_end:
                self.write_samples()
                self._end_phase()
                break
            if "sample" in due:
                self.write_samples()
            if "ckpt" in due:
                self.save()
        return done

    def _end_phase(self) -> None:
        self.phase_idx += 1
        self.phase_img = 0
        if self.phase_idx < len(self.phases):
            self._make_optimizers()   # Adam state reset at each new phase
            self.save()

    def step(self, ph: Phase, b, alpha: float) -> torch.Tensor:
        """One D step and one G step on a minibatch; returns [loss_d, loss_g, gp, d_real, d_fake]."""
        cfg, res = self.cfg, ph.resolution
        a = torch.tensor(alpha, device=self.device) if ph.fade else 1.0
        real, xy, vis = prepare_reals(b, self.data, self.device, a, self.memory_format)
        poses = None
        if cfg.model.use_pose:
            poses = {r: p.contiguous(memory_format=self.memory_format)
                     for r, p in pose_pyramid(xy, vis, self.data.image_size, res,
                                                        limbs=cfg.model.limbs).items()}
        n = real.shape[0]
        latent = cfg.model.latent

        # Critic step: G runs without a graph, D's parameters are the only ones to differentiate.
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        z = torch.randn(n, latent, device=self.device, generator=self.gen)
        eps = torch.rand(n, 1, 1, 1, device=self.device, generator=self.gen)
        with torch.no_grad(), self._autocast():
            fake = self._G_step(z, poses, res, a)
        fake = fake.float().contiguous(memory_format=self.memory_format)
        with self._autocast():
            d_real = self._D_forward(real, poses, a)
            d_fake = self._D_forward(fake, poses, a)

            def d_eager(x: torch.Tensor) -> torch.Tensor:   # compiled graphs cannot double-backward
                return self.D(x, poses, a)
            gp = gradient_penalty(d_eager, real, fake, eps)
        loss_d = d_loss(d_real, d_fake, gp, cfg.gp_lambda, cfg.drift)
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self._allreduce(self.D, n)
        self.opt_D.step()

        # Generator step: D's weights get no gradient (saves a third of D's backward).
        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        z = torch.randn(n, latent, device=self.device, generator=self.gen)
        with self._autocast():
            fake = self._G_step(z, poses, res, a)
            loss_g = g_loss(self._D_forward(fake, poses, a))
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        self._allreduce(self.G, n)
        self.opt_G.step()
        self.D.requires_grad_(True)

        beta = ema_decay(cfg.ema_beta, self.steps, self.total_img + ph.batch, ph.batch, cfg.ema_warmup,
                         cfg.ema_rampup)
        with torch.no_grad():
            ema = list(self.G_ema.parameters())
            torch._foreach_lerp_(ema, list(self.G.parameters()), 1.0 - beta)
        return torch.stack([loss_d.detach(), loss_g.detach(), gp.detach().mean(),
                            d_real.detach().float().mean(), d_fake.detach().float().mean()])

    def _allreduce(self, net: torch.nn.Module, n: int) -> None:
        """Average the ranks' gradients weighted by their ``n`` rows: the gradient of the global mean
        loss when the split is uneven (every loss term is a per-row mean)."""
        if self.world == 1:
            return
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        flat = torch.cat([g.flatten() for g in grads]) * n
        dist.all_reduce(flat)
        flat /= self.phases[self.phase_idx].batch
        off = 0
        for g in grads:
            g.copy_(flat[off:off + g.numel()].view_as(g))
            off += g.numel()

    # -- output --------------------------------------------------------------------------------------

    def _log(self, ph: Phase, alpha: float, means: torch.Tensor, rate: float, bar) -> None:
        if self.rank != 0:
            return
        ld, lg, gp, dr, df = means.tolist()
        rec = {"kimg": round(self.total_img / 1000, 3), "step": self.steps, "phase": ph.index,
               "phase_name": ph.name, "resolution": ph.resolution, "alpha": round(alpha, 4),
               "batch": ph.batch, "lr": ph.lr, "loss_d": ld, "loss_g": lg, "gp": gp, "d_real": dr,
               "d_fake": df, "img_per_s": round(rate, 2), "time": round(time.time(), 1)}
        self.logger.write(rec)
        bar.set_postfix_str(f"{ph.name} {ph.resolution}px kimg {self.total_img / 1000:.1f} {rate:.1f} img/s")
        self._line(f"kimg {rec['kimg']:9.2f}  {ph.name:>8}  alpha {alpha:5.3f}  loss_d {ld:9.4f}  "
                  f"loss_g {lg:9.4f}  gp {gp:8.4f}  {rate:8.1f} img/s")

    def save(self, snapshot: bool = False) -> None:
        """Write checkpoints/latest.pt, or with ``snapshot`` a kept network-snapshot-<kimg>.pt (all
        ranks call this; rank 0 writes)."""
        state = self.state()
        if self.rank != 0:
            return
        if snapshot:
            path = save_checkpoint(self.ckpt_path.with_name(snapshot_name(self.total_img)), state)
            prune_snapshots(self.ckpt_path.parent, self.cfg.keep)
            log.info("snapshot %s", path.name)
        else:
            save_checkpoint(self.ckpt_path, state)

    @torch.no_grad()
    def write_samples(self, name: str | None = None) -> Path | None:
        """A grid of G_ema at the fixed latents x fixed poses, each sample beside its drawn pose."""
        if self.rank != 0:
            return None
        done = self.phase_idx >= len(self.phases)
        ph = self.phases[min(self.phase_idx, len(self.phases) - 1)]
        res, alpha = ph.resolution, (1.0 if done else ph.alpha(self.phase_img))
        grid = sample_sheet(self.G_ema, self._fixed, self.data, res, alpha, self.device, self.cfg.model.use_pose,
                            self.cfg.model.limbs)
        name = name or f"kimg{self.total_img / 1000:08.2f}-{res}px"
        return save_png(grid, self.out / "samples" / f"{name}.png")
