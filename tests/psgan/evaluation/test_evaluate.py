"""`psgan eval` (psgan/evaluation/evaluate.py) on known cases: an oracle that draws the asked pose scores at the
ceiling, a source that ignores the pose scores at the floor, the ceiling beats the floor by far; then
real checkpoints through the library and the CLI, with --compare and the JSON output."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from helpers.stick_figures import draw, one_thread, random_poses, stick_data_and_detector
from test_metrics import cheap_features

from psgan.checkpoint import save_checkpoint
from psgan.cli import main
from psgan.config import ModelConfig, TrainConfig
from psgan.evaluation.evaluate import EvalConfig, _Data, default_posenet_path, evaluate, get_posenet
from psgan.evaluation.posenet import PoseNetTrainConfig, load_posenet
from psgan.evaluation.report import format_table, to_json
from psgan.nets.networks import Generator

SIZE = 32


@pytest.fixture(scope="session")
def sticks(tmp_path_factory) -> tuple[Path, Path]:
    return stick_data_and_detector(tmp_path_factory.getbasetemp(), SIZE)


class Oracle:
    """Draws exactly the pose it is asked for (a perfect pose-conditioned generator)."""

    name, resolution, use_pose = "oracle", SIZE, True

    def __call__(self, xy, visibility, seeds):
        return np.stack([draw(p, SIZE, int(s) % 2) for p, s in zip(xy, seeds)])


class PoseBlind:
    """Draws one fixed pose whatever it is asked (an unconditional generator)."""

    name, resolution, use_pose = "blind", SIZE, False

    def __init__(self):
        self.fixed = random_poses(1, SIZE, seed=123)[0]

    def __call__(self, xy, visibility, seeds):
        return np.stack([draw(self.fixed, SIZE, int(s) % 2) for s in seeds])


def tiny_checkpoint(path: Path, use_pose: bool, seed: int = 0) -> Path:
    """An untrained 32x32 generator saved the way the trainer saves one."""
    model = ModelConfig(num_keypoints=20, use_pose=use_pose, latent=16, fmap_base=64, fmap_max=16, max_res=SIZE)
    cfg = TrainConfig(data="sticks.h5", out=str(path.parent), model=model)
    torch.manual_seed(seed)
    g = Generator(model)
    return save_checkpoint(path, {"G_ema": g.state_dict(), "resolution": SIZE, "alpha": 1.0,
                                  "config": cfg.to_json()})


SMALL = EvalConfig(poses=24, fid_images=24, diversity_poses=4, diversity_latents=3, seed=0)


def test_oracle_scores_at_the_ceiling_and_blind_source_at_the_floor(sticks):
    data, det = sticks
    model, pcfg = load_posenet(det)
    with one_thread():
        res = evaluate([Oracle(), PoseBlind()], data, model, pcfg, SMALL, features=cheap_features,
                       progress=False)
    oracle, blind = res["models"]
    ceiling, floor = oracle["pose"]["ceiling"], oracle["pose"]["floor"]
    # The detector on real held-out data beats the floor by far.
    assert ceiling["pck@0.1"] > 0.8 and floor["pck@0.1"] < 0.3
    assert ceiling["pck@0.1"] - floor["pck@0.1"] > 0.5
    assert ceiling["mean_error_px"] < floor["mean_error_px"] / 3
    # A perfect generator scores like real images; one that ignores the pose, like the floor.
    assert oracle["pose"]["generated"]["pck@0.1"] > ceiling["pck@0.1"] - 0.1
    assert blind["pose"]["generated"]["pck@0.1"] < floor["pck@0.1"] + 0.15
    assert blind["pose"]["generated"]["pck@0.1"] < oracle["pose"]["generated"]["pck@0.1"] - 0.5
    # Both models saw the same targets and real images.
    assert to_json(oracle["pose"]["ceiling"]) == to_json(blind["pose"]["ceiling"])   # NaN: no head keypoints
    # Quality and diversity with the stand-in features.
    assert np.isfinite(oracle["quality"]["fid"]) and oracle["quality"]["images"] == 24
    assert oracle["diversity"]["generated"] > 0 and oracle["diversity"]["real_same_pose"] > 0
    # Person-relative PCK, per joint group, and the verdict.
    for m in (oracle, blind):
        for part in ("generated", "ceiling", "floor"):
            sc = m["pose"][part]
            assert 0 <= sc["pck_person@0.1"] <= sc["pck_person@0.2"] <= 1
            assert set(sc["groups"]) == {"head", "torso", "arms", "legs"}
    assert oracle["pose"]["generated"]["pck_person@0.1"] > oracle["pose"]["floor"]["pck_person@0.1"] + 0.4
    assert oracle["verdict"]["status"] == "follows" and oracle["verdict"]["text"].startswith("follows the pose: ")
    assert blind["verdict"]["status"] == "ignored" and "at its floor: the pose is ignored" in blind["verdict"]["text"]
    for g in ("arms", "legs"):
        assert oracle["pose"]["generated"]["groups"][g] > blind["pose"]["generated"]["groups"][g] + 0.3
    table = format_table(res)
    assert "PCK@0.1 generated" in table and "oracle" in table and "blind" in table
    assert "PCK@0.2 person generated" in table and "  arms: gen / floor / ceil" in table
    assert "verdict oracle: follows the pose" in table and "verdict blind: at its floor" in table
    json.dumps(to_json(res))                                                       # strict JSON


def test_targets_are_held_out_poses_and_floor_poses_differ(sticks):
    data, det = sticks
    _, pcfg = load_posenet(det)
    d = _Data(data, pcfg, SMALL)
    assert set(d.targets) <= set(pcfg.training["heldout_rows"])
    assert (d.groups[d.others] != d.groups[d.targets]).all()
    held = np.asarray(pcfg.training["heldout_rows"])
    assert set(d.others) <= set(held)                                    # the floor's poses are held out too
    # ... and each is the farthest of them from its target
    from psgan.evaluation.metrics.pck import normalised_poses, pose_distance
    dist = pose_distance(normalised_poses(d.xy[d.targets], d.mask[d.targets]), normalised_poses(d.xy[held], d.mask[held]))
    dist[d.groups[d.targets][:, None] == d.groups[held][None, :]] = -1
    chosen = pose_distance(normalised_poses(d.xy[d.targets], d.mask[d.targets]),
                           normalised_poses(d.xy[d.others], d.mask[d.others])).diagonal()
    assert np.allclose(chosen, dist.max(1))
    d.reader.close()


def test_verdict_rules():
    from psgan.evaluation.metrics.pck import verdict

    def pose(g, f, c):
        return {p: {"pck_person@0.1": v} for p, v in (("generated", g), ("floor", f), ("ceiling", c))}
    assert verdict(pose(0.73, 0.46, 0.9))["text"] == "follows the pose: 0.73 against a floor of 0.46 (ceiling 0.90)"
    assert verdict(pose(0.55, 0.46, 0.9))["status"] == "partly"
    assert verdict(pose(0.48, 0.46, 0.9))["text"].startswith("at its floor: the pose is ignored")
    assert verdict(pose(0.93, 0.931, 0.944))["status"] == "inconclusive"     # the old demo's figures
    assert verdict(pose(float("nan"), 0.4, 0.9))["status"] == "inconclusive"


def test_verdict_names_the_weakest_joint_group():
    from psgan.evaluation.metrics.pck import verdict

    def pose(overall, groups):
        return {p: {"pck_person@0.1": overall[i], "groups": {g: v[i] for g, v in groups.items()}}
                for i, p in enumerate(("generated", "floor", "ceiling"))}
    # The demo's figures of the issue: follows overall, the arms only partly.
    v = verdict(pose((0.84, 0.21, 0.98), {"head": (0.95, 0.30, 0.99), "torso": (0.97, 0.95, 0.98),
                                          "arms": (0.55, 0.40, 0.97), "legs": (0.80, 0.20, 0.98)}))
    assert v["status"] == "follows" and v["weakest"] == "arms" and v["weakest_status"] == "partly"
    assert v["text"] == ("follows overall, arms partly: 0.84 against a floor of 0.21 (ceiling 0.98); "
                         "arms 0.55 against 0.40 (ceiling 0.97)")
    # The torso's ceiling is within 0.05 of its floor: inconclusive, never the weakest.
    assert v["groups"]["torso"]["status"] == "inconclusive"
    assert v["groups"]["head"] == {"status": "follows", "generated": 0.95, "floor": 0.30, "ceiling": 0.99}
    # Every group follows: the text still names the weakest (the least of its gap covered).
    v = verdict(pose((0.84, 0.21, 0.98), {"arms": (0.75, 0.40, 0.97), "legs": (0.80, 0.20, 0.98)}))
    assert v["weakest"] == "arms" and v["weakest_status"] == "follows"
    assert v["text"].endswith("; every joint group follows, the weakest arms 0.75 against 0.40 (ceiling 0.97)")
    # Below the overall status in a model that only partly follows.
    v = verdict(pose((0.55, 0.46, 0.9), {"arms": (0.41, 0.40, 0.97), "legs": (0.60, 0.40, 0.98)}))
    assert v["text"].startswith("partly follows overall, arms ignored: 0.55 against a floor of 0.46")
    # No groups in the scores: the overall text alone, no group fields.
    v = verdict({p: {"pck_person@0.1": x} for p, x in (("generated", 0.73), ("floor", 0.46), ("ceiling", 0.9))})
    assert "groups" not in v and "weakest" not in v


def test_checkpoints_through_the_cli_with_compare(sticks, tmp_path, monkeypatch):
    data, det = sticks
    import psgan.evaluation.metrics.fid as fid

    monkeypatch.setattr(fid, "inception_weights_path", lambda: None)              # as in CI: no [eval] extra
    a = tiny_checkpoint(tmp_path / "a" / "checkpoints" / "latest.pt", use_pose=True)
    b = tiny_checkpoint(tmp_path / "b" / "checkpoints" / "latest.pt", use_pose=False, seed=1)
    out = tmp_path / "eval.json"
    with one_thread():
        res = CliRunner().invoke(main, ["eval", str(a), "--data", str(data), "--compare", str(b),
                                        "--posenet", str(det), "-o", str(out), "--poses", "8",
                                        "--fid-images", "4", "--diversity-poses", "2",
                                        "--diversity-latents", "2"])
    assert res.exit_code == 0, res.output
    assert "PCK@0.05 generated" in res.output and "ceiling" in res.output and "floor" in res.output
    header = next(line for line in res.output.splitlines() if line.split() == ["a", "b"])
    assert header.startswith(" " * 28)                                            # the table's first row
    results = json.loads(out.read_text())
    assert [m["use_pose"] for m in results["models"]] == [True, False]
    for m in results["models"]:
        assert m["pose"]["poses"] == 8 and m["resolution"] == SIZE
        assert 0 <= m["pose"]["generated"]["pck@0.1"] <= 1
        assert m["pose"]["ceiling"]["pck@0.1"] > 0.8
    assert results["fid_features"] is None and results["models"][0]["quality"]["fid"] is None
    assert "pip install 'psgan-toolkit[eval]'" in results["fid_note"]
    assert "FID/KID: unavailable" in res.output and "n/a" in res.output
    assert out.with_suffix(".png").exists()


def test_metrics_are_picked_by_name_from_the_registry(sticks, tmp_path):
    from psgan.evaluation.metrics.registry import METRICS, parse_metrics

    assert list(METRICS) == ["pck", "fid", "diversity"] and all(m.description for m in METRICS.values())
    assert parse_metrics("diversity, PCK") == ["pck", "diversity"]          # registry order, any case
    data, det = sticks
    a = tiny_checkpoint(tmp_path / "a" / "checkpoints" / "latest.pt", use_pose=True)
    out = tmp_path / "eval.json"
    with one_thread():
        res = CliRunner().invoke(main, ["eval", str(a), "--data", str(data), "--posenet", str(det), "-o", str(out),
                                        "--poses", "8", "--metrics", "diversity", "--diversity-poses", "2",
                                        "--diversity-latents", "2"])
    assert res.exit_code == 0, res.output
    model = json.loads(out.read_text())["models"][0]
    assert model["metrics"] == ["diversity"] and model["diversity"]["generated"] > 0
    assert "pose" not in model and "quality" not in model and "verdict" not in model
    assert "diversity generated" in res.output and "PCK" not in res.output and "FID" not in res.output
    assert not out.with_suffix(".png").exists()                       # the sheet shows the pose metric's images
    bad = CliRunner().invoke(main, ["eval", str(a), "--data", str(data), "--metrics", "pck,fjd"])
    assert bad.exit_code == 2 and bad.output.strip().splitlines() == [
        "Error: Invalid value for '--metrics': 'pck,fjd': unknown metric 'fjd'"]


def test_eval_trains_and_caches_a_detector_when_none_is_given(tmp_path, sticks):
    data, _ = sticks
    local = tmp_path / "d.h5"
    local.write_bytes(data.read_bytes())
    quick = PoseNetTrainConfig(resolution=SIZE, steps=2, width=8)
    with one_thread():
        _, cfg, path = get_posenet(local, None, SIZE, progress=False, train_cfg=quick)
    assert path == default_posenet_path(local, SIZE) and path.exists()
    mtime = path.stat().st_mtime_ns
    _, cfg2, path2 = get_posenet(local, None, SIZE, progress=False)             # reused, not retrained
    assert path2 == path and path.stat().st_mtime_ns == mtime and cfg2.training == cfg.training


def test_eval_names_a_missing_checkpoint(sticks, tmp_path):
    data, det = sticks
    res = CliRunner().invoke(main, ["eval", str(tmp_path / "nope.pt"), "--data", str(data), "--posenet", str(det)])
    assert res.exit_code == 1 and "nope.pt" in res.output
