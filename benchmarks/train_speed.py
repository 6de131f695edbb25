"""Training throughput per kind: vae_lab's trainer vs the conventional way, same architecture.

The conventional way is the reference notebook's Keras `fit`, done in PyTorch: the torchvision
data set through a DataLoader (per-image ToTensor, shuffling, collation, host-to-device copy),
batch 32, RMSprop. vae_lab's way: the split resident on the device as uint8, batches sliced and
scaled there, bf16 autocast, channels_last. Both take the same optimiser steps on the same model and loss.

    VAE_LAB_DATA=../shared/data python benchmarks/train_speed.py [--kinds plain dfc] [--images 8192]

`--nproc N` measures vae_lab's way on N processes (torchrun, one per GPU, or N CPU processes with gloo),
`--batch-size` being the global batch, as in `torchrun -m vae_lab train`; images per second count all ranks.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_lab.data import load_split
from vae_lab.workspace import Workspace
from vae_lab import distributed
from vae_lab import kinds
from vae_lab.config import TrainConfig, pick_device
from vae_lab.train import _compile, make_objective


def objective_for(kind: str, device: torch.device, *, batch_size: int, bf16: bool, channels_last: bool,
                  compile: bool = False):
    config = TrainConfig(kind=kind, batch_size=batch_size, precision="bf16" if bf16 else "fp32",
                         channels_last=channels_last, device=device.type, compile=compile,
                         warmup_steps=0).resolved(device)
    split = load_split("mnist", train=True, device=device)
    objective = make_objective(config, device, split)
    fmt = config.memory_format
    for module in objective.modules.values():
        module.to(memory_format=fmt).train()
    if compile:
        _compile(objective, split.batch(slice(0, 2))[0].to(memory_format=fmt))
    return objective, split, fmt


def time_steps(step, batches, warmup: int, world: distributed.World | None = None) -> float:
    """Images per second (on all ranks together) over `batches` after `warmup` untimed steps."""
    world = world or distributed.World()
    seen, start = 0, None
    for i, (x, y) in enumerate(batches):
        if i == warmup:
            if x.is_cuda:
                torch.cuda.synchronize()
            world.barrier()
            start, seen = time.perf_counter(), 0
        step(x, y, i)
        seen += x.shape[0] * world.size
    if x.is_cuda:
        torch.cuda.synchronize()
    world.barrier()
    return seen / (time.perf_counter() - start)


def vae_lab_way(kind: str, device: torch.device, images: int, batch_size: int, bf16: bool,
                channels_last: bool, compile: bool) -> float:
    world, device = distributed.join(device)
    world.check_batch(batch_size)
    objective, split, fmt = objective_for(kind, device, batch_size=batch_size, bf16=bf16, channels_last=channels_last,
                                          compile=compile)
    objective.distribute(world)
    torch.manual_seed(0)  # the same order on every rank
    order = torch.randperm(len(split), device=device)[:images]

    def batches():
        for start in range(0, images - batch_size + 1, batch_size):  # whole global batches only
            x, y = split.batch(world.shard(order[start:start + batch_size]))
            yield x.contiguous(memory_format=fmt), y
    return time_steps(objective.train_step, batches(), warmup=5, world=world)


def conventional_way(kind: str, device: torch.device, images: int) -> float:
    objective, _, _ = objective_for(kind, device, batch_size=32, bf16=False, channels_last=False)
    for role, optimizer in objective.optimizers.items():
        params = [p for group in optimizer.param_groups for p in group["params"]]
        objective.optimizers[role] = torch.optim.RMSprop(params, lr=1e-3)
    dataset = datasets.MNIST(str(Workspace.from_env().data), train=True, transform=transforms.ToTensor())
    loader = DataLoader(Subset(dataset, range(images)), batch_size=32, shuffle=True,
                        pin_memory=device.type == "cuda")
    batches = ((x.to(device, non_blocking=True), y.to(device, non_blocking=True)) for x, y in loader)
    return time_steps(objective.train_step, batches, warmup=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=list(kinds.names()), choices=kinds.names())
    parser.add_argument("--images", type=int, default=8192, help="images per measurement")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=32, help="vae_lab's batch size (the recipes use 32)")
    parser.add_argument("--no-bf16", action="store_true", help="measure vae_lab's way in float32")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="vae_lab's way with channels_last tensors (the trainer's default)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (the trainer's --compile)")
    parser.add_argument("--no-conventional", action="store_true", help="measure vae_lab's way only")
    parser.add_argument("--nproc", type=int, default=1,
                        help="measure vae_lab's way on this many processes (torchrun); implies --no-conventional")
    args = parser.parse_args()
    if args.nproc > 1:  # start again as torchrun's processes (without --nproc, which torchrun would take for its own)
        rest = [a for i, a in enumerate(sys.argv[1:]) if not a.startswith("--nproc") and sys.argv[i] != "--nproc"]
        os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                  "--nproc-per-node", str(args.nproc), __file__, *rest])
    args.nproc = int(os.environ.get("WORLD_SIZE", "1"))
    args.no_conventional = args.no_conventional or args.nproc > 1
    device = pick_device(args.device)
    say = print if distributed.is_main_process() else (lambda *a, **k: None)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'cpu'}"
    say(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        f"{f' per process, {args.nproc} processes' if args.nproc > 1 else ''}")
    say(f"vae_lab: batch {args.batch_size}, bf16 {not args.no_bf16}, channels_last {args.channels_last}, "
        f"compile {args.compile}; "
        f"conventional: DataLoader, batch 32, RMSprop, float32; {args.images} images each")
    say(f"{'kind':14} {'vae_lab img/s':>14} {'conventional img/s':>19} {'ratio':>6}")
    for kind in args.kinds:
        ours = vae_lab_way(kind, device, args.images, args.batch_size, not args.no_bf16, args.channels_last,
                           args.compile)
        theirs = float("nan") if args.no_conventional else conventional_way(kind, device, args.images)
        say(f"{kind:14} {ours:14,.0f} {theirs:19,.0f} {ours / theirs:6.2f}", flush=True)


if __name__ == "__main__":
    main()
