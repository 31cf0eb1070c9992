"""The `datagen` command line: parses options and calls the library (see README.md for examples)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from datagen.format.command_line import INTERRUPTED, Finite, OneLineGroup
from datagen.format.keypoint_sets import KEYPOINT_SETS
from datagen.format.output_policy import POLICIES, resolve_output
from datagen.io.formats import EXPORT_FORMATS
from datagen.render.engines import ENGINES

if TYPE_CHECKING:
    from datagen.render import RenderConfig


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="psgan-toolkit")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Synthetic pose-conditioned character data: render, import, inspect (dataset format v1)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
# -o stays a string: its trailing "/" means a folder (datagen.format.output_policy).
_OUT = click.Path(path_type=str)
_OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace an existing output.")


def _out_help(command: str, what: str) -> str:
    return f"{what} ({POLICIES[command].suffixes()}); required."


# ---- foundation: info / validate / preview ---------------------------------------------------

@main.command()
@click.argument("file", type=_EXISTING_FILE)
def info(file: Path) -> None:
    """Summarise a dataset: counts, sizes, pyramid levels, keypoint set, costumes, clips, visibility.

    \b
    Example:  datagen info data.h5
    """
    from datagen.inspect.info import dataset_summary, format_summary

    click.echo(format_summary(dataset_summary(file)))


@main.command()
@click.argument("file", type=_EXISTING_FILE)
@click.option("--quick", is_flag=True, help="Check the pyramid and projection on a sample of rows only.")
def validate(file: Path, quick: bool) -> None:
    """Check every invariant of dataset format v1; exit 1 naming the first broken one.

    \b
    Example:  datagen validate data.h5
    """
    from datagen.format.validate import validate_dataset

    n = validate_dataset(file, quick=quick, progress=True)
    click.echo(f"{file}: valid pose-dataset v1, {n} rows")


@main.command()
@click.argument("file", type=_EXISTING_FILE)
@click.option("-o", "--out", type=_OUT, required=True, help=_out_help("preview", "Sheet to write"))
@_OVERWRITE
@click.option("--n", "count", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="Number of rows (evenly spaced over the file) when --rows is not given.")
@click.option("--rows", type=str, default=None, help="Rows to show: START:STOP[:STEP] or a comma list, e.g. 0:64:8 or 0,5,9.")
@click.option("--size", type=click.IntRange(16, 2048), default=256, show_default=True,
              help="Side of each tile in pixels.")
@click.option("--cols", type=click.IntRange(1, 64), default=None, help="Tiles per sheet row.")
@click.option("--overlay", is_flag=True,
              help="Draw each skeleton on its image (visible points filled, occluded hollow) instead of beside it.")
@click.option("--clip", "clips", multiple=True, help="Only rows of these clips (comma list or repeated).")
@click.option("--costume", "costumes", multiple=True, help="Only rows of these costumes (comma list or repeated).")
@click.option("--no-captions", is_flag=True, help="No caption (row clip costume frame, or source) under each tile.")
def preview(file: Path, out: str, overwrite: bool, count: int, rows: str | None, size: int, cols: int | None, overlay: bool,
            clips: tuple[str, ...], costumes: tuple[str, ...], no_captions: bool) -> None:
    """Write a contact sheet: each image with its pose as a coloured skeleton, beside it or on it
    (--overlay), captioned with its row, clip, costume and frame (or source file).

    \b
    Examples:
      datagen preview data.h5 -o sheet.png --n 8
      datagen preview data.h5 -o walk.png --overlay --clip walk --costume schoolgirl_1 --rows 0:200
    """
    from datagen.inspect.preview import write_contact_sheet

    target = resolve_output(out, "preview", overwrite)
    write_contact_sheet(file, target.path, image_format=target.format, rows=rows, count=count, tile=size, cols=cols, overlay=overlay,
                        clips=_names(clips), costumes=_names(costumes), captions=not no_captions)
    click.echo(f"wrote {out}")


@main.command()
@click.argument("file", type=_EXISTING_FILE)
@click.option("-o", "--out", type=_OUT, required=True,
              help=_out_help("view", "One self-contained HTML page to write"))
@_OVERWRITE
@click.option("--rows", type=str, default=None, help="Rows to include: START:STOP[:STEP] or a comma list.")
@click.option("--max", "limit", type=click.IntRange(1, 100000), default=500, show_default=True,
              help="At most this many rows, evenly spaced over the selection.")
@click.option("--size", type=click.IntRange(16, 1024), default=128, show_default=True, help="Thumbnail side in pixels.")
def view(file: Path, out: str, overwrite: bool, rows: str | None, limit: int, size: int) -> None:
    """Write one static HTML page to browse a dataset in a browser: thumbnails with skeleton overlays
    that can be switched off, filters by clip and costume, per-keypoint visibility, the file's config.

    \b
    Example:  datagen view data.h5 -o report.html
    """
    from datagen.inspect.view import write_view

    path, tiles = write_view(file, resolve_output(out, "view", overwrite).path, rows=rows, limit=limit, tile=size)
    click.echo(f"wrote {path} ({tiles} tiles)")


# ---- render / merge ---------------------------------------------------------------------------

def _names(values: tuple[str, ...]) -> list[str] | None:
    """--costumes a,b --costumes c -> ["a", "b", "c"] (None when not given)."""
    out = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return out or None


def _power_of_two(ctx, param, value: int) -> int:
    if value < 4 or value & (value - 1):
        raise click.BadParameter(f"{value} is not a power of two >= 4")
    return value


def _pose_options(command):
    """The options `render` and `poses` share: which motion, which poses and how they are framed (each command
    declares its own --rig: `render` takes several)."""
    for option in reversed([
        click.option("--frames", type=click.IntRange(1, 10**8), default=600, show_default=True,
                     help="Poses, spread over the clips by their lengths (render: each once per costume; docs/rendering.md)."),
        click.option("--size", type=click.IntRange(1, 16384), default=1024, show_default=True, callback=_power_of_two,
                     help="Image side in pixels (a power of two)."),
        click.option("--clips", multiple=True, help="Clips (Action names, any case) to play, comma-separated (default: all)."),
        click.option("--framing", type=click.Choice(["clip", "run", "follow"]), default="clip", show_default=True,
                     help="clip: a fixed camera per clip; run: one camera for everything; follow: a camera that moves smoothly."),
        click.option("--azimuth", type=Finite(), default=0.0, show_default=True,
                     help="Camera direction in degrees around the character: 0 front, 90 its left side."),
        click.option("--elevation", type=Finite(-89, 89), default=5.0, show_default=True,
                     help="Camera height angle in degrees (positive looks down)."),
        click.option("--keymap", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="JSON file mapping keypoint names to bone names (docs/rigs.md)."),
        click.option("--keypoints", "keypoint_set", type=click.Choice(list(KEYPOINT_SETS)), default="avatar20",
                     show_default=True, help="Keypoint set: body joints from bones, face and foot points from kp_* empties (docs/rigs.md)."),
        click.option("--motion", "motions", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="A motion (.bvh capture, .vmd MMD dance, .vpd MMD pose) retargeted onto the rig and played instead of its own clips (repeatable)."),
        click.option("--motion-fps", type=Finite(1, 1000), default=None,
                     help="Resample --motion clips to this frame rate (default: the rig scene's)."),
    ]):
        command = option(command)
    return command


def _render_config(rigs: list[Path], frames: int, size: int, clips: tuple[str, ...], framing: str, azimuth: float,
                   elevation: float, keymap: Path | None, keypoint_set: str, motions: tuple[Path, ...],
                   motion_fps: float | None, **more) -> RenderConfig:
    """A RenderConfig from the shared options (and `render`'s own in ``more``) for existing rig files."""
    from datagen.pose.bone_mapping import load_keymap
    from datagen.render import RenderConfig, file_sha256

    one = len(rigs) == 1  # one rig: the config names it as it always did
    return RenderConfig(rig=str(rigs[0]) if one else [str(p) for p in rigs],
                        rig_sha256=file_sha256(rigs[0]) if one else [file_sha256(p) for p in rigs],
                        frames=frames, size=size, clips=_names(clips), framing=framing, azimuth=azimuth,
                        elevation=elevation, keypoint_set=keypoint_set,
                        keymap=load_keymap(keymap) if keymap else None, motions=[str(m) for m in motions] or None,
                        motions_sha256=[file_sha256(m) for m in motions] or None, motion_fps=motion_fps, **more)


@main.command()
@click.option("--rig", "rigs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Rig file (.blend, .glb, .gltf, .vrm, .fbx, .pmx, .pmd), or a folder of them. Repeat it to render "
                   "several characters into one dataset (docs/rigs.md). Default: the avatar in rigs/avatar.blend.")
@_pose_options
@click.option("-o", "--out", type=_OUT, default=None,
              help=f"Dataset file to write, format v1 ({POLICIES['render'].suffixes()}); required but with --list "
                   "or --dry-run.")
@click.option("--costumes", multiple=True, help="Costumes to render, comma-separated (default: all).")
@click.option("--engine", type=click.Choice(list(ENGINES)), default="workbench", show_default=True,
              help="Render engine: " + "; ".join(f"{e.name}: {e.description}" for e in ENGINES.values()) + ".")
@click.option("--samples", type=click.IntRange(1), default=None,
              help="Anti-aliasing samples per pixel (workbench: N jittered renders, 1 = off; workbench-taa: "
                   "the nearest of 5, 8, 11, 16, 32) or render samples (eevee, cycles). Default: the engine's.")
@click.option("--margin", type=Finite(-0.9, 0.9), default=0.05, show_default=True,
              help="Free border as a fraction of the half image; negative frames tighter (the body may leave the image).")
@click.option("--lens", "lens_mm", type=Finite(5, 500), default=50.0, show_default=True,
              help="Focal length in mm (36 mm sensor).")
@click.option("--azimuth-jitter", type=Finite(0, 180), default=0.0, show_default=True,
              help="Random azimuth offset per clip, uniform in +-degrees (from --seed).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Seed of every random choice.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Blender processes on this machine (the result does not depend on it).")
@click.option("--attempts", type=click.IntRange(1, 100), default=3, show_default=True,
              help="Tries per chunk of rows when Blender crashes; a crashed worker is restarted on its uncommitted rows.")
@click.option("--shard", default=None, help="Render only shard K of N (K/N, 0-based) into its own file; join with `datagen merge`.")
@click.option("--resume", is_flag=True, help="Continue a killed run of the same command.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--list", "list_only", is_flag=True, help="Only list each rig's costumes, clips (and the --motion "
                                                       "clips), keypoint bones and how each bone was found.")
@click.option("--dry-run", is_flag=True, help="Print the plan (rows, disk, warnings) and a time estimate from 3 "
                                              "test frames, then exit without writing anything.")
def render(rigs: tuple[Path, ...], frames: int, out: str | None, size: int, costumes: tuple[str, ...], clips: tuple[str, ...],
           engine: str, samples: int | None, framing: str, margin: float, lens_mm: float, azimuth: float,
           elevation: float, azimuth_jitter: float, seed: int, keymap: Path | None, keypoint_set: str,
           motions: tuple[Path, ...], motion_fps: float | None, workers: int,
           attempts: int, shard: str | None, resume: bool, overwrite: bool, quiet: bool, list_only: bool, dry_run: bool) -> None:
    """Render every costume of a rig through its motion clips into a dataset with exact keypoints.

    \b
    Examples:
      datagen render --frames 600 -o data.h5                  # the default avatar, 1024x1024
      datagen render --rig robot.glb --frames 40 --size 256 --clips Walking,Wave
      datagen render --frames 600 --workers 2 --resume        # continue a killed run
      datagen render --frames 600 --shard 3/8 -o part3.h5     # one of 8 cluster jobs; then datagen merge
      datagen render --rig robot.glb --list                   # costumes, clips, keypoint bones
      datagen render --rig a.vrm --rig b.glb --motion walk.bvh --frames 100   # two characters, one dataset
      datagen render --rig outfits/ --motion walk.bvh --frames 100            # every rig file in a folder
      datagen render --motion 131_01.bvh --frames 100         # mocap retargeted onto the avatar
      datagen render --keypoints body25 --frames 600 -o body25.h5  # OpenPose's BODY_25 points
      datagen render --frames 600 --dry-run                   # the plan and a time estimate only

    Before rendering it prints the plan (rows = poses x costumes, disk size, warnings) and, after the
    first frames, the estimated time; Ctrl-C keeps the rendered rows for --resume.
    """
    import sys

    from datagen.pose.bone_mapping import load_keymap
    from datagen.render import DEFAULT_RIG, RunOptions, describe_rigs, run_render
    from datagen.render.plan import parse_shard

    if not rigs and not DEFAULT_RIG.is_file():
        raise click.BadParameter(f"{DEFAULT_RIG} does not exist", param_hint="--rig")
    paths = _rig_files(list(rigs) or [DEFAULT_RIG])
    if list_only:
        click.echo(describe_rigs(paths, load_keymap(keymap) if keymap else None, keypoint_set,
                                 [str(m) for m in motions] or None, motion_fps))
        return
    if out is None and not dry_run:
        raise click.UsageError("Missing option '-o' / '--out'.")
    out = _dry_run_stand_in() if out is None else resolve_output(out, "render", overwrite, resume=resume).path
    config = _render_config(paths, frames, size, clips, framing, azimuth, elevation, keymap, keypoint_set, motions,
                            motion_fps, costumes=_names(costumes), engine=engine, samples=samples, margin=margin,
                            lens_mm=lens_mm, azimuth_jitter=azimuth_jitter, seed=seed)
    opts = RunOptions(out=out, workers=workers, shard=parse_shard(shard), resume=resume, overwrite=overwrite,
                      attempts=attempts, progress=not quiet, dry_run=dry_run, report=click.echo)
    try:
        s = run_render(config, opts)
    except KeyboardInterrupt:
        from datagen.render.estimate import interrupt_hint

        click.echo("\n" + interrupt_hint(out), err=True)
        sys.exit(INTERRUPTED)
    if s.get("complete"):
        click.echo(f"{s['out']}: already complete ({s['rows']} rows); nothing to resume")
        return
    if dry_run:
        return
    resumed = f", {s['resumed_rows']} from the earlier run" if s["resumed_rows"] else ""
    click.echo(f"wrote {s['out']}{' (shard ' + s['shard'] + ')' if s['shard'] else ''}: {s['rows']} rows = "
               f"{s['poses']} poses x {s['costumes']} costumes over {len(s['clips'])} clips{resumed}; "
               f"{s['rendered']} rendered in {s['seconds']:.1f} s ({s['frames_per_s']:.2f} frames/s), "
               f"{s['bytes'] / 2**20:.1f} MiB")


def _rig_files(paths: list[Path]) -> list[Path]:
    """--rig values -> rig files (a folder: every rig file in it, sorted)."""
    from datagen.render.cast import rig_files

    if not any(p.is_dir() for p in paths):
        return rig_files(paths, ())
    from datagen.render.config import blender_session_class

    blender_session_class()  # the one-line error of an install without Blender
    from datagen.render.blender.rig import RIG_SUFFIXES

    return rig_files(paths, RIG_SUFFIXES)


def _dry_run_stand_in() -> Path:
    """The output a --dry-run without -o locks while it plans (it writes nothing there)."""
    import os
    import tempfile

    return Path(tempfile.gettempdir()) / f"datagen-dry-run-{os.getpid()}.h5"


@main.command()
@click.option("--rig", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Rig file (.blend, .glb, .gltf, .vrm, .fbx, .pmx, .pmd). Default: the avatar in rigs/avatar.blend.")
@_pose_options
@click.option("-o", "--out", type=_OUT, required=True,
              help=_out_help("poses", "Pose-only dataset file to write (format v1 without /images)"))
@_OVERWRITE
def poses(rig: Path | None, motions: tuple[Path, ...], clips: tuple[str, ...], keypoint_set: str, frames: int,
          size: int, framing: str, azimuth: float, elevation: float, motion_fps: float | None,
          keymap: Path | None, out: str, overwrite: bool) -> None:
    """Pose-only run: keypoints, visibility, cameras and times of a rig's motion, no images (fast).

    \b
    Examples:
      datagen poses --motion 131_01.bvh --keypoints coco18 --frames 200 -o mocap_poses.h5
      datagen poses --clips Walk --keypoints body25 --size 256 -o walk_poses.h5
    """
    from datagen.render.poses import run_poses

    from datagen.render import DEFAULT_RIG

    rig_path = rig if rig is not None else DEFAULT_RIG
    if not rig_path.is_file():
        raise click.BadParameter(f"{rig_path} does not exist", param_hint="--rig")
    out = resolve_output(out, "poses", overwrite).path
    config = _render_config([rig_path], frames, size, clips, framing, azimuth, elevation, keymap, keypoint_set,
                            motions, motion_fps)
    s = run_poses(config, out, overwrite=overwrite)
    click.echo(f"wrote {s['out']}: {s['poses']} poses over {len(s['clips'])} clips in {s['seconds']:.2f} s "
               f"({s['poses_per_s']:.0f} poses/s after loading the rig)")


@main.command()
@click.argument("shards", nargs=-1, required=True, type=_EXISTING_FILE)
@click.option("-o", "--out", type=_OUT, required=True, help=_out_help("merge", "Dataset file to write"))
@_OVERWRITE
def merge(shards: tuple[Path, ...], out: str, overwrite: bool) -> None:
    """Join the shard files of one `datagen render --shard K/N` run into one dataset.

    \b
    Example:  datagen merge part*.h5 -o data.h5
    """
    from datagen.format.merge import merge_shards

    s = merge_shards(list(shards), resolve_output(out, "merge", overwrite).path, overwrite=overwrite)
    click.echo(f"wrote {s['out']}: {s['rows']} rows from {s['shards']} shards")


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_EXISTING_FILE)
@click.option("-o", "--out", type=_OUT, required=True, help=_out_help("combine", "Dataset file to write"))
@click.option("--size", type=int, default=None, callback=lambda c, p, v: v if v is None else _power_of_two(c, p, v),
              help="Resample every input to S x S (a power of two; default: the inputs' common size).")
@click.option("--keypoint-set", "keypoint_set", type=click.Choice(list(KEYPOINT_SETS)), default=None,
              help="Convert every input's keypoints to this set by landmark (default: the inputs' common set).")
@_OVERWRITE
def combine(inputs: tuple[Path, ...], out: str, size: int | None, keypoint_set: str | None, overwrite: bool) -> None:
    """Join datasets of different runs, rigs and importers into one file (costume, clip and input
    tables kept; /meta/input says which file each row came from).

    \b
    Examples:
      datagen combine robot.h5 data.h5 -o all.h5
      datagen combine data.h5 people.h5 --size 64 --keypoint-set coco18 -o mixed.h5
    """
    from datagen.format.combine import combine_datasets

    out = resolve_output(out, "combine", overwrite).path
    s = combine_datasets(list(inputs), out, size=size, keypoint_set=keypoint_set, overwrite=overwrite)
    for note in s["notes"]:
        click.echo(note)
    click.echo(f"wrote {s['out']}: {s['rows']} rows from {s['inputs']} files, {s['size']}x{s['size']}, "
               f"{s['keypoint_set']}, {s['costumes']} costumes, {s['clips']} clips")


# ---- import / export --------------------------------------------------------------------------

_EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def _import_options(f):
    """The options every importer takes (ImportOptions)."""
    for opt in reversed([
        click.option("-o", "--out", type=_OUT, required=True, help=_out_help("import-openpose", "Dataset file to write")),
        click.option("--size", type=click.IntRange(4, 4096), default=256, show_default=True,
                     help="Side S of the square output images (a power of two); images are scaled and "
                          "padded with white to fit."),
        click.option("--keypoint-set", "keypoint_set", type=click.Choice(list(KEYPOINT_SETS)), default="coco18",
                     show_default=True, help="Keypoint set of the dataset; the source's points are converted "
                                             "to it by landmark (points it lacks are missing)."),
        click.option("--min-keypoints", type=click.IntRange(0), default=10, show_default=True,
                     help="Skip rows with fewer detected keypoints."),
        click.option("--strict", is_flag=True, help="Stop at the first bad source file instead of skipping it."),
        click.option("--image-compression", type=click.Choice(["lzf", "gzip", "none"]), default="lzf",
                     show_default=True, help="Of the stored images: lzf is fast; gzip is smaller and "
                                             "slower; none is fastest and ~3x larger."),
        click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
                     help="Worker processes (0: one per CPU)."),
        _OVERWRITE,
    ]):
        f = opt(f)
    return f


