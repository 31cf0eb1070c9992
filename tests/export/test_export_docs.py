"""docs/training-other-models.md runs: its `datagen` and `yolo` command lines and its Python example, in
order, in a scratch folder holding a synthetic data.h5, at tiny sizes (``--size`` 64; the YOLO training
one epoch at 64 px on the CPU), offline. The `accelerate launch train_controlnet.py` line needs the
script and a base model from the Hub and is shown in a ``console`` block, not run (its steps are
tests/export/test_controlnet_export.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.synthetic import REPO, write_synthetic

pytestmark = pytest.mark.export
DOC = REPO / "docs" / "training-other-models.md"


def blocks(lang: tuple[str, ...]) -> list[str]:
    return [m.group(2) for m in re.finditer(r"```(\w*)\n(.*?)```", DOC.read_text(), re.S) if m.group(1) in lang]


def commands() -> list[str]:
    out = []
    for block in blocks(("", "bash", "sh")):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith(("datagen ", "yolo ")):
                out.append(line)
    return out


def tiny(cmd: str) -> str:
    cmd = re.sub(r"--size \d+", "--size 64", cmd)
    if cmd.startswith("yolo "):
        cmd = re.sub(r"epochs=\d+", "epochs=1", re.sub(r"imgsz=\d+", "imgsz=64", cmd))
        cmd += " batch=4 workers=0 device=cpu plots=False amp=False"
    return cmd


def test_the_page_has_each_tool():
    cmds = commands()
    assert {c.split(" --to ")[1].split()[0] for c in cmds if c.startswith("datagen export")} == \
        {"hf", "controlnet", "yolo"}
    assert any(c.startswith("yolo pose train") for c in cmds) and blocks(("python",))


@pytest.mark.slow
def test_documented_commands_run(tmp_path):
    write_synthetic(tmp_path / "data.h5", n=16, size=64)
    # Without PYTEST_CURRENT_TEST, which makes Ultralytics write its runs into its own package folder.
    env = {**{k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "YOLO_OFFLINE": "1",
           "YOLO_CONFIG_DIR": str(tmp_path / "yolo-config"), "HF_HOME": str(tmp_path / "hf-home")}
    # Ultralytics puts its runs beside the git checkout it is installed in (here this one); keep them here.
    subprocess.run(["yolo", "settings", f"runs_dir={tmp_path / 'runs'}"], env=env, check=True, capture_output=True)
    for cmd in commands():
        run = tiny(cmd)
        r = subprocess.run(["bash", "-c", run], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{cmd}\nran: {run}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        assert "Downloading" not in r.stdout + r.stderr, run
    assert list(tmp_path.glob("runs/pose/*/weights/last.pt"))  # where `yolo pose train` writes
    for code in blocks(("python",)):
        r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, f"{code}\n{r.stderr[-2000:]}"
