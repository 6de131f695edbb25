"""What is optimised: one objective per kind of model, behind one interface.

An objective owns its modules and optimisers and knows two things: how to take a step on a
batch, and how to score a split. The loop in train.py owns everything else. The VAE-GAN's
objective builds on this one in vaegan.py.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from . import datasets, kinds
from .checkpoints import CheckpointError
from .judges import RANDOM, load_judge, perceptual_network
from .config import TrainConfig
from .data import ImageSplit
from .distributed import World
from .losses import PerceptualLoss, bce_per_image, kl_divergence
from .metrics import classifier_accuracy, reconstruction_metrics
from .models import VAE, Classifier
from .workspace import Workspace


class Objective:
    """What the loop needs from a kind of model. Subclasses set `modules` and `optimizers`."""

    modules: dict[str, torch.nn.Module]  # role -> module; "model" is what `vae_lab.load` returns
    optimizers: dict[str, torch.optim.Optimizer]  # role -> optimiser; lr set by the loop

    def __init__(self, config: TrainConfig, device: torch.device, autocast: Callable):
        self.config, self.device, self.autocast = config, device, autocast
        self.world, self.wrapped = World(), {}
        self.codes: list[torch.Tensor] | None = None  # a VAE's training posterior means, while the loop keeps them

    def keep_codes(self, mu: torch.Tensor) -> None:
        """Keep a training batch's posterior means where the loop asked for them (`codes` a list): the aggregate
        posterior is fitted to the last ones, which costs no pass of its own."""
        if self.codes is not None:
            self.codes.append(mu.detach().float())

    @property
    def model(self) -> torch.nn.Module:
        return self.modules["model"]

    def distribute(self, world: World) -> None:
        """Train as one of `world`'s ranks: every trained module in DDP, each with its own optimiser (a
        frozen network, such as the DFC's classifier, is no module of the objective and stays as it is)."""
        self.world = world
        self.wrapped = {role: world.wrap(module) for role, module in self.modules.items()}

    def trained(self, role: str = "model") -> torch.nn.Module:
        """The module for a training step's forward pass: its DDP wrapper when distributed (the wrapper's
        backward averages the gradients over the ranks), else the module itself. Validation, the film and
        the checkpoint use `modules`."""
        return self.wrapped.get(role, self.modules[role])

    def standard_normal(self, n: int, dim: int) -> torch.Tensor:
        """A training step's N(0, I) draws for this rank's `n` rows, as one process would draw them."""
        return self.world.draw(lambda total: torch.randn(total, dim, device=self.device), n)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def evaluate(self, split: ImageSplit) -> dict[str, float]:
        raise NotImplementedError

    def meta(self) -> dict:
        """Kind-specific facts for the checkpoint JSON."""
        return {"architecture": self.model.architecture}


def kl_weight(config: TrainConfig, step: int) -> float:
    """beta, ramped up linearly over the first `kl_warmup_steps` steps (validation always uses beta)."""
    if step >= config.kl_warmup_steps:
        return config.beta
    return config.beta * step / config.kl_warmup_steps


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One plain update: clear the gradients, backpropagate `loss`, step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def split_averages(batches, split: ImageSplit) -> dict[str, float]:
    """Per-example averages over a split of dicts of batch means (as the training losses are)."""
    totals: dict[str, float] = {}
    for size, values in batches:
        for key, value in values.items():
            totals[key] = totals.get(key, 0.0) + float(value) * size
    return {key: value / len(split) for key, value in totals.items()}