@main.command("import-openpose")
@click.option("--images", type=_EXISTING_DIR, required=True, help="Folder of the images <image>.<ext>.")
@click.option("--keypoints", type=_EXISTING_DIR, required=True,
              help="Folder of OpenPose's <image>_keypoints.json files.")
@_import_options
@click.option("--person", type=click.Choice(["best", "all"]), default="best", show_default=True,
              help="Several people in a file: the most complete, most confident one, or a row each.")
@click.option("--min-confidence", type=Finite(0, None), default=0.0, show_default=True,
              help="Keypoints detected with less confidence count as missing.")
def import_openpose(images: Path, keypoints: Path, out: str, size: int, keypoint_set: str, min_keypoints: int,
                    strict: bool, image_compression: str, workers: int, overwrite: bool, person: str,
                    min_confidence: float) -> None:
    """Import OpenPose JSON output (any version, COCO-18 or BODY_25) as a dataset (coco18 by default,
    --keypoint-set body25 keeps BODY_25's feet and mid-hip).

    \b
    Example:  datagen import-openpose --images photos/ --keypoints json/ -o people.h5
    """
    from datagen.io.importers import ImportOptions, import_openpose as run

    out = resolve_output(out, "import-openpose", overwrite).path
    opts = ImportOptions(size=size, keypoint_set=keypoint_set, min_keypoints=min_keypoints,
                         min_confidence=min_confidence,
                         strict=strict, person=person, image_compression=image_compression, workers=workers,
                         overwrite=overwrite)
    click.echo(run(images, keypoints, out, opts, progress=True).format())
    click.echo(f"wrote {out}")


