"""A small heatmap keypoint detector for evaluation (docs/evaluation.md).

It is trained on a dataset's own real images and then finds the keypoints on generated images, so
that pose consistency can be measured as PCK against the pose the generator was asked for. The design
is a compact U-Net in the spirit of Simple Baselines (Xiao et al. 2018): a strided encoder down to
4x4, a decoder with skip connections back to 1/2 (inputs up to 64 px) or 1/4 of the input side, and
one heatmap per keypoint. Training minimises the cross-entropy between the spatial softmax of each
heatmap and a Gaussian around the target (sigma 1 heatmap cell); decoding takes the argmax and refines
it to sub-pixel precision by the probability-weighted mean of its 5x5 neighbourhood.

The held-out split is by pose: rows of one pose (the same /meta/clip and /meta/frame across costumes
and cameras, or identical keypoints in imported data, where this means by row) never straddle it.

Saved as one file holding a state_dict and the config as a JSON string; loaded with weights_only.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from datagen.format import open_dataset
from psgan.data import present_mask
from psgan.errors import PsganError
from psgan.evaluation.metrics.pck import pck

log = logging.getLogger(__name__)


class PoseNetError(PsganError):
    """A bad detector file or training request (one line naming the file or option)."""


@dataclass
class PoseNetConfig:
    """The detector's architecture plus where it came from (``training``: data, split, scores)."""

    num_keypoints: int
    resolution: int              # input side in pixels; other sizes are resized to it
    width: int = 32              # channels at 1/2 resolution (doubling per level, at most 4x)
    stride: int = 2              # heatmap side = resolution / stride
    sigma: float = 1.0           # std of the target Gaussian, in heatmap cells
    keypoint_set: str = ""
    flip: list[int] = field(default_factory=list)  # mirror partners (the file's /keypoints/flip)
    training: dict = field(default_factory=dict)

    @property
    def heatmap_size(self) -> int:
        return self.resolution // self.stride


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PoseNet(nn.Module):
    """(N, 3, r, r) images in [-1, 1] -> (N, K, r/stride, r/stride) heatmap logits."""

    def __init__(self, cfg: PoseNetConfig) -> None:
        super().__init__()
        r, c = cfg.resolution, cfg.width
        if r < 16 or r & (r - 1) or cfg.stride not in (1, 2, 4) or r // cfg.stride < 8:
            raise PoseNetError(f"posenet resolution {r} / stride {cfg.stride}: need a power of two >= 16 "
                               "and a heatmap of at least 8x8")
        self.cfg = cfg
        self.stem = nn.Sequential(_conv(3, c // 2), _conv(c // 2, c, 2))               # (N, c, r/2, r/2)
        levels = min(4, int(math.log2(r // 2)) - 2)                                     # down to >= 4x4
        chans = [c]
        self.down = nn.ModuleList()
        for i in range(levels):
            cout = c * min(4, 2 ** (i + 1))
            self.down.append(nn.Sequential(_conv(chans[-1], cout, 2), _conv(cout, cout)))
            chans.append(cout)
        # Decoder back to level `top` (0 = r/2, 1 = r/4); stride 1 adds a last upsampling to r.
        self.top = {1: 0, 2: 0, 4: 1}[cfg.stride]
        self.up = nn.ModuleList()
        for i in range(levels - 1, self.top - 1, -1):
            self.up.append(_conv(chans[i + 1] + chans[i], chans[i]))
        self.full = _conv(chans[0], chans[0]) if cfg.stride == 1 else None
        self.head = nn.Conv2d(chans[self.top], cfg.num_keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, r, _ = x.shape
        assert x.shape[1] == 3 and r == self.cfg.resolution, (tuple(x.shape), self.cfg.resolution)
        feats = [self.stem(x)]
        for block in self.down:
            feats.append(block(feats[-1]))
        y = feats[-1]
        for i, block in zip(range(len(self.down) - 1, self.top - 1, -1), self.up):
            y = block(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), feats[i]], 1))
        if self.full is not None:
            y = self.full(F.interpolate(y, scale_factor=2.0, mode="nearest"))
        out = self.head(y)                                                  # (N, K, r/stride, r/stride)
        assert out.shape[-1] == self.cfg.heatmap_size, (tuple(out.shape), self.cfg.heatmap_size)
        return out


# -- heatmaps ------------------------------------------------------------------------------------

def heatmap_loss(logits: torch.Tensor, xy: torch.Tensor, mask: torch.Tensor, stride: int,
                 sigma: float) -> torch.Tensor:
    """Cross-entropy between the spatial softmax of (N, K, h, w) logits and Gaussians at xy.

    xy: (N, K, 2) pixels of the input image; mask: (N, K) bool, the keypoints that count.
    """
    n, k, h, w = logits.shape
    logp = F.log_softmax(logits.flatten(2).float(), dim=-1).view(n, k, h, w)
    c = xy.float() / stride - 0.5                                            # heatmap-cell coordinates
    gx = torch.arange(w, device=logits.device, dtype=torch.float32)
    gy = torch.arange(h, device=logits.device, dtype=torch.float32)
    tx = torch.exp(-0.5 * ((gx.view(1, 1, w) - c[..., :1]) / sigma) ** 2)    # (N, K, w)
    ty = torch.exp(-0.5 * ((gy.view(1, 1, h) - c[..., 1:]) / sigma) ** 2)    # (N, K, h)
    target = ty.unsqueeze(-1) * tx.unsqueeze(-2)                             # (N, K, h, w)
    target = target / target.sum((-2, -1), keepdim=True).clamp_min(1e-12)
    ce = -(target * logp).sum((-2, -1))                                      # (N, K)
    m = mask.float()
    return (ce * m).sum() / m.sum().clamp_min(1.0)


def decode_heatmaps(logits: torch.Tensor, stride: int, window: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K, h, w) logits -> xy (N, K, 2) in input pixels, confidence (N, K) = peak probability.

    Sub-pixel: the probability-weighted mean of the (2*window+1)^2 cells around the argmax.
    """
    n, k, h, w = logits.shape
    p = F.softmax(logits.flatten(2).float(), dim=-1).view(n, k, h, w)
    idx = p.flatten(2).argmax(-1)                                            # (N, K)
    iy, ix = (idx // w).float(), (idx % w).float()
    gx = torch.arange(w, device=p.device, dtype=torch.float32).view(1, 1, 1, w)
    gy = torch.arange(h, device=p.device, dtype=torch.float32).view(1, 1, h, 1)
    near = ((gx - ix[..., None, None]).abs() <= window) & ((gy - iy[..., None, None]).abs() <= window)
    wgt = p * near
    tot = wgt.sum((-2, -1)).clamp_min(1e-12)
    x = (wgt * gx).sum((-2, -1)) / tot
    y = (wgt * gy).sum((-2, -1)) / tot
    xy = (torch.stack([x, y], -1) + 0.5) * stride
    return xy, p.flatten(2).max(-1).values


def images_to_tensor(images: np.ndarray | torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, r, r) float in [-1, 1], resized (area/bilinear) to ``resolution``."""
    x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                          antialias=x.shape[-1] > resolution)
    return x


@torch.no_grad()
def predict_keypoints(model: PoseNet, images: np.ndarray, batch_size: int = 64,
                      device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Detect keypoints on (N, H, W, 3) uint8 images -> xy (N, K, 2) in pixels of H, conf (N, K)."""
    model.eval()
    r = model.cfg.resolution
    side = images.shape[1]
    xys, confs = [], []
    for i in range(0, len(images), batch_size):
        x = images_to_tensor(images[i:i + batch_size], r).to(device)
        xy, conf = decode_heatmaps(model(x), model.cfg.stride)
        xys.append(xy.cpu().numpy() * (side / r))
        confs.append(conf.cpu().numpy())
    return np.concatenate(xys), np.concatenate(confs)


# -- the split by pose ---------------------------------------------------------------------------

def pose_groups(reader) -> tuple[np.ndarray, str]:
    """(N,) group id per row, rows of one pose sharing an id, and the rule used.

    Rendered data: /meta/clip and /meta/frame (one pose across costumes and cameras). Otherwise rows
    with identical keypoints (for imported photographs usually one row per group: a split by row).
    """
    if reader.has("meta/clip") and reader.has("meta/frame"):
        clip = reader.read("meta/clip").astype(np.int64)
        frame = np.round(reader.read("meta/frame").astype(np.float64) * 1000).astype(np.int64)
        keys = np.stack([clip, frame], 1)
        rule = "meta/clip+meta/frame"
    else:
        xy = np.nan_to_num(reader.xy.astype(np.float64), nan=-1e9)
        keys = np.concatenate([np.round(xy * 1000).reshape(len(xy), -1).astype(np.int64),
                               reader.visibility.astype(np.int64)], 1)
        rule = "identical keypoints"
    _, groups = np.unique(keys, axis=0, return_inverse=True)
    return groups.reshape(-1), rule


def split_by_pose(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows -> (train rows, held-out rows), whole groups at a time; at least one group held out."""
    ids = np.unique(groups)
    if len(ids) < 2:
        raise PoseNetError("the dataset has a single pose: a held-out split by pose needs two or more")
    rng = np.random.default_rng(seed)
    n_hold = int(np.clip(round(fraction * len(ids)), 1, len(ids) - 1))
    held = np.zeros(groups.max() + 1, bool)
    held[rng.permutation(ids)[:n_hold]] = True
    rows = np.arange(len(groups))
    return rows[~held[groups]], rows[held[groups]]


def dataset_fingerprint(reader) -> str:
    """A short hash of a dataset's size and keypoints (to match a detector to its data)."""
    h = hashlib.sha1()
    h.update(f"{reader.n} {reader.image_size} {reader.keypoint_set.name}".encode())
    h.update(np.ascontiguousarray(reader.xy).tobytes())
    return h.hexdigest()[:16]


# -- training ------------------------------------------------------------------------------------

# Below this many training rows the detector cannot learn the poses (a 16-row file reaches PCK@0.05 of a
# few hundredths): eval's pose scores then measure the detector, not the model. docs/evaluation.md.
MIN_TRAIN_ROWS = 256
# A detector trained on the fly sees each training row at most this many times (steps x batch / rows):
# more only memorises a small file, and costs minutes where seconds do.
MAX_EPOCHS = 200


def steps_for_rows(steps: int, rows: int, batch: int) -> int:
    """``steps`` capped at :data:`MAX_EPOCHS` passes over ``rows`` training rows of ``batch``."""
    return max(1, min(steps, -(-MAX_EPOCHS * rows // batch)))


@dataclass
class PoseNetTrainConfig:
    """Settings of ``psgan posenet train`` (defaults: about 5 minutes at 64x64 on two CPU cores)."""

    resolution: int = 64
    steps: int = 1500
    batch: int = 32
    lr: float = 2e-3
    width: int = 16              # 32 reads finer detail at 4x the cost
    holdout: float = 0.1         # fraction of poses held out
    seed: int = 0
    max_minutes: float | None = None  # stop early (cosine schedule still reaches its end)
    device: str = "cpu"


def _augment(x: torch.Tensor, xy: torch.Tensor, mask: torch.Tensor, flip: torch.Tensor,
             gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mirror (with the flip table), shift, blur and colour jitter a batch; keypoints follow."""
    n, _, r, _ = x.shape
    dev = x.device
    m = torch.rand(n, generator=gen) < 0.5
    if m.any():
        x = torch.where(m.view(n, 1, 1, 1).to(dev), x.flip(-1), x)
        mxy = xy[:, flip].clone()
        mxy[..., 0] = r - mxy[..., 0]
        xy = torch.where(m.view(n, 1, 1).to(dev), mxy, xy)
        mask = torch.where(m.view(n, 1).to(dev), mask[:, flip], mask)
    pad = max(1, r // 8)
    padded = F.pad(x, (pad,) * 4, mode="replicate")
    shifts = torch.randint(-pad, pad + 1, (n, 2), generator=gen)
    x = torch.stack([padded[i, :, pad - int(dy):pad - int(dy) + r, pad - int(dx):pad - int(dx) + r]
                     for i, (dx, dy) in enumerate(shifts.tolist())])
    xy = xy + shifts.to(dev, xy.dtype).view(n, 1, 2)
    mask = mask & (xy >= 0).all(-1) & (xy < r).all(-1)
    blur = torch.rand(n, 1, 1, 1, generator=gen).to(dev) * (torch.rand(n, 1, 1, 1, generator=gen) < 0.5).to(dev)
    x = torch.lerp(x, F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), blur)
    gain = 1.0 + 0.2 * (torch.rand(n, 3, 1, 1, generator=gen) * 2 - 1)
    bias = 0.1 * (torch.rand(n, 3, 1, 1, generator=gen) * 2 - 1)
    x = x * gain.to(dev) + bias.to(dev) + 0.03 * torch.randn(x.shape, generator=gen).to(dev)
    return x, xy, mask


def train_posenet(data: str | os.PathLike, cfg: PoseNetTrainConfig,
                  progress: bool = True) -> tuple[PoseNet, PoseNetConfig]:
    """Train a detector on the real images of ``data`` (held-out poses excluded) and score it on the
    held-out rows (the ceiling of docs/evaluation.md, stored in ``config.training["heldout"]``)."""


    reader = open_dataset(data)
    s = reader.image_size
    r = cfg.resolution
    if r in reader.resolutions:
        level = r
    else:
        level = s
        log.warning("%s has no %dx%d images: its %dx%d images are resized for the detector", data, r, r, s, s)
    groups, rule = pose_groups(reader)
    train_rows, held_rows = split_by_pose(groups, cfg.holdout, cfg.seed)
    if len(train_rows) < MIN_TRAIN_ROWS:
        log.warning("%s: the keypoint detector trains on %d rows, fewer than the %d it needs: its PCK, and "
                    "psgan eval's pose scores, are unreliable (use a larger dataset)", data, len(train_rows),
                    MIN_TRAIN_ROWS)
    kps = reader.keypoint_set
    mcfg = PoseNetConfig(num_keypoints=kps.size, resolution=r, width=cfg.width, stride=2 if r <= 64 else 4,
                         keypoint_set=kps.name, flip=[int(i) for i in kps.flip])
    torch.manual_seed(cfg.seed)
    model = PoseNet(mcfg).to(cfg.device)

    images = reader.images(level)[:]                                           # (N, l, l, 3) uint8
    xy_all = reader.xy.astype(np.float32)
    mask_all = present_mask(xy_all, reader.visibility, s)
    xy_all = np.nan_to_num(xy_all) * (r / s)                                   # pixels of r
    train_images = images[train_rows]                                         # uint8; floats per batch
    xy_train = torch.from_numpy(xy_all[train_rows])
    mask_train = torch.from_numpy(mask_all[train_rows])
    flip = torch.as_tensor(mcfg.flip, dtype=torch.long)

    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    model.train()
    bar = tqdm(range(cfg.steps), desc=f"posenet {r}x{r}", disable=None if progress else True, unit="step")
    loss_v = float("nan")
    for step in bar:
        frac = step / max(1, cfg.steps)
        if cfg.max_minutes is not None:
            frac = max(frac, (time.perf_counter() - start) / (60 * cfg.max_minutes))
            if frac >= 1.0:
                break
        for g in opt.param_groups:
            g["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        idx = torch.randint(0, len(train_rows), (min(cfg.batch, len(train_rows)),), generator=gen)
        x = images_to_tensor(train_images[idx.numpy()], r)
        x, xy, mask = _augment(x, xy_train[idx], mask_train[idx], flip, gen)
        loss = heatmap_loss(model(x.to(cfg.device)), xy.to(cfg.device), mask.to(cfg.device), mcfg.stride, mcfg.sigma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_v = loss.item()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss_v:.3f}")
    bar.close()
    model.eval()
    pred, _ = predict_keypoints(model, images[held_rows], device=cfg.device)
    pred = pred * (r / images.shape[1])
    heldout = pck(pred, xy_all[held_rows], mask_all[held_rows], r)
    mcfg.training = {
        "dataset": str(Path(data)), "fingerprint": dataset_fingerprint(reader), "rows": int(reader.n),
        "split_rule": rule, "holdout": cfg.holdout, "seed": cfg.seed,
        "heldout_rows": [int(i) for i in held_rows], "train_rows": int(len(train_rows)),
        "steps_done": int(step + 1) if cfg.steps else 0, "final_loss": loss_v,
        "seconds": round(time.perf_counter() - start, 1), "heldout": heldout, "settings": asdict(cfg),
    }
    reader.close()
    return model, mcfg


# -- files ---------------------------------------------------------------------------------------

def save_posenet(path: str | os.PathLike, model: PoseNet, cfg: PoseNetConfig) -> Path:
    """Write {"state_dict", "config" (JSON)} atomically (temporary name, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save({"format": "psgan-posenet", "version": 1, "config": json.dumps(asdict(cfg)),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, tmp)
    os.replace(tmp, path)
    return path


def load_posenet(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[PoseNet, PoseNetConfig]:
    """Load a detector written by :func:`save_posenet` (weights_only: no code is unpickled)."""
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise PoseNetError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - torch raises several types for a bad file
        raise PoseNetError(f"{path}: not a readable detector file ({type(e).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != "psgan-posenet":
        raise PoseNetError(f"{path}: not a posenet file (write one with `psgan posenet train`)")
    if blob.get("version") != 1:
        raise PoseNetError(f"{path}: posenet file version {blob.get('version')!r} is not supported")
    missing = [k for k in ("config", "state_dict") if k not in blob]
    if missing:
        raise PoseNetError(f"{path}: posenet file lacks {', '.join(missing)}")
    try:
        cfg = PoseNetConfig(**json.loads(blob["config"]))
        if not (isinstance(cfg.num_keypoints, int) and cfg.num_keypoints > 0 and isinstance(cfg.resolution, int)
                and cfg.resolution >= 8 and isinstance(cfg.training, dict)):
            raise ValueError(f"num_keypoints {cfg.num_keypoints!r}, resolution {cfg.resolution!r}")
        model = PoseNet(cfg)
    except (TypeError, ValueError, AttributeError, RuntimeError, PoseNetError) as e:
        msg = e.message if isinstance(e, PoseNetError) else str(e).splitlines()[0]
        raise PoseNetError(f"{path}: posenet config is not valid ({msg[:200]})") from None
    try:
        model.load_state_dict(blob["state_dict"])
    except (RuntimeError, TypeError, AttributeError, KeyError) as e:
        lines = str(e).strip().splitlines()
        raise PoseNetError(f"{path}: posenet weights do not fit its config "
                           f"({' '.join(x.strip() for x in lines[1:3])[:200]})") from None
    return model.to(device).eval(), cfg
