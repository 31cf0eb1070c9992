"""Every psgan command on bad input (issue 12, the psgan half), table-driven: each case asserts the exit
code (1: a bad file or value the library found; 2: a bad option value click found, README "Exit codes"),
one `Error:` line, the offending file or value named in it, no traceback, and nothing left behind in the
folder the command was pointed at."""
from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from datagen.format import DatasetHeader, DatasetWriter
from psgan.checkpoint import load_checkpoint, save_checkpoint
from psgan.cli import main
from psgan.evaluation.posenet import PoseNet, PoseNetConfig, save_posenet
from helpers.psgan_data import TINY_TRAIN, write_tiny_dataset

TRAIN = [*TINY_TRAIN, "--device", "cpu"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Good and bad inputs, each named: {name: path}."""
    d = tmp_path_factory.mktemp("bad")
    f: dict[str, Path] = {"dir": d}
    f["data"] = write_tiny_dataset(d / "tiny.h5", n=16, size=16)
    r = CliRunner().invoke(main, ["train", str(f["data"]), "-o", str(d / "run"), *TRAIN])
    assert r.exit_code == 0, r.output
    f["ckpt"] = d / "run" / "checkpoints" / "latest.pt"
    ck = {k: v for k, v in load_checkpoint(f["ckpt"]).items() if k not in ("format", "version")}

    def variant(name, **change):
        c = {**ck, **change}
        for k in [k for k, v in change.items() if v is None]:
            del c[k]
        f[name] = save_checkpoint(d / f"{name}.pt", c)
    variant("ck_no_gema", G_ema=None)
    cfg = json.loads(ck["config"])
    variant("ck_bad_field", config=json.dumps({**cfg, "model": {**cfg["model"], "wings": 2}}))
    variant("ck_bad_json", config="{not json")
    variant("ck_bad_shape", G_ema={k: v[..., :1] if v.ndim else v for k, v in ck["G_ema"].items()})
    variant("ck_bad_res", resolution=12)
    (d / "junk.pt").write_bytes(b"not a checkpoint")
    f["junk"] = d / "junk.pt"
    torch.save({"format": "psgan-checkpoint", "version": 7}, d / "v7.pt")
    f["ck_v7"] = d / "v7.pt"
    (d / "junk.h5").write_bytes(b"not hdf5 at all")
    f["junk_h5"] = d / "junk.h5"
    with h5py.File(d / "other.h5", "w") as h:
        h["x"] = np.zeros(3)
    f["other_h5"] = d / "other.h5"
    coco = d / "coco.h5"                                 # 18 keypoints: not what a 20-keypoint model takes
    rng = np.random.default_rng(0)
    with DatasetWriter(coco, DatasetHeader("coco18", 16)) as w:
        w.append({"images": rng.integers(0, 255, (8, 16, 16, 3), dtype=np.uint8),
                  "pose/xy": rng.uniform(1, 15, (8, 18, 2)).astype(np.float32),
                  "pose/visibility": np.full((8, 18), 2, np.uint8)})
    f["coco"] = coco
    pn = PoseNetConfig(num_keypoints=20, resolution=16, width=8, keypoint_set="avatar20")
    f["posenet"] = save_posenet(d / "posenet.pt", PoseNet(pn), pn)
    pn18 = PoseNetConfig(num_keypoints=18, resolution=16, width=8, keypoint_set="coco18")
    f["posenet18"] = save_posenet(d / "posenet18.pt", PoseNet(pn18), pn18)
    blob = torch.load(f["posenet"], weights_only=True)
    torch.save({k: v for k, v in blob.items() if k != "state_dict"}, d / "pn_nostate.pt")
    f["pn_nostate"] = d / "pn_nostate.pt"
    torch.save({**blob, "config": json.dumps({**json.loads(blob["config"]), "resolution": 12})}, d / "pn_badres.pt")
    f["pn_badres"] = d / "pn_badres.pt"
    torch.save({**blob, "config": json.dumps({**json.loads(blob["config"]), "width": 4})}, d / "pn_badw.pt")
    f["pn_badw"] = d / "pn_badw.pt"
    (d / "afile").write_text("x")
    f["afile"] = d / "afile"
    return f


def _t(*opts, code=2, names=None):
    """A `train` case into OUT (OUT must not be left behind)."""
    return ("train", ["{data}", "-o", "{out}", *TRAIN, *opts], code, names or opts[-1])


def _g(*opts, code=2, names=None, ckpt="{ckpt}", data="{data}", out="{out}.gif"):
    return ("generate", [ckpt, "--poses", data, "-o", out, "--rows", "0:2", *opts], code, names or opts[-1])


def _e(*opts, code=2, names=None, ckpt="{ckpt}", data="{data}", posenet="{posenet}"):
    return ("eval", [ckpt, "--data", data, "--posenet", posenet, "-o", "{out}.json", "--poses", "4",
                     "--fid-images", "0", *opts], code, names or opts[-1])


def _p(*opts, code=2, names=None, data="{data}", out="{out}.pt"):
    return ("posenet", ["train", data, "-o", out, "--steps", "1", *opts], code, names or opts[-1])


CASES = {
    # -- train: option values ----------------------------------------------------------------------
    "train seed -1": _t("--seed", "-1"),
    "train seed too big": _t("--seed", "99999999999"),
    "train batch 0": _t("--batch", "0"),
    "train batch -4": _t("--batch", "-4"),
    "train batch word": _t("--batch", "many"),
    "train batch res 3": _t("--batch", "3:8", names="resolution 3"),
    "train batch nan": _t("--batch", "4:nan", names="4:nan"),
    "train lr -1": _t("--lr", "-1"),
    "train lr nan": _t("--lr", "nan"),
    "train lr inf": _t("--lr", "inf"),
    "train lr 0": _t("--lr", "0"),
    "train lr per res -1": _t("--lr", "4:0.001,8:-1", names="-1"),
    "train kimg nan": _t("--kimg-per-phase", "nan"),
    "train kimg inf": _t("--kimg-per-phase", "inf"),
    "train kimg 0": _t("--kimg-per-phase", "0"),
    "train final kimg nan": _t("--final-kimg", "nan"),
    "train tick nan": _t("--tick-kimg", "nan"),
    "train sample -1": _t("--sample-kimg", "-1"),
    "train ckpt inf": _t("--ckpt-kimg", "inf"),
    "train snap nan": _t("--snap", "nan"),
    "train keep -1": _t("--keep", "-1"),
    "train ema-rampup 0": _t("--ema-rampup", "0"),
    "train ema-rampup 2": _t("--ema-rampup", "2"),
    "train ema-rampup nan": _t("--ema-rampup", "nan"),
    "train ema-rampup and no warm-up": _t("--ema-rampup", "0.02", "--no-ema-warmup", names="--ema-rampup"),
    "train latent 0": _t("--latent", "0"),
    "train fmap 0": _t("--fmap-base", "0"),
    "train workers -1": _t("--workers", "-1"),
    "train cache -1": _t("--cache-mb", "-1"),
    "train threads -1": _t("--threads", "-1"),
    "train amp fp8": _t("--amp", "fp8"),
    "train max-res 3": _t("--max-res", "3"),
    "train max-res 12": _t("--max-res", "12", code=1, names="--max-res 12"),
    "train max-res 64 above data": _t("--max-res", "64", code=1, names="--max-res 64"),
    "train device banana": _t("--device", "banana", code=1, names="'banana'"),
    "train device cuda": _t("--device", "cuda", code=1, names="--device cuda"),
    "train device cuda:7": _t("--device", "cuda:7", code=1, names="--device cuda:7"),
    "train device mps": _t("--device", "mps", code=1, names="'mps'"),
    # -- train: files ------------------------------------------------------------------------------
    "train data missing": ("train", ["{dir}/nope.h5", "-o", "{out}", *TRAIN], 1, "nope.h5"),
    "train data junk": ("train", ["{junk_h5}", "-o", "{out}", *TRAIN], 1, "junk.h5"),
    "train data not pose": ("train", ["{other_h5}", "-o", "{out}", *TRAIN], 1, "other.h5"),
    "train data is a folder": ("train", ["{dir}", "-o", "{out}", *TRAIN], 2, "is a directory"),
    "train out is a file": ("train", ["{data}", "-o", "{afile}", *TRAIN], 1, "afile"),
    "train into a finished run": ("train", ["{data}", "-o", "{dir}/run", *TRAIN], 1, "--resume"),
    "train resume changed": ("train", ["{data}", "-o", "{dir}/run", "--resume", "--max-res", "16"], 1,
                             "schedule.max_res: 8 -> 16"),
    "train resume changed seed": ("train", ["{data}", "-o", "{dir}/run", "--resume", "--seed", "5"], 1,
                                  "seed: 0 -> 5"),
    "train resume changed amp": ("train", ["{data}", "-o", "{dir}/run", "--resume", "--amp", "bf16"], 1,
                                 "amp: 'auto' -> 'bf16'"),
    "train resume changed compile": ("train", ["{data}", "-o", "{dir}/run", "--resume", "--compile"], 1,
                                     "compile: False -> True"),
    # -- generate ----------------------------------------------------------------------------------
    "generate seed -1": _g("--seed", "-1"),
    "generate fps nan": _g("--fps", "nan"),
    "generate fps 0": _g("--fps", "0"),
    "generate size -1": _g("--size", "-1"),
    "generate steps 0": _g("--steps", "0", "--interpolate", "2", names="--steps"),
    "generate interpolate 1": _g("--interpolate", "1"),
    "generate grid 0": _g("--grid", "0"),
    "generate grid and interpolate": _g("--grid", "2", "--interpolate", "2", names="exclude"),
    "generate device banana": _g("--device", "banana", code=1, names="'banana'"),
    "generate device cuda": _g("--device", "cuda", code=1, names="--device cuda"),
    "generate rows 99": _g("--rows", "99", code=1, names="99"),
    "generate rows word": _g("--rows", "abc", code=1, names="abc"),
    "generate webm": _g(code=1, names="x.webm", out="{dir}/x.webm"),
    "generate avi": _g(code=1, names=".avi", out="{dir}/x.avi"),
    "generate png without grid": _g(code=1, names="x.png", out="{dir}/x.png"),
    "generate grid to gif": _g("--grid", "2", code=1, names="x.gif", out="{dir}/x.gif"),
    "generate missing folder": _g(code=1, names="nowhere", out="{dir}/nowhere/x.gif"),
    "generate ckpt missing": _g(code=1, names="gone.pt", ckpt="{dir}/gone.pt"),
    "generate ckpt junk": _g(code=1, names="junk.pt", ckpt="{junk}"),
    "generate ckpt version": _g(code=1, names="version 7", ckpt="{ck_v7}"),
    "generate ckpt lacks G_ema": _g(code=1, names="lacks G_ema", ckpt="{ck_no_gema}"),
    "generate ckpt unknown field": _g(code=1, names="wings", ckpt="{ck_bad_field}"),
    "generate ckpt config not json": _g(code=1, names="ck_bad_json.pt", ckpt="{ck_bad_json}"),
    "generate ckpt wrong shapes": _g(code=1, names="ck_bad_shape.pt", ckpt="{ck_bad_shape}"),
    "generate ckpt bad resolution": _g(code=1, names="resolution 12", ckpt="{ck_bad_res}"),
    "generate 18-keypoint data": _g(code=1, names="coco.h5", data="{coco}"),
    "generate poses junk": _g(code=1, names="junk.h5", data="{junk_h5}"),
    # -- eval --------------------------------------------------------------------------------------
    "eval poses 0": _e("--poses", "0"),
    "eval seed -1": _e("--seed", "-1"),
    "eval batch 0": _e("--batch", "0"),
    "eval fid -1": _e("--fid-images", "-1"),
    "eval latents 1": _e("--diversity-latents", "1"),
    "eval device banana": _e("--device", "banana", code=1, names="'banana'"),
    "eval device cuda": _e("--device", "cuda", code=1, names="--device cuda"),
    "eval out is a folder": ("eval", ["{ckpt}", "--data", "{data}", "--posenet", "{posenet}", "-o", "{dir}"],
                             1, "is a folder"),
    "eval out not json": ("eval", ["{ckpt}", "--data", "{data}", "--posenet", "{posenet}", "-o", "{dir}/e.txt"],
                          1, "e.txt"),
    "eval ckpt junk": _e(code=1, names="junk.pt", ckpt="{junk}"),
    "eval ckpt lacks G_ema": _e(code=1, names="lacks G_ema", ckpt="{ck_no_gema}"),
    "eval ckpt wrong shapes": _e(code=1, names="ck_bad_shape.pt", ckpt="{ck_bad_shape}"),
    "eval data junk": _e(code=1, names="junk.h5", data="{junk_h5}"),
    "eval data not pose": _e(code=1, names="other.h5", data="{other_h5}"),
    "eval 20-kp model on 18-kp data": _e(code=1, names="coco.h5", data="{coco}"),
    "eval posenet missing": _e(code=1, names="gone.pt", posenet="{dir}/gone.pt"),
    "eval posenet junk": _e(code=1, names="junk.pt", posenet="{junk}"),
    "eval posenet is a checkpoint": _e(code=1, names="latest.pt", posenet="{ckpt}"),
    "eval posenet lacks weights": _e(code=1, names="lacks state_dict", posenet="{pn_nostate}"),
    "eval posenet bad resolution": _e(code=1, names="pn_badres.pt", posenet="{pn_badres}"),
    "eval posenet wrong shapes": _e(code=1, names="pn_badw.pt", posenet="{pn_badw}"),
    "eval 18-kp detector": _e(code=1, names="posenet18.pt", posenet="{posenet18}"),
    # -- posenet train -----------------------------------------------------------------------------
    "posenet lr nan": _p("--lr", "nan"),
    "posenet lr -1": _p("--lr", "-1"),
    "posenet lr 0": _p("--lr", "0"),
    "posenet lr inf": _p("--lr", "inf"),
    "posenet batch 0": _p("--batch", "0"),
    "posenet batch -4": _p("--batch", "-4"),
    "posenet steps 0": _p("--steps", "0"),
    "posenet res 8": _p("--res", "8"),
    "posenet width 1": _p("--width", "1"),
    "posenet holdout 1": _p("--holdout", "1"),
    "posenet holdout nan": _p("--holdout", "nan"),
    "posenet minutes nan": _p("--minutes", "nan"),
    "posenet minutes 0": _p("--minutes", "0"),
    "posenet seed -1": _p("--seed", "-1"),
    "posenet device banana": _p("--device", "banana", code=1, names="'banana'"),
    "posenet device cuda": _p("--device", "cuda", code=1, names="--device cuda"),
    "posenet out is a folder": _p(code=1, names="is a folder", out="{dir}"),
    "posenet out missing folder": _p(code=1, names="nowhere", out="{dir}/nowhere/p.pt"),
    "posenet data junk": _p(code=1, names="junk.h5", data="{junk_h5}"),
    "posenet data missing": _p(code=1, names="gone.h5", data="{dir}/gone.h5"),
    "posenet data not pose": _p(code=1, names="other.h5", data="{other_h5}"),
}


def _listing(folder: Path) -> dict[str, int]:
    """Every path and its mtime; a run's .lock is re-locked by any train into it, so only its presence counts."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns if p.is_file() and p.name != ".lock" else 0)
            for p in folder.rglob("*")}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, files, tmp_path):
    cmd, args, code, named = CASES[name]
    out = tmp_path / "out"
    fill = {**{k: str(v) for k, v in files.items()}, "out": str(out)}
    argv = [cmd] + [a.format(**fill) for a in args]
    before = _listing(files["dir"])
    r = CliRunner().invoke(main, argv)
    text = r.output.strip()
    assert r.exit_code == code, (argv, r.output)
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exc_info
    assert "Traceback" not in text, text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), text
    assert named.format(**fill) in lines[0], (named, lines[0])
    assert list(tmp_path.iterdir()) == [], sorted(os.listdir(tmp_path))        # nothing left behind
    assert _listing(files["dir"]) == before                                     # nothing touched


