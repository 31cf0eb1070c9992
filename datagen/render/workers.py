"""``--workers N``: render chunks in N Blender subprocesses that report progress on a pipe."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from datagen.render.cast import CastPlan, RigSessions, selections
from datagen.render.config import RenderConfig, RenderError, blender_session_class
from datagen.render.rows import chunk_path, render_chunks, render_header, shard_attrs

PLAN_FILE, RUN_FILE = "plan.npz", "run.json"


def _die_with_parent() -> None:
    """Run in the child before exec: get SIGKILL when the parent dies (a killed run leaves no orphan)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_workers(run_dir: Path, chunks: list[tuple[int, int]], workers: int, bar) -> None:
    todo = [c for c in chunks if not chunk_path(run_dir, c[0]).exists()]
    shares = [todo[w::workers] for w in range(workers)]
    procs = []
    for w, share in enumerate(shares):
        if not share:
            continue
        spec = run_dir / f"worker-{w}.json"
        spec.write_text(json.dumps({"chunks": share}))
        with open(run_dir / f"worker-{w}.log", "w") as logf:
            procs.append((subprocess.Popen([sys.executable, "-m", "datagen.render.workers", str(run_dir), str(spec)],
                                           stdout=subprocess.PIPE, stderr=logf, text=True,
                                           preexec_fn=_die_with_parent), run_dir / f"worker-{w}.log"))
    errors: list[str] = []
    lock = threading.Lock()

    def pump(p: subprocess.Popen) -> None:
        for line in p.stdout:
            if line.startswith("row"):
                with lock:
                    bar.update(1)
            elif line.startswith("error "):
                errors.append(line[6:].strip())

    threads = [threading.Thread(target=pump, args=(p,), daemon=True) for p, _ in procs]
    for t in threads:
        t.start()
    try:
        for (p, _), t in zip(procs, threads):
            p.wait()
            t.join()
    except BaseException:
        for p, _ in procs:
            p.kill()
        raise
    failed = [(p, logp) for p, logp in procs if p.returncode != 0]
    if failed or errors:
        detail = errors[0] if errors else (failed[0][1].read_text().strip().splitlines() or ["?"])[-1]
        raise RenderError(f"a render worker failed ({detail}); run again with --resume to continue")


def worker_main(run_dir: Path, spec_path: Path) -> int:
    """Entry point of a worker subprocess: render the chunks listed in ``spec_path``."""
    BlenderSession = blender_session_class()

    progress = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # Blender's own prints must not reach the progress pipe
    try:
        state = json.loads((run_dir / RUN_FILE).read_text())
        config = RenderConfig(**state["full_config"])
        chunks = [tuple(c) for c in json.loads(spec_path.read_text())["chunks"]]
        plan = CastPlan.load(run_dir / PLAN_FILE, config.rig_paths())
        sessions = RigSessions(BlenderSession, config, selections(config, plan))
        header = render_header(config, plan, shard_attrs(tuple(state["shard"]), plan.jobs))
        render_chunks(sessions, plan, header, run_dir, chunks, on_row=lambda: progress.write("row\n"))
        sessions.close()
    except Exception as e:  # reported to the parent as one line
        progress.write(f"error {type(e).__name__}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(Path(sys.argv[1]), Path(sys.argv[2])))
