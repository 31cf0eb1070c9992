import numpy as np
import pytest

from helpers.synthetic import SHARED_ASSETS
from datagen.io.deepfashion import (SPLITS, DeepFashionError, category_folders, category_table, crop_to_image,
                                 find_image, inshop_name, inshop_path, parse_annotation_line,
                                 read_annotations, read_partition)
from datagen.format.keypoint_sets import COCO18

TABLE = SHARED_ASSETS / "deepfashion" / "fasion-annotation-test-head300.csv"


def test_reads_the_real_table():
    rows, errors = read_annotations(TABLE)
    assert len(rows) == 300 and errors == []
    first = rows[0]
    assert first.name == "fasionWOMENDressesid0000553705_4full.jpg" and first.line == 2
    assert first.xy.shape == (18, 2) and first.present.all()
    # keypoints_y then keypoints_x in the file; xy holds (x, y).
    np.testing.assert_array_equal(first.xy[COCO18.index("Nose")], [129, 24])
    np.testing.assert_array_equal(first.xy[COCO18.index("LEar")], [137, 21])
    sparse = rows[3]  # -1 marks a missing part
    assert sparse.present.sum() == 5 and np.isnan(sparse.xy[COCO18.index("Nose")]).all()


@pytest.mark.parametrize("name,path", [
    ("fasionWOMENDressesid0000553705_4full.jpg", "img/WOMEN/Dresses/id_00005537/05_4_full.jpg"),
    ("fasionWOMENTeesTanksid0000031606_2side.jpg", "img/WOMEN/Tees_Tanks/id_00000316/06_2_side.jpg"),
    ("fasionMENJacketsVestsid0000016802_1front.jpg", "img/MEN/Jackets_Vests/id_00000168/02_1_front.jpg"),
    ("fasionWOMENTeesTanksid0000738201_7additional.jpg", "img/WOMEN/Tees_Tanks/id_00007382/01_7_additional.jpg"),
    # Pose-Transfer's spelling keeps the category's underscore.
    ("fashionWOMENBlouses_Shirtsid0000637003_1front.jpg", "img/WOMEN/Blouses_Shirts/id_00006370/03_1_front.jpg"),
    ("fashionMENDenimid0000008001_1front.jpg", "img/MEN/Denim/id_00000080/01_1_front.jpg"),
])
def test_name_to_inshop_file_and_back(name, path):
    assert inshop_path(name) == path
    assert inshop_name(path, name[:6] if name.startswith("fasion") else "fashion") == name


def test_every_real_name_round_trips():
    rows, _ = read_annotations(TABLE)
    for a in rows:
        path = inshop_path(a.name)
        gender, category = path.split("/")[1:3]
        assert category in category_table().values(), a.name
        assert inshop_name(path) == a.name
        assert inshop_path(inshop_name(path, "fashion")) == path


def test_unknown_category_from_disk(tmp_path):
    (tmp_path / "img" / "WOMEN" / "Swim_Wear").mkdir(parents=True)
    folders = category_folders(tmp_path)
    assert folders == {"WOMEN": ["Swim_Wear"]}
    name = "fasionWOMENSwimWearid0000001201_1front.jpg"
    assert inshop_path(name).split("/")[2] == "SwimWear"  # unknown without the folder list
    assert inshop_path(name, category_table(folders)) == "img/WOMEN/Swim_Wear/id_00000012/01_1_front.jpg"


@pytest.mark.parametrize("name", ["photo.jpg", "fasionKIDSDressesid0000553705_4full.jpg",
                                  "fasionWOMENDressesid553705_4full.jpg"])
def test_bad_names(name):
    with pytest.raises(DeepFashionError, match="not a DeepFashion In-shop image name"):
        inshop_path(name)


def test_find_image_in_each_layout(tmp_path):
    name, rel = "fasionWOMENDressesid0000553705_4full.jpg", "img/WOMEN/Dresses/id_00005537/05_4_full.jpg"
    assert find_image(tmp_path, name, rel) is None
    for p in (tmp_path / name, tmp_path / rel.split("/", 1)[1], tmp_path / rel):  # later ones win
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
        assert find_image(tmp_path, name, rel) == p


def test_crop_coordinates_to_image_files():
    xy = np.array([[0.0, 0.0], [175.0, 255.0], [np.nan, np.nan]])
    # The 256x256 In-shop original: the crop starts at x = 40; pixel indices are pixel centres.
    np.testing.assert_array_equal(crop_to_image(xy, 256, 256)[:2], [[40.5, 0.5], [215.5, 255.5]])
    np.testing.assert_array_equal(crop_to_image(xy, 512, 512)[:2], [[81, 1], [431, 511]])
    np.testing.assert_array_equal(crop_to_image(xy, 176, 256)[:2], [[0.5, 0.5], [175.5, 255.5]])
    np.testing.assert_array_equal(crop_to_image(xy, 352, 512)[:2], [[1, 1], [351, 511]])
    assert np.isnan(crop_to_image(xy, 256, 256)[2]).all()
    with pytest.raises(DeepFashionError, match="image is 300x200"):
        crop_to_image(xy, 300, 200)


@pytest.mark.parametrize("line,match", [
    ("a.jpg: [1, 2]", "expected 3"),
    ("a.jpg: [1, 2]: [3, 4]", "has 2 values, expected 18"),
    ("a.jpg: [" + "1, " * 17 + "NaN]: [" + "1, " * 17 + "1]", "NaN"),
    ("a.jpg: [" + "1, " * 17 + '"x"]: [' + "1, " * 17 + "1]", "not a number"),
    ("a.jpg: [1, 2: [3]", "not a list of numbers"),
])
def test_bad_rows(line, match):
    with pytest.raises(DeepFashionError, match=match) as e:
        parse_annotation_line(line, "t.csv", 7)
    assert "t.csv:7" in e.value.message


def test_bad_rows_are_collected_and_bad_header_rejected(tmp_path):
    good = TABLE.read_text().splitlines()[:3]
    table = tmp_path / "t.csv"
    table.write_text("\n".join(good + ["broken", good[1]]) + "\n")
    rows, errors = read_annotations(table)
    assert len(rows) == 3 and len(errors) == 1 and f"{table}:4" in errors[0].message
    table.write_text("name,keypoints\n")
    with pytest.raises(DeepFashionError, match="header"):
        read_annotations(table)


def test_partition(tmp_path):
    p = tmp_path / "list_eval_partition.txt"
    p.write_text("3\nimage_name item_id evaluation_status\n"
                 "img/WOMEN/Dresses/id_00005537/05_4_full.jpg   id_00005537 train\n"
                 "img/MEN/Denim/id_00000080/01_1_front.jpg      id_00000080 query\n"
                 "img/MEN/Denim/id_00000080/01_2_side.jpg       id_00000080 gallery\n")
    part = read_partition(p)
    assert part["img/WOMEN/Dresses/id_00005537/05_4_full.jpg"] == "train"
    assert sorted(k for k, v in part.items() if v in SPLITS["test"]) == [
        "img/MEN/Denim/id_00000080/01_1_front.jpg", "img/MEN/Denim/id_00000080/01_2_side.jpg"]
    p.write_text("1\nimage_name item_id evaluation_status\nimg/a.jpg id_1 validation\n")
    with pytest.raises(DeepFashionError, match=f"{p}:3"):
        read_partition(p)