def test_the_table_is_large_enough():
    assert len(CASES) >= 100


def test_full_disk_while_checkpointing_is_one_line_and_resumable(files, tmp_path, monkeypatch):
    """An injected ENOSPC at the checkpoint writer (no tmpfs can be mounted here): one line naming the
    file, no temporary file left, and the run resumes from its last whole checkpoint."""
    import errno

    import psgan.checkpoint as ckmod

    out = tmp_path / "run"
    real = torch.save
    calls = {"n": 0}

    def full(obj, f, *a, **kw):
        calls["n"] += 1
        if calls["n"] >= 2:                    # the first checkpoint is written, the second finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", str(f))
        return real(obj, f, *a, **kw)
    monkeypatch.setattr(ckmod.torch, "save", full)
    r = CliRunner().invoke(main, ["train", str(files["data"]), "-o", str(out), *TRAIN])
    monkeypatch.setattr(ckmod.torch, "save", real)
    errors = [x for x in r.output.splitlines() if "Error" in x or "Traceback" in x]
    assert r.exit_code == 1 and errors == [
        f"Error: {out / 'checkpoints' / 'latest.pt'}: cannot write the checkpoint (No space left on device)"], r.output
    assert not list((out / "checkpoints").glob(".*tmp*"))
    first = load_checkpoint(out / "checkpoints" / "latest.pt")["total_img"]
    r = CliRunner().invoke(main, ["train", str(files["data"]), "-o", str(out), *TRAIN, "--resume"])
    assert r.exit_code == 0, r.output
    assert load_checkpoint(out / "checkpoints" / "latest.pt")["total_img"] == 48 > first


@pytest.mark.parametrize("cmd", ["eval", "posenet"])
def test_writing_into_a_read_only_folder_is_one_line(cmd, files, tmp_path):
    """Refused before any work, naming the folder; as root too (a read-only mount, not a chmod)."""
    from helpers.read_only import read_only_folder

    with read_only_folder(tmp_path / "ro") as ro:
        fill = {**{k: str(v) for k, v in files.items()}, "out": str(ro / "out")}
        name, args, _, _ = _e("--device", "cpu") if cmd == "eval" else _p("--device", "cpu")
        argv = [name] + [a.format(**fill) for a in args]
        r = CliRunner().invoke(main, argv)
        assert r.exit_code == 1, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in r.output, r.output
        assert f"output folder {ro} is not writable" in lines[0]
