"""Build rigs/avatar.blend, the default anime avatar of `datagen render`, from code (deterministic).

    .venv/bin/python rigs/build_avatar.py                 # writes rigs/avatar.blend
    .venv/bin/python rigs/build_avatar.py -o /tmp/a.blend # elsewhere
    .venv/bin/python rigs/build_avatar.py --fingerprint rigs/avatar.blend   # print its content fingerprint

Geometry, weights, costumes and motions are computed in numpy by the ``avatar`` package beside this file;
this script only assembles them with bpy (see rigs/README.md and docs/avatar.md).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

log = logging.getLogger("build_avatar")


def build(out: Path) -> dict:
    """Build the avatar into ``out`` (a .blend path); return its fingerprint."""
    import bpy

    from avatar import assemble

    bpy.ops.wm.read_factory_settings(use_empty=True)
    assemble.assemble()
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.context.preferences.filepaths.save_version = 0  # no avatar.blend1 backup beside the file
    bpy.ops.wm.save_as_mainfile(filepath=str(out), compress=True, relative_remap=False)
    return assemble.fingerprint()


def fingerprint_of(path: Path) -> dict:
    import bpy

    from avatar import assemble

    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False, use_scripts=False)
    return assemble.fingerprint()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", type=Path, default=HERE / "avatar.blend", help="output .blend")
    ap.add_argument("--fingerprint", type=Path, default=None, metavar="BLEND",
                    help="print the content fingerprint (JSON) of an existing .blend and exit")
    ap.add_argument("--json", type=Path, default=None, help="also write the fingerprint to this JSON file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.time()
    if args.fingerprint is not None:
        fp = fingerprint_of(args.fingerprint)
    else:
        fp = build(args.out)
        log.info("wrote %s in %.1f s", args.out, time.time() - t0)
    text = json.dumps(fp, indent=1, sort_keys=True)
    if args.json:
        args.json.write_text(text)
    elif args.fingerprint is not None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
