"""Docs that run: every `datagen` and `psgan` command line in README.md and docs/*.md, and the Python
examples of README.md, docs/inspecting.md and docs/training.md, run as written in a scratch folder.

Tiny sizes, by one mechanical rewrite (:func:`tiny`), so the whole file takes a few minutes:
``--frames N`` becomes ``--frames 4`` and ``--size N`` ``--size 64`` (added to ``datagen render`` when
absent), and a render of the default avatar without ``--costumes`` renders two of its costumes;
``psgan train`` gets :data:`TINY_TRAIN` (16x16, 16 images a phase, tiny networks) in place of its
size options and its ``--final-kimg``, ``psgan posenet train`` ``--res 16 --steps 2``, ``psgan eval`` a few poses and images.

The user's own files the docs name are stand-ins made from the shared assets (../shared/assets/):
``robot.glb`` (the glTF robot), ``character.vrm`` (the Godette VRM), ``outfits/`` (two copies of it, ``summer.glb`` and ``winter.glb``: one
character in two outfits), ``walk.bvh`` (the CMU BVH clip), ``people.h5`` (an OpenPose import of 32x32), ``photos/`` + ``json/`` (the real
OpenPose files with generated photos of their sizes), ``video_json/`` (the OpenPose frames of one video),
``ミク/ミク.pmx`` with its texture, ``dance.vmd`` and ``pose.vpd`` (written by
tests/helpers/mmd_files.py), ``coco18.h5`` with ``runs/anim`` and its cached detector (the animation walk-through's coco18 data), the DeepFashion table and its ``In-shop/`` images,
``data.h5`` (a tiny render of the default avatar), ``part*.h5`` / ``part-*.h5`` (a complete set of shard
files), ``runs/<name>`` and ``latest.pt`` (tiny trained runs, with and without pose), ``posenet.pt``
(also as ``data.posenet-16.pt``, the detector ``psgan eval`` caches beside the data).
Each command runs in a fresh folder holding them, without the file it writes (``-o data.h5`` starts
with no data.h5, ``--resume`` starts from the tiny run).

docs/training-other-models.md needs the export libraries: tests/export/test_export_docs.py runs its commands
in the export venv (`make test-export`).

Not run: docs/results.md and docs/benchmarks.md (records of measured runs, reproduced by
tests/bench/), lines of cluster job scripts (``.venv/bin/datagen`` in docs/scaling.md), and
``torchrun`` lines (several processes; multi-process training is tests/psgan/training/test_ddp.py).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.psgan_data import tiny_train
from helpers.synthetic import SHARED_ASSETS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = {"results.md", "benchmarks.md", "training-other-models.md"}
PYTHON_DOCS = ["README.md", "docs/inspecting.md", "docs/training.md"]
TWO_COSTUMES = "schoolgirl_1,sporty_1"
TINY_TRAIN = tiny_train(max_res=16)

TINY_EVAL = ["--poses", "4", "--fid-images", "4", "--diversity-poses", "2", "--diversity-latents", "2"]
RUNS = {"full": [], "small": [], "demo": [], "psgan": [], "pggan": ["--no-pose"], "nopose": ["--no-pose"]}

pytestmark = pytest.mark.blender


def shell_blocks(text: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S) if m.group(1) in ("", "bash", "sh")]


def doc_commands() -> list[tuple[str, str]]:
    """(doc name, command) for every line of a shell block that starts with `datagen ` or `psgan `
    (continuations joined, comments dropped)."""
    out = []
    for doc in DOCS:
        if doc.name in NOT_RUN:
            continue
        for block in shell_blocks(doc.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith(("datagen ", "psgan ")):
                    out.append((doc.relative_to(ROOT).as_posix(), line))
    return out


def tiny(cmd: str) -> str:
    """The documented command at tiny sizes (the rewrite the module docstring states)."""
    cmd = re.sub(r"--frames \d+", "--frames 4", cmd)
    if cmd.startswith("datagen render") and "--list" not in cmd:
        cmd = re.sub(r"--size \d+", "--size 64", cmd) if "--size" in cmd else cmd + " --size 64"
        if "--rig" not in cmd and "--costumes" not in cmd:
            cmd += f" --costumes {TWO_COSTUMES}"
    if cmd.startswith("psgan train"):
        for opt in (*TINY_TRAIN[::2], "--final-kimg"):   # a documented last phase would outlast the tiny ones
            cmd = re.sub(rf" {opt} \S+", "", cmd)
        cmd += " " + " ".join(TINY_TRAIN)
    if cmd.startswith("psgan posenet train"):
        cmd = re.sub(r" --res \d+", "", cmd) + " --res 16 --steps 2"
    if cmd.startswith("psgan eval"):
        cmd += " " + " ".join(TINY_EVAL)
    return cmd


def written(cmd: str) -> set[str]:
    """The files ``cmd`` writes: its -o (every command that writes has one: README "Outputs")."""
    args = shlex.split(cmd)
    if "--dry-run" in args or "--list" in args:
        return set()
    return {args[i + 1].rstrip("/") for i, a in enumerate(args[:-1]) if a in ("-o", "--out")}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """The stand-in user files, built once."""
    from datagen.cli import main
    from datagen.io.deepfashion import inshop_path, read_annotations
    from helpers.openpose_files import OPENPOSE, OPENPOSE_IMAGES, TABLE, photo, write_image

    d = tmp_path_factory.mktemp("doc-inputs")
    (d / "robot.glb").symlink_to(SHARED_ASSETS / "rigs" / "RobotExpressive.glb")
    (d / "walk.bvh").symlink_to(SHARED_ASSETS / "motion" / "131_01.bvh")
    from helpers import mmd_files

    mmd_files.write_pmx(d / "ミク" / "ミク.pmx")  # with its texture ミク/tex/肌.png
    mmd_files.write_vmd(d / "dance.vmd", mmd_files.dance_keys(30))
    mmd_files.write_vpd(d / "pose.vpd", [("左腕", (0, 0, 0), mmd_files.quat((0, 0, 1), 30))])
    (d / "outfits").mkdir()
    for outfit in ("summer", "winter"):  # copies: two files of one character (a link would be the same file twice)
        shutil.copy(SHARED_ASSETS / "rigs" / "RobotExpressive.glb", d / "outfits" / f"{outfit}.glb")
    (d / "character.vrm").symlink_to(SHARED_ASSETS / "rigs" / "Godette_vrm_v4.vrm")
    (d / "json").mkdir()
    (d / "photos").mkdir()
    for f in OPENPOSE.glob("*/*_keypoints.json"):
        shutil.copy(f, d / "json" / f.name)
    shutil.copytree(OPENPOSE / "body25_v1.3", d / "video_json")
    for i, (stem, (w, h, ext)) in enumerate(OPENPOSE_IMAGES.items()):
        write_image(d / "photos" / f"{stem}{ext}", photo(w, h, i))
    rows, _ = read_annotations(TABLE)
    (d / "fasion-annotation-train.csv").write_text("\n".join(TABLE.read_text().splitlines()[:21]) + "\n")
    for i, a in enumerate(rows[:20]):
        p = d / "In-shop" / inshop_path(a.name)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_image(p, photo(64, 64, i))

    def run(*args):
        r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert r.exit_code == 0, r.output

    run("render", "--frames", "4", "--size", "64", "--costumes", TWO_COSTUMES, "--quiet", "-o", d / "data.h5")
    run("import-openpose", "--images", d / "photos", "--keypoints", d / "json", "--size", "32", "--workers", "1",
        "--min-keypoints", "1", "-o", d / "people.h5")
    (d / "shards").mkdir()
    for k in range(2):
        run("render", "--rig", d / "robot.glb", "--frames", "2", "--size", "64", "--shard", f"{k}/2", "--quiet",
            "-o", d / "shards" / f"{k}.h5")
    from psgan.cli import main as psgan_main

    for name, extra in RUNS.items():
        r = CliRunner().invoke(psgan_main, ["train", str(d / "data.h5"), "-o", str(d / "runs" / name), *TINY_TRAIN,
                                            *extra])
        assert r.exit_code == 0, r.output
    shutil.copy(d / "runs" / "full" / "checkpoints" / "latest.pt", d / "latest.pt")
    run("render", "--keypoints", "coco18", "--frames", "4", "--size", "64", "--costumes", TWO_COSTUMES, "--quiet",
        "-o", d / "coco18.h5")
    r = CliRunner().invoke(psgan_main, ["train", str(d / "coco18.h5"), "-o", str(d / "runs" / "anim"), *TINY_TRAIN])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(psgan_main, ["posenet", "train", str(d / "coco18.h5"), "-o",
                                        str(d / "coco18.posenet-16.pt"), "--res", "16", "--steps", "2"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(psgan_main, ["posenet", "train", str(d / "data.h5"), "-o", str(d / "posenet.pt"),
                                        "--res", "16", "--steps", "2"])
    assert r.exit_code == 0, r.output
    # `psgan eval` without --posenet uses the detector cached beside the data (else trains one for minutes).
    shutil.copy(d / "posenet.pt", d / "data.posenet-16.pt")
    return d


def scratch(inputs: Path, tmp_path: Path, cmd: str) -> Path:
    """A fresh folder with the inputs, less what ``cmd`` writes; shard files named as ``cmd`` globs them."""
    work = tmp_path / "work"
    work.mkdir()
    out = written(cmd)
    if "--resume" in cmd:
        out = {o for o in out if not o.startswith("runs/")}  # resume continues the existing run
    for p in inputs.iterdir():
        if p.name == "runs":  # copied: --resume writes into its run
            shutil.copytree(p, work / "runs", ignore=lambda d, names: [n for n in names if f"runs/{n}" in out])
        elif p.name not in out and p.name != "shards":
            (work / p.name).symlink_to(p.resolve() if not p.is_symlink() else os.readlink(p),
                                       target_is_directory=p.is_dir())
    for pattern in ("part-", "part"):
        if f"{pattern}*.h5" in cmd:
            for k, f in enumerate(sorted((inputs / "shards").iterdir())):
                shutil.copy(f, work / f"{pattern}{k}.h5")
            break
    return work


def env() -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), e.get("PYTHONPATH", "")])
    return e


COMMANDS = doc_commands()


def test_the_docs_have_commands():
    docs = {d for d, _ in COMMANDS}
    assert {"README.md", "docs/rendering.md", "docs/importers.md", "docs/inspecting.md"} <= docs
    assert len(COMMANDS) >= 25
    assert not [c for _, c in COMMANDS if "../shared" in c]  # a clone has no ../shared


@pytest.mark.parametrize("doc,cmd", COMMANDS, ids=[f"{d}:{c[:60]}" for d, c in COMMANDS])
def test_documented_command_runs(doc, cmd, inputs, tmp_path):
    work = scratch(inputs, tmp_path, cmd)
    run = tiny(cmd)
    r = subprocess.run(["bash", "-c", run], cwd=work, env=env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{doc}: {cmd}\nran: {run}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    for out in written(cmd):
        assert (work / out).exists(), f"{doc}: {cmd} did not write {out}"


@pytest.mark.parametrize("doc", PYTHON_DOCS)
def test_documented_python_runs(doc, inputs, tmp_path):
    blocks = [m.group(1) for m in re.finditer(r"```python\n(.*?)```", (ROOT / doc).read_text(), re.S)]
    assert blocks
    work = scratch(inputs, tmp_path, "")
    script = work / "example.py"
    script.write_text("\n".join(blocks))
    r = subprocess.run([sys.executable, str(script)], cwd=work, env=env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"{doc}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
