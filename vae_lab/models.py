"""The networks: the VAE (one class for every VAE kind), the perceptual classifier, the critic.

Every VAE kind (plain, dfc, vaegan-*) is the same `VAE` module; the kinds differ only in the loss they were trained
with. Its encoder and decoder come from layouts.py, at the images' scale. Inputs are float images (N, C, H, W) in
[0, 1]; flattened sizes are computed from `image_shape`, never hard-coded.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import NamedTuple
from collections.abc import Iterator

import torch
import torch.nn as nn

from .layouts import (LAYOUTS, MNIST_SHAPE, Decoder, Encoder, ImageShape, Posterior, StridedDecoder,
                      StridedEncoder, flat_size, scale_for)


class VAEOutput(NamedTuple):
    logits: torch.Tensor  # decoder output before the sigmoid, (N, C, H, W)
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor  # the reparameterised sample that was decoded


class AggregatePosterior:
    """A Gaussian mixture fitted to the encoded training set's posterior means, q(z) ~ sum_k w_k N(m_k, S_k):
    where the model's codes actually lie. Decoding its samples instead of N(0, I)'s avoids the "prior
    holes", regions the prior covers but no training image was encoded to.

    A plain object, not a Module: it is fitted after training and stored in its own checkpoint file, so
    a VAE's weights (and every checkpoint written before it existed) stay as they are.
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor):
        self.weights, self.means, self.covariances = weights, means, covariances

    @classmethod
    def fit(cls, codes: torch.Tensor, *, components: int = 10, seed: int = 0) -> AggregatePosterior:
        """Fit a full-covariance mixture to `codes` (N, latent_dim) with scikit-learn's EM."""
        from sklearn.mixture import GaussianMixture  # imported here: only fitting needs it

        mixture = GaussianMixture(n_components=components, covariance_type="full", random_state=seed, reg_covar=1e-5)
        mixture.fit(codes.detach().double().cpu().numpy())
        return cls(*(torch.from_numpy(a).float() for a in (mixture.weights_, mixture.means_, mixture.covariances_)))

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"weights": self.weights, "means": self.means, "covariances": self.covariances}

    def sample(self, n: int, *, generator: torch.Generator | None = None,
               device: torch.device | str = "cpu") -> torch.Tensor:
        """`n` latent vectors; reproducible with `generator` (torch.distributions would draw from the global one)."""
        components = torch.multinomial(self.weights.to(device), n, replacement=True, generator=generator)
        noise = torch.randn(n, self.means.shape[1], 1, generator=generator, device=device)
        scale = torch.linalg.cholesky(self.covariances.to(device))
        return self.means.to(device)[components] + (scale[components] @ noise).squeeze(2)


