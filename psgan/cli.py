"""The `psgan` command line: parses options, builds a TrainConfig, calls the library (docs/training.md)."""
from __future__ import annotations

import logging
import math
from pathlib import Path

import click

from datagen.format.command_line import Finite, OneLineGroup
from datagen.format.output_policy import resolve_output

# No exists=True: the library names a missing or bad file in one line and exits 1.
_FILE = click.Path(dir_okay=False, path_type=Path)
_SEED = click.IntRange(0, 2**31 - 1)
RESOLUTIONS = tuple(2 ** k for k in range(2, 11))
# -o stays a string: its trailing "/" means a folder (datagen.format.output_policy).
_OUT = click.Path(path_type=str)
_OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace an existing output.")


def _check_writable(out: Path) -> None:
    """Refuse, before any work, an output whose folder (or the nearest existing one above it) cannot
    be written: a read-only mount or a folder without permission (root ignores only the latter)."""
    import os

    from psgan.errors import PsganError

    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PsganError(f"{out}: output folder {folder} is not writable")


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="psgan-toolkit")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """PSGAN: pose-conditioned progressive GAN training and generation."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")


def _per_res(kind: type):
    """Parse '8' (every resolution) or '4:16,256:12' (from each resolution on) into {res: value};
    values must be positive and finite, resolutions powers of two from 4 to 1024."""
    def convert(ctx, param, value):
        if value is None:
            return None
        try:
            if ":" not in value:
                out = {4: kind(value)}
            else:
                out = {}
                for part in value.split(","):
                    r, v = part.split(":")
                    out[int(r)] = kind(v)
        except ValueError:
            raise click.BadParameter(f"{value!r}: expected a {kind.__name__} or RES:VALUE,RES:VALUE", param=param) from None
        for r, v in out.items():
            if r not in RESOLUTIONS:
                raise click.BadParameter(f"{value!r}: resolution {r} is not a power of two from 4 to 1024", param=param)
            if not math.isfinite(v) or v <= 0:
                raise click.BadParameter(f"{value!r}: {v} is not a positive finite number", param=param)
        return out
    return convert


class _Sets(click.Option):
    """A `train` option and the TrainConfig fields it sets: with --resume, options given on the command
    line must match the saved run (psgan.config.resume_config), so the check needs this mapping."""

    def __init__(self, *args, sets: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sets = sets


def _given_fields(ctx: click.Context) -> set[str]:
    from click.core import ParameterSource

    given = {"data"}   # the DATA argument is always given
    for param in ctx.command.params:
        if isinstance(param, _Sets) and ctx.get_parameter_source(param.name) in (ParameterSource.COMMANDLINE,
                                                                                 ParameterSource.ENVIRONMENT):
            given.update(param.sets)
    return given


@main.command()
@click.argument("data", type=_FILE)
@click.option("-o", "--out", type=_OUT, required=True,
              help="Run folder to write (created with its parents); required.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint, exactly "
                                             "(or extend a finished run with a larger --final-kimg).")
@click.option("--overwrite", is_flag=True, help="Start the run in --out again from the beginning, replacing it.")
@click.option("--max-res", cls=_Sets, sets=('schedule.max_res', 'model.max_res'), type=click.IntRange(4, 1024), default=None, help="Last resolution (default: the dataset's).")
@click.option("--kimg-per-phase", cls=_Sets, sets=('schedule.kimg_per_phase',), type=Finite(min=0.001), default=600.0, show_default=True,
              help="Thousands of real images per fade-in and per stabilisation phase.")
@click.option("--final-kimg", cls=_Sets, sets=('schedule.final_kimg',), type=Finite(min=0.001), default=None, help="Length of the last phase (default: --kimg-per-phase).")
@click.option("--batch", cls=_Sets, sets=('schedule.batch',), callback=_per_res(int), default=None,
              help="Minibatch: '8' for all resolutions or '4:16,256:12,512:5' (default: the paper's).")
@click.option("--lr", cls=_Sets, sets=('schedule.lr',), callback=_per_res(float), default=None,
              help="Learning rate: '0.001' or '4:0.001,128:0.0008' (default: the paper's).")
@click.option("--no-pose", cls=_Sets, sets=('model.use_pose',), is_flag=True, help="Train without structural conditions (plain Progressive GAN).")
@click.option("--limbs", cls=_Sets, sets=('model.limbs',), is_flag=True,
              help="Condition on a map per limb (the skeleton's edges) beside the keypoint maps.")
@click.option("--latent", cls=_Sets, sets=('model.latent',), type=click.IntRange(1), default=512, show_default=True,
              help="Length of the latent vector z (the paper's 512; 8-32 for runs of minutes).")
@click.option("--fmap-base", cls=_Sets, sets=('model.fmap_base',), type=click.IntRange(1), default=8192, show_default=True,
              help="Feature maps at resolution 2^k: min(fmap-base / 2^(k-1), fmap-max); the networks' width.")
@click.option("--fmap-max", cls=_Sets, sets=('model.fmap_max',), type=click.IntRange(1), default=512, show_default=True,
              help="Most feature maps of any layer (the paper's 512; 16-32 for runs of minutes).")
@click.option("--seed", cls=_Sets, sets=('seed',), type=_SEED, default=0, show_default=True,
              help="Seed of the initial weights, the data order and the sample latents.")
@click.option("--no-mirror", cls=_Sets, sets=('mirror',), is_flag=True, help="Disable mirror augmentation.")
@click.option("--no-ema-warmup", cls=_Sets, sets=('ema_warmup',), is_flag=True,
              help="Keep the G average at 0.999 from step 0 (default: min(0.999, (1+t)/(10+t))).")
@click.option("--ema-rampup", cls=_Sets, sets=('ema_rampup',), type=Finite(min=0, max=1, min_open=True), default=None,
              help="Half-life of the G average at most this fraction of the images seen (StyleGAN's "
                   "ema_rampup; 0.02 for runs of minutes), in place of the step warm-up.")
@click.option("--device", cls=_Sets, sets=('device',), default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--amp", cls=_Sets, sets=('amp',), type=click.Choice(["auto", "bf16", "off"]), default="auto", show_default=True,
              help="bf16 autocast (auto: on CUDA only).")
@click.option("--channels-last", cls=_Sets, sets=('channels_last',), type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True)
@click.option("--compile", "compile_", cls=_Sets, sets=('compile',), is_flag=True,
              help="torch.compile G and D, one static graph per resolution and fade (CUDA; the CPU works too).")
@click.option("--workers", cls=_Sets, sets=('workers',), type=click.IntRange(0), default=2, show_default=True,
              help="Data-loader processes for levels not held in memory.")
@click.option("--cache-mb", cls=_Sets, sets=('cache_mb',), type=click.IntRange(0), default=1024, show_default=True,
              help="Hold a pyramid level in memory when it is at most this big.")
@click.option("--threads", cls=_Sets, sets=('threads',), type=click.IntRange(0), default=0, help="CPU threads (0: all cores).")
@click.option("--tick-kimg", cls=_Sets, sets=('tick_kimg',), type=Finite(min=0), default=4.0, show_default=True, help="Log every ... kimg.")
@click.option("--sample-kimg", cls=_Sets, sets=('sample_kimg',), type=Finite(min=0), default=50.0, show_default=True, help="Sample grid every ... kimg.")
@click.option("--ckpt-kimg", cls=_Sets, sets=('ckpt_kimg',), type=Finite(min=0), default=100.0, show_default=True, help="Update checkpoints/latest.pt every ... kimg.")
@click.option("--snap", cls=_Sets, sets=('snap_kimg',), type=Finite(min=0), default=1000.0, show_default=True,
              help="Keep a checkpoints/network-snapshot-<kimg>.pt every ... kimg (0: none).")
@click.option("--keep", cls=_Sets, sets=('keep',), type=click.IntRange(0), default=0, show_default=True, help="Keep only the newest N snapshots (0: all).")
@click.option("--quiet", is_flag=True, help="No progress bar (the plan and the log lines are still printed).")
@click.option("--dry-run", is_flag=True, help="Print the plan (images, phases, estimated time from one measured "
                                              "step) and exit without writing anything.")
@click.pass_context
def train(ctx: click.Context, data: Path, out: str, resume: bool, overwrite: bool, max_res: int | None, kimg_per_phase: float,
          final_kimg: float | None, batch: dict | None, lr: dict | None, no_pose: bool, limbs: bool, latent: int,
          fmap_base: int, fmap_max: int, seed: int, no_mirror: bool, no_ema_warmup: bool,
          ema_rampup: float | None, device: str, amp: str,
          channels_last: str, compile_: bool, workers: int, cache_mb: int, threads: int,
          tick_kimg: float, sample_kimg: float, ckpt_kimg: float, snap: float, keep: int, quiet: bool,
          dry_run: bool) -> None:
    """Train PSGAN on a dataset file (format v1), 4x4 up to --max-res.

    \b
    Examples:
      psgan train data.h5 --max-res 64 --kimg-per-phase 2 --final-kimg 4 --batch 8 --lr 0.002 \\
          --ema-rampup 0.02 --fmap-max 32 --fmap-base 512 --latent 64 -o runs/demo   # minutes on a CPU (make demo)
      psgan train data.h5 -o runs/full                      # the paper's schedule: days, a GPU
      psgan train data.h5 -o runs/full --dry-run            # the plan and its estimated time only
      psgan train data.h5 -o runs/full --resume             # continue exactly
      psgan train data.h5 -o runs/demo --resume --final-kimg 8   # extend a finished run
      torchrun --nproc_per_node=4 -m psgan.cli train data.h5 -o runs/ddp

    It prints its plan first: images, phases and the time estimated from one measured step per
    resolution (a warning when a CPU run passes an hour). With --resume, options that differ from the
    saved run are refused, except --workers, --cache-mb, --threads, --device, the --*-kimg/--snap/--keep
    output periods and a larger --final-kimg (docs/training.md).
    """
    from psgan.config import configure
    from psgan.nets.device import resolve_device
    from psgan.training.run import train as run_training

    resolve_device(device)          # before anything is read or created
    if no_ema_warmup and ema_rampup is not None:
        raise click.UsageError("--no-ema-warmup and --ema-rampup are two rules for the same warm-up: give one")
    if resume and overwrite:
        raise click.UsageError("--resume continues the run and --overwrite starts it again: give one")
    if limbs and no_pose:
        raise click.UsageError("--limbs adds maps to the pose conditions that --no-pose removes: give one")
    import os

    # Rank 0 checks the run folder; under torchrun the others could see the folder it has just made.
    out = resolve_output(out, "train", overwrite, resume=resume).path if int(os.environ.get("RANK", 0)) == 0 \
        else Path(out)
    cfg = configure(data, out, max_res=max_res, kimg_per_phase=kimg_per_phase, final_kimg=final_kimg,
                    batch=batch, lr=lr, use_pose=not no_pose, limbs=limbs, latent=latent,
                    fmap_base=fmap_base, fmap_max=fmap_max, seed=seed, mirror=not no_mirror, ema_warmup=not no_ema_warmup,
                    ema_rampup=ema_rampup, device=device, amp=amp,
                    channels_last=channels_last, compile=compile_, workers=workers, cache_mb=cache_mb,
                    threads=threads, tick_kimg=tick_kimg, sample_kimg=sample_kimg, ckpt_kimg=ckpt_kimg,
                    snap_kimg=snap, keep=keep)
    ckpt = run_training(cfg, resume=resume, given=_given_fields(ctx) if resume else None, overwrite=overwrite,
                        progress=not quiet, dry_run=dry_run, report=click.echo)
    if ckpt is None:   # --dry-run
        return
    if int(os.environ.get("RANK", 0)) == 0:
        click.echo(f"checkpoint: {ckpt}\nsamples:    {Path(cfg.out) / 'samples' / 'final.png'}")


@main.command()
@click.argument("ckpt", type=click.Path(path_type=Path))
@click.option("--poses", type=click.Path(path_type=Path), required=True,
              help="Poses: a dataset file (its --rows), a folder of OpenPose JSON of one video, or a .bvh clip (with --rig).")
@click.option("--rows", default=None, help="Rows of --poses: START:STOP[:STEP] or 3,7,9 (default: all).")
@click.option("-o", "--out", type=_OUT, required=True,
              help="A .gif, an .mp4 (H.264), a folder of PNGs (a name ending in / or without suffix), or a "
                   ".png with --grid; required.")
@_OVERWRITE
@click.option("--seed", type=_SEED, default=0, show_default=True, help="Latent seed (the first, with --interpolate/--grid).")
@click.option("--interpolate", type=click.IntRange(2), default=None,
              help="Interpolate between this many latents at the fixed poses of --rows.")
@click.option("--steps", type=click.IntRange(1), default=16, show_default=True, help="Frames between two latents.")
@click.option("--grid", "grid_", type=click.IntRange(1), default=None, help="A grid of this many latents x the poses.")
@click.option("--fps", type=Finite(min=0.1, max=240), default=12.0, show_default=True)
@click.option("--size", type=click.IntRange(0), default=0, help="Output pixels per image (0: max(resolution, 128)).")
@click.option("--with-pose", is_flag=True, help="Show each pose's skeleton beside (grid: above) the images.")
@click.option("--data", "train_data", type=_FILE, default=None,
              help="Driven poses (folder, .bvh): the model's training file, whose poses set the normalisation (default: the one in the checkpoint).")
@click.option("--smooth", is_flag=True, help="Driven poses: One-Euro filter the keypoints in time (at --fps).")
@click.option("--rig", type=_FILE, default=None, help="--poses clip.bvh: the rig it is retargeted onto (default: the avatar).")
@click.option("--frames", type=click.IntRange(1), default=48, show_default=True,
              help="--poses clip.bvh: poses, evenly spaced over the clip.")
@click.option("--device", default="cpu", show_default=True)
def generate(ckpt: Path, poses: Path, rows: str | None, out: str, overwrite: bool, seed: int, interpolate: int | None,
             steps: int, grid_: int | None, fps: float, size: int, with_pose: bool, train_data: Path | None,
             smooth: bool, rig: Path | None, frames: int, device: str) -> None:
    """Generate images from a checkpoint's EMA generator (CKPT: a .pt file, or a run folder for its
    checkpoints/latest.pt) at the poses of a dataset's rows, of an
    OpenPose video (a folder of its JSON files) or of a BVH clip (docs/animation.md).

    \b
    Examples:
      psgan generate run/checkpoints/latest.pt --poses data.h5 --rows 0:120 -o walk.gif
      psgan generate latest.pt --poses data.h5 --rows 0:120 -o frames/      # folder of PNGs
      psgan generate latest.pt --poses data.h5 --rows 5 --interpolate 4 -o morph.mp4
      psgan generate latest.pt --poses data.h5 --rows 0:60:10 --grid 4 -o grid.png
      psgan generate latest.pt --poses video_json/ --smooth -o dance.gif --with-pose
      psgan generate latest.pt --poses 131_01.bvh --frames 60 -o mocap.gif
    """
    from psgan.generation import generate as gen
    from psgan.checkpoint import load_generator, run_checkpoint
    from psgan.errors import PsganError
    from psgan.nets.device import resolve_device

    if interpolate and grid_:
        raise click.UsageError("--interpolate and --grid exclude each other")
    target = resolve_output(out, "generate", overwrite)
    out = target.path
    if grid_ is None and target.format == "grid":
        raise PsganError(f"{out}: a .png holds a --grid; animations go to .gif, .mp4 or a folder")
    if grid_ is None:
        gen.check_frames_target(out, overwrite)
    else:
        gen.check_grid_target(out)
    ckpt = run_checkpoint(ckpt)
    if not poses.exists():
        raise PsganError(f"{poses}: no such file or folder")
    G, cfg = load_generator(ckpt, resolve_device(device))
    from psgan.generation.drive import driving_source, is_driving_input

    if is_driving_input(poses):
        if rows is not None:
            raise click.UsageError("--rows selects rows of a dataset file, not of driven poses")
        src = driving_source(poses, train_data or cfg.data, rig=rig, frames=frames, smooth=smooth, fps=fps)
    else:
        src = gen.PoseSource(poses, rows)
    src.check(G)
    size = size or max(G.resolution, 128)
    if grid_:
        path = gen.write_grid(gen.grid(G, src, list(range(seed, seed + grid_)), size, with_pose), out)
    elif interpolate:
        frames_ = gen.interpolate(G, src, list(range(seed, seed + interpolate)), steps, size, with_pose)
        path = gen.write_frames(frames_, out, fps, overwrite)
    else:
        path = gen.write_frames(gen.animate(G, src, seed, size, with_pose), out, fps, overwrite)
    click.echo(f"wrote {path}")


# ---- evaluation ----------------------------------------------------------------------------------

def _metric_names(ctx, param, value: str) -> tuple[str, ...]:
    from psgan.evaluation.metrics.registry import parse_metrics

    try:
        return tuple(parse_metrics(value))
    except ValueError as e:
        raise click.BadParameter(str(e), param=param) from None


@main.command("eval")
@click.argument("ckpt", type=click.Path(path_type=Path))
@click.option("--data", type=_FILE, required=True, help="Dataset (format v1) the model was trained on.")
@click.option("--compare", type=_FILE, default=None, help="A second checkpoint, evaluated on the same poses and latents and shown side by side.")
@click.option("--posenet", type=_FILE, default=None,
              help="Keypoint detector from `psgan posenet train` (default: DATA's cached DATA.posenet-RES.pt, trained now if missing).")
@click.option("-o", "--out", type=_OUT, default=None,
              help="Write the results as JSON (and a sample sheet beside it, .png); without it the table is only printed.")
@_OVERWRITE
@click.option("--poses", type=click.IntRange(1), default=500, show_default=True, help="Held-out target poses scored.")
@click.option("--metrics", default="pck,fid,diversity", show_default=True, callback=_metric_names,
              help="Comma-separated metrics to compute (psgan.evaluation.metrics.registry): pck (pose consistency "
                   "with a verdict), fid (FID and KID), diversity.")
@click.option("--fid-images", type=click.IntRange(0), default=500, show_default=True,
              help="Generated and real images each for FID/KID (0: skip).")
@click.option("--diversity-poses", type=click.IntRange(1), default=16, show_default=True)
@click.option("--diversity-latents", type=click.IntRange(2), default=8, show_default=True)
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--sequence", type=click.Path(exists=True, path_type=Path), default=None,
              help="Score only the pose consistency of the animation driven by this OpenPose JSON folder or .bvh clip (docs/animation.md).")
@click.option("--smooth", is_flag=True, help="--sequence: One-Euro smoothing, as in psgan generate.")
@click.option("--rig", type=_FILE, default=None, help="--sequence clip.bvh: the rig (default: the avatar).")
@click.option("--frames", type=click.IntRange(1), default=48, show_default=True, help="--sequence clip.bvh: poses.")
def eval_(ckpt: Path, data: Path, compare: Path | None, posenet: Path | None, out: str | None, overwrite: bool, poses: int,
          metrics: tuple[str, ...], fid_images: int, diversity_poses: int, diversity_latents: int, seed: int, batch: int,
          device: str, sequence: Path | None, smooth: bool, rig: Path | None, frames: int) -> None:
    """Evaluate a checkpoint (CKPT: a .pt file or a run folder): pose consistency (PCK), FID/KID and
    diversity (docs/evaluation.md).

    \b
    Examples:
      psgan eval runs/demo/checkpoints/latest.pt --data data.h5 -o eval.json
      psgan eval runs/psgan/checkpoints/latest.pt --data data.h5 \\
          --compare runs/nopose/checkpoints/latest.pt --posenet posenet.pt
      psgan eval latest.pt --data data.h5 --sequence video_json/ --posenet posenet.pt
    """
    from psgan.checkpoint import run_checkpoint
    from psgan.errors import PsganError
    from psgan.nets.device import resolve_device

    resolve_device(device)
    ckpt = run_checkpoint(ckpt)
    if out is not None:
        out = resolve_output(out, "eval", overwrite).path
        if out.with_suffix(".png").exists() and not overwrite:
            raise PsganError(f"{out.with_suffix('.png')}: exists (use --overwrite to replace it)")
        _check_writable(out)
    if sequence is not None:
        from psgan.evaluation.sequence import evaluate_sequence, format_sequence

        res = evaluate_sequence(ckpt, data, sequence, posenet, rig=rig, frames=frames, smooth=smooth, seed=seed,
                                batch=batch, device=device)
        click.echo(format_sequence(res))
        if out:
            _write_results(out, res)
            click.echo(f"wrote {out}")
        return

    from psgan.evaluation.report import format_table, to_json, write_sample_sheet
    from psgan.evaluation.evaluate import EvalConfig, evaluate_checkpoints

    cfg = EvalConfig(poses=poses, fid_images=fid_images, diversity_poses=diversity_poses,
                     diversity_latents=diversity_latents, seed=seed, batch=batch, device=device, metrics=metrics)
    ckpts = [ckpt] + ([compare] if compare else [])
    results = evaluate_checkpoints(ckpts, data, posenet, cfg)
    click.echo(format_table(results))
    if out:
        _write_results(out, to_json(results))
        if "pck" not in metrics:   # the sheet shows the pose metric's targets, generated and floor images
            click.echo(f"wrote {out}")
            return
        try:
            sheet = write_sample_sheet(results, out.with_suffix(".png"))
        except OSError as e:
            raise PsganError(f"{e.filename or out}: cannot write ({e.strerror})") from None
        click.echo(f"wrote {out} and {sheet}")


def _write_results(out: Path, results: dict) -> None:
    """The evaluation's JSON, strict and atomic; an unwritable place is one line naming it."""
    from datagen.format.jsonsafe import write_json
    from psgan.errors import PsganError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, results)
    except OSError as e:
        raise PsganError(f"{e.filename or out}: cannot write ({e.strerror})") from None


