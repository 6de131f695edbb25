"""Time to quality: how long until a recipe reaches the reference notebook's published quality.

Targets (MNIST test set, reconstructions from posterior means, judged by the shipped classifier):
  dfc:   classifier accuracy on reconstructions >= 95.4%   (the notebook's DFC VAE)
  plain: reconstruction BCE <= 113 nats per image           (the notebook's plain VAE: 113.2)
The run is checked after every epoch; the time reported is the training time up to the first
epoch that meets the target (validation time is reported apart).

    VAE_LAB_DATA=../shared/data python benchmarks/time_to_quality.py --kind dfc --epochs 3 --bf16 \
        --perceptual-layers conv1 conv2 conv3
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_lab.config import PRECISIONS, TrainConfig, pick_device
from vae_lab.train import train

TARGETS = {"dfc": ("accuracy", ">=", 0.954), "plain": ("bce", "<=", 113.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(TARGETS), default="dfc")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--kl-warmup-steps", type=int, default=2000)
    parser.add_argument("--perceptual-layers", nargs="+", default=["conv1", "conv2", "conv3"],
                        help="DFC layers, weight 1.0 each (the shipped DFC VAE's)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    metric, direction, target = TARGETS[args.kind]
    device = pick_device(args.device)
    config = TrainConfig(kind=args.kind, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         kl_warmup_steps=args.kl_warmup_steps, precision=args.precision, device=args.device,
                         name="ttq", perceptual_layers=dict.fromkeys(args.perceptual_layers, 1.0))
    print(f"{args.kind} on {device} ({torch.get_num_threads()} CPU threads), torch {torch.__version__}: {config}")
    state = {"training": 0.0, "epoch_start": time.perf_counter(), "reached": None}

    def watch(event) -> None:
        if event.event == "step":
            state["last_step_clock"] = time.perf_counter()
        if event.event != "epoch":
            return
        state["training"] += state["last_step_clock"] - state["epoch_start"]
        value = event.metrics[metric]
        met = value >= target if direction == ">=" else value <= target
        print(f"epoch {event.epoch}: {metric} {value:.4f} (target {direction} {target}), training so far "
              f"{state['training']:.0f} s, wall with validation {event.elapsed_s:.0f} s, "
              f"{event.images_per_s:,.0f} img/s", flush=True)
        if met and state["reached"] is None:
            state["reached"] = (event.epoch, state["training"], event.elapsed_s)
        state["epoch_start"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        train(config, out_dir=Path(out), progress=watch)
    if state["reached"]:
        epoch, seconds, wall = state["reached"]
        print(f"reached {metric} {direction} {target} after epoch {epoch}: {seconds:.0f} s of training "
              f"({seconds / 60:.1f} min), {wall:.0f} s wall including validation")
    else:
        print(f"did not reach {metric} {direction} {target} in {args.epochs} epochs")


if __name__ == "__main__":
    main()
