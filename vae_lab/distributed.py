"""Training on several processes (torchrun): which rank this is, and the few collective steps the loop takes.

One process is the world of size 1, and every method here is then the identity, so the loop reads the same
either way. Under torchrun (`WORLD_SIZE` > 1) `join` initialises the process group (NCCL on CUDA, gloo on
the CPU) and each rank trains on its slice of every global batch:

- every rank draws the same epoch permutation and the same random numbers for the global batch (same seed),
  and keeps its own rows, so N processes compute what one process would on the whole batch;
- the trained modules are wrapped in DistributedDataParallel, which averages their gradients;
- rank 0 alone validates and writes checkpoints, progress events, the film and the posterior fit.
A rank that raises ends its process; torchrun then stops the others and prints that rank's error.
"""
from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

# A collective waiting longer than this (a rank stuck rather than failed) raises instead of hanging forever.
COLLECTIVE_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes; `World()` is a single process."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that validates and writes."""
        return self.rank == 0

    @property
    def joined(self) -> bool:
        return dist.is_available() and dist.is_initialized()

    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.size:
            raise ValueError(f"--batch-size is the global batch, split evenly over the {self.size} processes: "
                             f"choose a multiple of {self.size} (got {batch_size})")

    def epoch_images(self, images: int, batch_size: int) -> int:
        """Images used per epoch: all of them, less the few that would make the last batch uneven."""
        return images - (images % batch_size) % self.size

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch (or of anything drawn for it)."""
        if self.size == 1:
            return rows
        share = rows.shape[0] // self.size
        return rows[self.rank * share:(self.rank + 1) * share]

    def draw(self, sample: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
        """Random numbers for this rank's `n` rows: `sample` draws them for the whole global batch (the same
        on every rank, as one process would) and this rank keeps its rows."""
        return sample(n) if self.size == 1 else self.shard(sample(n * self.size))

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """The module in DDP when the process group is up (its backward then averages the gradients)."""
        if not self.joined:
            return module
        device = next(module.parameters()).device
        return DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)

    def average(self, tensors: list[torch.Tensor]) -> None:
        """Replace each tensor by its mean over the ranks, in place (for what DDP does not average itself)."""
        if not self.joined:
            return
        for tensor in tensors:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
            tensor.div_(self.size)

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank if it is true on any: so all ranks stop at the same step."""
        if not self.joined:
            return flag
        value = torch.tensor(float(flag), device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def barrier(self) -> None:
        if self.joined:
            dist.barrier()


def launched() -> bool:
    """Started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """Rank 0, or not under torchrun at all: the process that prints and writes."""
    return int(os.environ.get("RANK", "0")) == 0


def join(device: torch.device) -> tuple[World, torch.device]:
    """This process's world and device. Under torchrun, the process group is initialised on the first call
    and kept for the process's life (a group cannot be rejoined once destroyed: later runs reuse it)."""
    if not launched() and not (dist.is_available() and dist.is_initialized()):
        return World(), device
    if device.type == "cuda":  # one GPU per process on its node
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"training on several processes runs on CUDA or the CPU, not {device.type}: "
                         f"use --device cuda or --device cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT,
                                device_id=device if device.type == "cuda" else None)
        atexit.register(dist.destroy_process_group)
    return World(dist.get_rank(), dist.get_world_size()), device
