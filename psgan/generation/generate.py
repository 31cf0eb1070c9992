"""Generation from a trained PSGAN (the paper's videos and costume interpolation, sec. 4):

* :func:`animate` -- one latent through a sequence of poses (an animation);
* :func:`interpolate` -- between latents at fixed poses;
* :func:`grid` -- latents x poses.

Poses come from a dataset file (format v1) and its rows. Frames go to a folder of PNGs (a path without
suffix), a .gif (Pillow) or an .mp4 (H.264 in yuv420p through PyAV, whose wheel ships ffmpeg; the
files play in browsers); any other suffix is refused. :func:`generate_images` is the small API for other tools.
"""
from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from datagen.format import parse_rows
from datagen.format.draw import draw_skeleton
from datagen.format.draw import grid as tile_grid, labelled_grid
from datagen.format.draw import resize_image
from psgan.data import PoseData
from psgan.errors import PsganError
from psgan.generation.samples import save_png, to_uint8
from psgan.nets.networks import Generator
from psgan.nets.pose_maps import pose_pyramid


def latents(seeds: list[int], dim: int) -> torch.Tensor:
    """(len(seeds), dim) standard normal latents, each a function of its seed alone."""
    return torch.stack([torch.randn(dim, generator=torch.Generator().manual_seed(s)) for s in seeds])


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents (dim,) at t in [0, 1]."""
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.no_grad()
def generate_images(G: Generator, xy: torch.Tensor | np.ndarray, visibility: torch.Tensor | np.ndarray,
                    image_size: int, z: torch.Tensor | np.ndarray, batch: int = 16) -> np.ndarray:
    """Images for keypoints: (N, K, 2) pixels of an S x S image + (N, K) visibility + (N, latent) z
    (torch tensors or numpy arrays, e.g. straight from a DatasetReader; NaN keypoints count as absent)
    -> (N, r, r, 3) uint8 at ``G.resolution`` (``--no-pose`` models ignore the keypoints)."""
    xy = torch.nan_to_num(torch.as_tensor(xy, dtype=torch.float32))
    visibility = torch.as_tensor(visibility)
    z = torch.as_tensor(z, dtype=torch.float32)
    dev = next(G.parameters()).device
    out = []
    for i in range(0, len(z), batch):
        poses = None
        if G.cfg.use_pose:
            poses = pose_pyramid(xy[i:i + batch].to(dev), visibility[i:i + batch].to(dev), image_size,
                                 G.resolution, limbs=G.cfg.limbs)
        out.append(to_uint8(G(z[i:i + batch].to(dev), poses)))
    return np.concatenate(out)


class PoseSource:
    """The selected rows' keypoints of a dataset file, and their drawings."""

    def __init__(self, path: str | os.PathLike, rows: str | None) -> None:

        self.data = PoseData(path)
        self.rows = parse_rows(rows, self.data.n)
        idx = torch.as_tensor(self.rows)
        self.xy, self.vis = self.data.xy[idx], self.data.visibility[idx]

    def check(self, G: Generator) -> None:
        if G.cfg.use_pose and G.cfg.num_keypoints != self.data.num_keypoints:
            raise PsganError(f"{self.data.path}: has {self.data.num_keypoints} keypoints, the model was "
                             f"trained with {G.cfg.num_keypoints}")

    def drawing(self, j: int, size: int) -> np.ndarray:
        return draw_skeleton(self.xy[j].numpy(), self.vis[j].numpy(), self.data.keypoint_set, size,
                             self.data.image_size)

    def label(self, j: int) -> str:
        return f"row {self.rows[j]}"


def _frame(images: list[np.ndarray], size: int, drawings: list[np.ndarray] | None,
           labels: list[str] | None = None) -> np.ndarray:
    """One animation frame: the images side by side, each after its pose drawing when ``drawings`` are
    given, with ``labels`` (one per cell) in a band above the cells."""
    cells = [resize_image(im, size) for im in images]
    if drawings is not None:
        cells = [c for pair in zip(drawings, cells) for c in pair]
    pad = 0 if len(cells) == 1 else 2
    if labels:   # the grids' column labels, without their row-label margin
        return labelled_grid(cells, len(cells), [], labels, label_width=0, pad=pad)
    return tile_grid(cells, cols=len(cells), pad=pad)


def animate(G: Generator, src: PoseSource, seed: int, size: int, with_pose: bool) -> list[np.ndarray]:
    """One latent (``seed``) through every selected pose: one frame per pose."""
    z = latents([seed], G.cfg.latent).repeat(len(src.rows), 1)
    imgs = generate_images(G, src.xy, src.vis, src.data.image_size, z)
    if not with_pose:
        return [_frame([im], size, None) for im in imgs]
    # Labelled like the grids: which pose each frame shows, and which latent draws it.
    return [_frame([im], size, [src.drawing(j, size)], [f"pose, {src.label(j)}", f"generated, seed {seed}"])
            for j, im in enumerate(imgs)]


