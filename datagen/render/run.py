"""``datagen render``: costumes x evenly spaced poses of a rig's clips -> a format-v1 dataset.

Orchestration only (docs/rendering.md, docs/scaling.md). The work is a list of jobs, pose-major:
job j renders pose j // C in costume j % C (C costumes). A run renders a contiguous range of jobs
(all of them, or one ``--shard K/N``) in chunks; each chunk is written through
:class:`~datagen.dataset.DatasetWriter` (``resume=True``) into ``<out>.partial/chunk-*.h5`` by this
process or by one of ``--workers`` subprocesses, and the chunks are concatenated in job order into
``<out>``. The rows therefore never depend on the number of workers, and a killed run continues
from its committed rows.

Blender is used through :mod:`datagen.blender` only; this module holds the plan maths.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

import datagen
from datagen import projection, visibility
from datagen.compositing import composite_on_white
from datagen.dataset import DatasetHeader, DatasetWriter, concat_files
from datagen.errors import DatagenError
from datagen.keypoint_sets import AVATAR20

log = logging.getLogger(__name__)

DEFAULT_RIG = Path(datagen.__file__).resolve().parents[1] / "rigs" / "avatar.blend"
FRAMINGS = ("clip", "run", "follow")
PLAN_FILE, RUN_FILE = "plan.npz", "run.json"
SEGMENT_ROWS = 4  # rows per committed segment inside a chunk: a kill loses at most this many
MAX_CHUNK_ROWS = 64
EDGE_PAD_PX = 3.0  # framing keeps the geometry this many pixels inside the image border


class RenderError(DatagenError):
    """A render run that cannot start or continue (bad option, incompatible --resume)."""


@dataclass
class RenderConfig:
    """Everything that decides the rendered rows (stored as the dataset's ``config``).

    Not in here, because they never change the result: the output path, --workers, --shard and
    --resume.
    """

    rig: str
    rig_sha256: str
    frames: int = 600
    size: int = 1024
    costumes: list[str] | None = None
    clips: list[str] | None = None
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
    render: dict = field(default_factory=dict)  # engine settings as applied (filled in by the plan)
    keypoint_bones: dict = field(default_factory=dict)  # keypoint -> bone (filled in by the plan)

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


# -- pure plan maths ---------------------------------------------------------------------------------

def sample_poses(durations: list[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    """N evenly spaced times over clips played back to back -> (clip index (N,), time in clip (N,)).

    Pose i is at i * T / N on the concatenated timeline of total length T (frames).
    """
    d = np.asarray(durations, dtype=np.float64)
    starts = np.concatenate([[0.0], np.cumsum(d)[:-1]])
    t = np.arange(n) * (d.sum() / n)
    clip = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(d) - 1)
    return clip.astype(np.int32), t - starts[clip]


def parse_shard(text: str | None) -> tuple[int, int]:
    """'K/N' (0 <= K < N) -> (K, N); None -> (0, 1)."""
    if text is None:
        return 0, 1
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise RenderError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= k < n):
        raise RenderError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/4")
    return k, n


def shard_range(jobs: int, shard: tuple[int, int]) -> tuple[int, int]:
    """The contiguous job range [start, end) of shard K of N."""
    k, n = shard
    return jobs * k // n, jobs * (k + 1) // n


def chunk_ranges(start: int, end: int, chunk_rows: int) -> list[tuple[int, int]]:
    return [(a, min(end, a + chunk_rows)) for a in range(start, end, chunk_rows)]


def plan_cameras(framing: str, clip_of_pose: np.ndarray, rotations: np.ndarray, bounds: np.ndarray,
                 tan_half: float, sigma_poses: np.ndarray) -> np.ndarray:
    """World-to-camera (N, 4, 4) per pose from per-pose framing bounds (N, 4).

    rotations: (A, 3, 3) per clip (all equal for framing "run"); "run": one camera framing every
    pose; "clip": one per clip; "follow": a smooth camera per clip (:func:`projection.follow_cameras`).
    """
    n = len(clip_of_pose)
    out = np.empty((n, 4, 4))
    if framing == "run":
        c, d = projection.fit_distance(projection.merge_bounds(bounds), tan_half)
        out[:] = projection.camera_from_fit(rotations[0], c, d)
        return out
    for a in np.unique(clip_of_pose):
        sel = np.flatnonzero(clip_of_pose == a)
        if framing == "clip":
            c, d = projection.fit_distance(projection.merge_bounds(bounds[sel]), tan_half)
            out[sel] = projection.camera_from_fit(rotations[a], c, d)
        else:
            out[sel] = projection.follow_cameras(bounds[sel], rotations[a], tan_half, float(sigma_poses[a]))
    return out


# -- the plan (needs Blender) ---------------------------------------------------------------------

@dataclass
class Plan:
    """What every process of a run agrees on before rendering (saved as plan.npz)."""

    costume_names: list[str]
    clip_names: list[str]
    clip: np.ndarray  # (N,) int32 clip index of each pose
    time: np.ndarray  # (N,) float64 time within the clip, frames from its first frame
    frame: np.ndarray  # (N,) float64 absolute scene frame
    xyz: np.ndarray  # (N, K, 3) world keypoints (NaN: unmapped)
    mapped: np.ndarray  # (K,) bool
    intrinsics: np.ndarray  # (3, 3)
    extrinsics: np.ndarray  # (N, 4, 4)
    radius: np.ndarray  # (K,) occlusion radius per joint, metres
    near: float
    far: float

    @property
    def jobs(self) -> int:
        return len(self.clip) * len(self.costume_names)

    def save(self, path: Path) -> None:
        arrays = {k: v for k, v in asdict(self).items() if isinstance(v, np.ndarray)}
        meta = json.dumps({"costume_names": self.costume_names, "clip_names": self.clip_names,
                           "near": self.near, "far": self.far})
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(meta), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "Plan":
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
        return cls(**meta, **arrays)


def make_plan(session, config: RenderConfig) -> Plan:
    """Evaluate every pose once: keypoints, framing over all costumes, cameras, joint radii."""
    clips = session.clips
    n = config.frames
    clip, t = sample_poses([c.duration for c in clips], n)
    frame = np.array([clips[a].start for a in clip]) + t
    names = AVATAR20.names
    rest = session.rest_keypoints()
    left = [i for i, k in enumerate(names) if k.startswith("Left") and session.mapped[i]]
    right = [names.index("Right" + names[i][4:]) for i in left]
    front = projection.character_front(rest[left], rest[right])
    height = float(np.ptp(rest[np.isfinite(rest).all(1), 2])) or 1.0

    rng = np.random.default_rng(config.seed)
    jitter = rng.uniform(-1, 1, len(clips)) * config.azimuth_jitter
    if config.framing == "run":
        jitter[:] = jitter[0]
    rotations = np.stack([projection.view_rotation(front, config.azimuth + j, config.elevation) for j in jitter])
    # The anti-aliasing filter and the outline reach ~2 px past the geometry: keep them off the border.
    tan_frame = projection.tan_half_fov(config.lens_mm) * (1.0 - config.margin - 2 * EDGE_PAD_PX / config.size)

    objects = session.framing_objects()
    session.show_all_costumes()
    xyz = np.empty((n, len(names), 3))
    bounds = np.empty((n, 4))
    for i in range(n):
        session.go_to(int(clip[i]), float(frame[i]))
        xyz[i] = session.keypoints()
        pts = session.framing_points(objects)
        bounds[i] = projection.frame_bounds(pts, rotations[clip[i]], tan_frame)
    fps = session.scene.render.fps / session.scene.render.fps_base
    spacing = sum(c.duration for c in clips) / n  # frames between poses
    sigma = np.full(len(clips), config.follow_sigma_s * fps / spacing)
    extrinsics = plan_cameras(config.framing, clip, rotations, bounds, tan_frame, sigma)
    dist = np.array([e[2, 3] for e in extrinsics])
    near, far = max(1e-3, 0.01 * float(dist.min())), 100.0 * float(dist.max()) + 10 * height

    dirs = visibility.view_directions()
    depths = session.joint_surface_depths(rest, dirs, reach=2 * height)
    radius = visibility.joint_radii(depths, tolerance=config.occlusion_tolerance * height)
    return Plan(costume_names=[c.name for c in session.costumes], clip_names=[c.name for c in clips],
                clip=clip, time=t, frame=frame, xyz=xyz, mapped=session.mapped.copy(),
                intrinsics=projection.intrinsics(config.lens_mm, projection.SENSOR_MM, config.size),
                extrinsics=extrinsics, radius=radius, near=near, far=far)


# -- rendering rows (needs Blender) ---------------------------------------------------------------

def render_job(session, plan: Plan, job: int) -> dict[str, np.ndarray]:
    """One dataset row (arrays without the leading row axis) for job index ``job``."""
    c = len(plan.costume_names)
    pose, costume = divmod(job, c)
    E = plan.extrinsics[pose]
    session.go_to(int(plan.clip[pose]), float(plan.frame[pose]))
    joints = plan.xyz[pose]
    rgba, hits = session.render_view(costume, E, plan.near, plan.far, np.nan_to_num(joints), plan.radius)
    image, mask = composite_on_white(rgba)
    xy, z = projection.project(joints, plan.intrinsics, E)
    centre = -E[:3, :3].T @ E[:3, 3]
    vis = visibility.visibility_flags(xy, z, image.shape[0], np.linalg.norm(joints - centre, axis=1), hits,
                                      plan.radius, plan.mapped)
    return {"images": image, "masks": mask, "pose/xy": xy.astype(np.float32), "pose/visibility": vis,
            "pose/xyz": joints.astype(np.float32), "camera/intrinsics": plan.intrinsics,
            "camera/extrinsics": E, "meta/costume": np.int32(costume), "meta/clip": np.int32(plan.clip[pose]),
            "meta/frame": np.float32(plan.time[pose])}


def render_chunks(session, plan: Plan, header: DatasetHeader, run_dir: Path, chunks: list[tuple[int, int]],
                  on_row=None) -> None:
    """Render each chunk [a, b) of jobs into run_dir/chunk-<a>.h5, resuming a partial chunk."""
    for a, b in chunks:
        path = chunk_path(run_dir, a)
        if path.exists():
            continue
        writer = DatasetWriter(path, header, resume=True, segment_rows=SEGMENT_ROWS)
        for job in range(a + writer.rows, b):
            row = render_job(session, plan, job)
            writer.append({k: np.asarray(v)[None] for k, v in row.items()})
            if on_row:
                on_row()
        writer.close()


def chunk_path(run_dir: Path, start: int) -> Path:
    return run_dir / f"chunk-{start:09d}.h5"


def done_rows(run_dir: Path, chunks: list[tuple[int, int]]) -> int:
    """Rows already committed in run_dir (complete chunks and committed segments of partial ones)."""
    n = 0
    for a, b in chunks:
        if chunk_path(run_dir, a).exists():
            n += b - a
        else:
            part = run_dir / (chunk_path(run_dir, a).name + ".partial")
            for seg in part.glob("seg-*.h5"):
                with h5py.File(seg, "r") as f:
                    n += f["pose/xy"].shape[0]
    return n


# -- the run ----------------------------------------------------------------------------------------

@dataclass
class RunOptions:
    out: Path
    workers: int = 1
    shard: tuple[int, int] = (0, 1)
    resume: bool = False
    overwrite: bool = False
    progress: bool = True


def _shard_attrs(shard: tuple[int, int], jobs: int) -> dict:
    """Root attributes of a shard file (docs/scaling.md); none for a whole run."""
    k, n = shard
    if n == 1:
        return {}
    start, end = shard_range(jobs, shard)
    return {"shard": f"{k}/{n}", "shard_index": k, "shard_count": n, "job_start": start, "job_end": end,
            "jobs_total": jobs}


def _header(config: RenderConfig, plan: Plan, shard_attrs: dict) -> DatasetHeader:
    return DatasetHeader("avatar20", config.size, config=asdict(config), costume_names=plan.costume_names,
                         clip_names=plan.clip_names, attrs=shard_attrs)


def run_render(config: RenderConfig, opts: RunOptions) -> dict:
    """Render (a shard of) the dataset into ``opts.out``; return a summary dict."""
    from datagen.blender.session import BlenderSession

    t0 = time.time()
    out = opts.out
    run_dir = out.with_name(out.name + ".partial")
    if out.exists() and not opts.overwrite:
        if opts.resume:
            # A run killed between writing <out> and removing its work folder is complete.
            shutil.rmtree(run_dir, ignore_errors=True)
            raise RenderError(f"{out}: already complete; nothing to resume (use --overwrite to render again)")
        raise RenderError(f"{out}: exists (use --overwrite to replace it)")
    if not out.parent.is_dir():
        raise RenderError(f"{out}: output folder {out.parent} does not exist")
    if opts.workers < 1:
        raise RenderError(f"--workers {opts.workers}: must be >= 1")

    # Load and check the rig before anything is written: a rejected rig leaves no file.
    session = BlenderSession(Path(config.rig), keymap=config.keymap, costumes=config.costumes,
                             clips=config.clips, motions=config.motions, motion_fps=config.motion_fps)
    config.keypoint_bones = {k: (str(s) if s else None) for k, s in session.mapping.items()}
    config.render = session.configure(config.engine, config.size, config.samples, config.lens_mm)

    state = {"config": config.key(), "shard": list(opts.shard)}
    if run_dir.exists():
        old = _read_json(run_dir / RUN_FILE)  # None: killed before the run had started writing
        same = old is not None and old.get("config") == state["config"] and old.get("shard") == state["shard"]
        if opts.resume and old is not None and not same:
            raise RenderError(f"{run_dir}: cannot resume, it was started with other settings; "
                              f"delete it or run without --resume")
        if not (opts.resume and same):
            if not opts.resume:
                log.warning("discarding the earlier partial run in %s (use --resume to continue it)", run_dir)
            shutil.rmtree(run_dir)
    resumed = (run_dir / PLAN_FILE).exists()
    if resumed:
        plan = Plan.load(run_dir / PLAN_FILE)
        chunk_rows = int(_read_json(run_dir / RUN_FILE)["chunk_rows"])
    else:
        plan = make_plan(session, config)
    start, end = shard_range(plan.jobs, opts.shard)
    if end <= start:
        raise RenderError(f"--shard {opts.shard[0]}/{opts.shard[1]}: no work ({plan.jobs} rows in all)")
    if not resumed:
        chunk_rows = max(1, min(MAX_CHUNK_ROWS, math.ceil((end - start) / opts.workers)))
        run_dir.mkdir()
        plan.save(run_dir / PLAN_FILE)
        (run_dir / RUN_FILE).write_text(json.dumps({**state, "chunk_rows": chunk_rows, "full_config": asdict(config)},
                                                   indent=1))
    shard_attrs = _shard_attrs(opts.shard, plan.jobs)
    header = _header(config, plan, shard_attrs)
    chunks = chunk_ranges(start, end, chunk_rows)
    already = done_rows(run_dir, chunks)
    bar = _progress(end - start, already, opts.progress)
    try:
        if opts.workers == 1:
            render_chunks(session, plan, header, run_dir, chunks, on_row=lambda: bar.update(1))
        else:
            session.close()
            _run_workers(run_dir, chunks, opts.workers, bar)
    finally:
        bar.close()
        session.close()
    sources = [chunk_path(run_dir, a) for a, _ in chunks]
    concat_files(sources, out, header, {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    shutil.rmtree(run_dir)
    elapsed = time.time() - t0
    rendered = end - start - already
    return {"out": str(out), "rows": end - start, "rendered": rendered, "resumed_rows": already,
            "costumes": len(plan.costume_names), "poses": len(plan.clip), "clips": plan.clip_names,
            "seconds": elapsed, "frames_per_s": rendered / elapsed if elapsed > 0 else 0.0,
            "bytes": out.stat().st_size, "shard": shard_attrs.get("shard")}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="frame", desc="render", disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def describe_rig(rig: Path, keymap: dict | None = None) -> str:
    """What ``--rig`` offers: costumes, clips and the bone behind each keypoint (``--list``)."""
    from datagen.blender.session import BlenderSession

    session = BlenderSession(rig, keymap=keymap)
    lines = [f"rig {rig}: armature {session.rig.armature.name!r}, {len(session.rig.bone_names)} bones",
             f"costumes ({len(session.costumes)}): " + ", ".join(c.name for c in session.costumes),
             f"clips ({len(session.clips)}): " + ", ".join(f"{c.name} [{c.start:g}-{c.end:g}]" for c in session.clips),
             "keypoints: " + ", ".join(f"{k}={s if s else '-'}" for k, s in session.mapping.items())]
    return "\n".join(lines)


# -- worker processes --------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """Run in the child before exec: get SIGKILL when the parent dies (a killed run leaves no orphan)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _run_workers(run_dir: Path, chunks: list[tuple[int, int]], workers: int, bar) -> None:
    todo = [c for c in chunks if not chunk_path(run_dir, c[0]).exists()]
    shares = [todo[w::workers] for w in range(workers)]
    procs = []
    for w, share in enumerate(shares):
        if not share:
            continue
        spec = run_dir / f"worker-{w}.json"
        spec.write_text(json.dumps({"chunks": share}))
        with open(run_dir / f"worker-{w}.log", "w") as logf:
            procs.append((subprocess.Popen([sys.executable, "-m", "datagen.render", str(run_dir), str(spec)],
                                           stdout=subprocess.PIPE, stderr=logf, text=True,
                                           preexec_fn=_die_with_parent), run_dir / f"worker-{w}.log"))
    errors: list[str] = []
    lock = threading.Lock()

    def pump(p: subprocess.Popen) -> None:
        for line in p.stdout:
            if line.startswith("row"):
                with lock:
                    bar.update(1)
            elif line.startswith("error "):
                errors.append(line[6:].strip())

    threads = [threading.Thread(target=pump, args=(p,), daemon=True) for p, _ in procs]
    for t in threads:
        t.start()
    try:
        for (p, _), t in zip(procs, threads):
            p.wait()
            t.join()
    except BaseException:
        for p, _ in procs:
            p.kill()
        raise
    failed = [(p, logp) for p, logp in procs if p.returncode != 0]
    if failed or errors:
        detail = errors[0] if errors else (failed[0][1].read_text().strip().splitlines() or ["?"])[-1]
        raise RenderError(f"a render worker failed ({detail}); run again with --resume to continue")


def worker_main(run_dir: Path, spec_path: Path) -> int:
    """Entry point of a worker subprocess: render the chunks listed in ``spec_path``."""
    from datagen.blender.session import BlenderSession

    progress = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # Blender's own prints must not reach the progress pipe
    try:
        state = json.loads((run_dir / RUN_FILE).read_text())
        config = RenderConfig(**state["full_config"])
        chunks = [tuple(c) for c in json.loads(spec_path.read_text())["chunks"]]
        plan = Plan.load(run_dir / PLAN_FILE)
        session = BlenderSession(Path(config.rig), keymap=config.keymap, costumes=config.costumes,
                                 clips=config.clips, motions=config.motions, motion_fps=config.motion_fps)
        session.configure(config.engine, config.size, config.samples, config.lens_mm)
        header = _header(config, plan, _shard_attrs(tuple(state["shard"]), plan.jobs))
        render_chunks(session, plan, header, run_dir, chunks, on_row=lambda: progress.write("row\n"))
        session.close()
    except Exception as e:  # reported to the parent as one line
        progress.write(f"error {type(e).__name__}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(Path(sys.argv[1]), Path(sys.argv[2])))
