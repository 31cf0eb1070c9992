"""psgan.dataset.PoseDataset: images of a chosen level as tensors, keypoints in that level's pixels,
visibility, pose maps and meta; works in DataLoader workers; generate_images takes numpy and torch."""
import numpy as np
import pytest
import torch
from helpers.synthetic import write_synthetic

from datagen.format import open_dataset
from psgan.config import ModelConfig
from psgan.dataset import PoseDataset
from psgan.generation.generate import generate_images, latents
from psgan.nets.networks import Generator
from psgan.nets.pose_maps import pose_maps


def test_items_match_the_file(tmp_path):
    f = write_synthetic(tmp_path / "r.h5", n=6, size=32)
    ds = PoseDataset(f, resolution=16, pose_maps=True)
    assert len(ds) == 6
    item = ds[4]
    with open_dataset(f) as r:
        want_img = r.images(16)[4]
        xy, vis = r.xy[4], r.visibility[4]
        clip = r.names("clip")[r.read("meta/clip")[4]]
    assert item["image"].shape == (3, 16, 16) and item["image"].dtype == torch.float32
    np.testing.assert_array_equal((item["image"].permute(1, 2, 0) * 255).round().byte().numpy(), want_img)
    np.testing.assert_allclose(item["xy"].numpy(), xy * 0.5)  # the 16 px level's pixels
    np.testing.assert_array_equal(item["visibility"].numpy(), vis)
    assert item["pose"].shape == (20, 16, 16)
    torch.testing.assert_close(item["pose"], pose_maps(torch.as_tensor(xy)[None], torch.as_tensor(vis)[None], 32, 16)[0])
    assert item["meta"]["row"] == 4 and item["meta"]["clip"] == clip and "frame" in item["meta"]
    assert ds[-1]["meta"]["row"] == 5
    with pytest.raises(IndexError):
        ds[6]


def test_rows_default_level_and_bad_level(imported_file):
    ds = PoseDataset(imported_file, rows="1:5:2")
    assert len(ds) == 2 and ds[1]["meta"] == {"row": 3, "source": "img_0003.jpg"}
    assert ds[0]["image"].shape == (3, 16, 16) and "pose" not in ds[0]
    with pytest.raises(Exception, match="no image level 12"):
        PoseDataset(imported_file, resolution=12)


def test_dataloader_with_workers(tmp_path):
    f = write_synthetic(tmp_path / "r.h5", n=10, size=16)
    loader = torch.utils.data.DataLoader(PoseDataset(f, resolution=8, pose_maps=True), batch_size=4,
                                         num_workers=2)
    batches = list(loader)
    assert [b["image"].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0]["pose"].shape == (4, 20, 8, 8) and batches[0]["meta"]["row"].tolist() == [0, 1, 2, 3]
    assert len(batches[0]["meta"]["costume"]) == 4


def test_generate_images_accepts_numpy_and_torch(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(num_keypoints=20, latent=16, fmap_base=128, fmap_max=32, max_res=16)
    G = Generator(cfg).eval()
    f = write_synthetic(tmp_path / "r.h5", n=3, size=32)
    with open_dataset(f) as r:
        xy, vis = r.xy, r.visibility  # numpy, as the reader gives them
    z = latents([0, 1, 2], 16)
    from_numpy = generate_images(G, xy, vis, 32, z.numpy())
    from_torch = generate_images(G, torch.from_numpy(xy), torch.from_numpy(vis), 32, z)
    assert from_numpy.shape == (3, 16, 16, 3) and from_numpy.dtype == np.uint8
    np.testing.assert_array_equal(from_numpy, from_torch)