def interpolate(G: Generator, src: PoseSource, seeds: list[int], steps: int, size: int,
                with_pose: bool) -> list[np.ndarray]:
    """Through the latents of ``seeds`` (and back to the first), ``steps`` frames per leg; every frame
    shows the selected poses side by side."""
    zs = latents(seeds, G.cfg.latent)
    p = len(src.rows)
    drawings = [src.drawing(j, size) for j in range(p)] if with_pose else None
    labels = [t for j in range(p) for t in (f"pose, {src.label(j)}", "generated")] if with_pose else None
    frames = []
    for a, b in zip(range(len(seeds)), list(range(1, len(seeds))) + [0]):
        for s in range(steps):
            z = slerp(zs[a], zs[b], s / steps).expand(p, -1)
            imgs = generate_images(G, src.xy, src.vis, src.data.image_size, z)
            frames.append(_frame(list(imgs), size, drawings, labels))
    return frames


def grid(G: Generator, src: PoseSource, seeds: list[int], size: int, with_pose: bool) -> np.ndarray:
    """One row per latent, one column per pose (a row of pose drawings on top with ``with_pose``),
    labelled: the dataset row of each column's pose above it, the latent's seed left of each row."""
    p = len(src.rows)
    z = latents(seeds, G.cfg.latent).repeat_interleave(p, 0)
    imgs = generate_images(G, src.xy.repeat(len(seeds), 1, 1), src.vis.repeat(len(seeds), 1),
                           src.data.image_size, z)
    tiles = [src.drawing(j, size) for j in range(p)] if with_pose else []
    tiles += [resize_image(im, size) for im in imgs]
    rows = (["pose"] if with_pose else []) + [f"seed {s}" for s in seeds]
    return labelled_grid(tiles, p, rows, [f"row {r}" for r in src.rows])


FRAME_SUFFIXES = (".gif", ".mp4", "")   # "" : a folder of PNGs


def check_frames_target(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Refuse, before any work, an animation target this module cannot write (one line)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FRAME_SUFFIXES:
        raise PsganError(f"{out}: unknown output type {out.suffix!r}; write a .gif, an .mp4 or a folder "
                         f"(a path without suffix)")
    if not out.parent.is_dir():
        raise PsganError(f"{out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise PsganError(f"{out}: folder {out.parent} is not writable")
    if suffix and out.is_dir():
        raise PsganError(f"{out}: is a folder")
    if not suffix and out.exists() and not out.is_dir():
        raise PsganError(f"{out}: exists and is not a folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise PsganError(f"{out}: exists (use --overwrite to replace it)")
    if len(f".{out.name}.tmp-{os.getpid()}".encode()) > 255:
        raise PsganError(f"{out}: the name is too long for its temporary name (255 bytes at most)")
    return out


def check_grid_target(out: str | os.PathLike) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise PsganError(f"{out}: a grid is written as a .png")
    if not out.parent.is_dir():
        raise PsganError(f"{out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise PsganError(f"{out}: is a folder")
    return out


def write_mp4(frames: list[np.ndarray], path: str | os.PathLike, fps: float, crf: int = 18) -> None:
    """H.264 (libx264, yuv420p, +faststart) through PyAV; odd sizes are padded white to even."""

    try:
        import av
    except ImportError:
        raise PsganError(f"{path}: mp4 output needs PyAV (pip install av); write a .gif or a folder") from None
    h, w = frames[0].shape[:2]
    H, W = h + h % 2, w + w % 2
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as box:
        stream = box.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for f in frames:
            if (H, W) != (h, w):
                f = np.pad(f, ((0, H - h), (0, W - w), (0, 0)), constant_values=255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)


def write_frames(frames: list[np.ndarray], out: str | os.PathLike, fps: float, overwrite: bool = False) -> Path:
    """Frames (h, w, 3) uint8 -> ``out``: a .gif, an H.264 .mp4, or a folder (no suffix) of
    frame_00000.png ...

    Written under a temporary name and renamed, so ``out`` is whole or absent; ``overwrite`` replaces an
    existing ``out`` (a folder only when it holds nothing but frame_*.png).
    """
    out = check_frames_target(out, overwrite)
    suffix = out.suffix.lower()
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if suffix == ".gif":
            ims = [Image.fromarray(f) for f in frames]
            ims[0].save(tmp, format="GIF", save_all=True, append_images=ims[1:], duration=round(1000 / fps),
                        loop=0)
        elif suffix == ".mp4":
            write_mp4(frames, tmp, fps)
        else:
            tmp.mkdir()
            for i, f in enumerate(frames):
                save_png(f, tmp / f"frame_{i:05d}.png")
            if out.exists():
                if any(not p.match("frame_*.png") for p in out.iterdir()):
                    raise PsganError(f"{out}: holds other files than frame_*.png; not replaced")
                shutil.rmtree(out)
        os.replace(tmp, out)
    except OSError as e:
        _remove(tmp)
        raise PsganError(f"{out}: cannot write ({e.strerror or e})") from None
    except BaseException:
        _remove(tmp)
        raise
    return out


def _remove(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)


def write_grid(img: np.ndarray, out: str | os.PathLike) -> Path:
    out = check_grid_target(out)
    try:
        return save_png(img, out)
    except OSError as e:
        raise PsganError(f"{out}: cannot write ({e.strerror or e})") from None
