"""psgan.training.loop: a short 4 -> 16 run, exact resume, data and schedule details, checkpoints."""
import json
import math

import pytest
import torch
from helpers.psgan_data import write_tiny_dataset

from psgan.checkpoint import load_checkpoint, load_generator
from psgan.config import ScheduleConfig, TrainConfig, configure
from psgan.data import Batch, PoseData, batches, prepare_reals
from psgan.nets.pose_maps import pose_maps
from psgan.training.loop import Trainer
from psgan.training.run import resume_state, train
from psgan.training.schedule import build_phases, ema_decay

TINY = dict(latent=16, fmap_base=64, fmap_max=16)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", n=24, size=16)


def _cfg(data, out, max_res, kimg=0.032, **kw):
    cfg = configure(data, out, max_res=max_res, kimg_per_phase=kimg, batch={4: 4}, **TINY, workers=0,
                    tick_kimg=0.016, sample_kimg=0.05, ckpt_kimg=0.1, **kw)
    return cfg


def test_short_run_4_to_16(tiny, tmp_path):
    out = tmp_path / "run"
    ckpt = train(_cfg(tiny, out, 16), progress=False)
    recs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["resolution"] for r in recs][0] == 4 and recs[-1]["resolution"] == 16
    assert {r["phase_name"] for r in recs} == {"stab4", "fade8", "stab8", "fade16", "stab16"}
    for r in recs:
        for k in ("loss_d", "loss_g", "gp", "img_per_s"):
            assert torch.isfinite(torch.tensor(r[k])), r
    assert any(0 < r["alpha"] < 1 for r in recs)
    assert (out / "samples" / "final.png").is_file()
    assert TrainConfig.from_json((out / "config.json").read_text()).schedule.max_res == 16
    ck = load_checkpoint(ckpt)                       # weights_only=True
    assert ck["phase"] == 5 and ck["total_img"] == 160 and ck["resolution"] == 16
    G, cfg = load_generator(ckpt)
    assert G.resolution == 16 and cfg.model.num_keypoints == 20
    img = G(torch.randn(2, 16), pose_maps(torch.rand(2, 20, 2) * 16, torch.ones(2, 20), 16, 16))
    assert img.shape == (2, 3, 16, 16) and torch.isfinite(img).all()


def test_resume_is_exact(tiny, tmp_path):
    whole = Trainer(_cfg(tiny, tmp_path / "a", 8, kimg=0.024))
    whole.run(progress=False)
    cfg = _cfg(tiny, tmp_path / "b", 8, kimg=0.024)
    first = Trainer(cfg)
    first.run(max_steps=8, progress=False)            # stops inside the fade-in (steps 7..12)
    assert first.phase_idx == 1 and 0 < first.phase_img < 24
    second = Trainer(*resume_state(cfg))
    second.run(progress=False)
    for name in ("G", "D", "G_ema"):
        a, b = getattr(whole, name).state_dict(), getattr(second, name).state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)
    assert second.total_img == whole.total_img


def test_config_json_round_trip(tiny, tmp_path):
    cfg = configure(tiny, tmp_path, max_res=8, batch={4: 4, 8: 2}, lr={8: 0.0005}, use_pose=False)
    back = TrainConfig.from_json(cfg.to_json())
    assert back == cfg
    assert back.schedule.batch_at(8) == 2 and back.schedule.batch_at(1024) == 2
    assert back.schedule.lr_at(4) == 1e-3 and back.schedule.lr_at(8) == 5e-4


def test_paper_schedule():
    ph = build_phases(ScheduleConfig())
    assert [p.name for p in ph[:4]] == ["stab4", "fade8", "stab8", "fade16"] and len(ph) == 17
    assert all(p.images == 600_000 for p in ph)
    by_res = {p.resolution: (p.batch, p.lr) for p in ph}
    assert by_res[128] == (16, 8e-4) and by_res[256] == (12, 6e-4) and by_res[512] == (5, 2e-4)
    assert by_res[1024] == (2, 1e-4) and by_res[64] == (16, 1e-3)
    assert ph[1].alpha(300_000) == 0.5 and ph[2].alpha(0) == 1.0


