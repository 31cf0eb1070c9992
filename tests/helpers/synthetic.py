"""Small, valid format-v1 datasets written through the real writer, and where the shared test assets lie."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.format import DatasetHeader, DatasetWriter
from datagen.format.keypoint_sets import get_keypoint_set

SHARED_ASSETS = Path(__file__).resolve().parents[3] / "shared" / "assets"
REPO = Path(__file__).resolve().parents[2]


def synthetic_rows(n: int, size: int, keypoint_set: str = "avatar20", seed: int = 0,
                   rendered: bool = True) -> dict[str, np.ndarray]:
    """Rows whose keypoints are the true projection of random 3D points through a real camera."""
    rng = np.random.default_rng(seed)
    k = get_keypoint_set(keypoint_set).size
    f = size * 1.0
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]])
    E = np.eye(4)
    E[:3, 3] = [0, 0, 3.0]  # camera 3 m in front of the origin, looking down +z (OpenCV axes)
    xyz = rng.uniform(-0.6, 0.6, (n, k, 3)).astype(np.float32)
    cam = xyz.astype(np.float64) + E[:3, 3]
    xy = (cam[..., :2] / cam[..., 2:3] * f + size / 2).astype(np.float32)
    vis = rng.choice(np.array([1, 2], np.uint8), (n, k))
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    rows = {"images": images, "pose/xy": xy, "pose/visibility": vis}
    if rendered:
        masks = np.where(rng.random((n, size, size)) > 0.5, 255, 0).astype(np.uint8)
        rows.update({"masks": masks, "pose/xyz": xyz,
                     "camera/intrinsics": np.repeat(K[None], n, 0),
                     "camera/extrinsics": np.repeat(E[None], n, 0),
                     "meta/costume": rng.integers(0, 2, n).astype(np.int32),
                     "meta/clip": rng.integers(0, 3, n).astype(np.int32),
                     "meta/frame": rng.uniform(0, 40, n).astype(np.float32)})
    else:
        rows["meta/source"] = np.array([f"img_{i:04d}.jpg" for i in range(n)], dtype=object)
    return rows


def write_synthetic(path: Path, n: int = 6, size: int = 16, keypoint_set: str = "avatar20",
                    rendered: bool = True, seed: int = 0) -> Path:
    header = DatasetHeader(keypoint_set, size, config={"test": True},
                           costume_names=["red", "blue"] if rendered else None,
                           clip_names=["idle", "walk", "run"] if rendered else None)
    with DatasetWriter(path, header, segment_rows=4) as w:
        w.append(synthetic_rows(n, size, keypoint_set, seed, rendered))
    return path
