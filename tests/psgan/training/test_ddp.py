"""Data parallelism over 2 CPU processes (gloo), as torchrun would start them: same weights on both
ranks after training, and only rank 0 writes."""
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from helpers.psgan_data import write_tiny_dataset

from psgan.config import configure
from psgan.training.loop import Trainer


def _worker(rank: int, world: int, port: int, data: str, out: str, result: str, batch: int = 4) -> None:
    import os
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    cfg = configure(data, out, max_res=8, kimg_per_phase=0.016, batch={4: batch}, latent=8, fmap_base=32,
                    fmap_max=8, workers=0, device="cpu", tick_kimg=0.016)
    t = Trainer(cfg)
    t.run(progress=False)
    t.close()
    torch.save({k: v.clone() for k, v in t.G.state_dict().items()}, f"{result}.{rank}")
    torch.save(torch.tensor([t.total_img, t.steps]), f"{result}.pos.{rank}")
    dist.destroy_process_group()


def _two_ranks(tmp_path, *batch: int) -> Path:
    """Train on 2 spawned ranks (``batch``: the global minibatch, default the worker's); assert both
    end with the same generator; the run folder."""
    data = write_tiny_dataset(tmp_path / "tiny.h5", n=16, size=8)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "run"
    mp.spawn(_worker, args=(2, port, str(data), str(out), str(tmp_path / "G"), *batch), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"G.{r}", weights_only=True) for r in (0, 1))
    for k in a:
        assert torch.equal(a[k], b[k]), k
    return out


def test_two_ranks_stay_in_sync(tmp_path):
    out = _two_ranks(tmp_path)
    assert (out / "checkpoints" / "latest.pt").is_file() and (out / "log.jsonl").is_file()
    assert len((out / "log.jsonl").read_text().splitlines()) == 3    # one line per phase, one writer


def test_uneven_split_keeps_the_global_batch(tmp_path):
    """5 images per step on 2 ranks: 3 + 2, the ranks stay in sync and count 5 images per step."""
    _two_ranks(tmp_path, 5)
    total, steps = torch.load(tmp_path / "G.pos.0", weights_only=True).tolist()
    assert total == 5 * steps and steps == 3 * 4        # 16 images per phase -> 4 steps of 5, 3 phases