def test_mirrored_batch_matches_flipped_pose_maps(tiny):
    data = PoseData(tiny)
    rows = torch.arange(4)
    b = Batch(torch.from_numpy(data.read_level(16, rows.numpy())), data.xy[rows], data.visibility[rows],
              torch.tensor([True, False, True, False]))
    x, xy, vis = prepare_reals(b, data, torch.device("cpu"), 1.0)
    plain, _, _ = prepare_reals(Batch(b.images, b.xy, b.visibility, torch.zeros(4, dtype=torch.bool)),
                                data, torch.device("cpu"), 1.0)
    torch.testing.assert_close(x[0], plain[0].flip(-1))
    torch.testing.assert_close(x[1], plain[1])
    m, m0 = pose_maps(xy, vis, 16, 16), pose_maps(b.xy, b.visibility, 16, 16)
    assert torch.equal(m[0], m0[0][data.flip].flip(-1))
    assert torch.equal(m[1], m0[1])


def test_data_stream_is_a_function_of_position(tiny):
    data = PoseData(tiny)
    run = [b.images for b in batches(data, 8, 4, 0, 10, seed=3, mirror=True, cache={})]
    later = [b.images for b in batches(data, 8, 4, 20, 5, seed=3, mirror=True, cache={})]
    for a, b in zip(run[5:], later):
        assert torch.equal(a, b)
    via_workers = [b.images for b in batches(data, 8, 4, 0, 10, seed=3, mirror=True, cache=None, workers=2)]
    for a, b in zip(run, via_workers):
        assert torch.equal(a, b)
    r0 = [b.xy for b in batches(data, 8, 4, 0, 3, seed=3, mirror=True, rank=0, world=2, cache={})]
    r1 = [b.xy for b in batches(data, 8, 4, 0, 3, seed=3, mirror=True, rank=1, world=2, cache={})]
    single = [b.xy for b in batches(data, 8, 4, 0, 3, seed=3, mirror=True, cache={})]
    for a, b, s in zip(r0, r1, single):
        assert torch.equal(torch.cat([a, b]), s)


def test_ema_decay_rules():
    # TensorFlow's warm-up: (1 + t) / (10 + t) until it reaches beta.
    assert ema_decay(0.999, 0, 8, 8) == 0.1 and ema_decay(0.999, 90, 728, 8) == 91 / 100
    assert ema_decay(0.999, 10**6, 8 * 10**6, 8) == 0.999 and ema_decay(0.999, 5, 48, 8, warmup=False) == 0.999
    # StyleGAN's ramp-up: after n images the half-life is rampup * n images, at most beta's.
    for images, batch in ((18_000, 8), (400, 4), (10**7, 16)):
        d = ema_decay(0.999, images // batch - 1, images, batch, rampup=0.02)
        half_life = batch * math.log(0.5) / math.log(d)
        assert half_life == pytest.approx(min(0.02 * images, batch * math.log(0.5) / math.log(0.999)))


def test_ema_rampup_run_averages_as_documented(tiny, tmp_path):
    """G_ema after a run with ema_rampup equals the average of G's weights computed by hand."""
    cfg = _cfg(tiny, tmp_path / "r", 4, kimg=0.016, ema_rampup=0.05)
    t = Trainer(cfg)
    ema = {k: v.clone() for k, v in t.G.state_dict().items()}
    real_step = Trainer.step

    def step(self, ph, b, alpha):
        out = real_step(self, ph, b, alpha)
        d = 0.5 ** (ph.batch / (0.05 * (self.total_img + ph.batch)))   # total_img: before this step
        for k, v in self.G.state_dict().items():
            ema[k] = d * ema[k] + (1 - d) * v
        return out
    Trainer.step = step
    try:
        t.run(progress=False)
    finally:
        Trainer.step = real_step
        t.close()
    assert t.steps == 4
    for k, v in t.G_ema.state_dict().items():
        assert torch.allclose(v, ema[k], atol=1e-6), k
    ck = load_checkpoint(tmp_path / "r" / "checkpoints" / "latest.pt")
    assert TrainConfig.from_json(ck["config"]).ema_rampup == 0.05    # a resumed run keeps the rule
