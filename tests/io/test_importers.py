import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from helpers.openpose_files import OPENPOSE, OPENPOSE_IMAGES, TABLE, openpose_dirs, photo, write_image  # noqa: F401
from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main
from datagen.format import open_dataset
from datagen.io.deepfashion import inshop_path, read_annotations
from datagen.io.importers import ImportJobError, ImportOptions, import_deepfashion, import_openpose, read_image
from datagen.io.letterbox import letterbox_image
from datagen.io.openpose import read_openpose, to_format
from datagen.format.validate import validate_dataset

def expected_openpose_row(img: Path, kp: Path, stem: str, person: int, size: int = 256):
    w, h, ext = OPENPOSE_IMAGES[stem]
    image, box = letterbox_image(read_image(img / f"{stem}{ext}"), size)
    xy, ok, conf = to_format(read_openpose(kp / f"{stem}_keypoints.json")[person])
    return image, box.apply_points(xy).astype(np.float32), ok, conf.astype(np.float32)


def test_openpose_import_real_files(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    out = tmp_path / "out.h5"
    summary = import_openpose(img, kp, out, ImportOptions(workers=1))
    assert summary.imported == 5 and summary.entries == 5 and not summary.skipped
    assert summary.dropped_people == 1  # random_keypoints.json holds two people
    assert "imported 5 rows from 5 source entries; left out 1 other people" in summary.format()
    assert validate_dataset(out) == 5
    with open_dataset(out) as ds:
        assert ds.keypoint_set.name == "coco18" and ds.image_size == 256
        assert ds.config["importer"] == "openpose" and ds.config["min_keypoints"] == 10
        sources = list(ds.read("meta/source"))
        assert sources == ["random.jpg"] + [f"video_00000000000{i}.png" for i in range(4)]
        for row, src in enumerate(sources):
            image, xy, ok, conf = expected_openpose_row(img, kp, Path(src).stem, 0)
            np.testing.assert_array_equal(ds.images()[row], image)
            np.testing.assert_array_equal(ds.xy[row], xy)
            np.testing.assert_array_equal(ds.visibility[row], np.where(ok, 2, 0))
            np.testing.assert_array_equal(ds.read("pose/confidence")[row], conf)
    from psgan.data import PoseData  # the trainer takes it like rendered data

    assert PoseData(out).num_keypoints == 18


def test_person_all_and_thresholds(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    s = import_openpose(img, kp, tmp_path / "all.h5", ImportOptions(person="all", workers=1))
    assert s.imported == 6 and s.dropped_people == 0
    with open_dataset(tmp_path / "all.h5") as ds:
        assert list(ds.read("meta/source")[:2]) == ["random.jpg", "random.jpg"]
        np.testing.assert_array_equal(ds.xy[1], expected_openpose_row(img, kp, "random", 1)[1])

    counts = {stem: to_format(read_openpose(kp / f"{stem}_keypoints.json"))[1].sum(-1) for stem in OPENPOSE_IMAGES}
    s = import_openpose(img, kp, tmp_path / "15.h5", ImportOptions(min_keypoints=15, workers=1))
    assert s.imported == sum(int(c.max() >= 15) for c in counts.values())
    assert s.skipped == {"fewer than 15 keypoints": 5 - s.imported}
    s = import_openpose(img, kp, tmp_path / "conf.h5", ImportOptions(min_confidence=0.8, min_keypoints=0, workers=1))
    with open_dataset(tmp_path / "conf.h5") as ds:
        conf = ds.read("pose/confidence")
        assert (conf[ds.visibility > 0] >= 0.8).all() and np.isnan(ds.xy[ds.visibility == 0]).all()


def test_letterboxed_size(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    import_openpose(img, kp, tmp_path / "o.h5", ImportOptions(size=64, workers=1))
    with open_dataset(tmp_path / "o.h5") as ds:
        image, xy, _, _ = expected_openpose_row(img, kp, "video_000000000001", 0, 64)
        np.testing.assert_array_equal(ds.xy[2], xy)
        np.testing.assert_array_equal(ds.images(64)[2], image)


def add_bad_files(img: Path, kp: Path) -> dict[str, str]:
    """Crafted bad inputs: keypoint file name -> the reason it is skipped for."""
    good = (OPENPOSE / "coco18_v1.0" / "random_keypoints.json").read_text()
    cases = {"truncated": (good[:200], "bad JSON"), "notjson": ("<html>", "bad JSON"),
             "short": ('{"people":[{"pose_keypoints_2d":[1,2,3,4,5,6]}]}', "wrong number of values"),
             "nan": (good.replace("447.67", "NaN"), "NaN value"),
             "noimage": (good, "missing image"), "garbage": (good, "unreadable image"),
             "cutjpeg": (good, "unreadable image")}
    for stem, (text, _) in cases.items():
        (kp / f"{stem}_keypoints.json").write_text(text)
        if stem not in ("noimage", "garbage", "cutjpeg"):
            write_image(img / f"{stem}.png", photo(800, 700))
    (img / "garbage.jpg").write_bytes(b"\x00not an image" * 100)
    jpeg = cv2.imencode(".jpg", photo(800, 700))[1].tobytes()
    (img / "cutjpeg.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    return {f"{stem}_keypoints.json": reason for stem, (_, reason) in cases.items()}


def test_bad_files_are_reported_and_skipped(openpose_dirs, tmp_path, caplog):
    img, kp = openpose_dirs
    bad = add_bad_files(img, kp)
    s = import_openpose(img, kp, tmp_path / "o.h5", ImportOptions(workers=1))
    assert s.imported == 5 and s.entries == 5 + len(bad)
    assert s.skipped == {"bad JSON": 2, "wrong number of values": 1, "NaN value": 1, "missing image": 1,
                         "unreadable image": 2}
    assert len(s.problems) == len(bad)
    for name in ("truncated", "notjson", "short", "nan", "noimage"):
        assert any(f"{name}_keypoints.json" in p for p in s.problems), name
    assert any("garbage.jpg" in p for p in s.problems) and any("cutjpeg.jpg: truncated JPEG" in p for p in s.problems)
    assert sum("skipped" in r.message for r in caplog.records) == len(bad)
    assert validate_dataset(tmp_path / "o.h5") == 5


def test_strict_stops_without_output(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    (kp / "zzz_keypoints.json").write_text('{"people": [')
    out = tmp_path / "out" / "o.h5"
    out.parent.mkdir()
    with pytest.raises(ImportJobError, match=r"zzz_keypoints.json: not valid JSON.*\(--strict\)"):
        import_openpose(img, kp, out, ImportOptions(strict=True, workers=1))
    assert list(out.parent.iterdir()) == []  # no output, no partial, no temporary folder
    out.write_bytes(b"the earlier file")
    with pytest.raises(ImportJobError):
        import_openpose(img, kp, out, ImportOptions(strict=True, workers=1, overwrite=True))
    assert out.read_bytes() == b"the earlier file" and list(out.parent.iterdir()) == [out]


def test_nothing_to_import(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    with pytest.raises(ImportJobError, match=r"no rows to import \(imported 0 rows from 5 source entries; "
                                             r"skipped 5 \(5 fewer than 18 keypoints\)"):
        import_openpose(img, kp, tmp_path / "o.h5", ImportOptions(min_keypoints=18, workers=1))
    assert list(tmp_path.glob("o.h5*")) == [] and list(tmp_path.glob(".o.h5*")) == []
    with pytest.raises(ImportJobError, match="no \\*_keypoints.json files"):
        import_openpose(img, img, tmp_path / "o.h5")
    with pytest.raises(ImportJobError, match="--size 300 is not a power of two"):
        ImportOptions(size=300)


def test_worker_processes_give_the_same_file(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    add_bad_files(img, kp)
    one = import_openpose(img, kp, tmp_path / "one.h5", ImportOptions(workers=1, chunk=3))
    two = import_openpose(img, kp, tmp_path / "two.h5", ImportOptions(workers=2, chunk=3))
    assert one.format() == two.format() and sorted(one.problems) == sorted(two.problems)
    with open_dataset(tmp_path / "one.h5") as a, open_dataset(tmp_path / "two.h5") as b:
        for name in ("pose/xy", "pose/visibility", "pose/confidence", "meta/source", "images/256", "images/4"):
            np.testing.assert_array_equal(a.read(name), b.read(name))
    with pytest.raises(ImportJobError, match=r"cutjpeg.jpg: truncated JPEG.*\(--strict\)$"):
        import_openpose(img, kp, tmp_path / "strict.h5", ImportOptions(workers=2, chunk=3, strict=True))
    assert sorted(p.name for p in tmp_path.iterdir() if "strict" in p.name or "import-" in p.name) == []


# -- DeepFashion -----------------------------------------------------------------------------------

N_ROWS = 40  # table rows used (of 300), to keep the test quick


@pytest.fixture
def inshop(tmp_path):
    """An In-shop img/ tree holding 256x256 JPEGs for the first N_ROWS names of the real table, a
    table of those rows, and their annotations."""
    rows, _ = read_annotations(TABLE)
    rows = rows[:N_ROWS]
    table = tmp_path / "fasion-annotation-test.csv"
    table.write_text("\n".join(TABLE.read_text().splitlines()[:N_ROWS + 1]) + "\n")
    root = tmp_path / "In-shop"
    for i, a in enumerate(rows):
        p = root / inshop_path(a.name)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_image(p, photo(256, 256, i))
    return table, root, rows


def test_deepfashion_import(inshop, tmp_path):
    table, root, rows = inshop
    keep = [a for a in rows if a.present.sum() >= 10]
    s = import_deepfashion(table, root, tmp_path / "df.h5", ImportOptions(workers=1))
    assert s.imported == len(keep) and s.skipped == {"fewer than 10 keypoints": N_ROWS - len(keep)}
    assert validate_dataset(tmp_path / "df.h5") == len(keep)
    with open_dataset(tmp_path / "df.h5") as ds:
        assert list(ds.read("meta/source")) == [inshop_path(a.name) for a in keep]
        want = np.stack([a.xy for a in keep]) + [40.5, 0.5]  # crop -> 256x256 original, pixel centres
        np.testing.assert_array_equal(ds.xy, want.astype(np.float32))
        np.testing.assert_array_equal(ds.visibility, np.where(np.isfinite(want).all(-1), 2, 0))
        np.testing.assert_array_equal(ds.images()[0], read_image(root / inshop_path(keep[0].name)))
    # --size 128 halves the coordinates; img/ itself as --images works too.
    import_deepfashion(table, root / "img", tmp_path / "df128.h5", ImportOptions(size=128, workers=1))
    with open_dataset(tmp_path / "df128.h5") as ds:
        np.testing.assert_allclose(ds.xy, (want / 2).astype(np.float32))


def test_deepfashion_flat_crops_match_the_originals(inshop, tmp_path):
    """Pose-Transfer's 176x256 crops in a flat folder give the same rows as the In-shop originals."""
    table, root, rows = inshop
    flat = tmp_path / "fashion_data_test"
    flat.mkdir()
    for a in rows:
        write_image(flat / a.name, read_image(root / inshop_path(a.name))[:, 40:216])
    import_deepfashion(table, root, tmp_path / "a.h5", ImportOptions(workers=1))
    import_deepfashion(table, flat, tmp_path / "b.h5", ImportOptions(workers=1))
    with open_dataset(tmp_path / "a.h5") as a, open_dataset(tmp_path / "b.h5") as b:
        np.testing.assert_array_equal(a.xy, b.xy)
        assert b.read("meta/source")[0] == rows[0].name


def test_deepfashion_partition_and_bad_input(inshop, tmp_path):
    table, root, rows = inshop
    keep = [a for a in rows if a.present.sum() >= 10]
    part = tmp_path / "list_eval_partition.txt"
    status = ["train", "query", "gallery"]
    part.write_text(f"{len(keep)}\nimage_name item_id evaluation_status\n" + "".join(
        f"{inshop_path(a.name)} x {status[i % 3]}\n" for i, a in enumerate(keep[:-1])))  # last one unlisted
    s = import_deepfashion(table, root, tmp_path / "tr.h5", ImportOptions(workers=1), partition=part, split="train")
    assert s.imported == len(range(0, len(keep) - 1, 3))
    assert s.skipped["not in split train"] == len(keep) - 1 - s.imported
    assert s.skipped["not in the partition file"] == N_ROWS - len(keep) + 1  # filtered before counting keypoints
    s = import_deepfashion(table, root, tmp_path / "te.h5", ImportOptions(workers=1), partition=part, split="test")
    assert s.imported == len(keep) - 1 - len(range(0, len(keep) - 1, 3))
    with pytest.raises(ImportJobError, match="--split train needs --partition"):
        import_deepfashion(table, root, tmp_path / "x.h5", split="train")

    (root / inshop_path(keep[0].name)).unlink()
    with table.open("a") as f:
        f.write("fasionWOMENDressesid0000553705_4full.jpg: [1, 2]: [3]\n")
    s = import_deepfashion(table, root, tmp_path / "bad.h5", ImportOptions(workers=1))
    assert s.imported == len(keep) - 1
    assert s.skipped["missing image"] == 1 and s.skipped["wrong number of values"] == 1
    assert any(f"{table}:{N_ROWS + 2}" in p for p in s.problems)
    with pytest.raises(ImportJobError, match=f"{table}:{N_ROWS + 2}: keypoints_y has 2 values"):
        import_deepfashion(table, root, tmp_path / "bad2.h5", ImportOptions(strict=True, workers=1))
    table.write_text("".join(table.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(ImportJobError, match=f"{table}:{keep[0].line}: no image img/"):
        import_deepfashion(table, root, tmp_path / "bad2.h5", ImportOptions(strict=True, workers=1))
    assert not (tmp_path / "bad2.h5").exists()


# -- command line ----------------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_import_openpose(openpose_dirs, tmp_path):
    img, kp = openpose_dirs
    r = run("import-openpose", "--images", img, "--keypoints", kp, "-o", tmp_path / "o.h5", "--person", "all",
            "--size", "64", "--min-keypoints", "12", "--min-confidence", "0.1", "--image-compression", "none",
            "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "imported" in r.output and f"wrote {tmp_path / 'o.h5'}" in r.output
    with open_dataset(tmp_path / "o.h5") as ds:
        assert ds.image_size == 64 and ds.config["person"] == "all" and ds.config["min_confidence"] == 0.1
        assert ds.images().compression is None and ds.config["image_compression"] == "none"
    (kp / "bad_keypoints.json").write_text("{")
    r = run("import-openpose", "--images", img, "--keypoints", kp, "-o", tmp_path / "s.h5", "--strict")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1].startswith(f"Error: {kp / 'bad_keypoints.json'}: not valid JSON")
    r = run("import-openpose", "--images", img, "--keypoints", kp, "-o", tmp_path / "s.h5", "--size", "100")
    assert r.exit_code == 1 and r.output.strip() == "Error: --size 100 is not a power of two >= 4"


def test_cli_import_deepfashion(inshop, tmp_path):
    table, root, rows = inshop
    r = run("import-deepfashion", "--csv", table, "--images", root, "-o", tmp_path / "d.h5", "--workers", "1")
    assert r.exit_code == 0, r.output
    assert f"skipped {sum(a.present.sum() < 10 for a in rows)} (" in r.output
    r = run("import-deepfashion", "--csv", table, "--images", root, "-o", tmp_path / "d2.h5", "--split", "test")
    assert r.exit_code == 1 and "--split test needs --partition" in r.output
