"""psgan generate and the psgan CLI (CliRunner): animations, grids, bad input as one-line errors."""
import click
import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from helpers.cli_checks import one_error_line
from helpers.psgan_data import TINY_TRAIN, train_tiny_run
from PIL import Image

from datagen.format import parse_rows
from psgan.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data, ckpt, output = train_tiny_run(tmp_path_factory.mktemp("gen"))
    assert "samples/final.png" in output
    return data, ckpt


def _gen(*args):
    return CliRunner().invoke(main, ["generate", *map(str, args)])


def test_train_writes_the_run_folder(run):
    data, ckpt = run
    folder = ckpt.parent.parent
    assert ckpt.is_file() and (folder / "config.json").is_file() and (folder / "log.jsonl").is_file()
    assert Image.open(folder / "samples" / "final.png").size[0] > 64


def test_resume_of_a_finished_run_only_rewrites_its_outputs(run):
    data, ckpt = run
    before = ckpt.read_bytes()
    r = CliRunner().invoke(main, ["train", str(data), "-o", str(ckpt.parent.parent), "--resume"])
    assert r.exit_code == 0, r.output
    from psgan.checkpoint import load_checkpoint
    assert load_checkpoint(ckpt)["total_img"] == 48 and len(before) > 0


def test_animation_gif(run, tmp_path):
    data, ckpt = run
    r = _gen(ckpt, "--poses", data, "--rows", "0:5", "-o", tmp_path / "a.gif", "--with-pose")
    assert r.exit_code == 0, r.output
    im = Image.open(tmp_path / "a.gif")
    # pose | image, padded, under a band that labels them ("pose, row 3", "generated, seed 0")
    assert im.n_frames == 5 and im.size == (2 * (128 + 2) + 2, 14 + 128 + 2 * 2)
    im.seek(3)
    head = np.asarray(im.convert("RGB"))[:14]
    assert (head[:, :130].min(-1) < 128).any() and (head[:, 132:].min(-1) < 128).any()   # text over both
    r = _gen(ckpt, "--poses", data, "--rows", "0:5", "-o", tmp_path / "plain.gif")
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "plain.gif").size == (128, 128)   # without --with-pose: the images only


def test_animation_png_folder_and_mp4(run, tmp_path):
    data, ckpt = run
    r = _gen(ckpt, "--poses", data, "--rows", "0,3,7", "-o", tmp_path / "frames", "--size", "32")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [f"frame_0000{i}.png" for i in range(3)]
    import av
    r = _gen(ckpt, "--poses", data, "--rows", "0:4", "-o", tmp_path / "a.mp4", "--size", "33")
    assert r.exit_code == 0, r.output
    with av.open(str(tmp_path / "a.mp4")) as box:          # H.264 in yuv420p: what browsers play
        st = box.streams.video[0]
        assert st.codec_context.name == "h264" and st.codec_context.pix_fmt == "yuv420p"
        frames = [f.to_ndarray(format="rgb24") for f in box.decode(st)]
    assert len(frames) == 4 and frames[0].shape == (34, 34, 3)       # odd size padded to even
    assert not list(tmp_path.glob(".a.mp4.tmp*"))


def test_unknown_output_suffix_is_refused(run, tmp_path):
    data, ckpt = run
    r = _gen(ckpt, "--poses", data, "--rows", "0:2", "-o", tmp_path / "a.webm")
    assert "a.webm" in one_error_line(r) and "suffix '.webm'; `generate` writes .gif, .mp4, .png or a folder" in r.output
    assert not (tmp_path / "a.webm").exists() and list(tmp_path.iterdir()) == []


def test_interpolation_and_grid(run, tmp_path):
    data, ckpt = run
    r = _gen(ckpt, "--poses", data, "--rows", "2", "--interpolate", "3", "--steps", "2", "-o", tmp_path / "i.gif")
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "i.gif").n_frames == 6
    r = _gen(ckpt, "--poses", data, "--rows", "0:3", "--grid", "2", "--with-pose", "--size", "16",
             "-o", tmp_path / "g.png")
    assert r.exit_code == 0, r.output
    sheet = np.asarray(Image.open(tmp_path / "g.png"))
    # 3 poses x (a pose row + 2 latents) of 16 px tiles, a label column of 64 px, a label row on top.
    top = sheet.shape[0] - (3 * 18 + 2)
    assert 12 <= top <= 16 and sheet.shape[1:] == (64 + 3 * 18 + 2, 3)
    left, head = sheet[top:, :64], sheet[:top, 64:]
    for r in range(3):                               # "pose", "seed 0", "seed 1": ink left of each row
        assert (left[2 + 18 * r:2 + 18 * r + 16] < 128).any()
    for c in range(3):                               # the dataset row above each column
        assert (head[:, 2 + 18 * c:2 + 18 * c + 16] < 128).any()


def test_fixed_latent_is_the_same_character_across_calls(run, tmp_path):
    data, ckpt = run
    for name in ("x", "y"):
        assert _gen(ckpt, "--poses", data, "--rows", "0:2", "-o", tmp_path / name, "--size", "8").exit_code == 0
    a, b = (np.asarray(Image.open(tmp_path / n / "frame_00001.png")) for n in ("x", "y"))
    assert np.array_equal(a, b)


def test_bad_input_is_one_line(run, tmp_path):
    data, ckpt = run
    runner = CliRunner()
    out = str(tmp_path / "r")
    assert "no such file" in one_error_line(runner.invoke(main, ["train", str(tmp_path / "nope.h5"), "-o", out]))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    assert "junk.h5" in one_error_line(runner.invoke(main, ["train", str(junk), "-o", out]))
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    assert "not a pose dataset" in one_error_line(runner.invoke(main, ["train", str(other), "-o", out]))
    msg = one_error_line(runner.invoke(main, ["train", str(data), "-o", str(tmp_path / "r"), "--max-res", "64"]))
    assert "--max-res 64" in msg
    msg = one_error_line(runner.invoke(main, ["train", str(data), "-o", str(ckpt.parent.parent), *TINY_TRAIN]))
    assert "--resume" in msg
    assert "checkpoint" in one_error_line(_gen(junk, "--poses", data, "-o", tmp_path / "o.gif"))
    assert "no such" in one_error_line(_gen(tmp_path / "no.pt", "--poses", data, "-o", tmp_path / "o.gif"))
    assert "not a pose dataset" in one_error_line(_gen(ckpt, "--poses", other, "-o", tmp_path / "o.gif"))
    assert "row 99" in one_error_line(_gen(ckpt, "--poses", data, "--rows", "99", "-o", tmp_path / "o.gif"))
    assert "does not exist" in one_error_line(_gen(ckpt, "--poses", data, "-o", tmp_path / "no" / "o.gif"))
    assert not (tmp_path / "o.gif").exists()


def test_parse_rows():
    assert list(parse_rows("1:7:2", 10)) == [1, 3, 5]
    assert list(parse_rows(None, 3)) == [0, 1, 2]
    with pytest.raises(click.ClickException):
        parse_rows("a:b", 10)
