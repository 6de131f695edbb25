"""channels_last against the contiguous layout, A/B in one process, per kind.

Separate runs on this 2-core machine differ by 10-30% from one another, more than the effect
measured here, so both layouts are built side by side in one process and timed in alternating
rounds (ABBA order), on the same random batches, at the trainer's defaults otherwise. Reported:
each round's images/s and the medians' ratio.

    VAE_LAB_DATA=../shared/data python benchmarks/channels_last.py [--kinds plain dfc] [--rounds 6]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import objective_for
from vae_lab import kinds
from vae_lab.config import pick_device


def timed_round(objective, split, memory_format, order: torch.Tensor, batch_size: int) -> float:
    """Images per second over the batches of `order`, after two untimed steps."""
    batches = [split.batch(order[i:i + batch_size]) for i in range(0, len(order), batch_size)]
    for step, (x, y) in enumerate(batches):
        if step == 2:
            start = time.perf_counter()
        objective.train_step(x.contiguous(memory_format=memory_format), y, 10**6)  # past every warm-up
    if x.is_cuda:
        torch.cuda.synchronize()
    return (len(batches) - 2) * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=list(kinds.names()), choices=kinds.names())
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds per layout")
    parser.add_argument("--images", type=int, default=1920, help="images per round")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"{args.images} images per round, bf16 autocast")
    generator = torch.Generator().manual_seed(0)
    for kind in args.kinds:
        layouts = {name: objective_for(kind, device, batch_size=args.batch_size, bf16=True, channels_last=last)
                   for name, last in (("contiguous", False), ("channels_last", True))}
        rates = {name: [] for name in layouts}
        for round_ in range(args.rounds):
            order = torch.randint(0, len(layouts["contiguous"][1]), (args.images,), generator=generator).to(device)
            for name in (list(layouts) if round_ % 2 == 0 else list(layouts)[::-1]):
                objective, split, memory_format = layouts[name]
                rates[name].append(timed_round(objective, split, memory_format, order, args.batch_size))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        rounds = "; ".join(f"{name} {', '.join(f'{r:,.0f}' for r in values)}" for name, values in rates.items())
        print(f"{kind:13} channels_last / contiguous = {medians['channels_last'] / medians['contiguous']:.2f}x "
              f"(medians {medians['channels_last']:,.0f} / {medians['contiguous']:,.0f} img/s; {rounds})", flush=True)


if __name__ == "__main__":
    main()
