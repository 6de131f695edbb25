"""Walking the latent space: interpolations, traversals, and 2-D maps of an encoded split."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import INFERENCE_BATCH, ImageSplit
from .models import VAE

# The notebook's interpolation pairs, as (from digit, to digit): endpoints are its selected test digits.
PRESET_PAIRS = ((1, 5), (1, 3), (3, 7))


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, *, method: str = "linear") -> torch.Tensor:
    """`steps` latent vectors from a to b, both included. "spherical" follows the great circle
    (slerp), keeping the norm typical of a Gaussian prior; near-parallel vectors fall back to linear."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    if method not in ("linear", "spherical"):
        raise ValueError(f"method must be linear or spherical, got {method!r}")
    t = torch.linspace(0, 1, steps, device=a.device, dtype=a.dtype).unsqueeze(1)
    a, b = a.reshape(1, -1), b.reshape(1, -1)
    if method == "spherical":
        cos = torch.nn.functional.cosine_similarity(a, b).clamp(-1, 1)
        omega = torch.arccos(cos)
        if omega.abs().item() > 1e-4:
            return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return (1 - t) * a + t * b


@torch.no_grad()
def interpolation_images(model: VAE, x_from: torch.Tensor, x_to: torch.Tensor, *, steps: int = 11,
                         method: str = "linear") -> torch.Tensor:
    """Decoded images along the path between two images' posterior means: (steps, C, H, W)."""
    mu = model.encode(torch.stack([x_from, x_to]).to(model.device)).mu
    return model.decode(interpolate(mu[0], mu[1], steps, method=method))


@torch.no_grad()
def traversal_grid(model: VAE, z: torch.Tensor, *, dims: tuple[int, int] = (0, 1), span: float = 3.0,
                   size: int = 9) -> torch.Tensor:
    """A size x size grid of decodings of z with two dimensions swept over [-span, span]:
    rows follow dims[0] (top = -span), columns dims[1]. Returns (size * size, C, H, W)."""
    if dims[0] == dims[1]:
        raise ValueError("choose two different latent dimensions")
    values = torch.linspace(-span, span, size, device=model.device)
    grid = z.reshape(1, -1).to(model.device).repeat(size * size, 1)
    grid[:, dims[0]] = values.repeat_interleave(size)
    grid[:, dims[1]] = values.repeat(size)
    return model.decode(grid)


@torch.no_grad()
def latent_means(model: VAE, split: ImageSplit, *, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """The posterior mean of every image of `split`: (N, latent_dim)."""
    parts = [model.encode(x.to(model.device)).mu for x, _ in split.batches(batch_size)]
    return torch.cat(parts).cpu().numpy()


@dataclass(frozen=True)
class Projection:
    """A linear 2-D view of latent space: PCA, or two chosen dimensions."""

    mean: np.ndarray  # (latent_dim,)
    axes: np.ndarray  # (2, latent_dim), orthonormal rows
    labels: tuple[str, str]

    def project(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z) - self.mean) @ self.axes.T

    def lift(self, point: np.ndarray, around: np.ndarray | None = None) -> np.ndarray:
        """A latent vector whose projection is `point`: `around` (default the mean) moved within the plane."""
        base = self.mean if around is None else np.asarray(around)
        return base + (np.asarray(point) - self.project(base)) @ self.axes


def pca(z: np.ndarray) -> Projection:
    mean = z.mean(axis=0)
    _, singular, vt = np.linalg.svd(z - mean, full_matrices=False)
    explained = singular ** 2 / np.sum(singular ** 2)
    return Projection(mean, vt[:2], (f"PC 1 ({100 * explained[0]:.0f}%)", f"PC 2 ({100 * explained[1]:.0f}%)"))


def dimension_pair(latent_dim: int, dims: tuple[int, int]) -> Projection:
    axes = np.zeros((2, latent_dim))
    axes[0, dims[0]], axes[1, dims[1]] = 1.0, 1.0
    return Projection(np.zeros(latent_dim), axes, (f"z[{dims[0]}]", f"z[{dims[1]}]"))
