"""Time to quality: how long a recipe takes, from a cold start, to reach the reference quality.

Targets (MNIST test set, reconstructions from posterior means, judged by the shipped classifier):
  dfc:          accuracy on reconstructions >= 95.4% and Laplacian variance >= 0.066 (the notebook's DFC VAE)
  plain:        reconstruction BCE <= 113 nats per image (the notebook's plain VAE: 113.2)
  vaegan-hinge, vaegan-wgan: accuracy >= 90% and sharper than the shipped DFC VAE (paired t-test on the Laplacian
                variance of the 10,000 test reconstructions, p < 0.001)
The run is checked after every epoch validated on the whole test set (the trainer looks at only
the first 1,000 test images after the epochs before the last; `--interim-test-limit 0` checks every
epoch). Reported: the training images seen and the training time up to the first epoch that meets
the target (images hold from one machine to the next, seconds do not), and the wall time from the
start of this script (imports, data, validation included). A warm-started recipe (`--init-from`, as
the quick DFC and VAE-GAN recipes are) counts only its own images, not the starting model's.
Every `vae-lab train` option is accepted, so a recipe can be measured as the sidebar would run it:

    VAE_LAB_DATA=../shared/data python benchmarks/time_to_quality.py --kind dfc --quick
    VAE_LAB_DATA=../shared/data python benchmarks/time_to_quality.py --kind plain --epochs 1 --lr 3e-3
    VAE_LAB_DATA=../shared/data python benchmarks/time_to_quality.py --kind dfc --quick --init-from ""  # from scratch

With --record (a --quick run only), the run is kept in vae_lab/records/quick-recipes.json: the training panel
states those figures, and the time estimate starts from their wall times. Run it on idle cores.
"""
from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import functools  # noqa: E402
import os  # noqa: E402
from dataclasses import replace  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_lab import checkpoints, quick_record  # noqa: E402
from vae_lab.cli import _config_arguments, config_from_args  # noqa: E402
from vae_lab.config import pick_device  # noqa: E402
from vae_lab.data import load_split  # noqa: E402
from vae_lab.datasets import MNIST  # noqa: E402 (the quick recipes are measured on MNIST)
TRAIN_SPLIT_SIZE, TEST_SPLIT_SIZE = MNIST.train_size, MNIST.test_size
from vae_lab.estimate import estimate_seconds  # noqa: E402
from vae_lab.metrics import reconstruction_metrics  # noqa: E402
from vae_lab.stats import paired_comparison  # noqa: E402
from vae_lab.train import train  # noqa: E402

KINDS = ("dfc", "plain", "vaegan-hinge", "vaegan-wgan")


def laplacians(where: str):
    """Per-image Laplacian variance of a checkpoint's test-set reconstructions."""
    return reconstruction_metrics(checkpoints.load(where), load_split("mnist", train=False)).laplacian_variance.numpy()


@functools.cache
def shipped_dfc_laplacians():
    """The shipped DFC VAE's, computed once however many epochs are checked."""
    return laplacians("dfc")


def sharper_than_dfc(checkpoint_path: str) -> tuple[bool, str]:
    """Is this checkpoint's test-set reconstruction sharper than the shipped DFC VAE's (p < 0.001)?"""
    values = {"this model": laplacians(checkpoint_path), "shipped dfc": shipped_dfc_laplacians()}
    test = paired_comparison(values["this model"], values["shipped dfc"], name_a="this model", name_b="shipped dfc")
    return test.mean_difference > 0 and test.t_p_value < 1e-3, (
        f"LV {test.mean_a:.4f} vs shipped dfc {test.mean_b:.4f}, paired t p = {test.t_p_value:.2g}")