class ClassifierObjective(Objective):
    def __init__(self, config, device, autocast):
        super().__init__(config, device, autocast)
        dataset = datasets.get(config.dataset)
        model = Classifier(num_classes=len(dataset.classes), image_shape=dataset.image_shape).to(device)
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=config.lr)}

    def losses(self, x, y, *, training: bool = False):
        with self.autocast():
            logits = (self.trained() if training else self.model)(x)
        return {"loss": F.cross_entropy(logits.float(), y),
                "accuracy": (logits.argmax(1) == y).float().mean()}

    def train_step(self, x, y, step):
        losses = self.losses(x, y, training=True)
        optimizer_step(self.optimizers["model"], losses["loss"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def evaluate(self, split):
        loss = split_averages(((x.shape[0], {"loss": self.losses(x, y)["loss"]}) for x, y in split.batches()), split)
        return loss | {"accuracy": classifier_accuracy(self.model, split)}


class VAEObjective(Objective):
    """A VAE whose reconstruction term compares the pixels (summed BCE) or a frozen classifier's features (the DFC
    VAE's perceptual loss), plus beta * KL."""

    def __init__(self, config, device, autocast, *, workspace: Workspace | None = None):
        # the workspace's classifiers judge it and (DFC) define its loss: a public-mode visitor's own among them
        super().__init__(config, device, autocast)
        model = VAE(latent_dim=config.latent_dim, image_shape=datasets.get(config.dataset).image_shape).to(device)
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=config.lr)}
        self.judge = load_judge(config.dataset, device, workspace=workspace)  # measures each epoch's reconstructions
        self.perceptual = None
        if kinds.get(config.kind).uses_classifier:
            found = perceptual_network(config.dataset, config.perceptual_model, device, workspace=workspace,
                                       judge=self.judge)
            if found is None:
                raise CheckpointError(
                    f"the {kinds.label(config.kind)} needs the classifier checkpoint {config.perceptual_model!r} of "
                    f"{config.dataset}'s images as its perceptual model; train it first (python -m vae_lab train "
                    f"--kind {kinds.CLASSIFIER.name} --dataset {config.dataset}), name another of the same image "
                    f"size, or use perceptual_model={RANDOM!r}, a fixed random network (images without labels)")
            network, self.perceptual_source = found  # the source: how the checkpoint names the network
            network.to(memory_format=config.memory_format)  # its convolutions are much of the DFC step
            self.perceptual = PerceptualLoss(network, config.perceptual_layers)

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.perceptual is None:
            return bce_per_image(logits.float(), x)
        return self.perceptual(x, torch.sigmoid(logits))

    def losses(self, x, y=None, *, beta: float | None = None, training: bool = False):
        """The objective, averaged over the batch: reconstruction + beta * KL per image. `training`: a
        training step's pass (see `Objective.trained`), else validation's."""
        beta = self.config.beta if beta is None else beta
        with self.autocast():
            if training:
                out = self.trained()(x, noise=self.standard_normal(x.shape[0], self.config.latent_dim))
            else:
                out = self.model(x)
            rec = self.reconstruction_loss(out.logits, x).float()
        kl = kl_divergence(out.mu.float(), out.logvar.float())
        if training:
            self.keep_codes(out.mu)
        return {"loss": (rec + beta * kl).mean(), "reconstruction": rec.mean(), "kl": kl.mean()}

    def train_step(self, x, y, step):
        losses = self.losses(x, beta=kl_weight(self.config, step), training=True)
        optimizer_step(self.optimizers["model"], losses["loss"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def evaluate(self, split):
        """The training objective on the test split (same function, same reduction), plus the
        deterministic reconstruction metrics every report uses (SSIM is the analysis's: here it would cost a
        quick job seconds, most of them importing torchmetrics)."""
        out = split_averages(((x.shape[0], {f"val_{k}": v for k, v in self.losses(x).items()})
                              for x, _ in split.batches()), split)
        judge = self.judge.classifier if self.judge else None
        return out | reconstruction_metrics(self.model, split, judge=judge, with_ssim=False).summary(split.labels)

    def meta(self):
        meta = {"architecture": self.model.architecture, "latent_dim": self.config.latent_dim}
        if self.perceptual is not None:
            meta["perceptual"] = self.perceptual_source | {"layers": self.config.perceptual_layers}
        return meta
