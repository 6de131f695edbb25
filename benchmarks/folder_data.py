"""Data set preparation from a folder: images per second for `vae-lab add-dataset` on a folder of JPEGs.

Makes a folder of `--images` JPEG photos-like pictures (random sizes from 80 to 400 px a side, smooth colour
gradients with a few discs; made first and not timed), in ten class sub-folders, then times
`folder_data.build` on it at 64 px in colour, as `vae-lab add-dataset` runs it: every file read, centre-cropped,
resized, hashed for duplicates, split and written. Writes benchmarks/results/folder_data.json with the machine,
the date and the commit; `vae-lab docs` puts it in docs/performance.md. Run it on idle cores.

    python benchmarks/folder_data.py [--images 10000] [--runs 2]
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

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from vae_lab import folder_data  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "folder_data.json"


def make_folder(folder: Path, count: int, *, seed: int = 0) -> int:
    """`count` JPEGs in ten class sub-folders; returns their total size in bytes."""
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(count):
        height, width = rng.integers(80, 401, size=2)
        yy, xx = np.mgrid[:height, :width]
        start, slope = rng.uniform(0, 255, size=(2, 3))
        picture = start + slope * ((yy + xx) / (height + width))[..., None]
        for _ in range(3):
            cy, cx, radius = rng.uniform(0, 1, size=3) * [height, width, min(height, width) / 2]
            picture[(yy - cy) ** 2 + (xx - cx) ** 2 < radius ** 2] = rng.uniform(0, 255, size=3)
        path = folder / f"class-{i % 10}" / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture.clip(0, 255).astype(np.uint8)).save(path, quality=90)
        total += path.stat().st_size
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vae_lab-folder-bench-") as tmp:
        source = Path(tmp) / "photos"
        size_bytes = make_folder(source, args.images)
        load_before, runs = list(os.getloadavg()), []
        for run in range(args.runs):
            started = time.perf_counter()
            entry, report = folder_data.build(f"bench-{run}", source, root=Path(tmp) / "data", size=64, channels=3)
            seconds = time.perf_counter() - started
            runs.append({"seconds": round(seconds, 2), "images_per_s": round(args.images / seconds, 1),
                         "train": report.train, "test": report.test, "skipped": len(report.skipped)})
            print(f"run {run + 1}: {args.images:,} images in {seconds:.1f} s, {args.images / seconds:.0f} images/s "
                  f"({report.summary()})", file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    result = {"command": "python " + " ".join(["benchmarks/folder_data.py", *sys.argv[1:]]),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
              "machine": f"{platform.node()}, {os.cpu_count()} cores", "images": args.images,
              "folder_mb": round(size_bytes / 1e6, 1), "size": 64, "channels": 3, "runs": runs,
              "load_average_before": load_before}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
