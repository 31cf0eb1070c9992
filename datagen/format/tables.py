"""Name tables across datasets: the rig of each costume, and costume and clip tables merged from several
files with their rows' indices mapped (``datagen combine``, renders of several rigs; docs/format.md)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.format.reader import DatasetReader


def costume_rigs(reader: DatasetReader, costumes: list[str], config: dict) -> list[str]:
    """The rig file each costume of ``reader`` was rendered from: its /meta/costume_rigs table, else the
    ``rig`` of a one-rig render's config, else "" (unknown)."""
    if reader.has("meta/costume_rigs"):
        rigs = [str(r) for r in reader.read("meta/costume_rigs")]
        if len(rigs) == len(costumes):
            return rigs
    rig = config.get("rig")
    return [rig if isinstance(rig, str) else ""] * len(costumes)


def rig_identity(config: dict) -> dict[str, str]:
    """rig path -> sha256 of the file, from a render config (``rig``/``rig_sha256``: one, or lists)."""
    rig, sha = config.get("rig"), config.get("rig_sha256")
    if isinstance(rig, str) and isinstance(sha, str):
        return {rig: sha}
    if isinstance(rig, list) and isinstance(sha, list) and len(rig) == len(sha):
        return {str(r): str(h) for r, h in zip(rig, sha)}
    return {}


def merge_names(tables: list[list[str]]) -> tuple[list[str], list[np.ndarray]]:
    """Tables merged by name, in order of first appearance -> (names, per table old index -> new index)."""
    names: list[str] = []
    pos: dict[str, int] = {}
    maps = []
    for table in tables:
        for n in table:
            if n not in pos:
                pos[n] = len(names)
                names.append(n)
        maps.append(np.asarray([pos[n] for n in table], dtype=np.int32))
    return names, maps


def merge_costumes(sources: list[tuple[Path, list[str], list[str]]], identities: list[dict[str, str]] | None = None
                   ) -> tuple[list[str], list[str], list[np.ndarray]]:
    """Costume tables of several files -> (names, rig of each, per file old index -> new index).

    sources: (file, costume names, rig of each costume ("" unknown)). A costume is one character in one
    outfit: two files' costumes are the same when they have the same name and the same rig (by content
    when ``identities`` give the rig's sha256, else by path); a costume of an unknown rig is never shared.
    Different costumes of one name are told apart by their file: ``<file stem>/<name>``.
    """
    names: list[str] = []
    rigs: list[str] = []
    pos: dict[tuple, int] = {}
    maps = []
    for k, (path, costumes, crigs) in enumerate(sources):
        ident = (identities or [{}] * len(sources))[k]
        m = []
        for name, rig in zip(costumes, crigs):
            key = (name, ("sha", ident[rig]) if rig in ident else ("rig", rig) if rig else ("file", k))
            if key not in pos:
                unique = name if name not in names else f"{Path(path).stem}/{name}"
                n = 2
                while unique in names:
                    unique, n = f"{Path(path).stem}/{name}#{n}", n + 1
                pos[key] = len(names)
                names.append(unique)
                rigs.append(rig)
            m.append(pos[key])
        maps.append(np.asarray(m, dtype=np.int32))
    return names, rigs, maps
