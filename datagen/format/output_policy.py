"""The one output policy of every command of both command lines (README, "Outputs"; docs/reliability.md).

* ``-o`` names the output and is required (``datagen render --list``/``--dry-run`` write nothing and
  need none; ``psgan eval`` prints its table and writes JSON only when given ``-o``);
* a trailing ``/`` or an existing folder means a folder: a command that writes a folder takes it, one
  that writes a file refuses it;
* the suffix decides the format (``preview -o sheet.jpg`` writes a JPEG); a suffix the command cannot
  write is refused, naming the ones it can;
* an existing output is replaced only with ``--overwrite``; a folder is replaced only when it holds
  nothing but what the same command writes (so ``--overwrite`` never empties a folder of other files).

:data:`POLICIES` holds each command's formats; :func:`resolve_output` applies the rules before any work.
"""
from __future__ import annotations

import fnmatch
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from datagen.format.outputs import OutputError, check_output

FOLDER = "/"    # the key of a folder in OutputKind.formats


@dataclass(frozen=True)
class OutputKind:
    """What one command writes: ``formats`` maps a lower-case suffix (or FOLDER) to a format name;
    ``contents`` are the glob patterns of the names its folder holds (what --overwrite may replace)."""

    what: str
    formats: dict[str, str]
    contents: tuple[str, ...] = ()
    parents: bool = False   # missing parent folders are created (run folders: runs/<name>)
    again: str = "use --overwrite to replace it"    # what to do about an existing output

    @property
    def folder(self) -> bool:
        return FOLDER in self.formats

    def suffixes(self) -> str:
        names = [s for s in self.formats if s != FOLDER] + (["a folder (a name ending in /)"] if self.folder else [])
        return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]


_DATASET = OutputKind("dataset file", {".h5": "hdf5", ".hdf5": "hdf5"})
_RUN = ("checkpoints", "samples", "tensorboard", "log.jsonl", "log.txt", "config.json", ".lock", ".*.tmp*")

POLICIES: dict[str, OutputKind] = {
    "render": _DATASET, "poses": _DATASET, "merge": _DATASET, "combine": _DATASET,
    "import-openpose": _DATASET, "import-deepfashion": _DATASET,
    # Every export layout's names (coco, openpose, hf, controlnet, yolo: datagen.io's writers).
    "export": OutputKind("export folder", {FOLDER: "folder"},
                         ("images", "keypoints", "person_keypoints.json", "labels", "data", "data.yaml", "README.md",
                          "provenance.json")),
    "preview": OutputKind("contact sheet", {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}),
    "view": OutputKind("HTML page", {".html": "html", ".htm": "html"}),
    "train": OutputKind("run folder", {FOLDER: "run"}, _RUN, parents=True,
                        again="continue it with --resume, or use --overwrite to start it again"),
    "generate": OutputKind("animation", {".gif": "gif", ".mp4": "mp4", ".png": "grid", FOLDER: "png frames"},
                           ("frame_*.png",)),
    "eval": OutputKind("results file", {".json": "json"}),
    "posenet train": OutputKind("detector file", {".pt": "torch"}),
}

_FILE_SUFFIXES = {s for k in POLICIES.values() for s in k.formats if s != FOLDER}


@dataclass(frozen=True)
class Output:
    """A checked output: its path, its format (a value of OutputKind.formats), and whether it exists."""

    path: Path
    format: str
    exists: bool


def resolve_output(raw: str | os.PathLike, command: str, overwrite: bool = False, resume: bool = False) -> Output:
    """Apply the policy of ``command`` (a key of :data:`POLICIES`) to the ``-o`` value ``raw``, before any work.

    ``resume``: the command continues the output it finds (``--resume``), which may then exist.

    Raises :class:`OutputError` (one line naming ``raw``, exit 1) for a folder given to a command that
    writes a file, a suffix the command cannot write, an existing output without ``overwrite``, an
    existing folder holding other things than the command's, or a place that cannot be written.
    """
    kind = POLICIES[command]
    text = os.fspath(raw)
    path = Path(text)
    as_folder = text.endswith(("/", os.sep)) or path.is_dir()
    suffix = path.suffix.lower()
    if as_folder and not kind.folder:
        raise OutputError(f"{text}: is a folder; `{command}` writes {_a(kind.what)} "
                          f"({kind.suffixes()}): give its file name")
    if kind.formats == {FOLDER: kind.formats.get(FOLDER)} and suffix in _FILE_SUFFIXES and not as_folder:
        raise OutputError(f"{text}: `{command}` writes {_a(kind.what)}, not a {suffix} file")
    if kind.folder and (as_folder or not suffix or kind.formats == {FOLDER: kind.formats[FOLDER]}):
        fmt = kind.formats[FOLDER]
        if path.exists() and not path.is_dir():
            raise OutputError(f"{text}: exists and is not a folder; `{command}` writes {_a(kind.what)}")
    elif suffix in kind.formats:
        fmt = kind.formats[suffix]
    else:
        said = f"suffix {path.suffix!r}" if suffix else "no suffix"
        raise OutputError(f"{text}: {said}; `{command}` writes {kind.suffixes()}")
    exists = path.is_dir() and any(path.iterdir()) if fmt == kind.formats.get(FOLDER) else path.exists()
    if exists and resume:
        return Output(path, fmt, exists)
    if exists and not overwrite:
        raise OutputError(f"{text}: exists ({kind.again})")
    if exists and path.is_dir():
        foreign = [p.name for p in path.iterdir()
                   if not any(fnmatch.fnmatch(p.name, pat) for pat in kind.contents)]
        if foreign:
            raise OutputError(f"{text}: holds {foreign[0]!r}, which `{command}` does not write; "
                              f"--overwrite replaces only {_a(kind.what)} (remove it yourself or choose another -o)")
    if not (kind.parents and not path.parent.exists()):
        check_output(path, kind="dir" if path.is_dir() or fmt == kind.formats.get(FOLDER) else "file",
                     overwrite=True)
    return Output(path, fmt, exists)


def _a(what: str) -> str:
    return ("an " if what[0] in "aeiou" else "a ") + what


def clear_folder(out: Output, command: str) -> None:
    """Remove what ``command`` wrote into the existing folder ``out`` (after :func:`resolve_output`
    allowed replacing it), leaving the folder itself and its lock (held by the caller)."""
    if not out.exists or not out.path.is_dir():
        return
    for p in out.path.iterdir():
        if p.name != ".lock" and any(fnmatch.fnmatch(p.name, pat) for pat in POLICIES[command].contents):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
