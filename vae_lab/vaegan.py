"""VAE-GAN (Larsen et al. 2015): the perceptual features come from a critic trained jointly to
tell images from reconstructions, with the hinge or the Wasserstein-GP loss.

One training step, in this order:
0. one VAE pass: reconstructions (and, with `prior_fakes`, decoded prior samples);
1. critic phase: `critic_steps` updates of the critic on those fakes, detached (further steps on
   fresh random batches); only the critic's optimiser steps;
2. VAE phase, on the same pass, with the updated critic frozen (eval, no gradient to its weights):
   encoder <- KL + perceptual loss; decoder <- perceptual loss + gamma * w * generator loss,
   where w is Esser et al.'s adaptive weight (or 1), and 0 during the critic warm-up.
The two phases never share a gradient: each optimiser sees only its own loss's gradient.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import datasets, kinds
from .judges import load_judge
from .data import ImageSplit
from .losses import (adaptive_weight, feature_distance, generator_loss, gradient_penalty, hinge_critic_loss,
                     kl_divergence, wasserstein_critic_loss)
from .metrics import reconstruction_metrics
from .models import VAE, Critic, frozen, uncompiled
from .objectives import Objective, kl_weight, optimizer_step, split_averages
from .workspace import Workspace


class VAEPass(NamedTuple):
    """One VAE pass, shared by the critic and the VAE phases of a step."""

    mu: torch.Tensor
    logvar: torch.Tensor
    reconstructions: torch.Tensor  # from sampled z, as in training
    prior: torch.Tensor | None  # decoded prior samples, with `prior_fakes`


class VAEGANObjective(Objective):
    def __init__(self, config, device, autocast, train_split: ImageSplit, *, workspace: Workspace | None = None):
        super().__init__(config, device, autocast)
        shape = datasets.get(config.dataset).image_shape
        vae = VAE(latent_dim=config.latent_dim, image_shape=shape).to(device)
        critic = Critic(image_shape=shape, width=config.critic_width, depth=config.critic_depth).to(device)
        self.modules = {"model": vae, "critic": critic}
        self.optimizers = {
            "model": torch.optim.Adam(vae.parameters(), lr=config.lr),
            "critic": torch.optim.Adam(critic.parameters(), lr=config.critic_lr, betas=tuple(config.critic_betas)),
        }
        self.layer_weights = config.critic_layers  # checked against the critic's layers by the config
        self.hinge = kinds.get(config.kind).adversary == "hinge"  # else Wasserstein with gradient penalty
        self.train_split = train_split  # extra critic steps draw their own random batches
        self.judge = load_judge(config.dataset, device, workspace=workspace)  # measures each epoch's reconstructions

    @property
    def critic(self) -> Critic:
        return self.modules["critic"]

    # -- one step ------------------------------------------------------------------------------
    def reconstruct(self, x: torch.Tensor, *, training: bool = False) -> VAEPass:
        """`training`: a training step's pass (random numbers drawn for the global batch; through the DDP
        wrapper where it is backpropagated, see `Objective.trained`), else validation's."""
        n, dim = x.shape[0], self.config.latent_dim
        with self.autocast():
            if training:
                model = self.trained() if torch.is_grad_enabled() else self.model
                out = model(x, noise=self.standard_normal(n, dim))
            else:
                out = self.model(x)
            reconstructions = torch.sigmoid(out.logits).float()
            prior = None
            if self.config.prior_fakes:
                z = self.standard_normal(n, dim) if training else self.model.sample_latents(n)
                prior = self.model.decode(z).float()
        return VAEPass(out.mu.float(), out.logvar.float(), reconstructions, prior)

    def train_step(self, x, y, step):
        vae_pass = self.reconstruct(x, training=True)
        self.keep_codes(vae_pass.mu)
        prior = vae_pass.prior.detach() if vae_pass.prior is not None else None
        logs = self.critic_phase(x, vae_pass.reconstructions.detach(), prior)
        return logs | self.vae_phase(x, vae_pass, step)

    # -- critic phase --------------------------------------------------------------------------
    def critic_losses(self, real: torch.Tensor, reconstructions: torch.Tensor,
                      prior: torch.Tensor | None, *, training: bool = False) -> dict[str, torch.Tensor]:
        """`training`: a critic step's losses (through the critic's DDP wrapper when distributed)."""
        fakes = reconstructions if prior is None else torch.cat([reconstructions, prior])
        critic = self.trained("critic") if training else self.critic
        with self.autocast():
            real_scores = critic(real).squeeze(1).float()
            fake_scores = critic(fakes).squeeze(1).float()
        if self.hinge:
            loss, penalty = hinge_critic_loss(real_scores, fake_scores), torch.zeros((), device=real.device)
        else:
            mix = self.world.draw(lambda total: torch.rand(total, 1, 1, 1, device=real.device), real.shape[0]) \
                if training else None
            penalty = gradient_penalty(self.critic, real, reconstructions, mix=mix)
            loss = wasserstein_critic_loss(real_scores, fake_scores) + self.config.gp_weight * penalty
        return {"critic_loss": loss, "d_real": real_scores.mean(),
                "d_rec": fake_scores[: real.shape[0]].mean(), "gradient_penalty": penalty}

    def critic_phase(self, x: torch.Tensor, reconstructions: torch.Tensor,
                     prior: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """`critic_steps` updates on detached fakes; after the first, each on a fresh random batch."""
        for i in range(self.config.critic_steps):
            if i > 0:
                x = self._random_batch(x.shape[0])
                with torch.no_grad():
                    _, _, reconstructions, prior = self.reconstruct(x, training=True)
            losses = self.critic_losses(x, reconstructions, prior, training=True)
            optimizer_step(self.optimizers["critic"], losses["critic_loss"])
        return {k: v.detach() for k, v in losses.items()}

    def _random_batch(self, n: int) -> torch.Tensor:
        index = self.world.draw(lambda total: torch.randint(len(self.train_split), (total,), device=self.device), n)
        return self.train_split.batch(index)[0].contiguous(memory_format=self.config.memory_format)

    # -- VAE phase -----------------------------------------------------------------------------
    def vae_terms(self, x: torch.Tensor, vae_pass: VAEPass) -> dict[str, torch.Tensor]:
        """The VAE's loss terms with the critic frozen: perceptual and KL per image, generator loss."""
        names = list(self.layer_weights)
        with self.autocast(), frozen(self.critic):
            with torch.no_grad():
                real_features = self.critic.features(x, names)
            scores, fake_features = self.critic.forward_with_features(vae_pass.reconstructions, names)
            generator = generator_loss(scores.float().squeeze(1))
            if vae_pass.prior is not None:
                generator = 0.5 * (generator + generator_loss(self.critic.score(vae_pass.prior).float()))
        return {"perceptual": feature_distance(real_features, fake_features, self.layer_weights),
                "kl": kl_divergence(vae_pass.mu, vae_pass.logvar), "generator_loss": generator}

    def pixel_weight(self, step: int) -> float:
        """The pixel-wise term's weight: `pixel_weight` at step 0, linearly down to 0 at `pixel_anneal_steps`."""
        if not self.config.pixel_weight or step >= self.config.pixel_anneal_steps:
            return 0.0
        return self.config.pixel_weight * (1 - step / self.config.pixel_anneal_steps)

    def vae_phase(self, x: torch.Tensor, vae_pass: VAEPass, step: int) -> dict[str, torch.Tensor]:
        terms = self.vae_terms(x, vae_pass)
        vae_loss = (terms["perceptual"] + kl_weight(self.config, step) * terms["kl"]).mean()
        pixel = self.pixel_weight(step)
        if pixel:
            reconstructions = vae_pass.reconstructions.clamp(1e-6, 1 - 1e-6)
            vae_loss = vae_loss + pixel * F.binary_cross_entropy(reconstructions, x, reduction="sum") / x.shape[0]
        generator_on = step >= self.config.warmup_steps
        weight = torch.zeros((), device=x.device)
        if generator_on:
            weight = self.config.gamma * (
                adaptive_weight(terms["perceptual"].mean(), terms["generator_loss"], self.decoder_last_layer,
                                average=self.world.average)
                if self.config.adaptive_weight else torch.ones((), device=x.device))
        optimizer = self.optimizers["model"]
        optimizer.zero_grad(set_to_none=True)
        decoder = list(self._decoder().parameters())
        if generator_on:  # the generator loss reaches the decoder only, never the encoder
            generator_grads = list(torch.autograd.grad(weight * terms["generator_loss"], decoder, retain_graph=True))
        vae_loss.backward()  # one backward per forward pass: what DDP averages over the ranks
        if generator_on:  # the second gradient, averaged here since DDP's backward is done
            self.world.average(generator_grads)
            for parameter, grad in zip(decoder, generator_grads):
                parameter.grad += grad
        optimizer.step()
        return {"loss": vae_loss.detach(), "perceptual": terms["perceptual"].mean().detach(),
                "kl": terms["kl"].mean().detach(), "generator_loss": terms["generator_loss"].detach(),
                "adaptive_weight": weight.detach()}

    def _decoder(self) -> torch.nn.Module:
        return uncompiled(self.model).decoder

    @property
    def decoder_last_layer(self) -> torch.Tensor:
        return self._decoder().out.weight

    # -- validation ----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, split: ImageSplit) -> dict[str, float]:
        """The training objectives on the test split (same functions, same reductions), plus the
        deterministic reconstruction metrics."""
        out = split_averages(((x.shape[0], self._validation_terms(x)) for x, _ in split.batches()), split)
        judge = self.judge.classifier if self.judge else None
        return out | reconstruction_metrics(self.model, split, judge=judge, with_ssim=False).summary(split.labels)

    def _validation_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        vae_pass = self.reconstruct(x)
        terms = self.vae_terms(x, vae_pass)
        with torch.enable_grad():  # the Wasserstein gradient penalty differentiates the critic
            critic = self.critic_losses(x, vae_pass.reconstructions, vae_pass.prior)
        return {"val_loss": (terms["perceptual"] + self.config.beta * terms["kl"]).mean(),
                "val_perceptual": terms["perceptual"].mean(), "val_kl": terms["kl"].mean(),
                "val_generator_loss": terms["generator_loss"], **{f"val_{k}": v for k, v in critic.items()}}

    def meta(self):
        return {"architecture": self.model.architecture, "latent_dim": self.config.latent_dim,
                "critic_architecture": self.critic.architecture,
                "perceptual": {"critic_layers": self.layer_weights}}
