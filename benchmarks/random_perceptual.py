"""Does a DFC VAE need a trained classifier? The emoji DFC conversion with a fixed random network's features.

Images without labels have no classifier to train, so the DFC VAE can take its features from a fixed, randomly
initialised network of the classifier's shape (`perceptual_model=random`, judges.py). This converts the shipped
plain emoji VAE into a DFC VAE twice, with the shipped recipe's settings and only the perceptual network changed:
the emoji classifier's features, then the random network's. Both are measured on the whole emoji test split against
the plain VAE they started from, judged by the shipped emoji classifier: sharpness (the Laplacian variance, a
paired t-test against the plain VAE), the share read as the right category, each channel's error, and the prior
samples' Frechet distance. Writes benchmarks/results/random_perceptual.json; `vae-lab docs` puts it in
docs/model-card.md. Needs the built emoji data set (`vae-lab fetch-data --datasets emoji`). The two runs train one
after the other (or side by side with --parallel, one thread each).

    python benchmarks/random_perceptual.py [--epochs 3] [--parallel]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from vae_lab import checkpoints, datasets, judges, scorecard  # noqa: E402
from vae_lab.config import TrainConfig  # noqa: E402
from vae_lab.data import has_split, missing_data_notice  # noqa: E402
from vae_lab.stats import paired_comparison  # noqa: E402
from vae_lab.workspace import Workspace  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "random_perceptual.json"
NETWORKS = ("emoji-classifier", judges.RANDOM)
# the shipped emoji DFC VAE's recipe (docs/model-card.md), all but its epochs
RECIPE = dict(kind="dfc", dataset="emoji", init_from="emoji-plain", perceptual_layers={"conv1": 1, "conv2": 1,
              "conv3": 10}, beta=3.0, kl_warmup_steps=0, lr=5e-4, lr_warmup_steps=100, device="cpu")
MEASURES = ("laplacian_variance", "accuracy", "mse_red", "mse_green", "mse_blue", "fid_samples")


def train_one(network: str, epochs: int, out: Path) -> dict:
    """Train the conversion with `network`'s features in this process, on one thread; its training record."""
    from vae_lab.train import train
    torch.set_num_threads(1)
    config = TrainConfig(**RECIPE, epochs=epochs, perceptual_model=network, name=f"emoji-dfc-{network}")
    started = time.perf_counter()
    result = train(config, out_dir=out)
    meta = result.checkpoint.meta
    return {"seconds": round(time.perf_counter() - started, 1), "steps": meta["training"]["step"],
            "images_seen": epochs * datasets.get("emoji").train_size, "perceptual": meta["perceptual"]}


def measured(name: str, workspace: Workspace, plain) -> dict:
    analysis = scorecard.analyse(checkpoints.find(name, workspace=workspace), workspace=workspace)
    test = paired_comparison(analysis.per_image["laplacian_variance"], plain.per_image["laplacian_variance"],
                             name_a=name, name_b="emoji-plain")
    return {key: analysis.scorecard[key] for key in MEASURES} | {
        "sharper_than_plain": {"cohens_dz": test.cohens_dz, "t_p_value": test.t_p_value,
                               "fraction_sharper": test.fraction_a_greater}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--parallel", action="store_true", help="train both at once, one thread each")
    parser.add_argument("--train-one", choices=NETWORKS, help=argparse.SUPPRESS)  # a --parallel child
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_one:
        print(json.dumps(train_one(args.train_one, args.epochs, args.out)))
        return 0
    if not has_split("emoji", train=True):
        raise SystemExit(missing_data_notice("emoji"))
    with tempfile.TemporaryDirectory(prefix="vae_lab-random-perceptual-") as tmp:
        command = [sys.executable, __file__, "--epochs", str(args.epochs), "--out", tmp, "--train-one"]
        children = [subprocess.Popen([*command, network], stdout=subprocess.PIPE, text=True, cwd=REPO)
                    for network in NETWORKS] if args.parallel else []
        runs = {}
        for k, network in enumerate(NETWORKS):
            child = children[k] if children else subprocess.Popen([*command, network], stdout=subprocess.PIPE,
                                                                    text=True, cwd=REPO)
            output, _ = child.communicate()
            if child.returncode:
                raise SystemExit(f"training with {network} failed (exit {child.returncode})")
            runs[network] = json.loads(output.strip().splitlines()[-1])
        workspace = replace(Workspace.from_env(), checkpoints=Path(tmp))
        plain = scorecard.analyse(checkpoints.shipped("emoji-plain"))
        rows = [{"network": network, **runs[network], **measured(f"emoji-dfc-{network}", workspace, plain)}
                for network in NETWORKS]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    result = {"command": "python " + " ".join(["benchmarks/random_perceptual.py", *sys.argv[1:]]),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
              "torch": torch.__version__, "machine": f"{os.cpu_count()} cores, one thread per run",
              "parallel": args.parallel, "epochs": args.epochs, "recipe": RECIPE,
              "test_images": len(plain.per_image["bce"]),
              "plain": {key: plain.scorecard[key] for key in MEASURES}, "rows": rows}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    for row in rows:
        print(f"{row['network']}: Laplacian variance {row['laplacian_variance']:.4f} (plain "
              f"{plain.scorecard['laplacian_variance']:.4f}), read correctly {row['accuracy']:.2%}, "
              f"d_z {row['sharper_than_plain']['cohens_dz']:.2f}, {row['seconds']} s", file=sys.stderr)
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
