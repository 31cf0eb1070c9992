"""Render the 3x3 sheet of costumes and poses of rigs/avatar.blend (docs/avatar_sheet.png).

    .venv/bin/python rigs/render_sheet.py [--blend rigs/avatar.blend] [-o docs/avatar_sheet.png] [--size 512]

Each tile is one costume in one pose of one clip, rendered with the file's own Workbench look on white.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# (costume, clip, fraction of the clip, camera yaw in degrees)
TILES = [
    ("schoolgirl_1", "walk", 0.35, 25), ("idol_2", "wave", 0.45, 0), ("street_3", "run", 0.42, 40),
    ("summer_4", "dance", 0.30, -20), ("mage_1", "jump", 0.34, 15), ("office_5", "bow", 0.45, 60),
    ("knight_2", "turn360", 0.55, 0), ("tennis_3", "dance", 0.62, 30), ("casual_4", "idle", 0.5, -35),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blend", type=Path, default=HERE / "avatar.blend")
    ap.add_argument("-o", "--out", type=Path, default=HERE.parent / "docs" / "avatar_sheet.png")
    ap.add_argument("--size", type=int, default=512, help="tile side in pixels")
    args = ap.parse_args(argv)

    import bpy
    from PIL import Image

    from avatar import preview

    bpy.ops.wm.open_mainfile(filepath=str(args.blend), load_ui=False, use_scripts=False)
    arm = bpy.data.objects["Avatar"]
    s = args.size
    sheet = Image.new("RGB", (3 * s, 3 * s), "white")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (costume, clip, frac, yaw) in enumerate(TILES):
            preview.set_costume(costume)
            act = bpy.data.actions[clip]
            start, end = act.frame_range
            preview.set_pose(arm, clip, int(round(start + frac * (end - start))))
            preview.setup_camera(s, target=(0.0, 0.0, 0.86), ortho_scale=1.95, yaw_deg=yaw, pitch_deg=6)
            path = f"{tmp}/tile{i}.png"
            preview.render(path)
            sheet.paste(Image.open(path).convert("RGB"), ((i % 3) * s, (i // 3) * s))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
