"""MMD models: PMX 2.0/2.1 (UTF-16 or UTF-8 names) and PMD (Shift-JIS names) into one :class:`Model`.

Read: vertices (position, normal, UV, up to four bone weights; SDEF is read as its two-bone blend,
QDEF as BDEF4), triangles, materials (diffuse colour, texture path relative to the model), bones
(position, parent, tail, IK chains). Not read: morphs, display frames, rigid bodies, joints, soft
bodies (the model renders at rest shape; physics is not simulated). Coordinates stay MMD's (left-handed,
Y up, model facing -Z, about 8 cm per unit); :func:`to_blender` converts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datagen.mmd.binary import MMDError, Reader, read_bytes

# MMD (x, y, z) -> Blender (x, z, y) * SCALE: Z up, the model facing -Y with its left at +X, metres.
SCALE = 0.08
MMD_TO_BLENDER = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])


def to_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=float) @ MMD_TO_BLENDER.T * SCALE


@dataclass
class IKChain:
    """An IK bone drives ``effector`` to its own position by rotating ``links`` (nearest first)."""

    bone: int
    effector: int
    links: list[int]


@dataclass
class Bone:
    name: str
    name_en: str
    parent: int  # -1: none
    position: np.ndarray  # (3,) MMD units
    tail: np.ndarray  # (3,) tail position (the tail bone's head, or position + offset)
    deform: bool = True


@dataclass
class Material:
    name: str
    diffuse: tuple[float, float, float, float]
    texture: str | None  # path relative to the model's folder ('/' separators), None without one
    faces: int  # triangles of this material (materials take consecutive triangles)


@dataclass
class Model:
    path: Path
    name: str
    positions: np.ndarray  # (V,3) float
    normals: np.ndarray  # (V,3)
    uvs: np.ndarray  # (V,2), V down (DirectX)
    bone_indices: np.ndarray  # (V,4) int, -1 unused
    bone_weights: np.ndarray  # (V,4) float
    triangles: np.ndarray  # (T,3) int
    materials: list[Material]
    bones: list[Bone]
    iks: list[IKChain] = field(default_factory=list)

    @property
    def bone_names(self) -> list[str]:
        return [b.name for b in self.bones]


def load_model(path: str | Path) -> Model:
    """Parse a .pmx or .pmd file (by its magic bytes); raise MMDError naming the file otherwise."""
    path = Path(path)
    data = read_bytes(path, "MMD model")
    if data[:4] == b"PMX ":
        return _pmx(Reader(data, str(path), "PMX model"), path)
    if data[:3] == b"Pmd":
        return _pmd(Reader(data, str(path), "PMD model"), path)
    raise MMDError(f"{path}: not an MMD model (a .pmx starts with 'PMX ', a .pmd with 'Pmd')")


def _texture_path(raw: str) -> str | None:
    raw = raw.replace("\\", "/").strip()
    return raw or None


def _check(r: Reader, model: Model) -> Model:
    nv, nb = len(model.positions), len(model.bones)
    r.finite(model.positions, "a vertex position")
    if len(model.triangles) and (model.triangles.min() < 0 or model.triangles.max() >= nv):
        raise r.fail(f"a triangle names vertex {int(model.triangles.max())}, the model has {nv}")
    if (model.bone_indices >= nb).any():
        raise r.fail(f"a vertex is weighted to bone {int(model.bone_indices.max())}, the model has {nb}")
    for b in model.bones:
        if b.parent >= nb:
            raise r.fail(f"bone {b.name!r} has parent {b.parent}, the model has {nb} bones")
    if sum(m.faces for m in model.materials) > len(model.triangles):
        raise r.fail("materials cover more triangles than the model has")
    return model


# -- PMX ------------------------------------------------------------------------------------------

def _pmx(r: Reader, path: Path) -> Model:
    r.take(4, "the magic")
    version = r.one("f", "the version")
    if round(version, 1) not in (2.0, 2.1):
        raise r.fail(f"PMX version {version:g} is not supported (2.0, 2.1)")
    n_globals = r.one("B", "the header size")
    g = r.take(n_globals, "the header")
    if n_globals < 8 or g[0] not in (0, 1) or any(s not in (1, 2, 4) for s in g[2:8]):
        raise r.fail("corrupt PMX header (text encoding or index sizes out of range)")
    encoding = "utf-16-le" if g[0] == 0 else "utf-8"
    extra_uv, vsize, tsize, msize, bsize = g[1], g[2], g[3], g[4], g[5]
    if extra_uv > 4:
        raise r.fail(f"corrupt PMX header ({extra_uv} additional UVs, at most 4)")
    sfmt = {1: "b", 2: "h", 4: "i"}
    vfmt = {1: "B", 2: "H", 4: "i"}[vsize]

    def text(what: str) -> str:
        n = r.count("i", what, 1)
        return r.take(n, what).decode(encoding, errors="replace")

    name = text("the model name")
    text("the English model name"), text("the comment"), text("the English comment")

    nv = r.count("i", "vertices", 38)
    pos = np.empty((nv, 3))
    nrm = np.empty((nv, 3))
    uv = np.empty((nv, 2))
    bidx = np.full((nv, 4), -1, dtype=np.int64)
    bw = np.zeros((nv, 4))
    vert_fmt = "8f" + "4f" * extra_uv + "B"
    b2 = "2" + sfmt[bsize] + "f"
    b4 = "4" + sfmt[bsize] + "4f"
    for i in range(nv):
        v = r.unpack(vert_fmt, "a vertex")
        pos[i], nrm[i], uv[i] = v[0:3], v[3:6], v[6:8]
        kind = v[-1]
        if kind == 0:
            bidx[i, 0], bw[i, 0] = r.one(sfmt[bsize], "a vertex weight"), 1.0
        elif kind in (1, 3):
            a, b, w = r.unpack(b2, "a vertex weight")
            bidx[i, :2], bw[i, :2] = (a, b), (w, 1.0 - w)
            if kind == 3:
                r.take(36, "SDEF parameters")
        elif kind in (2, 4):
            vals = r.unpack(b4, "a vertex weight")
            bidx[i], bw[i] = vals[:4], vals[4:]
        else:
            raise r.fail(f"vertex {i} has unknown weight type {kind}")
        r.take(4, "an edge scale")
    ni = r.count("i", "face indices", vsize)
    tris = r.array({1: "u1", 2: "u2", 4: "i4"}[vsize], ni, "the faces").astype(np.int64)
    if ni % 3:
        raise r.fail(f"{ni} face indices is not a whole number of triangles")
    nt = r.count("i", "textures", 4)
    textures = [_texture_path(text("a texture path")) for _ in range(nt)]
    nm = r.count("i", "materials", 60)
    materials = []
    for _ in range(nm):
        mname = text("a material name")
        text("an English material name")
        vals = r.unpack("4f3ff3fB4ff", "a material")
        tex = r.one(sfmt[tsize], "a texture index")
        r.one(sfmt[tsize], "a sphere texture index")
        r.take(1, "a sphere mode")
        if r.one("B", "a toon flag") == 0:
            r.one(sfmt[tsize], "a toon texture index")
        else:
            r.take(1, "a toon index")
        text("a material memo")
        faces = r.one("i", "a material's face count")
        if faces < 0 or faces % 3:
            raise r.fail(f"material {mname!r}: face count {faces} is not a whole number of triangles")
        materials.append(Material(mname, tuple(vals[:4]), textures[tex] if 0 <= tex < nt else None, faces // 3))
    nb = r.count("i", "bones", 14)
    bones: list[Bone] = []
    tails: list[tuple[int, np.ndarray]] = []
    iks: list[IKChain] = []
    for j in range(nb):
        bname = text("a bone name")
        ben = text("an English bone name")
        px, py, pz, parent, _layer, flags = r.unpack(f"3f{sfmt[bsize]}iH", "a bone")
        position = np.array([px, py, pz])
        if flags & 0x0001:
            tails.append((r.one(sfmt[bsize], "a bone tail"), position))
        else:
            tails.append((-1, position + np.array(r.unpack("3f", "a bone tail offset"))))
        if flags & 0x0300:
            r.unpack(f"{sfmt[bsize]}f", "an inherited rotation")
        if flags & 0x0400:
            r.take(12, "a fixed axis")
        if flags & 0x0800:
            r.take(24, "local axes")
        if flags & 0x2000:
            r.take(4, "an external parent")
        if flags & 0x0020:
            target, _loops, _limit = r.unpack(f"{sfmt[bsize]}if", "an IK")
            links = []
            for _ in range(r.count("i", "IK links", bsize + 1)):
                links.append(r.one(sfmt[bsize], "an IK link"))
                if r.one("B", "an IK limit flag"):
                    r.take(24, "IK limits")
            iks.append(IKChain(j, target, links))
        bones.append(Bone(bname, ben, parent, position, position.copy()))
    for b, (t, p) in zip(bones, tails):
        if t >= 0:
            b.tail = bones[t].position.copy() if t < nb else p
        else:
            b.tail = p
    model = Model(path, name, pos, nrm, uv, bidx, bw, tris.reshape(-1, 3), materials, bones,
                  [ik for ik in iks if 0 <= ik.effector < nb and all(0 <= k < nb for k in ik.links)])
    return _check(r, model)


# -- PMD ------------------------------------------------------------------------------------------

def _pmd(r: Reader, path: Path) -> Model:
    r.take(3, "the magic")
    r.one("f", "the version")
    name = r.fixed_text(20, "the model name")
    r.take(256, "the comment")
    nv = r.count("I", "vertices", 38)
    vdt = np.dtype([("p", "<f4", 3), ("n", "<f4", 3), ("uv", "<f4", 2), ("b", "<u2", 2), ("w", "u1"), ("e", "u1")])
    verts = np.frombuffer(r.take(nv * vdt.itemsize, "the vertices"), dtype=vdt)
    ni = r.count("I", "face indices", 2)
    if ni % 3:
        raise r.fail(f"{ni} face indices is not a whole number of triangles")
    tris = r.array("u2", ni, "the faces").astype(np.int64).reshape(-1, 3)
    nm = r.count("I", "materials", 70)
    materials = []
    for k in range(nm):
        vals = r.unpack("4ff3f3fBBI", "a material")
        tex = r.fixed_text(20, "a texture name").split("*")[0]  # "tex.bmp*sphere.sph"
        if vals[-1] % 3:
            raise r.fail(f"material {k}: face count {vals[-1]} is not a whole number of triangles")
        materials.append(Material(f"material{k}", tuple(vals[:4]), _texture_path(tex), vals[-1] // 3))
    nb = r.count("H", "bones", 39)
    bones, tails = [], []
    for _ in range(nb):
        bname = r.fixed_text(20, "a bone name")
        parent, tail, _kind, _ik, x, y, z = r.unpack("HHBH3f", "a bone")
        bones.append(Bone(bname, "", -1 if parent == 0xFFFF else parent, np.array([x, y, z]), np.array([x, y, z])))
        tails.append(tail)
    for b, t in zip(bones, tails):
        if 0 < t < nb:
            b.tail = bones[t].position.copy()
    iks = []
    for _ in range(r.count("H", "IK chains", 11)):
        bone, effector, n, _it, _limit = r.unpack("HHBHf", "an IK chain")
        links = list(r.array("u2", n, "IK links"))
        if bone < nb and effector < nb and all(k < nb for k in links):
            iks.append(IKChain(bone, effector, [int(k) for k in links]))
    w = verts["w"].astype(float) / 100.0
    bidx = np.full((nv, 4), -1, dtype=np.int64)
    bidx[:, :2] = verts["b"]
    bw = np.zeros((nv, 4))
    bw[:, 0], bw[:, 1] = w, 1.0 - w
    model = Model(path, name, verts["p"].astype(float), verts["n"].astype(float), verts["uv"].astype(float),
                  bidx, bw, tris, materials, bones, iks)
    return _check(r, model)