@main.command("import-deepfashion")
@click.option("--csv", "table", type=_EXISTING_FILE, required=True,
              help="Keypoint table name:keypoints_y:keypoints_x (fasion-annotation-*.csv).")
@click.option("--images", type=_EXISTING_DIR, required=True,
              help="In-shop folder holding img/ (or img/ itself, or a flat folder of the table's names).")
@_import_options
@click.option("--partition", type=_EXISTING_FILE, default=None, help="In-shop list_eval_partition.txt.")
@click.option("--split", type=click.Choice(["train", "test", "all"]), default="all", show_default=True,
              help="Rows of this split of --partition (test = query + gallery).")
def import_deepfashion(table: Path, images: Path, out: str, size: int, keypoint_set: str, min_keypoints: int,
                       strict: bool, image_compression: str, workers: int, overwrite: bool, partition: Path | None,
                       split: str) -> None:
    """Import a DeepFashion In-shop keypoint table (PG2 / Deformable-GAN / Pose-Transfer) as coco18.

    \b
    Example:  datagen import-deepfashion --csv fasion-annotation-train.csv \\
                  --images In-shop/ --partition list_eval_partition.txt --split train -o fashion.h5
    """
    from datagen.io.importers import ImportOptions, import_deepfashion as run

    out = resolve_output(out, "import-deepfashion", overwrite).path
    opts = ImportOptions(size=size, keypoint_set=keypoint_set, min_keypoints=min_keypoints, strict=strict,
                         image_compression=image_compression, workers=workers, overwrite=overwrite)
    click.echo(run(table, images, out, opts, partition=partition, split=split, progress=True).format())
    click.echo(f"wrote {out}")


