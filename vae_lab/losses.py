"""Loss terms. Per-image terms return shape (N,); callers average over the batch, the same way
in training and validation.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .models import LayeredNet, frozen


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image, in nats."""
    return -0.5 * torch.sum(1 + logvar - mu.square() - logvar.exp(), dim=1)


def bce_per_image(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood per image, summed over pixels, in nats."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def feature_distance(real: dict[str, torch.Tensor], fake: dict[str, torch.Tensor],
                     weights: dict[str, float]) -> torch.Tensor:
    """sum_l w_l * ||phi_l(x) - phi_l(x_rec)||^2 per image: the DFC loss's form."""
    total = 0.0
    for name, weight in weights.items():
        total = total + weight * (real[name].float() - fake[name].float()).square().flatten(1).sum(dim=1)
    return total


class PerceptualLoss:
    """Feature distance at named layers of a frozen network (the DFC VAE's reconstruction loss).

    Deliberately not an nn.Module: the network never becomes a submodule of the model being
    trained, so it cannot enter that model's optimiser, state_dict or train()/eval() switches.
    """

    def __init__(self, net: LayeredNet, weights: dict[str, float]):
        if not weights:
            raise ValueError("choose at least one perceptual layer")
        unknown = sorted(set(weights) - set(net.layer_names))
        if unknown:
            raise ValueError(f"unknown perceptual layer(s) {unknown}: choose from {net.layer_names}")
        self.net, self.weights = net, dict(weights)

    def __call__(self, x: torch.Tensor, x_rec: torch.Tensor) -> torch.Tensor:
        return sum(self.layer_terms(x, x_rec).values())

    def layer_terms(self, x: torch.Tensor, x_rec: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each layer's weighted term per image, w_l * ||phi_l(x) - phi_l(x_rec)||^2: the loss is their sum."""
        return self.terms(self.reference_features(x), self.features_of(x_rec))

    def terms(self, real: dict[str, torch.Tensor], fake: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`layer_terms` from features already computed (a fixed reference's can be reused)."""
        return {name: feature_distance(real, fake, {name: weight}) for name, weight in self.weights.items()}

    def reference_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen net's features of the reference images at the loss's layers (no gradient)."""
        with torch.no_grad():
            return self.features_of(x)

    def features_of(self, x_rec: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen net's features of `x_rec` at the loss's layers; gradients flow to `x_rec`."""
        # float32 even under bf16 autocast: the loss is a difference of nearly equal features
        with frozen(self.net), torch.autocast(x_rec.device.type, enabled=False):
            return self.net.features(x_rec.float(), list(self.weights))


# --- adversarial terms (VAE-GAN) ---------------------------------------------------------

def hinge_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Geometric GAN: mean(relu(1 - D(x))) + mean(relu(1 + D(x_fake)))."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The negative Wasserstein estimate: mean(D(x_fake)) - mean(D(x))."""
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-mean(D(x_fake)), for both the hinge and the Wasserstein critic."""
    return -fake_scores.mean()


def gradient_penalty(critic: LayeredNet, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None, *, mix: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP: mean((||grad D(x_hat)|| - 1)^2) on random interpolates x_hat of real and fake.
    `mix`: the interpolation weights, shape (N, 1, 1, 1) (default: drawn uniformly here)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator) if mix is None else mix
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


def adaptive_weight(reconstruction: torch.Tensor, generator: torch.Tensor,
                    last_layer: torch.Tensor, *, max_weight: float = 1e4,
                    average: Callable[[list[torch.Tensor]], None] | None = None) -> torch.Tensor:
    """Esser et al.'s balance: ||grad_L rec|| / ||grad_L gen|| at the decoder's last layer L.

    Detached and clamped to [0, max_weight], so it scales the generator loss without
    becoming part of what is optimised. `average`: makes both gradients the whole batch's, in place,
    when each process holds a share of it (see distributed.World.average).
    """
    (rec_grad,) = torch.autograd.grad(reconstruction, last_layer, retain_graph=True)
    (gen_grad,) = torch.autograd.grad(generator, last_layer, retain_graph=True)
    if average is not None:
        average([rec_grad, gen_grad])
    weight = rec_grad.norm() / (gen_grad.norm() + 1e-4)
    return weight.clamp(0.0, max_weight).detach()
