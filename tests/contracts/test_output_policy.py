"""The one output policy (datagen.format.output_policy, README "Outputs"): every command of both command
lines against the same table of output cases: no -o, a trailing "/", an existing folder, a suffix the
command cannot write, an existing output without and with --overwrite, an existing folder holding other
files. A refusal is one `Error:` line that changes nothing; an accepted output is written as its suffix says.

`render` and `poses` need Blender only to write: their refusals come before Blender starts, and their
writes are the Blender-marked cases at the end.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from helpers.cli_checks import check_one_line_error, snapshot
from helpers.psgan_data import TINY_TRAIN, train_tiny_run, write_tiny_dataset
from test_bad_input import Inputs
from datagen.cli import main as datagen_main
from datagen.format.output_policy import FOLDER, POLICIES
from psgan.cli import main as psgan_main


@dataclass(frozen=True)
class Command:
    name: str                      # the key of POLICIES
    cli: object
    args: Callable[[Inputs, Path], list]    # the command line without -o
    good: str                      # an -o name the command writes (a suffix, or "" for a folder)
    blender: bool = False
    optional_out: bool = False     # psgan eval: without -o it only prints

    def argv(self, i: Inputs, run: Path, out: str | None, *more: str) -> list[str]:
        return [str(a) for a in self.args(i, run)] + (["-o", out] if out is not None else []) + list(more)


def _render(extra: list[str]) -> Callable[[Inputs, Path], list]:
    return lambda i, run: extra + ["--frames", "2", "--size", "64", "--clips", "Walk"]


COMMANDS = [
    Command("render", datagen_main, lambda i, r: ["render", *_render(["--costumes", "schoolgirl_1"])(i, r)], ".h5",
            blender=True),
    Command("poses", datagen_main, lambda i, r: ["poses", *_render([])(i, r)], ".h5", blender=True),
    Command("merge", datagen_main, lambda i, r: ["merge", i.shard("s0.h5", 0, 2), i.shard("s1.h5", 1, 2)], ".h5"),
    Command("combine", datagen_main, lambda i, r: ["combine", i.shard("s0.h5", 0, 2), i.shard("s1.h5", 1, 2)], ".h5"),
    Command("import-openpose", datagen_main, lambda i, r: ["import-openpose", "--images", i.openpose()[0],
                                                           "--keypoints", i.p("keypoints"), "--workers", "1"], ".h5"),
    Command("import-deepfashion", datagen_main, lambda i, r: ["import-deepfashion", "--csv", i.deepfashion()[0],
                                                              "--images", i.p("inshop"), "--workers", "1"], ".h5"),
    Command("export", datagen_main, lambda i, r: ["export", i.rendered(), "--to", "coco"], ""),
    Command("preview", datagen_main, lambda i, r: ["preview", i.rendered(), "--n", "2", "--size", "16"], ".jpg"),
    Command("view", datagen_main, lambda i, r: ["view", i.rendered(), "--max", "2", "--size", "16"], ".html"),
    Command("train", psgan_main, lambda i, r: ["train", write_tiny_dataset(i.p("tiny.h5"), n=8), *TINY_TRAIN,
                                               "--max-res", "4", "--kimg-per-phase", "0.004", "--threads", "1",
                                               "--quiet"], ""),
    Command("generate", psgan_main, lambda i, r: ["generate", r / "run", "--poses", r / "tiny.h5", "--rows", "0:2"],
            ".gif"),
    Command("eval", psgan_main, lambda i, r: ["eval", r / "run", "--data", r / "tiny.h5", "--metrics", "diversity",
                                              "--posenet", r / "det.pt", "--diversity-poses", "2",
                                              "--diversity-latents", "2"], ".json",
            optional_out=True),
    Command("posenet train", psgan_main, lambda i, r: ["posenet", "train", r / "tiny.h5", "--res", "16",
                                                       "--steps", "1", "--batch", "2"], ".pt"),
]
CHEAP = [c for c in COMMANDS if not c.blender]


def test_every_writing_command_is_in_the_table():
    assert sorted(c.name for c in COMMANDS) == sorted(POLICIES)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny trained run (run/, tiny.h5) and detector (det.pt) for generate, eval and posenet train."""
    folder = tmp_path_factory.mktemp("run")
    train_tiny_run(folder)
    r = CliRunner().invoke(psgan_main, ["posenet", "train", str(folder / "tiny.h5"), "-o", str(folder / "det.pt"),
                                        "--res", "16", "--steps", "1", "--batch", "2"])
    assert r.exit_code == 0, r.output
    return folder


def invoke(c: Command, argv: list[str]):
    return CliRunner().invoke(c.cli, argv)


def refused(c: Command, i: Inputs, run: Path, out: str | None, named: str, *more: str, code: int = 1) -> None:
    argv = c.argv(i, run, out, *more)    # builds the inputs first: the snapshot holds them
    before = snapshot(i.root)
    check_one_line_error(invoke(c, argv), code, named, before, i.root)


