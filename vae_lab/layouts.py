"""The VAE's encoder and decoder at each scale of image, chosen by `scale_for(image_shape)`: the reference
notebook's networks for MNIST's 28 pixels, and for 32 pixels or more the VAE-GAN blog post's and the DFC paper's scale,
stride-2 convolutions down to 4 x 4 and a latent of 64. `models.VAE` puts a pair together. Inputs are float images
(N, C, H, W) in [0, 1]; flattened sizes are computed from the image shape, never hard-coded.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

ImageShape = tuple[int, int, int]
MNIST_SHAPE: ImageShape = (1, 28, 28)
LAYOUTS = ("notebook", "strided")


class Scale(NamedTuple):
    """The networks a data set's images get: the layout of the VAE, its latent size and the critic's depth."""
    layout: str
    latent_dim: int
    critic_depth: int


def scale_for(image_shape: ImageShape) -> Scale:
    """Small images (MNIST's 28 px) get the reference notebook's networks and latent size 5; images of 32 px or
    more get the blog's and the DFC paper's scale: strided convolutions down to 4 x 4, a latent of 64 and a critic
    as deep as the encoder."""
    side = min(image_shape[1:])
    if side < 32:
        return Scale("notebook", 5, 3)
    return Scale("strided", 64, 4 if side < 64 else 5)


class Posterior(NamedTuple):
    """The encoder's diagonal Gaussian q(z|x)."""
    mu: torch.Tensor
    logvar: torch.Tensor


def flat_size(module: nn.Module, image_shape: ImageShape) -> int:
    with torch.no_grad():
        return module(torch.zeros(1, *image_shape)).flatten(1).shape[1]


class Encoder(nn.Module):
    """The reference notebook's encoder: four 3x3 convs (the second with stride 2), Dense(32)."""

    def __init__(self, *, latent_dim: int, image_shape: ImageShape):
        super().__init__()
        channels = image_shape[0]
        self.convs = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        )
        self.hidden = nn.Linear(flat_size(self.convs, image_shape), 32)
        self.mu = nn.Linear(32, latent_dim)
        self.logvar = nn.Linear(32, latent_dim)

    def forward(self, x: torch.Tensor) -> Posterior:
        h = F.relu(self.hidden(self.convs(x).flatten(1)))
        return Posterior(self.mu(h), self.logvar(h))


class Decoder(nn.Module):
    """The reference notebook's decoder: Dense(64 x H/2 x W/2), ConvTranspose(32, stride 2), Conv(C)."""

    def __init__(self, *, latent_dim: int, image_shape: ImageShape):
        super().__init__()
        channels, height, width = image_shape
        if height % 2 or width % 2:
            raise ValueError(f"image sides must be even, got {height}x{width}")
        self.grid = (64, height // 2, width // 2)
        self.hidden = nn.Linear(latent_dim, 64 * (height // 2) * (width // 2))
        self.upsample = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.out = nn.Conv2d(32, channels, 3, padding=1)  # the decoder's last layer

    @property
    def upsamples(self) -> list[nn.ConvTranspose2d]:
        """Its transposed convs, as the strided decoder names them (the browser's decoder reads either)."""
        return [self.upsample]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.hidden(z)).view(-1, *self.grid)
        return self.out(F.relu(self.upsample(h)))


def _strided_widths(image_shape: ImageShape) -> list[int]:
    """The strided layout's channels after each stride-2 stage: 32, 64, 128, 128, ... until the sides reach 4 px
    (or would turn odd)."""
    height, width = image_shape[1:]
    widths = []
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
        widths.append(min(32 * 2 ** len(widths), 128))
        height, width = height // 2, width // 2
    if not widths:
        raise ValueError(f"the strided networks need sides of 8 px or more, got {image_shape[1]}x{image_shape[2]}")
    return widths


class StridedEncoder(nn.Module):
    """Stride-2 3x3 convs (32, 64, 128, 128 channels) down to 4 x 4, then the Gaussian's two linear heads."""

    def __init__(self, *, latent_dim: int, image_shape: ImageShape):
        super().__init__()
        widths = _strided_widths(image_shape)
        layers: list[nn.Module] = []
        for before, after in zip([image_shape[0], *widths], widths):
            layers += [nn.Conv2d(before, after, 3, stride=2, padding=1), nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        flat = flat_size(self.convs, image_shape)
        self.mu = nn.Linear(flat, latent_dim)
        self.logvar = nn.Linear(flat, latent_dim)

    def forward(self, x: torch.Tensor) -> Posterior:
        h = self.convs(x).flatten(1)
        return Posterior(self.mu(h), self.logvar(h))


class StridedDecoder(nn.Module):
    """The strided encoder mirrored: Dense(128 x 4 x 4), stride-2 3x3 transposed convs up to the image's size
    (128, 64, 32, 32 channels), then a 3x3 conv to the image's channels."""

    def __init__(self, *, latent_dim: int, image_shape: ImageShape):
        super().__init__()
        widths = _strided_widths(image_shape)
        stages = len(widths)
        self.grid = (widths[-1], image_shape[1] >> stages, image_shape[2] >> stages)
        self.hidden = nn.Linear(latent_dim, self.grid[0] * self.grid[1] * self.grid[2])
        outputs = [*reversed(widths[:-1]), widths[0]]
        self.upsamples = nn.ModuleList(nn.ConvTranspose2d(before, after, 3, stride=2, padding=1, output_padding=1)
                                       for before, after in zip(reversed(widths), outputs))
        self.out = nn.Conv2d(widths[0], image_shape[0], 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.hidden(z)).view(-1, *self.grid)
        for upsample in self.upsamples:
            h = F.relu(upsample(h))
        return self.out(h)