class VAE(nn.Module):
    """A convolutional VAE with a standard normal prior and a Bernoulli decoder (logits). `layout`: the reference
    notebook's networks or the strided ones (default: `scale_for(image_shape)`'s)."""

    def __init__(self, *, latent_dim: int = 5, image_shape: ImageShape = MNIST_SHAPE, layout: str = ""):
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {latent_dim}")
        layout = layout or scale_for(image_shape).layout
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        self.latent_dim, self.layout = latent_dim, layout
        self.image_shape = tuple(image_shape)
        encoder, decoder = (Encoder, Decoder) if layout == "notebook" else (StridedEncoder, StridedDecoder)
        self.encoder = encoder(latent_dim=latent_dim, image_shape=self.image_shape)
        self.decoder = decoder(latent_dim=latent_dim, image_shape=self.image_shape)
        self.aggregate_posterior: AggregatePosterior | None = None  # fitted after training, if at all

    @property
    def architecture(self) -> dict:
        return {"latent_dim": self.latent_dim, "image_shape": list(self.image_shape), "layout": self.layout}

    @property
    def device(self) -> torch.device:
        return self.decoder.out.weight.device

    def encode(self, x: torch.Tensor) -> Posterior:
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1]: the Bernoulli means."""
        return torch.sigmoid(self.decoder(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean: the deterministic reconstruction every metric uses."""
        return self.decode(self.encode(x).mu)

    def sample_latents(self, n: int, *, source: str = "prior", generator: torch.Generator | None = None
                       ) -> torch.Tensor:
        """`n` latent vectors from the prior N(0, I) or from the fitted aggregate posterior."""
        if source == "prior":
            return torch.randn(n, self.latent_dim, generator=generator, device=self.device)
        if source != "posterior":
            raise ValueError(f"source must be 'prior' or 'posterior', got {source!r}")
        if self.aggregate_posterior is None:
            raise ValueError("this model has no fitted aggregate posterior: fit one with `vae-lab fit-posterior NAME`")
        return self.aggregate_posterior.sample(n, generator=generator, device=self.device)

    def sample(self, n: int, *, source: str = "prior", generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` decoded samples (images in [0, 1]) from the prior or from the fitted aggregate posterior."""
        return self.decode(self.sample_latents(n, source=source, generator=generator))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> VAEOutput:
        """`noise`: the N(0, I) draws of the reparameterisation (default: fresh ones)."""
        mu, logvar = self.encode(x)
        noise = torch.randn_like(mu) if noise is None else noise.to(mu.dtype)
        z = mu + noise * torch.exp(0.5 * logvar)
        return VAEOutput(self.decode_logits(z), mu, logvar, z)


class LayeredNet(nn.Module):
    """A feed-forward net whose layers are named, so features can be read at any of them."""

    layers: nn.ModuleDict

    @property
    def layer_names(self) -> list[str]:
        return list(self.layers.keys())

    def features(self, x: torch.Tensor, names: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The activations at `names`, running the net only as far as the deepest one."""
        unknown = set(names) - set(self.layers.keys())
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}: choose from {self.layer_names}")
        wanted, found = set(names), {}
        for name, layer in self.layers.items():
            x = layer(x)
            if name in wanted:
                found[name] = x
                if len(found) == len(wanted):
                    break
        return found

    def forward_with_features(self, x: torch.Tensor, names: list[str] | tuple[str, ...]
                              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The net's output and the activations at `names`, from one pass."""
        found = {}
        for name, layer in self.layers.items():
            x = layer(x)
            if name in names:
                found[name] = x
        return x, found

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers.values():
            x = layer(x)
        return x


def uncompiled(module: nn.Module) -> nn.Module:
    """The module itself, also when `torch.compile` wrapped it (the wrapper keeps it as `_orig_mod`)."""
    return getattr(module, "_orig_mod", module)


@contextmanager
def frozen(net: nn.Module) -> Iterator[nn.Module]:
    """Use `net` as a fixed function: inference behaviour (eval) and no gradient to its weights.

    Gradients still flow through it to its inputs. Its training mode and requires_grad flags
    are restored afterwards, so a jointly trained critic can be frozen for one loss only.
    """
    was_training = net.training
    flags = [p.requires_grad for p in net.parameters()]
    net.eval()
    net.requires_grad_(False)
    try:
        yield net
    finally:
        net.train(was_training)
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)


class Classifier(LayeredNet):
    """The reference notebook's MNIST CNN: conv32-pool-conv64-pool-conv64-dense64-dense10.

    Used as the DFC VAE's frozen perceptual model and as the judge of reconstructions;
    `penultimate` (the 64 ReLU units) is the feature space of the Frechet distances.
    """

    penultimate = "fc1"

    def __init__(self, *, num_classes: int = 10, image_shape: ImageShape = MNIST_SHAPE):
        super().__init__()
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        # the notebook's convolutions are unpadded; images under 20 px would shrink to nothing, so theirs are padded
        self.padding = 0 if min(self.image_shape[1:]) >= 20 else 1
        convs = nn.ModuleDict({
            "conv1": nn.Sequential(nn.Conv2d(image_shape[0], 32, 3, padding=self.padding), nn.ReLU()),
            "pool1": nn.MaxPool2d(2),
            "conv2": nn.Sequential(nn.Conv2d(32, 64, 3, padding=self.padding), nn.ReLU()),
            "pool2": nn.MaxPool2d(2),
            "conv3": nn.Sequential(nn.Conv2d(64, 64, 3, padding=self.padding), nn.ReLU()),
        })
        flat = flat_size(nn.Sequential(*convs.values()), self.image_shape)
        self.layers = nn.ModuleDict({
            **convs,
            "fc1": nn.Sequential(nn.Flatten(), nn.Linear(flat, 64), nn.ReLU()),
            "logits": nn.Linear(64, num_classes),
        })

    @property
    def architecture(self) -> dict:
        return {"num_classes": self.num_classes, "image_shape": list(self.image_shape)}

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).argmax(dim=1)


CRITIC_DEPTHS = (3, 4, 5)


class Critic(LayeredNet):
    """The VAE-GAN's critic: strided convs with LeakyReLU and a linear score (no normalisation,
    so the Wasserstein gradient penalty is well defined per example). `depth` 4 adds a fourth,
    strided conv whose units see the whole digit: global shape for the perceptual loss; `depth` 5 a fifth, for
    64-pixel images (`scale_for`)."""

    def __init__(self, *, image_shape: ImageShape = MNIST_SHAPE, width: int = 32, depth: int = 3):
        super().__init__()
        if depth not in CRITIC_DEPTHS:
            raise ValueError(f"the critic has 3 to 5 conv layers, got depth {depth}")
        self.image_shape, self.width, self.depth = tuple(image_shape), width, depth
        layers = {
            "conv1": nn.Sequential(nn.Conv2d(image_shape[0], width, 4, 2, 1), nn.LeakyReLU(0.2)),
            "conv2": nn.Sequential(nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2)),
            "conv3": nn.Sequential(nn.Conv2d(2 * width, 2 * width, 3, 1, 1), nn.LeakyReLU(0.2)),
        }
        if depth >= 4:
            layers["conv4"] = nn.Sequential(nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.LeakyReLU(0.2))
        if depth == 5:
            layers["conv5"] = nn.Sequential(nn.Conv2d(4 * width, 4 * width, 4, 2, 1), nn.LeakyReLU(0.2))
        convs = nn.ModuleDict(layers)
        flat = flat_size(nn.Sequential(*convs.values()), self.image_shape)
        self.layers = nn.ModuleDict({**convs, "score": nn.Sequential(nn.Flatten(), nn.Linear(flat, 1))})

    @property
    def conv_layers(self) -> list[str]:
        return [name for name in self.layer_names if name.startswith("conv")]

    @property
    def architecture(self) -> dict:
        return {"image_shape": list(self.image_shape), "width": self.width, "depth": self.depth}

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).squeeze(1)
