"""The aggregate posterior of a trained VAE: a Gaussian mixture fitted to where the encoder puts the
training images, stored beside the checkpoint, so that `model.sample(n, source="posterior")` draws
from where the codes actually lie (and the "prior hole" can be measured: prior vs posterior samples).
"""
from __future__ import annotations

import time

import torch

from . import checkpoints
from .checkpoints import Checkpoint
from .data import ImageSplit, load_split
from .explore import latent_means
from .models import AggregatePosterior

COMPONENTS = 10


@torch.no_grad()
def fit_posterior(checkpoint: Checkpoint | str, *, split: ImageSplit | None = None, codes: torch.Tensor | None = None,
                  components: int = COMPONENTS, device: str | torch.device = "cpu", seed: int = 0) -> Checkpoint:
    """Fit the mixture to posterior means and add it to the checkpoint (a safetensors file and a JSON entry).
    `codes`: means already at hand (the trainer's, from its last training batches); else the training images
    (`split`, default: the checkpoint's whole training split) are encoded. Returns the updated checkpoint."""
    started = time.perf_counter()
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else checkpoints.find(checkpoint)
    if not ckpt.is_vae:
        raise ValueError(f"{ckpt.name} is a classifier: only a VAE has a latent space to fit")
    if codes is None:
        split = split if split is not None else load_split(ckpt.dataset, train=True, device=device)
        codes = torch.from_numpy(latent_means(checkpoints.load(ckpt, device), split))
        source = f"{ckpt.dataset} training split, {len(codes)} posterior means"
    else:
        source = f"{ckpt.dataset} training split, {len(codes)} posterior means (its last training batches')"
    mixture = AggregatePosterior.fit(codes, components=components, seed=seed)
    about = {"components": components, "covariance": "full", "fitted_on": source,
             "library": "scikit-learn GaussianMixture", "seed": seed,
             "fit_s": round(time.perf_counter() - started, 2)}  # its wall time, for estimating later runs
    return checkpoints.add_file(ckpt, "posterior", mixture.tensors(), {"aggregate_posterior": about})
