"""The training as a film: every few steps, the same test images reconstructed and the same prior points
decoded by the model as it learns, one frame each; saved as an animated GIF (as the VAE-GAN blog post's
featured animation shows reconstructions sharpening over time).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import checkpoints
from .data import load_split
from .images import gif_bytes, image_grid
from .models import VAE, uncompiled

SAMPLES = 10  # prior points decoded in every frame


SAVE_EVERY = 10  # frames between rewrites of the GIF while training (a job's monitor shows it growing)


class TrainingFilm:
    """Frames of (originals, reconstructions, prior samples), one every `every` steps, written to `path`
    as an animated GIF every SAVE_EVERY frames and after each epoch."""

    def __init__(self, path: Path, dataset: str, *, every: int = 100, seed: int = 0):
        if every < 1:
            raise ValueError(f"a film needs a frame every 1 or more steps, got {every}")
        split = load_split(dataset, train=False)
        self.path, self.every, self.seed = Path(path), every, seed
        self.originals = split.batch(torch.tensor(split.one_per_class()))[0]
        self.latents: torch.Tensor | None = None  # drawn once the model's latent size is known
        self.frames: list[np.ndarray] = []
        self.last_step = -1

    def due(self, step: int) -> bool:
        return step == 1 or step % self.every == 0

    @torch.no_grad()
    def capture(self, model: torch.nn.Module, step: int) -> None:
        """One frame from the model as it is after `step` steps (once per step; training mode changes
        nothing in these networks)."""
        model = uncompiled(model)
        if not isinstance(model, VAE) or step == self.last_step:
            return  # a classifier has nothing to draw
        self.last_step = step
        if self.latents is None:
            self.latents = torch.randn(SAMPLES, model.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        originals = self.originals.to(model.device)
        rows = [originals, model.reconstruct(originals).float(), model.decode(self.latents.to(model.device)).float()]
        self.frames.append(image_grid(rows, scale=2))
        if len(self.frames) % SAVE_EVERY == 0:
            self.save()

    def save(self) -> None:
        if not self.frames:
            return
        gif = gif_bytes(self.frames, frame_ms=150, bounce=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        checkpoints.atomic_write(self.path, lambda tmp: tmp.write_bytes(gif))
