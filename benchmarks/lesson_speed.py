"""The Why blurry? page's work: the three loss optima (its step 3, the goal: under 5 s on 2 cores) for
several test images, and the page itself run warm (a second visitor, caches filled by the first).

    VAE_LAB_DATA=../shared/data python benchmarks/lesson_speed.py [--threads 2] [--images 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from vae_lab import lesson  # noqa: E402
from vae_lab.data import load_split  # noqa: E402


def optima_seconds(dataset: str, images: int) -> list[float]:
    judges, split = lesson.Judges.of(dataset), load_split(dataset, train=False)
    lesson.optima(lesson.shifted_targets(split.batch(slice(0, 1))[0]), judges, steps=5)  # warm-up, not timed
    times = []
    for index in split.one_per_class()[:images]:
        targets = lesson.shifted_targets(split.batch(slice(index, index + 1))[0], max_shift=2)
        start = time.perf_counter()
        found = lesson.optima(targets, judges)
        times.append(time.perf_counter() - start)
        print(f"{dataset} #{index}: {len(targets)} targets, 3 x {lesson.OPTIMUM_STEPS} Adam steps in "
              f"{times[-1]:.2f} s (" + ", ".join(f"{k} {o.seconds:.2f} s" for k, o in found.items()) + ")", flush=True)
    return times


def warm_page_seconds(runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    os.environ.setdefault("VAE_LAB_CHECKPOINTS", tempfile.mkdtemp())
    os.environ.setdefault("VAE_LAB_JOBS", tempfile.mkdtemp())
    AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()  # the first visitor fills the caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
        times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--page-runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "lesson_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {os.cpu_count()} cores")
    load_before = os.getloadavg()
    record = {"command": " ".join(["python", "benchmarks/lesson_speed.py", *sys.argv[1:]]),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "threads": torch.get_num_threads(),
              "steps": lesson.OPTIMUM_STEPS, "load_average_before": load_before, "optima_s": {}}
    for dataset in ("mnist", "fashion-mnist"):
        times = optima_seconds(dataset, args.images)
        record["optima_s"][dataset] = [round(t, 2) for t in times]
        print(f"{dataset}: the three optima in median {statistics.median(times):.2f} s, at most {max(times):.2f} s "
              f"(goal: < 5 s)")
    pages = warm_page_seconds(args.page_runs)
    record["warm_page_script_s"] = [round(t, 2) for t in pages]
    print(f"the landing page, warm server, a new session (the script's run, no browser): median "
          f"{statistics.median(pages):.2f} s, at most {max(pages):.2f} s over {len(pages)} runs (goal: < 3 s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
