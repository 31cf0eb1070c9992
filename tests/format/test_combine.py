"""`datagen combine`: renders of different rigs, imports and sizes joined into one file that every command reads."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from helpers.psgan_data import TINY_TRAIN
from helpers.synthetic import synthetic_rows, write_synthetic
from datagen.cli import main
from datagen.format import DatasetHeader, DatasetWriter, open_dataset
from datagen.format.combine import combine_datasets
from datagen.format.keypoint_sets import conversion_index, get_keypoint_set
from datagen.format.pyramid import build_pyramid
from datagen.format.validate import validate_dataset


def render_like(path: Path, rig: str, sha: str, costumes: list[str], clips: list[str], n: int = 6, size: int = 16,
                seed: int = 0, tables: dict | None = None) -> Path:
    """A rendered-style file whose config names its rig, as `datagen render` writes it."""
    rows = synthetic_rows(n, size, seed=seed)
    rows["meta/costume"] = (np.arange(n) % len(costumes)).astype(np.int32)
    rows["meta/clip"] = (np.arange(n) % len(clips)).astype(np.int32)
    header = DatasetHeader("avatar20", size, config={"rig": rig, "rig_sha256": sha}, costume_names=costumes,
                           clip_names=clips, tables=tables or {})
    with DatasetWriter(path, header) as w:
        w.append(rows)
    return path


def combine(*args) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["combine", *map(str, args)])
    return r.exit_code, r.output


@pytest.fixture
def three(tmp_path) -> tuple[Path, Path, Path]:
    a = write_synthetic(tmp_path / "a.h5", n=6, size=16)
    b = write_synthetic(tmp_path / "b.h5", n=5, size=32, seed=1)
    c = write_synthetic(tmp_path / "people.h5", n=4, size=16, keypoint_set="coco18", rendered=False, seed=2)
    return a, b, c


def test_two_renders_and_an_import_with_size_and_keypoint_set(three, tmp_path):
    a, b, c = three
    out = tmp_path / "all.h5"
    code, text = combine(a, b, c, "--size", "16", "--keypoint-set", "coco18", "-o", out)
    assert code == 0, text
    assert "b.h5: images resampled from 32x32 to 16x16" in text
    assert "a.h5: keypoints converted from avatar20 to coco18; missing (visibility 0): Nose, REye, LEye, REar, LEar" \
        in text
    assert "wrote" in text and "15 rows from 3 files" in text
    assert validate_dataset(out) == 15
    coco18, avatar20 = get_keypoint_set("coco18"), get_keypoint_set("avatar20")
    idx = conversion_index(avatar20, coco18)
    with open_dataset(out) as ds, open_dataset(a) as da, open_dataset(b) as db, open_dataset(c) as dc:
        assert ds.keypoint_set.name == "coco18" and ds.image_size == 16
        assert ds.names("input") == [str(a), str(b), str(c)]
        np.testing.assert_array_equal(ds.read("meta/input"), [0] * 6 + [1] * 5 + [2] * 4)
        # A mix of renders and imports keeps images and keypoints; each row names its file and row.
        assert not ds.has("masks/16") and not ds.has("pose/xyz") and not ds.has("meta/costume")
        assert list(ds.read("meta/source")) == [f"a.h5#{i}" for i in range(6)] + [f"b.h5#{i}" for i in range(5)] \
            + list(dc.read("meta/source"))
        xy, vis = ds.pose()
        have = idx >= 0
        np.testing.assert_array_equal(xy[:6][:, have], da.xy[:, idx[have]])
        assert (vis[:11][:, ~have] == 0).all() and np.isnan(xy[:11][:, ~have]).all()
        np.testing.assert_array_equal(xy[6:11][:, have], db.xy[:, idx[have]] / 2)  # 32 -> 16: half the pixels
        np.testing.assert_array_equal(xy[11:], dc.xy)
        # A smaller size is the input's own pyramid level; unchanged images are copied byte for byte.
        np.testing.assert_array_equal(ds.images(16)[6:11], db.images(16)[:])
        np.testing.assert_array_equal(ds.images(8)[6:11], db.images(8)[:])
        np.testing.assert_array_equal(ds.images(16)[:6], da.images(16)[:])
        np.testing.assert_array_equal(ds.images(16)[11:], dc.images(16)[:])


def test_renders_keep_cameras_masks_and_tables_and_upsample(three, tmp_path):
    a, b, _ = three
    out = tmp_path / "r.h5"
    s = combine_datasets([a, b], out, size=32)
    assert s["rows"] == 11 and s["notes"] == [f"{a}: images resampled from 16x16 to 32x32 (upsampled)"]
    assert validate_dataset(out) == 11  # the projection of /pose/xyz through the scaled cameras is /pose/xy
    with open_dataset(out) as ds, open_dataset(a) as da:
        masks = ds.read("masks/32")
        assert set(np.unique(masks)) <= {0, 255}
        np.testing.assert_array_equal(masks[:6], np.repeat(np.repeat(da.read("masks/16"), 2, 1), 2, 2))
        np.testing.assert_array_equal(ds.xy[:6], da.xy * 2)
        levels = build_pyramid(ds.images(32)[:6])
        np.testing.assert_array_equal(ds.images(4)[:6], levels[4])
        # Both files say nothing of their rig: their costumes are different characters, told apart by file.
        assert ds.names("costume") == ["red", "blue", "b/red", "b/blue"]
        assert ds.names("clip") == ["idle", "walk", "run"]
    with open_dataset(out) as ds, open_dataset(b) as db:
        np.testing.assert_array_equal(ds.read("meta/costume")[6:], db.read("meta/costume") + 2)


def test_costumes_of_one_rig_are_shared_and_of_other_rigs_kept_apart(tmp_path):
    a = render_like(tmp_path / "walk.h5", "rigs/avatar.blend", "aaa", ["red", "blue"], ["walk"])
    b = render_like(tmp_path / "run.h5", "/abs/avatar.blend", "aaa", ["blue", "green"], ["run", "walk"], seed=1)
    c = render_like(tmp_path / "robot.h5", "robot.glb", "bbb", ["red"], ["walk"], seed=2)
    d = render_like(tmp_path / "two.h5", ["x.glb", "y.vrm"], ["x1", "y1"], ["x", "y"], ["walk"], seed=3,
                    tables={"meta/costume_rigs": ["x.glb", "y.vrm"]})
    out = tmp_path / "cast.h5"
    code, text = combine(a, b, c, d, "-o", out)
    assert code == 0, text
    assert validate_dataset(out) == 24
    with open_dataset(out) as ds:
        # The same file (by content) in two renders is one character; robot.glb's red is another costume.
        assert ds.names("costume") == ["red", "blue", "green", "robot/red", "x", "y"]
        assert list(ds.read("meta/costume_rigs")) == ["rigs/avatar.blend", "rigs/avatar.blend", "/abs/avatar.blend",
                                                      "robot.glb", "x.glb", "y.vrm"]
        assert ds.names("clip") == ["walk", "run"]
        costume, clip, inp = ds.read("meta/costume"), ds.read("meta/clip"), ds.read("meta/input")
        names, clips = ds.names("costume"), ds.names("clip")
        assert [names[i] for i in costume[6:12]] == ["blue", "green"] * 3
        assert [clips[i] for i in clip[6:12]] == ["run", "walk"] * 3
        assert [names[i] for i in costume[inp == 2]] == ["robot/red"] * 6
        assert ds.config["combine"]["inputs"] == [str(a), str(b), str(c), str(d)]
        assert ds.config["inputs"][2]["rig"] == "robot.glb"


@pytest.mark.slow
def test_info_preview_export_and_train_read_the_result(three, tmp_path):
    from psgan.cli import main as psgan_main

    a, b, c = three
    out = tmp_path / "all.h5"
    assert combine(a, b, c, "--size", "16", "--keypoint-set", "coco18", "-o", out)[0] == 0
    runner = CliRunner()
    r = runner.invoke(main, ["info", str(out)])
    assert r.exit_code == 0 and "rows         15" in r.output and "inputs       3 files" in r.output, r.output
    r = runner.invoke(main, ["preview", str(out), "-o", str(tmp_path / "sheet.png"), "--size", "16"])
    assert r.exit_code == 0 and (tmp_path / "sheet.png").stat().st_size > 0, r.output
    r = runner.invoke(main, ["view", str(out), "-o", str(tmp_path / "page.html"), "--size", "16"])
    assert r.exit_code == 0 and "(15 tiles)" in r.output, r.output
    r = runner.invoke(main, ["export", str(out), "--to", "openpose", "-o", str(tmp_path / "op")])
    assert r.exit_code == 0 and "exported 15 rows" in r.output, r.output
    r = runner.invoke(psgan_main, ["train", str(out), "-o", str(tmp_path / "run"), *TINY_TRAIN])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "run" / "checkpoints" / "latest.pt").exists()


def test_streaming_in_small_chunks_gives_the_same_file(three, tmp_path, monkeypatch):
    import datagen.format.combine as mod

    a, b, c = three
    whole = combine_datasets([a, b, c], tmp_path / "whole.h5", size=16, keypoint_set="body25")
    monkeypatch.setattr(mod, "CHUNK_BYTES", 16 * 16 * 4 * 2)  # two rows a chunk
    combine_datasets([a, b, c], tmp_path / "small.h5", size=16, keypoint_set="body25")
    assert whole["rows"] == 15
    with h5py.File(tmp_path / "whole.h5") as f, h5py.File(tmp_path / "small.h5") as g:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for n in names:
            x, y = f[n][()], g[n][()]
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), n


def test_a_combined_file_combines_again(three, tmp_path):
    a, b, _ = three
    first = combine_datasets([a, b], tmp_path / "ab.h5", size=16)
    again = combine_datasets([tmp_path / "ab.h5", a], tmp_path / "aba.h5")
    assert first["rows"] == 11 and again["rows"] == 17
    assert validate_dataset(tmp_path / "aba.h5") == 17
    with open_dataset(tmp_path / "aba.h5") as ds:
        assert ds.names("input") == [str(tmp_path / "ab.h5"), str(a)]
        assert ds.config["inputs"][0]["combine"]["inputs"] == [str(a), str(b)]


@pytest.mark.parametrize("case", ["size", "set", "pose-only", "out-is-input", "twice"])
def test_mismatches_are_one_line_and_write_nothing(case, three, tmp_path):
    from helpers.cli_checks import check_one_line_error, snapshot

    a, b, c = three
    if case == "pose-only":
        rows = {k: v for k, v in synthetic_rows(3, 16).items() if k not in ("images", "masks", "meta/costume")}
        header = DatasetHeader("avatar20", 16, config={}, clip_names=["x", "y", "z"], attrs={"pose_only": 1})
        with DatasetWriter(tmp_path / "poses.h5", header) as w:
            w.append(rows)
    args, named = {"size": ([a, b], "image size 32 differs from"),
                   "set": ([a, c], "keypoint set coco18 differs from"),
                   "pose-only": ([a, tmp_path / "poses.h5"], "poses.h5: is a pose-only file"),
                   "out-is-input": ([a, b, "--overwrite"], "is also an input"),
                   "twice": ([a, a], "is given twice")}[case]
    out = a if case == "out-is-input" else tmp_path / "out.h5"
    before = snapshot(tmp_path)
    r = CliRunner().invoke(main, ["combine", *map(str, args), "-o", str(out)])
    check_one_line_error(r, 1, named, before, tmp_path)
