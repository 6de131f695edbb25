"""The full scorecard of every MNIST model on the 10,000 test images, from a cold cache.

    VAE_LAB_DATA=../shared/data python benchmarks/scorecard_speed.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["VAE_LAB_CACHE"] = tempfile.mkdtemp()  # cold: nothing computed before
from vae_lab.blur import vae_names
from vae_lab.scorecard import analyse, load_test_split


def main() -> None:
    names = vae_names("mnist")
    load_test_split("mnist")  # reading the files is not the scorecard's work
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; models: {', '.join(names)}")
    start = time.perf_counter()
    for name in names:
        began = time.perf_counter()
        card = analyse(name).scorecard
        print(f"{name:14} {time.perf_counter() - began:6.2f} s   accuracy {card['accuracy']:.4f}  "
              f"FID samples {card['fid_samples']:.2f}", flush=True)
    print(f"full scorecard for {len(names)} models on 10,000 test images: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
