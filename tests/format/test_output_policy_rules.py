"""The output policy's rules as a function (datagen.format.output_policy), without running a command."""
import pytest

from datagen.format.output_policy import POLICIES, Output, clear_folder, resolve_output
from datagen.format.outputs import OutputError


def test_the_suffix_decides_the_format(tmp_path):
    assert resolve_output(tmp_path / "s.JPG", "preview").format == "JPEG"
    assert resolve_output(tmp_path / "s.png", "preview").format == "PNG"
    assert resolve_output(tmp_path / "a.gif", "generate").format == "gif"
    assert resolve_output(tmp_path / "frames", "generate").format == "png frames"
    assert resolve_output(f"{tmp_path}/frames.d/", "generate").format == "png frames"
    with pytest.raises(OutputError, match=r"suffix '\.webp'; `preview` writes \.png, \.jpg or \.jpeg"):
        resolve_output(tmp_path / "s.webp", "preview")
    with pytest.raises(OutputError, match="no suffix; `render` writes .h5 or .hdf5"):
        resolve_output(tmp_path / "data", "render")


def test_folders(tmp_path):
    with pytest.raises(OutputError, match=r"is a folder; `merge` writes a dataset file \(\.h5 or \.hdf5\)"):
        resolve_output(f"{tmp_path}/new/", "merge")
    with pytest.raises(OutputError, match="`train` writes a run folder, not a .h5 file"):
        resolve_output(tmp_path / "run.h5", "train")
    assert resolve_output(tmp_path / "runs" / "deep" / "x", "train").path == tmp_path / "runs" / "deep" / "x"
    with pytest.raises(OutputError, match="does not exist"):
        resolve_output(tmp_path / "no" / "x", "export")      # only run folders are made with their parents


def test_existing_outputs(tmp_path):
    (tmp_path / "d.h5").write_text("old")
    with pytest.raises(OutputError, match=r"d.h5: exists \(use --overwrite to replace it\)"):
        resolve_output(tmp_path / "d.h5", "import-openpose")
    assert resolve_output(tmp_path / "d.h5", "import-openpose", overwrite=True).exists
    assert resolve_output(tmp_path / "d.h5", "render", resume=True).exists
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "log.txt").write_text("x")
    (run / ".lock").write_text("")
    with pytest.raises(OutputError, match=r"exists \(continue it with --resume, or use --overwrite"):
        resolve_output(run, "train")
    out = resolve_output(run, "train", overwrite=True)
    clear_folder(out, "train")
    assert [p.name for p in run.iterdir()] == [".lock"]           # the lock stays with its holder
    (run / "notes.txt").write_text("mine")
    (run / "log.txt").write_text("x")
    with pytest.raises(OutputError, match="holds 'notes.txt', which `train` does not write"):
        resolve_output(run, "train", overwrite=True)
    assert resolve_output(tmp_path / "empty-new", "export").exists is False
    (tmp_path / "empty").mkdir()
    assert resolve_output(tmp_path / "empty", "export").exists is False   # an empty folder is no output yet


def test_every_command_has_a_format():
    assert all(k.formats for k in POLICIES.values())
    assert isinstance(resolve_output.__doc__, str) and Output