def is_folder_writer(c: Command) -> bool:
    return FOLDER in POLICIES[c.name].formats


@pytest.mark.parametrize("c", COMMANDS, ids=lambda c: c.name)
def test_no_out(c, tmp_path, run):
    i = Inputs(tmp_path)
    if c.optional_out:   # psgan eval prints its table and writes nothing
        r = invoke(c, c.argv(i, run, None))
        assert r.exit_code == 0, r.output
        assert not list(tmp_path.glob("*.json"))
        return
    refused(c, i, run, None, "'-o' / '--out'", code=2)


@pytest.mark.parametrize("c", COMMANDS, ids=lambda c: c.name)
@pytest.mark.parametrize("case", ["trailing-slash", "existing-folder"])
def test_folder(c, case, tmp_path, run):
    """A trailing / or an existing folder means a folder: refused by a command writing a file."""
    i = Inputs(tmp_path)
    out = tmp_path / "out"
    if case == "existing-folder":
        out.mkdir()
    raw = str(out) + ("/" if case == "trailing-slash" else "")
    if not is_folder_writer(c):
        refused(c, i, run, raw, "is a folder")
        return
    if c.blender:
        pytest.skip("writes: see the Blender cases")
    r = invoke(c, c.argv(i, run, raw))
    assert r.exit_code == 0, r.output
    assert out.is_dir() and any(out.iterdir())


@pytest.mark.parametrize("c", COMMANDS, ids=lambda c: c.name)
def test_wrong_suffix(c, tmp_path, run):
    """The suffix decides the format: one the command cannot write is refused, naming the ones it can."""
    i = Inputs(tmp_path)
    if c.good == "":      # a folder writer: a file's suffix is refused, any other name is a folder
        refused(c, i, run, str(tmp_path / "out.h5"), "not a .h5 file")
        return
    refused(c, i, run, str(tmp_path / "out.txt"), "suffix '.txt'")


def _existing(c: Command, tmp_path: Path) -> tuple[Path, str]:
    """An earlier output of ``c`` (junk in its place): a file, or a folder with one name it writes."""
    if c.good:
        out = tmp_path / f"out{c.good}"
        out.write_text("old")
        return out, "file"
    out = tmp_path / "out"
    out.mkdir()
    name = {"export": "person_keypoints.json", "train": "log.txt"}[c.name]
    (out / name).write_text("old")
    return out, name


@pytest.mark.parametrize("c", CHEAP, ids=lambda c: c.name)
def test_existing_needs_overwrite(c, tmp_path, run):
    i = Inputs(tmp_path)
    out, name = _existing(c, tmp_path)
    refused(c, i, run, str(out), "use --overwrite")
    r = invoke(c, c.argv(i, run, str(out), "--overwrite"))
    assert r.exit_code == 0, r.output
    replaced = out if name == "file" else out / name
    assert not replaced.exists() or replaced.read_bytes() != b"old"
    if name == "file":
        assert out.stat().st_size > 3
    else:
        assert len(list(out.iterdir())) > 1


@pytest.mark.parametrize("c", [c for c in CHEAP if c.good == ""] + [CHEAP[[x.name for x in CHEAP].index("generate")]],
                         ids=lambda c: c.name)
def test_overwrite_never_empties_a_foreign_folder(c, tmp_path, run):
    i = Inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused(c, i, run, str(out) + "/", "'notes.txt'", "--overwrite")


def test_preview_jpg_is_a_jpeg(tmp_path):
    i = Inputs(tmp_path)
    r = CliRunner().invoke(datagen_main, ["preview", str(i.rendered()), "--n", "2", "-o", str(tmp_path / "s.jpg")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    r = CliRunner().invoke(datagen_main, ["preview", str(i.rendered()), "--n", "2", "-o", str(tmp_path / "s.png")])
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_generate_takes_a_run_folder(tmp_path, run):
    r = CliRunner().invoke(psgan_main, ["generate", str(run / "run"), "--poses", str(run / "tiny.h5"), "--rows", "0:2",
                                        "-o", str(tmp_path / "a.gif")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.gif").read_bytes()[:4] == b"GIF8"
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(psgan_main, ["generate", str(tmp_path / "empty"), "--poses", str(run / "tiny.h5"),
                                        "-o", str(tmp_path / "b.gif")])
    assert r.exit_code == 1 and "checkpoints/latest.pt" in r.output


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("c", [c for c in COMMANDS if c.blender], ids=lambda c: c.name)
def test_blender_commands_overwrite(c, tmp_path):
    i = Inputs(tmp_path)
    out, _ = _existing(c, tmp_path)
    refused(c, i, tmp_path, str(out), "use --overwrite")
    r = invoke(c, c.argv(i, tmp_path, str(out), "--overwrite"))
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert "\r" not in r.output          # not a terminal: no progress bar, plain lines
