"""Small MikuMikuDance files written by the tests (never third-party ones): a humanoid model as PMX 2.0
(UTF-16 names) or PMD (Shift-JIS names), a texture in a subfolder, VMD motions and VPD poses.

The model (``ミク.pmx``): MMD's standard bones (センター, グルーブ, 上半身, 上半身2, 下半身, 首, 頭,
肩, 腕, 腕捩, ひじ, 手捩, 手首, 足, ひざ, 足首, つま先), IK legs (足ＩＫ, つま先ＩＫ), and on the PMX
"D" legs (足D, ひざD, 足首D, 足先EX) that the leg boxes are skinned to, as in real models; one box per
deforming bone (the upper arm shares its box with the twist bone, BDEF2). Coordinates in MMD units
(Y up, facing -Z, left = +X). Materials ``肌`` (texture ``tex/肌.png``) and ``服`` (a plain colour).
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

ARM_DOWN = np.radians(35.0)
_c, _s = np.cos(ARM_DOWN), np.sin(ARM_DOWN)


def skeleton(d_bones: bool = True) -> list[tuple[str, str, tuple, tuple, str | None]]:
    """(name, English name, head, tail, parent) in file order."""
    b = [("全ての親", "master", (0, 0, 0), (0, 1, 0), None),
         ("センター", "center", (0, 8.0, 0), (0, 7.0, 0), "全ての親"),
         ("グルーブ", "groove", (0, 8.4, 0), (0, 9.4, 0), "センター"),
         ("上半身", "upper body", (0, 11.5, 0.2), (0, 13.4, 0.2), "グルーブ"),
         ("上半身2", "upper body2", (0, 13.4, 0.2), (0, 15.9, 0.3), "上半身"),
         ("首", "neck", (0, 16.0, 0.3), (0, 17.0, 0.2), "上半身2"),
         ("頭", "head", (0, 17.0, 0.2), (0, 19.8, 0.2), "首"),
         ("下半身", "lower body", (0, 11.5, 0.2), (0, 10.0, 0.2), "グルーブ")]
    for j, s, x in (("左", "L", 1.0), ("右", "R", -1.0)):
        elbow = (x * (1.6 + 3.2 * _c), 15.2 - 3.2 * _s, 0.5)
        wrist = (elbow[0] + x * 3.0 * _c, elbow[1] - 3.0 * _s, 0.5)
        hand = (wrist[0] + x * 1.3 * _c, wrist[1] - 1.3 * _s, 0.5)
        mid_arm = tuple((np.array((x * 1.6, 15.2, 0.5)) + elbow) / 2)
        mid_fore = tuple((np.array(elbow) + wrist) / 2)
        b += [(f"{j}肩", f"shoulder_{s}", (x * 0.3, 15.5, 0.4), (x * 1.6, 15.2, 0.5), "上半身2"),
              (f"{j}腕", f"arm_{s}", (x * 1.6, 15.2, 0.5), elbow, f"{j}肩"),
              (f"{j}腕捩", f"arm twist_{s}", mid_arm, elbow, f"{j}腕"),
              (f"{j}ひじ", f"elbow_{s}", elbow, wrist, f"{j}腕捩"),
              (f"{j}手捩", f"wrist twist_{s}", mid_fore, wrist, f"{j}ひじ"),
              (f"{j}手首", f"wrist_{s}", wrist, hand, f"{j}手捩"),
              (f"{j}足", f"leg_{s}", (x * 0.9, 10.4, 0.2), (x * 0.9, 5.6, -0.1), "下半身"),
              (f"{j}ひざ", f"knee_{s}", (x * 0.9, 5.6, -0.1), (x * 0.9, 1.1, 0.3), f"{j}足"),
              (f"{j}足首", f"ankle_{s}", (x * 0.9, 1.1, 0.3), (x * 0.9, 0.2, -1.4), f"{j}ひざ"),
              (f"{j}つま先", f"toe_{s}", (x * 0.9, 0.2, -1.4), (x * 0.9, 0.2, -1.9), f"{j}足首"),
              (f"{j}足ＩＫ", f"leg IK_{s}", (x * 0.9, 1.1, 0.3), (x * 0.9, 1.1, -0.7), "全ての親"),
              (f"{j}つま先ＩＫ", f"toe IK_{s}", (x * 0.9, 0.2, -1.4), (x * 0.9, -0.8, -1.4), f"{j}足ＩＫ")]
    if d_bones:
        for j, s, x in (("左", "L", 1.0), ("右", "R", -1.0)):
            b += [(f"{j}足D", f"leg_{s}_D", (x * 0.9, 10.4, 0.2), (x * 0.9, 5.6, -0.1), "下半身"),
                  (f"{j}ひざD", f"knee_{s}_D", (x * 0.9, 5.6, -0.1), (x * 0.9, 1.1, 0.3), f"{j}足D"),
                  (f"{j}足首D", f"ankle_{s}_D", (x * 0.9, 1.1, 0.3), (x * 0.9, 0.2, -0.8), f"{j}ひざD"),
                  (f"{j}足先EX", f"toe_{s}_EX", (x * 0.9, 0.2, -0.8), (x * 0.9, 0.2, -1.9), f"{j}足首D")]
    return b


# deforming bone -> (half width, half depth) of its box; the box runs head -> tail
def _boxes(d_bones: bool) -> dict[str, tuple[float, float]]:
    leg = "D" if d_bones else ""
    out = {"上半身": (1.3, 0.8), "上半身2": (1.4, 0.8), "首": (0.4, 0.4), "頭": (1.3, 1.3), "下半身": (1.3, 0.8)}
    for j in "左右":
        out.update({f"{j}肩": (0.4, 0.4), f"{j}腕": (0.45, 0.45), f"{j}ひじ": (0.38, 0.38), f"{j}手首": (0.35, 0.2),
                    f"{j}足{leg}": (0.6, 0.6), f"{j}ひざ{leg}": (0.45, 0.45), f"{j}足首{leg}": (0.4, 0.35)})
        if d_bones:
            out[f"{j}足先EX"] = (0.4, 0.2)
    return out


def geometry(d_bones: bool = True, rings: int = 2):
    """Vertices (V,3), UVs (V,2), weights [(bone, bone2, w)] per vertex, triangles (T,3) by material
    (skin first: head and hands; then clothes), and the skeleton. Each box is a tube of ``rings`` rings of
    4 vertices along its bone (2: a plain box of 8 vertices; more for a heavier mesh)."""
    bones = skeleton(d_bones)
    by = {n: (np.array(h, float), np.array(t, float)) for n, _, h, t, _ in bones}
    idx = {n: i for i, (n, *_rest) in enumerate(bones)}
    verts, uvs, weights, tris = [], [], [], {"skin": [], "cloth": []}
    last = 4 * (rings - 1)
    for name, (hw, hd) in _boxes(d_bones).items():
        h, t = by[name]
        axis = (t - h) / np.linalg.norm(t - h)
        h, t = h - axis * 0.15, t + axis * 0.15
        side = np.array([0, 0, 1.0]) if abs(axis[2]) < 0.9 else np.array([0, 1.0, 0])
        u = np.cross(axis, side)
        u /= np.linalg.norm(u)
        v = np.cross(axis, u)
        twist = name.replace("腕", "腕捩") if name.endswith("腕") else None
        base = len(verts)
        for ring in range(rings):
            f = ring / (rings - 1)
            p = h + (t - h) * f
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                verts.append(p + su * hw * u + sv * hd * v)
                uvs.append(((su + 1) / 2, f))
                # the upper arm's far end is shared with its twist bone (BDEF2), like real arms
                weights.append((idx[name], idx[twist], 0.5) if twist and ring == rings - 1 else (idx[name], -1, 1.0))
        quads = [(0, 1, 2, 3), (last, last + 3, last + 2, last + 1)]
        for r0 in range(0, last, 4):
            quads += [(r0, r0 + 4, r0 + 5, r0 + 1), (r0 + 1, r0 + 5, r0 + 6, r0 + 2), (r0 + 2, r0 + 6, r0 + 7, r0 + 3),
                      (r0 + 3, r0 + 7, r0 + 4, r0)]
        group = "skin" if name.endswith(("頭", "手首")) else "cloth"
        for a, b_, c, d in quads:
            tris[group] += [(base + a, base + c, base + b_), (base + a, base + d, base + c)]
    return (np.array(verts), np.array(uvs), weights, np.array(tris["skin"] + tris["cloth"]),
            len(tris["skin"]), bones)


def write_png(path: Path, rgb: tuple[int, int, int], size: int = 4) -> Path:
    """A tiny solid-colour RGB PNG."""
    raw = b"".join(b"\0" + bytes(rgb) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


SKIN_RGB = (230, 150, 120)
CLOTH_RGBA = (0.15, 0.35, 0.8, 1.0)


def write_pmx(path: Path, texture: str | None = "tex/肌.png", write_texture: bool = True, rings: int = 2,
              version: float = 2.0, utf8: bool = False) -> Path:
    """The model as PMX 2.0 with UTF-16 names (or ``version`` 2.1, ``utf8`` names, whose BDEF2 vertices
    are then written as 2.1's QDEF); its texture written beside it unless told otherwise."""
    verts, uvs, weights, tris, n_skin, bones = geometry(d_bones=True, rings=rings)

    def _utf16(s: str) -> bytes:
        b = s.encode("utf-8" if utf8 else "utf-16-le")
        return struct.pack("<i", len(b)) + b
    idx = {n: i for i, (n, *_rest) in enumerate(bones)}
    out = bytearray(b"PMX " + struct.pack("<f", version) + bytes([8, int(utf8), 0, 2 if len(verts) < 65536 else 4, 1, 1, 2, 1, 1]))
    for s in ("ミク", "Miku", "テスト用の小さなモデル", "a small test model"):
        out += _utf16(s)
    out += struct.pack("<i", len(verts))
    for p, uv, (b1, b2, w) in zip(verts, uvs, weights):
        out += struct.pack("<8f", *p, 0, 0, -1, *uv)
        if b2 < 0:
            out += struct.pack("<Bh", 0, b1)
        elif version >= 2.1:
            out += struct.pack("<B4h4f", 4, b1, b2, -1, -1, w, 1 - w, 0, 0)
        else:
            out += struct.pack("<Bhhf", 1, b1, b2, w)
        out += struct.pack("<f", 1.0)
    out += struct.pack("<i", tris.size) + tris.astype("<u2" if len(verts) < 65536 else "<i4").tobytes()
    out += struct.pack("<i", 1 if texture else 0) + (_utf16(texture.replace("/", "\\")) if texture else b"")
    out += struct.pack("<i", 2)
    for name, en, rgba, tex, faces in (("肌", "skin", (1, 1, 1, 1), 0 if texture else -1, n_skin),
                                       ("服", "cloth", CLOTH_RGBA, -1, len(tris) - n_skin)):
        out += _utf16(name) + _utf16(en) + struct.pack("<4f3ff3fB4ff", *rgba, 0, 0, 0, 5, 0.3, 0.3, 0.3, 1,
                                                        0, 0, 0, 1, 1.0)
        out += struct.pack("<bbBBb", tex, -1, 0, 1, 0) + _utf16("") + struct.pack("<i", faces * 3)
    out += struct.pack("<i", len(bones))
    iks = {f"{j}足ＩＫ": (f"{j}足首", [f"{j}ひざ", f"{j}足"]) for j in "左右"}
    iks.update({f"{j}つま先ＩＫ": (f"{j}つま先", [f"{j}足首"]) for j in "左右"})
    for name, en, head, tail, parent in bones:
        flags = 0x0002 | 0x0008 | 0x0010
        extra = b""
        if name.endswith("D") or name.endswith("EX"):
            flags |= 0x0100  # inherits its non-D bone's rotation (read and skipped)
            extra += struct.pack("<hf", idx[name[:-1] if name.endswith("D") else name.replace("足先EX", "足首")], 1.0)
        if "捩" in name:
            flags |= 0x0400
            extra += struct.pack("<3f", 1, 0, 0)
        if name in iks:
            flags |= 0x0020 | 0x0004
            eff, links = iks[name]
            extra += struct.pack("<hif", idx[eff], 40, 2.0) + struct.pack("<i", len(links))
            for k in links:
                extra += struct.pack("<hB", idx[k], 1 if "ひざ" in k else 0)
                if "ひざ" in k:
                    extra += struct.pack("<6f", -3.14, 0, 0, -0.01, 0, 0)
        out += _utf16(name) + _utf16(en) + struct.pack("<3fhiH", *head, idx.get(parent, -1), 0, flags)
        out += struct.pack("<3f", *(np.array(tail) - head)) + extra
    out += struct.pack("<iiii", 0, 0, 0, 0)  # morphs, display frames, rigid bodies, joints
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    if texture and write_texture:
        write_png(path.parent / texture, SKIN_RGB)
    return path


def _sjis(s: str, n: int) -> bytes:
    b = s.encode("shift_jis")[:n]
    return b + b"\0" * (n - len(b))


def write_pmd(path: Path, texture: str | None = "tex/肌.png") -> Path:
    """The model (no D bones, as in the PMD era) as PMD with Shift-JIS names."""
    verts, uvs, weights, tris, n_skin, bones = geometry(d_bones=False)
    idx = {n: i for i, (n, *_rest) in enumerate(bones)}
    out = bytearray(b"Pmd" + struct.pack("<f", 1.0) + _sjis("ミク", 20) + _sjis("テスト", 256))
    out += struct.pack("<I", len(verts))
    for p, uv, (b1, b2, w) in zip(verts, uvs, weights):
        out += struct.pack("<8fHHBB", *p, 0, 0, -1, *uv, b1, max(b2, 0), int(round(w * 100)), 0)
    out += struct.pack("<I", tris.size) + tris.astype("<u2").tobytes()
    out += struct.pack("<I", 2)
    for rgba, tex, faces in (((1, 1, 1, 1), texture or "", n_skin), (CLOTH_RGBA, "", len(tris) - n_skin)):
        out += struct.pack("<4ff3f3fBBI", *rgba, 5, 0, 0, 0, 0.3, 0.3, 0.3, 0, 1, faces * 3) + _sjis(tex, 20)
    out += struct.pack("<H", len(bones))
    for name, _en, head, tail, parent in bones:
        tail_bone = next((k for k, (n2, _e, h2, *_r) in enumerate(bones) if n2 != name and np.allclose(h2, tail)), 0)
        out += _sjis(name, 20) + struct.pack("<HHBH3f", idx.get(parent, 0xFFFF), tail_bone, 0, 0, *head)
    out += struct.pack("<H", 4)
    for j in "左右":
        out += struct.pack("<HHBHf", idx[f"{j}足ＩＫ"], idx[f"{j}足首"], 2, 40, 2.0)
        out += struct.pack("<HH", idx[f"{j}ひざ"], idx[f"{j}足"])
        out += struct.pack("<HHBHf", idx[f"{j}つま先ＩＫ"], idx[f"{j}つま先"], 1, 40, 2.0) + struct.pack("<H", idx[f"{j}足首"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    if texture:
        write_png(path.parent / texture, SKIN_RGB)
    return path


def quat(axis, degrees: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) rotation about ``axis`` (MMD's frame)."""
    a = np.array(axis, float) / np.linalg.norm(axis)
    h = np.radians(degrees) / 2
    return (*(a * np.sin(h)), float(np.cos(h)))


_LINEAR = bytes([20, 20, 20, 20, 20, 20, 20, 20, 107, 107, 107, 107, 107, 107, 107, 107]) * 4


def write_vmd(path: Path, keys: list[tuple[str, int, tuple, tuple]], model: str = "ミク") -> Path:
    """keys: (bone, frame, position (3), quaternion (x, y, z, w)) with linear easing."""
    out = bytearray(b"Vocaloid Motion Data 0002".ljust(30, b"\0") + _sjis(model, 20))
    out += struct.pack("<I", len(keys))
    for bone, frame, pos, q in keys:
        out += _sjis(bone, 15) + struct.pack("<I3f4f", frame, *pos, *q) + _LINEAR
    out += struct.pack("<IIII", 0, 0, 0, 0)  # morphs, cameras, lights, shadows
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def dance_keys(frames: int = 30) -> list[tuple[str, int, tuple, tuple]]:
    """A short dance for the standard bones: arms swing, a knee lifts by the leg IK, the body bobs and
    turns, the head nods."""
    zero = (0.0, 0.0, 0.0)
    ident = (0.0, 0.0, 0.0, 1.0)
    k = frames
    return [
        ("センター", 0, zero, ident), ("センター", k, (0.0, -0.8, 0.0), ident),
        ("上半身", 0, zero, ident), ("上半身", k, zero, quat((0, 1, 0), 25)),
        ("頭", 0, zero, ident), ("頭", k, zero, quat((1, 0, 0), 20)),
        ("左腕", 0, zero, ident), ("左腕", k, zero, quat((0, 0, 1), 60)),
        ("右腕", 0, zero, ident), ("右腕", k, zero, quat((0, 0, 1), 20)),
        ("右ひじ", 0, zero, ident), ("右ひじ", k, zero, quat((0, 1, 0), 70)),
        ("左足ＩＫ", 0, zero, ident), ("左足ＩＫ", k, (0.0, 3.0, -2.0), ident),
        ("右足ＩＫ", 0, zero, ident), ("右足ＩＫ", k, (0.0, 0.8, 0.0), ident),
    ]


def write_vpd(path: Path, pose: list[tuple[str, tuple, tuple]], model: str = "ミク.osm") -> Path:
    """A VPD pose (Shift-JIS text): (bone, position, quaternion x y z w)."""
    lines = ["Vocaloid Pose Data file", "", f"{model};\t\t// 親ファイル名", f"{len(pose)};\t\t\t\t// 総ポーズボーン数", ""]
    for i, (bone, pos, q) in enumerate(pose):
        lines += [f"Bone{i}{{{bone}", "  {:f},{:f},{:f};\t\t\t\t// trans x,y,z".format(*pos),
                  "  {:f},{:f},{:f},{:f};\t\t// Quaternion x,y,z,w".format(*q), "}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\r\n".join(lines).encode("shift_jis"))
    return path
