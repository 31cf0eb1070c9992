"""The ControlNet export, read by the real libraries: the skeleton equals controlnet_aux's OpenPose drawing
pixel for pixel, and diffusers' ControlNet training (the steps of examples/controlnet/train_controlnet.py,
on a tiny randomly initialised ControlNet, UNet, VAE and text encoder built from configs) trains on the
export as `load_dataset` gives it. Offline: nothing is downloaded."""
from __future__ import annotations

import os

import numpy as np
import pytest

from helpers.synthetic import write_synthetic
from datagen.format import open_dataset
from datagen.format.keypoint_sets import COCO18, convert_keypoints
from datagen.format.openpose_draw import draw_openpose
from datagen.io.exporters import ExportOptions, export_dataset

pytestmark = pytest.mark.export
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"


def test_skeleton_equals_controlnet_aux_drawing():
    from controlnet_aux.open_pose.body import Keypoint
    from controlnet_aux.open_pose.util import draw_bodypose

    rng = np.random.default_rng(0)
    for t in range(120):
        s = (64, 96, 512)[t % 3]
        xy = rng.uniform(-5, s + 5, (18, 2))
        present = rng.random(18) > 0.2
        theirs = draw_bodypose(np.zeros((s, s, 3), np.uint8),
                               [Keypoint(x / s, y / s) if p else None for (x, y), p in zip(xy, present)])
        np.testing.assert_array_equal(draw_openpose(xy, present, COCO18, s), theirs, err_msg=f"pose {t}")


