"""`datagen merge` checks (no Blender): shard files are written with the real writer."""
import numpy as np
import pytest

from helpers.synthetic import synthetic_rows
from datagen.format import DatasetHeader, DatasetWriter, open_dataset
from datagen.format.merge import MergeError, merge_shards


def write_shard(path, k, n, rows, config=None, total=None):
    total = total if total is not None else len(rows["pose/xy"]) * n
    start, end = total * k // n, total * (k + 1) // n
    part = {key: v[start:end] for key, v in rows.items()}
    attrs = {"shard": f"{k}/{n}", "shard_index": k, "shard_count": n, "job_start": start, "job_end": end,
             "jobs_total": total}
    header = DatasetHeader("avatar20", 16, config=config or {"frames": 9}, costume_names=["a", "b"],
                           clip_names=["c", "d", "e"], attrs=attrs)
    with DatasetWriter(path, header) as w:
        w.append(part)
    return path


@pytest.fixture
def rows():
    return synthetic_rows(9, 16)


def test_merge_restores_order(tmp_path, rows):
    parts = [write_shard(tmp_path / f"s{k}.h5", k, 3, rows, total=9) for k in range(3)]
    out = tmp_path / "all.h5"
    assert merge_shards([parts[1], parts[2], parts[0]], out)["rows"] == 9
    with open_dataset(out) as ds:
        np.testing.assert_array_equal(ds.images()[:], rows["images"])
        np.testing.assert_array_equal(ds.xy, rows["pose/xy"])
        assert ds.names("costume") == ["a", "b"] and {**ds.config, "provenance": None} == {"frames": 9, "provenance": None}
        # The merge's own command line, and each shard's provenance in shard order.
        assert len(ds.config["provenance"]["shards"]) == 3 and ds.config["provenance"]["tool"].startswith("datagen")
        assert "shard" not in ds.attrs


def test_merge_rejects_incompatible_or_incomplete_sets(tmp_path, rows):
    s0 = write_shard(tmp_path / "s0.h5", 0, 2, rows, total=9)
    s1 = write_shard(tmp_path / "s1.h5", 1, 2, rows, total=9)
    other = write_shard(tmp_path / "o1.h5", 1, 2, rows, config={"frames": 10}, total=9)
    out = tmp_path / "out.h5"
    with pytest.raises(MergeError, match="config differs"):
        merge_shards([s0, other], out)
    with pytest.raises(MergeError, match=r"missing shard 1/2 \(have 1 of 2\)"):
        merge_shards([s0], out)
    with pytest.raises(MergeError, match="given twice"):
        merge_shards([s0, s0, s1], out)
    plain = tmp_path / "plain.h5"
    with DatasetWriter(plain, DatasetHeader("avatar20", 16)) as w:
        w.append(synthetic_rows(2, 16))
    with pytest.raises(MergeError, match="not a shard"):
        merge_shards([plain], out)
    with pytest.raises(MergeError, match="is also an input"):
        merge_shards([s0, s1], s0, overwrite=True)
    assert not out.exists()
    merge_shards([s0, s1], out)
    with pytest.raises(MergeError, match="exists"):
        merge_shards([s0, s1], out)
