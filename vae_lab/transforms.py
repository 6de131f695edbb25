"""The lesson's changes of an image: shifts, a rotation, a Gaussian blur, a thicker or thinner stroke, noise.

Each takes images (N, C, H, W) in [0, 1] and an amount; `TRANSFORMS` gives each one's slider range, and
`apply` checks a user's choice against it."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def shift(x: torch.Tensor, pixels: float, *, axis: int) -> torch.Tensor:
    """Move the image by whole pixels along `axis` (-1: right, -2: down; negative: left, up), filling with black."""
    n = int(round(pixels))
    if n == 0:
        return x.clone()
    moved = torch.roll(x, shifts=n, dims=axis)
    index = [slice(None)] * x.dim()
    index[axis] = slice(0, n) if n > 0 else slice(n, None)
    moved[tuple(index)] = 0.0
    return moved


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate about the centre (bilinear, black outside)."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]], dtype=x.dtype)
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of standard deviation `sigma` pixels (0: unchanged)."""
    if sigma <= 0:
        return x.clone()
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-t.square() / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    planes = x.reshape(-1, 1, *x.shape[-2:])  # each channel of each image blurred alike
    out = F.conv2d(planes, kernel.view(1, 1, 1, -1), padding=(0, radius))
    return F.conv2d(out, kernel.view(1, 1, -1, 1), padding=(radius, 0)).reshape(x.shape)


def stroke(x: torch.Tensor, amount: float) -> torch.Tensor:
    """Thicken (amount > 0) or thin (< 0) the stroke: a blend towards the 3x3 dilation or erosion;
    +-1 grows or shrinks it by one pixel on every side."""
    if amount == 0:
        return x.clone()
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
    return x + abs(amount) * ((dilated if amount > 0 else eroded) - x)


def noise(x: torch.Tensor, std: float, *, seed: int = 0) -> torch.Tensor:
    """Add Gaussian noise of standard deviation `std` (the same noise for a seed), clamped to [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return (x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype)).clamp(0, 1)


@dataclass(frozen=True)
class Transform:
    """One change a slider makes, and the range the slider and the curves cover."""

    label: str
    unit: str
    low: float
    high: float
    step: float
    apply: Callable[[torch.Tensor, float], torch.Tensor]

    @property
    def amounts(self) -> np.ndarray:
        return np.round(np.arange(self.low, self.high + self.step / 2, self.step), 4)


TRANSFORMS = {
    "shift_x": Transform("shift right", "pixels", 0, 4, 1, lambda x, a: shift(x, a, axis=-1)),
    "shift_y": Transform("shift down", "pixels", 0, 4, 1, lambda x, a: shift(x, a, axis=-2)),
    "rotate": Transform("rotate", "degrees", -30, 30, 5, rotate),
    "blur": Transform("Gaussian blur", "sigma, pixels", 0, 2, 0.25, gaussian_blur),
    "stroke": Transform("thicken (+) or thin (-)", "pixels", -1, 1, 0.25, stroke),
    "noise": Transform("add noise", "standard deviation", 0, 0.5, 0.05, noise),
}
# The curves' common unit: what each loss charges for a 2-pixel shift to the right of the same image.
REFERENCE = ("shift_x", 2.0)
STRONG_BLUR = ("blur", 2.0)


def on_background(x: torch.Tensor, background: float, change: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """`change` made to the drawing on its background: the changes above bring in black at the edges (and thicken
    what is bright), so an image on white (`background` 1.0, the emoji) is inverted before and after."""
    if background not in (0.0, 1.0):
        raise ValueError(f"the background is black (0.0) or white (1.0), got {background}")
    return change(x) if background == 0.0 else 1.0 - change(1.0 - x)


def apply(x: torch.Tensor, transform: str, amount: float, *, background: float = 0.0) -> torch.Tensor:
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}: choose from {list(TRANSFORMS)}")
    t = TRANSFORMS[transform]
    if not t.low <= amount <= t.high:
        raise ValueError(f"{t.label}: choose an amount from {t.low} to {t.high} {t.unit}, got {amount}")
    return on_background(x, background, lambda drawing: t.apply(drawing, amount))
