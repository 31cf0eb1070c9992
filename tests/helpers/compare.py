"""Two dataset files with the same rows, byte for byte (what resume, workers, shards and merge promise)."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from datagen.format.schema import settings_only


def datasets(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = {k: v for k, v in f.attrs.items() if k != "created"}
    # Who wrote the file and how (command line, versions) may differ between equal datasets.
    attrs["config"] = json.dumps(settings_only(json.loads(attrs["config"])), sort_keys=True)
    out["attrs"] = attrs
    return out


def assert_same_dataset(a: Path, b: Path) -> None:
    da, db = datasets(a), datasets(b)
    assert sorted(da) == sorted(db)
    assert da.pop("attrs") == db.pop("attrs")
    for name in da:
        assert np.array_equal(da[name], db[name], equal_nan=da[name].dtype.kind == "f"), name
