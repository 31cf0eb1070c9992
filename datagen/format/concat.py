"""Concatenating format-v1 files of one layout (segments, chunks, shards) into one dataset."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

import h5py
import numpy as np

from datagen.errors import DatasetError
from datagen.format.outputs import OutputError, describe_os_error, write_errors
from datagen.format.schema import DatasetHeader, create_row_dataset, row_datasets, write_header


def concat_files(sources: Iterable[str | os.PathLike], out: str | os.PathLike, header: DatasetHeader,
                 attrs: dict | None = None, resumable: bool = False) -> Path:
    """Concatenate the rows of ``sources`` (segments or whole datasets of one layout) into ``out``.

    Image chunks are copied as compressed bytes (no decode/encode); ``out`` is written under a
    temporary name and renamed when complete. A failed write (disk full, ...) removes the temporary
    and raises OutputError naming ``out`` (``resumable``: saying that ``--resume`` continues).
    """
    sources = [Path(s) for s in sources]
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    handles = []
    try:
        for s in sources:
            try:
                handles.append(h5py.File(s, "r"))
            except OSError as e:
                raise DatasetError(f"{s}: not a readable HDF5 file ({describe_os_error(e)})") from None
        with write_errors(out, resumable=resumable):
            _check_room(sources, out, resumable)
            _concat(sources, handles, out, tmp, header, attrs)
    finally:
        for h in handles:
            h.close()
    return out


def _check_room(sources: list[Path], out: Path, resumable: bool) -> None:
    """Refuse to start when the folder cannot hold the result: libhdf5 may crash (a segmentation
    fault) instead of raising when it meets a full disk. Chunks are copied compressed, so the output
    is about the sum of the sources."""
    need = sum(s.stat().st_size for s in sources) + (1 << 20)
    free = shutil.disk_usage(out.parent).free
    if free < need:
        hint = "; the committed rows are kept, run again with --resume when there is room" if resumable else ""
        reason = f"no space left on the device: about {need / 2**20:.1f} MiB needed, {free / 2**20:.1f} MiB free"
        raise OutputError(f"{out}: cannot write ({reason}){hint}", reason)


def _concat(sources: list[Path], handles: list[h5py.File], out: Path, tmp: Path, header: DatasetHeader,
            attrs: dict | None) -> None:
    try:
        layouts = [row_datasets(h) for h in handles]
        names = sorted(layouts[0])
        for src, lay in zip(sources, layouts):
            if sorted(lay) != names:
                raise DatasetError(f"{src}: datasets {sorted(lay)} differ from {sources[0]}'s {names}")
        counts = [lay["pose/xy"].shape[0] for lay in layouts]
        n = sum(counts)
        with h5py.File(tmp, "w") as f:
            write_header(f, header, attrs or {})
            for name in names:
                first = layouts[0][name]
                ds = create_row_dataset(f, name, n, first.shape[1:], first.dtype, header.image_compression)
                if name.startswith(("images/", "masks/")):
                    _copy_chunks(ds, [lay[name] for lay in layouts])
                else:
                    ds[:] = np.concatenate([lay[name][:] for lay in layouts]) if n else ds[:]
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy_chunks(dst: h5py.Dataset, srcs: list[h5py.Dataset]) -> None:
    zeros = (0,) * (dst.ndim - 1)
    row = 0
    for src in srcs:
        same = src.compression == dst.compression and src.compression_opts == dst.compression_opts \
            and src.chunks == dst.chunks
        for i in range(src.shape[0]):
            if same:
                mask, data = src.id.read_direct_chunk((i,) + zeros)
                dst.id.write_direct_chunk((row,) + zeros, data, mask)
            else:
                dst[row] = src[i]
            row += 1
