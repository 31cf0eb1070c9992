import h5py
import numpy as np
from click.testing import CliRunner
from PIL import Image

from datagen.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_info(rendered_file):
    r = run("info", rendered_file)
    assert r.exit_code == 0, r.output
    assert "rows         6" in r.output
    assert "16x16, levels 16, 8, 4, masks" in r.output
    assert "avatar20 (20)" in r.output
    assert "costumes     2: red" in r.output and "clips        3: idle" in r.output
    assert "LeftHand" in r.output


def test_validate_ok_and_broken(rendered_file):
    r = run("validate", rendered_file)
    assert r.exit_code == 0 and "valid pose-dataset v1, 6 rows" in r.output
    with h5py.File(rendered_file, "a") as f:
        f.attrs["version"] = 9
    r = run("validate", rendered_file)
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [f"Error: {rendered_file}: format version 9 is not supported "
                                             "(this tool reads version 1)"]


def test_preview_draws_pairs(rendered_file, tmp_path):
    out = tmp_path / "sheet.png"
    r = run("preview", rendered_file, "-o", out, "--rows", "0,2", "--size", "32", "--cols", "2", "--no-captions")
    assert r.exit_code == 0, r.output
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (2 + 32 + 2, 2 * (32 + 2 + 32) + 3 * 2, 3)
    pose_tile = sheet[2:34, 36:68]
    # White background with coloured (non-grey) skeleton strokes.
    assert (pose_tile == 255).all(-1).mean() > 0.5
    assert (pose_tile.max(-1).astype(int) - pose_tile.min(-1) > 100).any()


def test_bad_input_is_one_line(tmp_path, rendered_file):
    r = run("info", tmp_path / "missing.h5")
    assert r.exit_code == 2 and "does not exist" in r.output
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    r = run("validate", bad)
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1 and str(bad) in r.output
    r = run("preview", rendered_file, "-o", tmp_path / "s.png", "--rows", "99")
    assert r.exit_code == 1 and "row 99 is outside" in r.output
    assert not (tmp_path / "s.png").exists()