@main.command("export")
@click.argument("file", type=_EXISTING_FILE)
@click.option("--to", "fmt", type=click.Choice(list(EXPORT_FORMATS)), required=True,
              help="; ".join(f"{f.name}: {f.description}" for f in EXPORT_FORMATS.values()) + ".")
@click.option("-o", "--out", type=_OUT, required=True,
              help="Folder to write (absent or empty; an earlier export with --overwrite); required.")
@_OVERWRITE
@click.option("--size", type=click.IntRange(1), default=None,
              help="Pyramid level of the images (default: the file's full size).")
@click.option("--caption", default=None,
              help="controlnet: caption template, fields {character} {costume} {clip} {view} {background} "
                   "{frame} {source} (default: docs/training-other-models.md).")
@click.option("--skeleton", type=click.Choice(["coco18", "body25"]), default=None,
              help="controlnet: skeleton drawn, converted by landmark (default: coco18, what the OpenPose "
                   "ControlNet models read; body25 for body25 data).")
@click.option("--val", "val_fraction", type=Finite(0, 0.9), default=0.1, show_default=True,
              help="yolo: share of the poses held out for validation.")
def export(file: Path, fmt: str, out: str, overwrite: bool, size: int | None, caption: str | None,
           skeleton: str | None, val_fraction: float) -> None:
    """Export a dataset's keypoints and images for other tools (keypoints converted by landmark to a set
    the format holds when the dataset's own is not one of them).

    \b
    Example:  datagen export data.h5 --to openpose -o data-openpose/
              datagen export data.h5 --to controlnet --size 512 -o data-controlnet/
    """
    from datagen.io.exporters import ExportOptions, export_dataset

    target = resolve_output(out, "export", overwrite)
    opts = ExportOptions(size=size, caption=caption, skeleton=skeleton, val_fraction=val_fraction,
                         overwrite=overwrite)
    n = export_dataset(file, fmt, target.path, progress=True, options=opts)
    click.echo(f"exported {n} rows to {out}")


if __name__ == "__main__":
    main()
