"""Several rigs in one render run: their costumes, their shared clips, and one plan per rig (docs/rigs.md).

Each rig file's costumes become costumes of the dataset, named ``<rig>/<costume>`` (``<rig>`` the file's
stem, or the stem alone for a rig without costumes), and every rig plays the same clips: the ``--motion``
files retargeted onto each, or the Actions named by ``--clips`` (every rig must have them), or else the
Actions every rig has. Rows go rig after rig, each rig's rows pose-major as in a one-rig run, so a worker
loads a rig once per chunk at most. With one rig nothing here changes the run: the plan is that rig's
:class:`~datagen.render.plan.Plan`, saved as before, and the costume names are the rig's own.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from datagen.render.config import RenderConfig, RenderError
from datagen.render.plan import Plan

DEFAULT_COSTUME = "default"  # the one costume of a rig without a Costumes collection (blender.rig)


def rig_files(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """``--rig`` values -> rig files: a file as given, a folder as every file in it with one of
    ``suffixes`` (sorted by name). A folder without one, or a file given twice, is an error."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in suffixes)
            if not found:
                raise RenderError(f"{p}: holds no rig file ({', '.join(suffixes)})")
            out += found
        else:
            out.append(p)
    seen: dict[Path, Path] = {}
    for p in out:
        key = p.resolve()
        if key in seen:
            raise RenderError(f"{p}: rig given twice (also as {seen[key]})")
        seen[key] = p
    return out


def rig_labels(rigs: list[str]) -> list[str]:
    """The name each rig's costumes are prefixed with: the file's stem, its name where stems repeat, its
    path where names repeat."""
    for key in (lambda p: Path(p).stem, lambda p: Path(p).name, str):
        labels = [key(r) for r in rigs]
        if len(set(labels)) == len(labels):
            return labels
    raise RenderError(f"rigs {', '.join(rigs)}: given twice")


def costume_names(label: str, costumes: list[str]) -> list[str]:
    """A rig's costumes as the dataset names them."""
    if costumes == [DEFAULT_COSTUME]:
        return [label]
    return [f"{label}/{c}" for c in costumes]


def select_costumes(labels: list[str], rig_costumes: list[list[str]], wanted: list[str] | None) -> list[list[str]]:
    """Per rig, its own names of the costumes to render: all, or those ``--costumes`` names (as the
    dataset names them, ``robot/red``, or as the rig does, ``red``: then in every rig that has it). A rig
    none of whose costumes is named renders all of them."""
    if not wanted:
        return [list(c) for c in rig_costumes]
    out, used = [], set()
    for label, own in zip(labels, rig_costumes):
        names = costume_names(label, own)
        keep = [c for c, n in zip(own, names) if c in wanted or n in wanted]
        used |= {c for c, n in zip(own, names) if c in wanted} | {n for n in names if n in wanted}
        out.append(keep or list(own))
    unknown = [w for w in wanted if w not in used]
    if unknown:
        every = [n for label, own in zip(labels, rig_costumes) for n in costume_names(label, own)]
        raise RenderError(f"--costumes: no costume named {', '.join(map(repr, unknown))} "
                          f"(the rigs have: {', '.join(every)})")
    return out


def shared_clips(rigs: list[str], rig_clips: list[list[str]]) -> tuple[list[str], list[str]]:
    """The clips every rig has (in the first rig's order) and those left out; an error when none is shared."""
    common = [c for c in rig_clips[0] if all(c in other for other in rig_clips[1:])]
    if not common:
        have = "; ".join(f"{r}: {', '.join(c) or 'none'}" for r, c in zip(rigs, rig_clips))
        raise RenderError(f"rigs {', '.join(rigs)}: no clip name in common ({have}); give --motion FILE.bvh to "
                          f"play the same motion capture on every rig")
    left = sorted({c for clips in rig_clips for c in clips} - set(common))
    return common, left


@dataclass
class CastPlan:
    """The plan of a run: one :class:`Plan` per rig, their rows rig after rig."""

    parts: list[Plan]
    rigs: list[str]
    costume_names: list[str]  # the dataset's
    clip_names: list[str]  # the dataset's: the first rig's

    @classmethod
    def of(cls, parts: list[Plan], rigs: list[str]) -> "CastPlan":
        if len(parts) == 1:
            return cls(parts, rigs, list(parts[0].costume_names), list(parts[0].clip_names))
        labels = rig_labels(rigs)
        names = [n for label, p in zip(labels, parts) for n in costume_names(label, p.costume_names)]
        return cls(parts, rigs, names, list(parts[0].clip_names))

    @property
    def several(self) -> bool:
        return len(self.parts) > 1

    @property
    def jobs(self) -> int:
        return sum(p.jobs for p in self.parts)

    @property
    def poses(self) -> int:
        return len(self.parts[0].clip)

    def costume_rigs(self) -> list[str]:
        """The rig file of each dataset costume (the table /meta/costume_rigs)."""
        return [r for r, p in zip(self.rigs, self.parts) for _ in p.costume_names]

    def locate(self, job: int) -> tuple[int, int]:
        """Job -> (rig, that rig's job)."""
        for r, p in enumerate(self.parts):
            if job < p.jobs:
                return r, job
            job -= p.jobs
        raise IndexError(job)

    def costume_offset(self, r: int) -> int:
        return sum(len(p.costume_names) for p in self.parts[:r])

    def clip_map(self, r: int) -> np.ndarray:
        """Rig r's clip index -> the dataset's (by name; by position for --motion clips a rig renamed)."""
        own = self.parts[r].clip_names
        if sorted(own) == sorted(self.clip_names):
            return np.asarray([self.clip_names.index(c) for c in own], dtype=np.int32)
        return np.arange(len(own), dtype=np.int32)

    def save(self, path: Path) -> None:
        if not self.several:
            self.parts[0].save(path)  # the one-rig plan file, as it always was (--resume)
            return
        arrays, parts = {}, []
        for r, p in enumerate(self.parts):
            arrays.update({f"p{r}.{k}": v for k, v in vars(p).items() if isinstance(v, np.ndarray)})
            parts.append({"costume_names": p.costume_names, "clip_names": p.clip_names, "near": p.near, "far": p.far})
        meta = json.dumps({"parts": parts, "rigs": self.rigs, "costume_names": self.costume_names,
                           "clip_names": self.clip_names})
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(meta), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, rigs: list[str]) -> "CastPlan":
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            if "parts" not in meta:
                return cls.of([Plan.load(path)], rigs)
            parts = []
            for r, m in enumerate(meta["parts"]):
                arrays = {k.split(".", 1)[1]: z[k] for k in z.files if k.startswith(f"p{r}.")}
                parts.append(Plan(**m, **arrays))
        return cls(parts, meta["rigs"], meta["costume_names"], meta["clip_names"])


