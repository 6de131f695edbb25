"""The training as a film: every few steps, the same test images reconstructed and the same prior points
decoded by the model as it learns, one frame each; saved as an animated GIF (as the VAE-GAN blog post's
featured animation shows reconstructions sharpening over time). Each frame is also measured on the first
MEASURED_IMAGES test images: the blur of their reconstructions and the share the data set's classifier reads
correctly, saved beside the GIF as JSON, so that the job monitor can show the two numbers frame by frame.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from . import checkpoints, judges
from .data import load_split
from .images import gif_bytes, image_grid
from .metrics import measure_reconstructions
from .models import VAE, uncompiled
from .workspace import Workspace

SAMPLES = 10  # prior points decoded in every frame
# test images each frame is measured on: 200 tell 0.5% apart and cost a small share of the training between frames
MEASURED_IMAGES = 200


SAVE_EVERY = 10  # frames between rewrites of the GIF while training (a job's monitor shows it growing)


class TrainingFilm:
    """Frames of (originals, reconstructions, prior samples), one every `every` steps, written to `path`
    as an animated GIF every SAVE_EVERY frames and after each epoch; each frame's measures go to
    `measures_path` (the GIF's path with .json): step, Laplacian variance, share read correctly."""

    def __init__(self, path: Path, dataset: str, *, every: int = 100, seed: int = 0,
                 workspace: Workspace | None = None):
        if every < 1:
            raise ValueError(f"a film needs a frame every 1 or more steps, got {every}")
        split = load_split(dataset, train=False)
        self.path, self.every, self.seed = Path(path), every, seed
        self.originals = split.batch(torch.tensor(split.one_per_class()))[0]
        self.measured, self.measured_labels = split.batch(slice(0, MEASURED_IMAGES))
        judge = judges.load_judge(dataset, workspace=workspace)  # None without one: the frames show blur alone
        self.judge = judge.classifier if judge is not None else None
        self.measures: list[dict[str, float]] = []
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
        self.measures.append({"step": step} | self._measure(model))
        if len(self.frames) % SAVE_EVERY == 0:
            self.save()

    def _measure(self, model: VAE) -> dict[str, float]:
        if self.judge is not None:
            self.judge.to(model.device)
        _, measured = measure_reconstructions(model, self.measured, judge=self.judge, with_ssim=False)
        summary = measured.summary(self.measured_labels)
        found = {"laplacian_variance": summary["laplacian_variance"]}
        return found | ({"read_correctly": summary["accuracy"]} if "accuracy" in summary else {})

    @property
    def measures_path(self) -> Path:
        return self.path.with_suffix(".json")

    def save(self) -> None:
        if not self.frames:
            return
        gif = gif_bytes(self.frames, frame_ms=150, bounce=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        checkpoints.atomic_write(self.path, lambda tmp: tmp.write_bytes(gif))
        measures = {"images": len(self.measured), "frames": self.measures}
        checkpoints.atomic_write(self.measures_path, lambda tmp: tmp.write_text(json.dumps(measures)))