def test_exported_conditioning_images_are_controlnet_aux_drawings(tmp_path):
    from controlnet_aux.open_pose.body import Keypoint
    from controlnet_aux.open_pose.util import draw_bodypose
    from datasets import load_dataset

    src = write_synthetic(tmp_path / "r.h5", n=5, size=64)
    export_dataset(src, "controlnet", tmp_path / "cn")
    ds = load_dataset(str(tmp_path / "cn"), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.column_names[:3] == ["image", "conditioning_image", "text"]
    with open_dataset(src) as r:
        xy, vis = convert_keypoints(r.xy, r.visibility, "avatar20", "coco18")
        for i in range(5):
            kp = [Keypoint((x - 0.5) / 64, (y - 0.5) / 64) if v else None for (x, y), v in zip(xy[i], vis[i])]
            want = draw_bodypose(np.zeros((64, 64, 3), np.uint8), kp)
            np.testing.assert_array_equal(np.asarray(ds[i]["conditioning_image"]), want)
            np.testing.assert_array_equal(np.asarray(ds[i]["image"]), r.images()[i])
            row = ds[i]
            assert row["text"].startswith("anime character, ") and row["text"].endswith("plain white background")


def _tokenizer(texts):
    """A word-level tokenizer of the captions' words (the example's CLIP tokenizer would be downloaded)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for t in texts for w in t.replace(",", " , ").split()})
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", model_max_length=16)


@pytest.mark.slow
def test_diffusers_controlnet_trains_on_the_export(tmp_path):
    import torch
    import torch.nn.functional as F
    from datasets import load_dataset
    from diffusers import AutoencoderKL, ControlNetModel, DDPMScheduler, UNet2DConditionModel
    from torchvision import transforms
    from transformers import CLIPTextConfig, CLIPTextModel

    src = write_synthetic(tmp_path / "r.h5", n=8, size=32)
    export_dataset(src, "controlnet", tmp_path / "cn", options=ExportOptions(caption="{character}, {clip}, {view}"))
    torch.manual_seed(0)
    # train_controlnet.py: dataset = load_dataset(args.train_data_dir); default column names.
    dataset = load_dataset(str(tmp_path / "cn"), cache_dir=str(tmp_path / "cache"))
    train = dataset["train"]
    tokenizer = _tokenizer(train["text"])
    res = 32
    image_transforms = transforms.Compose([transforms.Resize(res, interpolation=transforms.InterpolationMode.BILINEAR),
                                           transforms.CenterCrop(res), transforms.ToTensor(),
                                           transforms.Normalize([0.5], [0.5])])
    conditioning_transforms = transforms.Compose([
        transforms.Resize(res, interpolation=transforms.InterpolationMode.BILINEAR), transforms.CenterCrop(res),
        transforms.ToTensor()])

    def preprocess_train(examples):
        examples["pixel_values"] = [image_transforms(im.convert("RGB")) for im in examples["image"]]
        examples["conditioning_pixel_values"] = [conditioning_transforms(im.convert("RGB"))
                                                 for im in examples["conditioning_image"]]
        examples["input_ids"] = tokenizer(list(examples["text"]), max_length=tokenizer.model_max_length,
                                          padding="max_length", truncation=True, return_tensors="pt").input_ids
        return examples

    def collate_fn(examples):
        return {"pixel_values": torch.stack([e["pixel_values"] for e in examples]).float(),
                "conditioning_pixel_values": torch.stack([e["conditioning_pixel_values"] for e in examples]).float(),
                "input_ids": torch.stack([e["input_ids"] for e in examples])}

    loader = torch.utils.data.DataLoader(train.with_transform(preprocess_train), shuffle=True,
                                         collate_fn=collate_fn, batch_size=4)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=res // 2,
                                in_channels=4, out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
                                attention_head_dim=4, norm_num_groups=4)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16))
    vae = AutoencoderKL(block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=4, layers_per_block=1)
    text_encoder = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                                num_attention_heads=2, num_hidden_layers=1,
                                                max_position_embeddings=16, pad_token_id=0, bos_token_id=0,
                                                eos_token_id=1))
    scheduler = DDPMScheduler(num_train_timesteps=100)
    for m in (vae, unet, text_encoder):
        m.requires_grad_(False)
    controlnet.train()
    opt = torch.optim.AdamW(controlnet.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in controlnet.parameters()]
    losses = []
    for step, batch in zip(range(3), iter(loader)):
        latents = vae.encode(batch["pixel_values"]).latent_dist.sample() * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],)).long()
        noisy = scheduler.add_noise(latents, noise, t)
        hidden = text_encoder(batch["input_ids"], return_dict=False)[0]
        down, mid = controlnet(noisy, t, encoder_hidden_states=hidden,
                               controlnet_cond=batch["conditioning_pixel_values"], return_dict=False)
        pred = unet(noisy, t, encoder_hidden_states=hidden, down_block_additional_residuals=down,
                    mid_block_additional_residual=mid, return_dict=False)[0]
        loss = F.mse_loss(pred.float(), noise.float())
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert len(losses) == 2  # 8 rows, batch 4: two batches
    assert all(np.isfinite(losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, controlnet.parameters()))


def test_body25_skeleton_and_caption_template(tmp_path):
    from click.testing import CliRunner
    from datasets import load_dataset

    from datagen.cli import main
    from datagen.format.keypoint_sets import BODY25
    from helpers.cli_checks import check_one_line_error, snapshot

    src = write_synthetic(tmp_path / "r.h5", n=3, size=32)
    r = CliRunner().invoke(main, ["export", str(src), "--to", "controlnet", "--skeleton", "body25", "--caption",
                                  "{character} in {costume}, {view}", "-o", str(tmp_path / "cn")])
    assert r.exit_code == 0, r.output
    ds = load_dataset(str(tmp_path / "cn"), split="train", cache_dir=str(tmp_path / "cache"))
    with open_dataset(src) as f:
        xy, vis = convert_keypoints(f.xy, f.visibility, "avatar20", "body25")
        costume = f.names("costume")[f.read("meta/costume")[1]]
    np.testing.assert_array_equal(np.asarray(ds[1]["conditioning_image"]),
                                  draw_openpose(xy[1] - 0.5, vis[1] > 0, BODY25, 32))
    assert ds[1]["text"].startswith(f"anime character in {costume}")
    before = snapshot(tmp_path)
    r = CliRunner().invoke(main, ["export", str(src), "--to", "controlnet", "--caption", "{mood}", "-o",
                                  str(tmp_path / "bad")])
    check_one_line_error(r, 1, "unknown field {mood}", before, tmp_path)
