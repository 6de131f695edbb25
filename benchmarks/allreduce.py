"""What training on several processes adds to each step: the all-reduce of one VAE's and one critic's
gradients, timed between the processes torchrun starts (median of 50, after 10 untimed).

    OMP_NUM_THREADS=1 torchrun --standalone --nproc-per-node 2 benchmarks/allreduce.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_lab.models import VAE, Critic


def main() -> None:
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device("cuda", dist.get_rank() % torch.cuda.device_count()) if torch.cuda.is_available() \
        else torch.device("cpu")
    for name, module in (("VAE", VAE()), ("critic", Critic())):
        gradients = torch.zeros(sum(p.numel() for p in module.parameters()), device=device)
        times = []
        for _ in range(60):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(gradients)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
        if dist.get_rank() == 0:
            print(f"{name}: {gradients.numel():,} gradients, {dist.get_world_size()} processes "
                  f"({dist.get_backend()}): all-reduce median {1e3 * statistics.median(times[10:]):.2f} ms")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
