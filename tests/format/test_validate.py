import h5py
import numpy as np
import pytest

from helpers.synthetic import write_synthetic
from datagen.errors import DatasetError
from datagen.format.validate import validate_dataset


def test_valid_files_pass(rendered_file, imported_file):
    assert validate_dataset(rendered_file) == 6
    assert validate_dataset(imported_file, quick=True) == 6


def _set(name, fn):
    def breakage(f):
        data = f[name][:]
        fn(data)
        f[name][...] = data
    return breakage


@pytest.mark.parametrize("breakage,message", [
    (_set("pose/xy", lambda a: a.__setitem__((1, 3), np.nan)), r"row 1 keypoint Head is \[nan, nan\] \(not finite\)"),
    (_set("pose/visibility", lambda a: a.__setitem__((2, 0), 7)), "row 2 keypoint Hips is 7"),
    (_set("images/8", lambda a: a.__setitem__((3, 0, 0, 0), a[3, 0, 0, 0] ^ 1)),
     "/images/8 row 3 is not the 2x2 box average"),
    (_set("pose/xy", lambda a: a.__setitem__((4, 5, 0), a[4, 5, 0] + 0.5)),
     "row 4 keypoint LeftUpperArm is 0.5000 px from the projection"),
    (_set("meta/clip", lambda a: a.__setitem__(0, 3)), "/meta/clip row 0 is 3"),
    (_set("keypoints/flip", lambda a: a.__setitem__(0, 1)), "not a mirror pairing"),
    (lambda f: f.__delitem__("camera/intrinsics"), "lacks /camera/intrinsics"),
    (_set("meta/frame", lambda a: a.__setitem__(5, -1)), "/meta/frame row 5 is -1"),
])
def test_each_invariant_is_checked(rendered_file, breakage, message):
    with h5py.File(rendered_file, "a") as f:
        breakage(f)
    with pytest.raises(DatasetError, match=message):
        validate_dataset(rendered_file)


def test_visible_keypoint_outside_frame(tmp_path):
    path = write_synthetic(tmp_path / "d.h5")
    with h5py.File(path, "a") as f:
        xy = f["pose/xy"][:]
        xy[0, 0] = [-3, 5]
        f["pose/xy"][...] = xy
        del f["pose/xyz"], f["camera/intrinsics"], f["camera/extrinsics"]
        for k in ("masks/16", "meta/costume", "meta/clip", "meta/frame"):
            del f[k]
        f.create_dataset("meta/source", data=np.array(["a"] * 6, dtype=object), dtype=h5py.string_dtype())
    with pytest.raises(DatasetError, match="outside the 16x16 frame"):
        validate_dataset(path)
