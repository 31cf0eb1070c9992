"""``datagen merge``: join the shard files of one ``datagen render --shard K/N`` run (docs/scaling.md).

The shards must come from the same settings (identical ``config``, keypoint set, image size, costume
and clip tables) and together cover every shard index 0..N-1 exactly once. Rows are joined in shard
order, which is the row order of the same render run in one process; image chunks are copied as
compressed bytes.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from datagen.format.concat import concat_files
from datagen.format.outputs import OutputLock, check_output, remove_leftovers
from datagen.format.reader import is_int, open_dataset, parse_config
from datagen.format.schema import NAME_TABLES, DatasetHeader, provenance, settings_only
from datagen.errors import DatagenError


class MergeError(DatagenError):
    """Shard files that cannot be joined into one dataset."""


_SAME = ("keypoint_set", "image_size", "config", "generator", "shard_count", "jobs_total")


def _settings(shard: dict) -> dict:
    return settings_only(parse_config(shard["attrs"].get("config", "{}"), shard["path"]))


def merge_shards(inputs: list[Path], out: Path, *, overwrite: bool = False) -> dict:
    """Check and join shard files into ``out``; return a summary dict."""
    if not inputs:
        raise MergeError("no shard files given")
    out = Path(out)
    if any(Path(p).resolve() == out.resolve() for p in inputs):
        raise MergeError(f"{out}: is also an input")
    if out.exists() and not overwrite:
        raise MergeError(f"{out}: exists (use --overwrite to replace it)")
    check_output(out, overwrite=overwrite)
    with OutputLock(out):
        remove_leftovers(out)
        check_output(out, overwrite=overwrite)
        return _merge(inputs, out)


def _merge(inputs: list[Path], out: Path) -> dict:
    shards = []
    for path in inputs:
        with open_dataset(path) as ds:
            attrs = dict(ds.attrs)
            if "shard_index" not in attrs:
                raise MergeError(f"{path}: not a shard of a datagen render run (no shard attribute)")
            for key in ("shard_index", "shard_count", "job_start", "job_end", "jobs_total"):
                if not is_int(attrs.get(key)) or int(attrs[key]) < 0:
                    raise MergeError(f"{path}: shard attribute {key} is {attrs.get(key)!r}, expected an integer >= 0")
            ds.pose()  # finite keypoints where visible: bad rows are not copied into the merged file
            shards.append({"path": Path(path), "attrs": attrs, "costumes": ds.names("costume"),
                           "clips": ds.names("clip"), "rows": ds.n,
                           "tables": {t: list(ds.read(t)) for t in NAME_TABLES[2:] if ds.has(t)}})
    first = shards[0]
    for s in shards[1:]:
        for key in _SAME:
            same = _settings(s) == _settings(first) if key == "config" else \
                str(s["attrs"].get(key)) == str(first["attrs"].get(key))
            if not same:
                raise MergeError(f"{s['path']}: {key} differs from {first['path']}'s; "
                                 f"shards of different runs cannot be merged")
        for table in ("costumes", "clips", "tables"):
            if s[table] != first[table]:
                raise MergeError(f"{s['path']}: {table} differ from {first['path']}'s")
    n = int(first["attrs"]["shard_count"])
    seen: dict[int, Path] = {}
    for s in shards:
        k = int(s["attrs"]["shard_index"])
        if k in seen:
            raise MergeError(f"{s['path']}: shard {k}/{n} is given twice (also {seen[k]})")
        seen[k] = s["path"]
    missing = [f"{k}/{n}" for k in range(n) if k not in seen]
    if missing:
        raise MergeError(f"missing shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(have {len(seen)} of {n})")
    shards.sort(key=lambda s: int(s["attrs"]["shard_index"]))
    end = 0
    for s in shards:
        a = s["attrs"]
        if int(a["job_start"]) != end or int(a["job_end"]) - int(a["job_start"]) != s["rows"]:
            raise MergeError(f"{s['path']}: rows {a['job_start']}..{a['job_end']} do not continue at row {end} "
                             f"(an incomplete or altered shard)")
        end = int(a["job_end"])
    if end != int(first["attrs"]["jobs_total"]):
        raise MergeError(f"shards cover {end} of {first['attrs']['jobs_total']} rows")
    header = DatasetHeader(str(first["attrs"]["keypoint_set"]), int(first["attrs"]["image_size"]),
                           generator=str(first["attrs"]["generator"]),
                           config={**settings_only(parse_config(first["attrs"]["config"], first["path"])),
                                   "provenance": {**provenance(), "shards": [
                                       parse_config(s["attrs"]["config"], s["path"]).get("provenance")
                                       for s in shards]}},
                           costume_names=first["costumes"] or None, clip_names=first["clips"] or None,
                           tables=first["tables"])
    concat_files([s["path"] for s in shards], out, header,
                 {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return {"out": str(out), "rows": end, "shards": n}
