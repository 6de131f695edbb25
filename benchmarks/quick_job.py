"""A quick job's whole wall time against its training time, and where the rest goes.

Starts quick CPU jobs as a private lab's training panel does (JobManager, the kind's quick recipe, every core)
in a temporary workspace, one after the other, and reads back from each job's status and checkpoint where
its wall time went: training, validation, the trainer's start-up (data, networks), the aggregate-posterior fit, and
the rest (the process's start and imports, checkpoints, the film, publishing). Writes
benchmarks/results/quick_job.json with the machine, the date and the commit; `vae-lab docs` puts it in
docs/performance.md. Run it on idle cores.

    VAE_LAB_DATA=../shared/data python benchmarks/quick_job.py [--kind dfc] [--runs 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from vae_lab import checkpoints  # noqa: E402
from vae_lab.config import TrainConfig  # noqa: E402
from vae_lab.jobs import JobManager  # noqa: E402
from vae_lab.workspace import Workspace  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "quick_job.json"


def one_job(kind: str, folder: Path) -> dict:
    """A quick job of `kind`, started and waited for; its wall time split by what it did."""
    workspace = Workspace(data=Workspace.from_env().data, checkpoints=folder / "ck", jobs=folder / "jobs",
                          cache=folder / "cache")
    manager = JobManager(workspace)  # as a private lab's panel starts it: the job on every core
    config = TrainConfig(kind=kind, name=f"quick-{kind}", device="cpu", quick=True)
    status = manager.start(config)
    while manager.status(status.id).active:
        time.sleep(0.05)
    done = manager.status(status.id)
    if done.state != "succeeded":
        raise RuntimeError(f"the job {done.state}: {done.message}\n{manager.log_tail(done.id)}")
    meta = checkpoints.read(Path(done.checkpoint)).meta
    wall = meta["training"]["wall"]
    parts = {"training_s": sum(e["train_s"] for e in wall["epochs"]),
             "validation_s": sum(e["validation_s"] for e in wall["epochs"]),
             "trainer_startup_s": wall["startup_s"], "posterior_fit_s": meta["aggregate_posterior"]["fit_s"]}
    job_s = done.finished - done.started
    return {"kind": kind, "job_s": round(job_s, 2), **{k: round(v, 2) for k, v in parts.items()},
            "rest_s": round(job_s - sum(parts.values()), 2),
            "ratio": round(job_s / parts["training_s"], 3),
            "images": sum(e["images"] for e in wall["epochs"]),
            "validation_images": [e["validation_images"] for e in wall["epochs"]],
            "posterior_codes": meta["aggregate_posterior"]["fitted_on"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="dfc")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            runs.append(one_job(args.kind, Path(folder)))
        print(json.dumps(runs[-1]), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    result = {"runs": runs, "machine": f"{platform.node()}, {os.cpu_count()} cores", "commit": commit,
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "load_average_before": [round(v, 2) for v in load_before], "written_by": "benchmarks/quick_job.py"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