def reached(kind: str, metrics: dict, checkpoint_path: str) -> tuple[bool, str]:
    if kind == "plain":
        return metrics["bce"] <= 113.0, (f"BCE {metrics['bce']:.1f} nats (target <= 113), "
                                         f"accuracy {metrics['accuracy']:.2%}")
    said = f"accuracy {metrics['accuracy']:.2%}, LV {metrics['laplacian_variance']:.4f}"
    if kind == "dfc":
        return metrics["accuracy"] >= 0.954 and metrics["laplacian_variance"] >= 0.066, \
            said + " (targets >= 95.4%, >= 0.066)"
    if metrics["accuracy"] < 0.90:
        return False, said + " (target accuracy >= 90%)"
    sharper, how = sharper_than_dfc(checkpoint_path)
    return sharper, said + "; " + how


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _config_arguments(parser)
    parser.add_argument("--record", action="store_true", help="keep this --quick run in vae_lab/records/")
    args = parser.parse_args()
    if args.record and not args.quick:
        parser.error("--record keeps runs of the quick recipe only: add --quick")
    load_before = os.getloadavg()
    args.config, args.resume = None, None
    args.kind = args.kind or "dfc"
    if args.kind not in KINDS:
        parser.error(f"--kind: one of {', '.join(KINDS)}")
    config, _ = config_from_args(args)
    # judged on the whole test set, where the quick recipe's own validation looks at its first 2,000 images
    config = replace(config, name="ttq", test_limit=config.test_limit if args.test_limit is not None else 0).resolved()
    print(f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}: {config}", flush=True)
    state = {"training": 0.0, "epoch_start": time.perf_counter(), "reached": None, "metrics": None}
    per_epoch = min(config.train_limit or TRAIN_SPLIT_SIZE, TRAIN_SPLIT_SIZE)

    def watch(event) -> None:
        if event.event == "step":
            state["last_step"] = time.perf_counter()
        if event.event != "epoch":
            return
        state["training"] += state["last_step"] - state["epoch_start"]
        state["metrics"] = event.metrics
        met, said = reached(config.kind, event.metrics, event.checkpoint)
        if event.metrics["test_images"] < TEST_SPLIT_SIZE:  # the trainer's quick look between epochs: not a verdict
            met, said = False, f"on the first {event.metrics['test_images']:.0f} test images only: " + said
        wall = time.perf_counter() - START
        images = event.epoch * per_epoch
        print(f"epoch {event.epoch}: {said}; {images:,} images seen, training so far {state['training']:.0f} s, "
              f"wall {wall:.0f} s, {event.images_per_s:,.0f} img/s", flush=True)
        if met and state["reached"] is None:
            state["reached"] = (event.epoch, images, state["training"], wall)
        state["epoch_start"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        result = train(config, out_dir=Path(out), progress=watch)
    meta = result.checkpoint.meta
    print(f"where the time went (the checkpoint's record): {meta['training']['wall']}, "
          f"posterior fit {meta['aggregate_posterior']['fit_s']} s", flush=True)
    total = time.perf_counter() - START
    estimate = estimate_seconds(config, pick_device(config.device))
    said = f"{estimate:.0f} s ({estimate / total - 1:+.0%})" if estimate else "none"
    print(f"precision {result.precision}; the whole run {total:.0f} s (the aggregate-posterior fit included); "
          f"the training panel's estimate: {said}")
    if state["reached"]:
        epoch, images, seconds, wall = state["reached"]
        print(f"REACHED after epoch {epoch}: {images:,} images, {seconds:.0f} s of training, {wall:.0f} s wall "
              f"from a cold start")
    else:
        print(f"NOT REACHED in {config.epochs} epoch(s)")
    if args.record:
        quick_record.add(record(config, result, state, total, load_before))
        print(f"recorded in {quick_record.RECORD}")


def record(config, result, state: dict, total: float, load_before: tuple) -> dict:
    """This run as quick_record keeps it: its recipe, where it started, what it reached and where its time went."""
    meta = result.checkpoint.meta
    start = checkpoints.shipped(config.init_from) if config.init_from else None
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).resolve().parent,
                            capture_output=True, text=True).stdout.strip()
    run = {"kind": config.kind, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "commit": commit, "machine": f"{os.cpu_count()} CPU cores", "threads": torch.get_num_threads(),
           "load_average_before": load_before, "precision": result.precision, "recipe": meta["recipe"],
           "init_from": {"name": start.name, "sha256": start.sha256} if start else None,
           "images": config.epochs * min(config.train_limit or TRAIN_SPLIT_SIZE, TRAIN_SPLIT_SIZE),
           "training_s": round(state["training"], 1), "wall_s": round(total, 1),
           "reached": state["reached"] is not None,
           "metrics": {k: state["metrics"][k] for k in ("accuracy", "bce", "laplacian_variance")},
           "meta": {key: meta[key] for key in ("kind", "created", "recipe", "training", "aggregate_posterior")}}
    if config.kind.startswith("vaegan"):
        run["shipped_dfc_laplacian_variance"] = float(shipped_dfc_laplacians().mean())
    return run


if __name__ == "__main__":
    main()