def selections(config: RenderConfig, plan: CastPlan | None = None) -> list[tuple[list[str] | None, list[str] | None]]:
    """Per rig, the costumes and clips its session starts with: the options for one rig; for several,
    all costumes (``--costumes`` may name them as the dataset does) until :func:`prepare` chose, or
    what ``plan`` chose."""
    rigs = config.rig_paths()
    if len(rigs) == 1:
        return [(config.costumes, config.clips)]
    if plan is None:
        return [(None, config.clips)] * len(rigs)
    return [(list(p.costume_names), list(p.clip_names)) for p in plan.parts]


class RigSessions:
    """One Blender session at a time over the rigs of a run: asking for another rig loads it in place of
    the last one (Blender holds one scene), set up with the run's render settings."""

    def __init__(self, session_class, config: RenderConfig, selections: list[tuple[list[str] | None, list[str] | None]],
                 on_load: Callable[[object], None] | None = None):
        """``on_load(session)``: called after each rig's session is loaded and configured."""
        self.session_class, self.config, self.selections = session_class, config, selections
        self.on_load = on_load
        self.warnings: list[str] = []  # each rig's load warnings (e.g. a VRM texture that cannot be read), once
        self.rigs = config.rig_paths()
        self.current: int | None = None
        self.session = None
        self.settings: dict | None = None

    def get(self, r: int):
        if r != self.current:
            self.close()
            c = self.config
            costumes, clips = self.selections[r]
            self.session = self.session_class(Path(self.rigs[r]), keymap=c.keymap, costumes=costumes, clips=clips,
                                              motions=c.motions, motion_fps=c.motion_fps, keypoint_set=c.keypoint_set)
            self.settings = self.session.configure(c.engine, c.size, c.samples, c.lens_mm)
            self.current = r
            self.warnings += [w for w in self.session.rig.warnings if w not in self.warnings]
            if self.on_load:
                self.on_load(self.session)
        return self.session

    def select(self, r: int, costumes: list[str] | None, clips: list[str] | None) -> None:
        """Choose rig r's costumes and clips (by its own names); a loaded session switches at once."""
        self.selections[r] = (costumes, clips)
        if r == self.current:
            self.session.select(costumes, clips)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        self.session, self.current = None, None


def prepare(sessions: RigSessions, config: RenderConfig, report: Callable[[str], None]) -> None:
    """Load every rig once: fill ``config.keypoint_bones`` and ``config.render`` (per rig label when
    several) and choose each rig's costumes and the shared clips."""
    rigs = sessions.rigs
    if len(rigs) == 1:
        s = sessions.get(0)
        config.keypoint_bones = {k: (str(v) if v else None) for k, v in s.mapping.items()}
        config.render = sessions.settings
        return
    labels = rig_labels(rigs)
    own_costumes, own_clips, bones, render = [], [], {}, {}
    for r, label in enumerate(labels):
        s = sessions.get(r)
        own_costumes.append([c.name for c in s.rig.costumes])
        own_clips.append([c.name for c in s.clips])
        bones[label] = {k: (str(v) if v else None) for k, v in s.mapping.items()}
        render[label] = sessions.settings
    config.keypoint_bones, config.render = bones, render
    costumes = select_costumes(labels, own_costumes, config.costumes)
    if config.motions or config.clips:
        clips = [list(c) for c in own_clips]  # the motions, or the named clips (each rig had them, or failed)
    else:
        common, left = shared_clips(rigs, own_clips)
        if left:
            report(f"note: clips not in every rig are left out: {', '.join(left)}")
        clips = [common] * len(rigs)
    for r in range(len(rigs)):
        sessions.select(r, costumes[r], clips[r])


def make_cast_plan(sessions: RigSessions, config: RenderConfig, make_plan) -> CastPlan:
    """Plan every rig (the loaded one first: one load fewer)."""
    order = list(range(len(sessions.rigs)))
    if sessions.current is not None:
        order.remove(sessions.current)
        order.insert(0, sessions.current)
    parts: dict[int, Plan] = {}
    for r in order:
        parts[r] = make_plan(sessions.get(r), config)
    plan = CastPlan.of([parts[r] for r in range(len(order))], list(sessions.rigs))
    counts = {len(p.clip_names) for p in plan.parts}
    if len(counts) > 1:
        raise RenderError(f"rigs {', '.join(plan.rigs)}: play different numbers of clips")
    return plan