@main.group()
def posenet() -> None:
    """The keypoint detector used by `psgan eval` to measure pose consistency."""


@posenet.command("train")
@click.argument("data", type=_FILE)
@click.option("-o", "--out", type=_OUT, required=True, help="Detector file to write (.pt); required.")
@_OVERWRITE
@click.option("--res", type=click.IntRange(16, 1024), default=64, show_default=True,
              help="Input resolution; use the resolution of the models it will evaluate.")
@click.option("--steps", type=click.IntRange(1), default=1500, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=32, show_default=True)
@click.option("--lr", type=Finite(min=0, min_open=True), default=2e-3, show_default=True)
@click.option("--width", type=click.IntRange(4), default=16, show_default=True, help="Channels of the first level (cost grows with its square).")
@click.option("--holdout", type=Finite(0, 1, min_open=True, max_open=True), default=0.1, show_default=True,
              help="Fraction of poses held out (split by pose).")
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--minutes", type=Finite(min=0, min_open=True), default=None, help="Stop after this long.")
@click.option("--device", default="cpu", show_default=True)
def posenet_train(data: Path, out: str, overwrite: bool, res: int, steps: int, batch: int, lr: float, width: int,
                  holdout: float, seed: int, minutes: float | None, device: str) -> None:
    """Train the keypoint detector on DATA's real images, holding out whole poses.

    \b
    Example:  psgan posenet train data.h5 -o posenet.pt --res 64
    """
    from psgan.errors import PsganError
    from psgan.evaluation.posenet import PoseNetTrainConfig, save_posenet, train_posenet
    from psgan.nets.device import resolve_device

    out = resolve_output(out, "posenet train", overwrite).path
    _check_writable(out)
    cfg = PoseNetTrainConfig(resolution=res, steps=steps, batch=batch, lr=lr, width=width, holdout=holdout,
                             seed=seed, max_minutes=minutes, device=str(resolve_device(device)))
    model, mcfg = train_posenet(data, cfg)
    try:
        save_posenet(out, model, mcfg)
    except (OSError, RuntimeError) as e:  # torch reports a failed open as RuntimeError
        reason = e.strerror if isinstance(e, OSError) else str(e).rsplit("strerror:", 1)[-1].strip()
        raise PsganError(f"{out}: cannot write ({reason})") from None
    t = mcfg.training
    h = t["heldout"]
    click.echo(f"wrote {out}: {t['train_rows']} training rows, {len(t['heldout_rows'])} held out "
               f"(by {t['split_rule']}); held-out PCK@0.05 {h['pck@0.05']:.3f}, PCK@0.1 {h['pck@0.1']:.3f}, "
               f"mean error {h['mean_error_px']:.2f} px at {res}x{res}")


if __name__ == "__main__":   # torchrun -m psgan.cli train ...
    main()
