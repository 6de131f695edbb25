"""Training: one config dataclass, one plain loop, one objective per kind of model.

An objective owns its modules and optimisers and knows one thing: how to take a step on a
batch and how to score a split. The loop owns everything else: data on the device, the
learning-rate schedule, progress events, validation, the NaN guard, and a checkpoint after
every epoch (written atomically, so the last good one survives a crash).
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from . import __version__, checkpoints
from .checkpoints import Checkpoint
from .data import ImageSplit, check_dataset, load_split
from .losses import PerceptualLoss, bce_per_image, kl_divergence
from .metrics import classifier_accuracy, reconstruction_metrics
from .models import VAE, Classifier

KINDS = ("classifier", "plain", "dfc", "vaegan-hinge", "vaegan-wgan")
# What a field left unset (None) means, per kind: the recipes measured on two CPU cores behind the
# shipped checkpoints (README, "Shipped checkpoints"). Fields not listed take GENERIC.
RECIPES = {
    "classifier": {"epochs": 8, "batch_size": 64},
    "plain": {"epochs": 12, "batch_size": 32, "kl_warmup_steps": 2000},
    "dfc": {"epochs": 12, "batch_size": 32, "kl_warmup_steps": 2000},
    "vaegan-hinge": {"epochs": 12, "batch_size": 32, "kl_warmup_steps": 2000, "critic_steps": 1, "gamma": 0.5},
    "vaegan-wgan": {"epochs": 6, "batch_size": 32, "kl_warmup_steps": 2000, "critic_steps": 2, "gamma": 1.5},
}
GENERIC = {"epochs": 10, "batch_size": 32, "kl_warmup_steps": 0, "critic_steps": 1, "gamma": 1.0}


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved in the checkpoint's JSON as its recipe."""

    kind: str = "dfc"  # one of KINDS
    dataset: str = "mnist"  # mnist | fashion-mnist
    name: str = ""  # checkpoint name; default: the kind, prefixed "<dataset>-" unless MNIST
    epochs: int | None = None  # None: the kind's recipe (RECIPES)
    batch_size: int | None = None
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # cosine (decays to 0 over the run) | constant
    latent_dim: int = 5
    beta: float = 1.0  # weight of the KL term
    kl_warmup_steps: int | None = None  # ramp the KL weight linearly from 0 to beta over these first steps
    # DFC: the frozen classifier checkpoint and the layers of it that define the loss
    perceptual_model: str = "classifier"
    perceptual_layers: list[str] = field(default_factory=lambda: ["conv1", "conv2"])
    perceptual_weights: list[float] = field(default_factory=lambda: [1.0, 1.0])
    # VAE-GAN: the critic and its adversarial game
    critic_width: int = 32  # channels of the critic's first conv (then 2x, 2x, 4x)
    critic_depth: int = 3  # 3 or 4 conv layers
    critic_layers: list[str] = field(default_factory=lambda: ["conv1", "conv2", "conv3"])
    critic_weights: list[float] = field(default_factory=lambda: [30.0, 30.0, 30.0])  # 1.0 each: blurry, 74-76%
    critic_lr: float = 2e-4
    critic_betas: list[float] = field(default_factory=lambda: [0.5, 0.9])
    critic_steps: int | None = None  # critic updates per VAE update
    gamma: float | None = None  # weight of the generator loss (times the adaptive weight, if on)
    adaptive_weight: bool = True
    warmup_steps: int = 2000  # critic-only steps before the generator loss switches on
    gp_weight: float = 10.0  # Wasserstein gradient penalty
    prior_fakes: bool = True  # also show the critic decoded prior samples as fakes (better samples)
    # the run
    train_limit: int = 0  # use only the first N training images (0 = all)
    test_limit: int = 0  # validate on only the first N test images (0 = all)
    seed: int = 0
    device: str = "auto"  # auto (cuda, then mps, then cpu) | cuda | mps | cpu
    bf16: bool = False  # bf16 autocast for the forward passes
    channels_last: bool = False
    compile: bool = False  # torch.compile the model; falls back to eager if compiling fails
    log_every: int = 10  # steps between progress events (each one syncs with the device)

    def __post_init__(self):
        assert self.kind in KINDS, f"unknown kind {self.kind!r}: choose one of {KINDS}"
        check_dataset(self.dataset)
        for key, value in (GENERIC | RECIPES[self.kind]).items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        self.name = self.name or (self.kind if self.dataset == "mnist" else f"{self.dataset}-{self.kind}")
        assert re.fullmatch(r"[A-Za-z0-9_-]+", self.name), \
            f"checkpoint name {self.name!r} may use only letters, digits, '-' and '_'"
        assert self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be at least 1"
        assert self.lr > 0 and self.lr_schedule in ("cosine", "constant"), \
            f"lr must be positive and lr_schedule cosine or constant, got {self.lr}, {self.lr_schedule!r}"
        assert len(self.perceptual_layers) == len(self.perceptual_weights), \
            "give one perceptual weight per perceptual layer"
        assert len(self.critic_layers) == len(self.critic_weights), "give one critic weight per critic layer"
        assert self.critic_steps >= 1, "critic_steps must be at least 1"

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build a config from a dict (a JSON recipe), refusing keys it does not know."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config key(s) {unknown}; valid keys: {sorted(known)}")
        return cls(**values)

    @property
    def perceptual(self) -> dict[str, float]:
        return dict(zip(self.perceptual_layers, self.perceptual_weights))


@dataclass(frozen=True)
class TrainEvent:
    """What a progress callback receives: after every `log_every` steps ("step"), after each
    epoch's validation ("epoch"), and once at the end ("done")."""

    event: str
    epoch: int  # 1-based; the epoch in progress or just finished
    epochs: int
    step: int  # optimiser steps taken so far
    total_steps: int
    metrics: dict[str, float]
    images_per_s: float
    elapsed_s: float
    checkpoint: str = ""  # path of the checkpoint JSON written after this epoch


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Checkpoint
    metrics: dict[str, float]
    images_per_s: float
    elapsed_s: float


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is visible; use --device auto or cpu")
    return device


# --- objectives ---------------------------------------------------------------------------

class Objective:
    """What the loop needs from a kind of model. Subclasses set `modules` and `optimizers`."""

    modules: dict[str, torch.nn.Module]  # role -> module; "model" is what `vae_lab.load` returns
    optimizers: dict[str, torch.optim.Optimizer]  # role -> optimiser; lr set by the loop

    def __init__(self, config: TrainConfig, device: torch.device, autocast: Callable):
        self.config, self.device, self.autocast = config, device, autocast

    @property
    def model(self) -> torch.nn.Module:
        return self.modules["model"]

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


def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


class ClassifierObjective(Objective):
    def __init__(self, config, device, autocast):
        super().__init__(config, device, autocast)
        model = Classifier().to(device)
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=config.lr)}

    def losses(self, x, y):
        with self.autocast():
            logits = self.model(x)
        return {"loss": F.cross_entropy(logits.float(), y),
                "accuracy": (logits.argmax(1) == y).float().mean()}

    def train_step(self, x, y, step):
        losses = self.losses(x, y)
        _step(self.optimizers["model"], losses["loss"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def evaluate(self, split):
        loss = sum(self.losses(x, y)["loss"].item() * x.shape[0] for x, y in split.batches())
        return {"loss": loss / len(split), "accuracy": classifier_accuracy(self.model, split)}


def load_judge(dataset: str, device: torch.device, name: str = "classifier") -> tuple[Classifier | None, Checkpoint | None]:
    """The classifier checkpoint that judges (and, for DFC, defines) reconstructions, if one exists;
    frozen for good: eval mode, no gradients, owned by no optimiser."""
    candidates = [c for c in checkpoints.available(kind="classifier", dataset=dataset) if c.name == name]
    if not candidates:
        return None, None
    return checkpoints.load(candidates[0].json_path, device).requires_grad_(False), candidates[0]


class VAEObjective(Objective):
    """Plain VAE (summed BCE) or DFC VAE (perceptual feature distance), plus beta * KL."""

    def __init__(self, config, device, autocast):
        super().__init__(config, device, autocast)
        model = VAE(latent_dim=config.latent_dim).to(device)
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=config.lr)}
        judge_name = config.perceptual_model if config.kind == "dfc" else "classifier"
        self.judge, self.judge_checkpoint = load_judge(config.dataset, device, judge_name)
        self.perceptual = None
        if config.kind == "dfc":
            if self.judge is None:
                raise checkpoints.CheckpointError(
                    f"the DFC VAE needs the {config.dataset} classifier checkpoint {judge_name!r} as its "
                    f"perceptual model; train it first: python -m vae_lab train --kind classifier "
                    f"--dataset {config.dataset}")
            self.perceptual = PerceptualLoss(self.judge, config.perceptual)

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.perceptual is None:
            return bce_per_image(logits.float(), x)
        return self.perceptual(x, torch.sigmoid(logits))

    def losses(self, x, y=None, *, beta: float | None = None):
        """The objective, averaged over the batch: reconstruction + beta * KL per image."""
        beta = self.config.beta if beta is None else beta
        with self.autocast():
            out = self.model(x)
            rec = self.reconstruction_loss(out.logits, x).float()
        kl = kl_divergence(out.mu.float(), out.logvar.float())
        return {"loss": (rec + beta * kl).mean(), "reconstruction": rec.mean(), "kl": kl.mean()}

    def train_step(self, x, y, step):
        losses = self.losses(x, beta=kl_weight(self.config, step))
        _step(self.optimizers["model"], losses["loss"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def evaluate(self, split):
        """The training objective on the test split (same function, same reduction), plus the
        deterministic reconstruction metrics every report uses."""
        totals: dict[str, float] = {}
        for x, _ in split.batches():
            for key, value in self.losses(x).items():
                totals[f"val_{key}"] = totals.get(f"val_{key}", 0.0) + value.item() * x.shape[0]
        out = {key: value / len(split) for key, value in totals.items()}
        return out | reconstruction_metrics(self.model, split, judge=self.judge).summary(split.labels)

    def meta(self):
        meta = {"architecture": self.model.architecture, "latent_dim": self.config.latent_dim}
        if self.perceptual is not None:
            meta["perceptual"] = {"checkpoint": self.judge_checkpoint.name, "sha256": self.judge_checkpoint.sha256,
                                  "layers": self.config.perceptual}
        return meta


def make_objective(config: TrainConfig, device: torch.device, train_split: ImageSplit) -> Objective:
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16)  # noqa: E731
    if config.kind == "classifier":
        return ClassifierObjective(config, device, autocast)
    if config.kind in ("plain", "dfc"):
        return VAEObjective(config, device, autocast)
    from .vaegan import VAEGANObjective
    return VAEGANObjective(config, device, autocast, train_split)


# --- the loop -----------------------------------------------------------------------------

def lr_factor(config: TrainConfig, step: int, total_steps: int) -> float:
    """The schedule, as a factor of each optimiser's initial learning rate."""
    if config.lr_schedule == "constant":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))


def train(config: TrainConfig, *, out_dir: Path | None = None, resume: Checkpoint | None = None,
          progress: Callable[[TrainEvent], None] | None = None) -> TrainResult:
    """Train `config` and write a checkpoint `out_dir/<name>` after every epoch.

    `resume`: a checkpoint written by this function; its weights, optimiser state and epoch
    count are restored and training continues to `config.epochs`.
    """
    out_dir = Path(out_dir) if out_dir else checkpoints.user_dir()
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    train_split = load_split(config.dataset, train=True, device=device).subset(config.train_limit)
    test_split = load_split(config.dataset, train=False, device=device).subset(config.test_limit)
    objective = make_objective(config, device, train_split)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    for module in objective.modules.values():
        module.to(memory_format=memory_format).train()
    if config.compile:
        _compile(objective, train_split.batch(slice(0, 2))[0].to(memory_format=memory_format))

    steps_per_epoch = math.ceil(len(train_split) / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    epoch, step, elapsed = 0, 0, 0.0
    if resume is not None:
        epoch, step, elapsed = _restore(objective, resume)
    emit = progress or (lambda event: None)
    last_good = out_dir / f"{config.name}.json"
    metrics: dict[str, float] = {}
    ckpt = resume
    images_per_s = 0.0

    while epoch < config.epochs:
        epoch_start, seen = time.perf_counter(), 0
        window: dict[str, torch.Tensor] = {}
        window_steps = 0
        torch.manual_seed(config.seed * 1000 + epoch)  # every epoch's randomness, resumed or not
        order = torch.randperm(len(train_split), device=device)
        for i in range(steps_per_epoch):
            x, y = train_split.batch(order[i * config.batch_size:(i + 1) * config.batch_size])
            x = x.contiguous(memory_format=memory_format)
            factor = lr_factor(config, step, total_steps)
            for optimizer in objective.optimizers.values():
                for group in optimizer.param_groups:  # "initial_lr": PyTorch's schedulers' convention
                    group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor
            for key, value in objective.train_step(x, y, step).items():
                window[key] = window.get(key, 0.0) + value
            step, seen, window_steps = step + 1, seen + x.shape[0], window_steps + 1
            if step % config.log_every == 0 or i == steps_per_epoch - 1:
                averages = {k: v.item() / window_steps for k, v in window.items()}
                _guard(averages, epoch + 1, step, last_good)
                images_per_s = seen / (time.perf_counter() - epoch_start)
                emit(TrainEvent("step", epoch + 1, config.epochs, step, total_steps, averages | {"lr_factor": factor},
                                images_per_s, elapsed + time.perf_counter() - epoch_start))
                window, window_steps = {}, 0
        train_time = time.perf_counter() - epoch_start
        images_per_s = seen / train_time
        for module in objective.modules.values():
            module.eval()
        metrics = objective.evaluate(test_split)
        for module in objective.modules.values():
            module.train()
        _guard(metrics, epoch + 1, step, last_good)
        epoch += 1
        elapsed += time.perf_counter() - epoch_start
        ckpt = _save(objective, out_dir, metrics, epoch=epoch, step=step, elapsed=elapsed,
                     images_per_s=images_per_s, device=device)
        emit(TrainEvent("epoch", epoch, config.epochs, step, total_steps, metrics, images_per_s, elapsed,
                        str(ckpt.json_path)))
    assert ckpt is not None, "nothing to train: the checkpoint already has all its epochs"
    emit(TrainEvent("done", epoch, config.epochs, step, total_steps, metrics, images_per_s, elapsed,
                    str(ckpt.json_path)))
    return TrainResult(ckpt, metrics, images_per_s, elapsed)


def _guard(values: dict[str, float], epoch: int, step: int, last_good: Path) -> None:
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        kept = (f"the last good checkpoint {last_good} is kept" if last_good.is_file()
                else "no checkpoint was written")
        raise TrainingDiverged(f"training diverged at epoch {epoch}, step {step}: {bad}; {kept}. "
                               f"Try a lower learning rate (--lr) or turn off bf16.")


def _save(objective: Objective, out_dir: Path, metrics: dict, *, epoch: int, step: int, elapsed: float,
          images_per_s: float, device: torch.device) -> Checkpoint:
    config = objective.config
    opt_tensors, opt_groups = checkpoints.optimizer_tensors(objective.optimizers)
    meta = {
        "kind": config.kind, "dataset": config.dataset, **objective.meta(),
        "recipe": asdict(config), "metrics": metrics,
        "training": {"epoch": epoch, "step": step, "elapsed_s": round(elapsed, 1),
                     "images_per_s": round(images_per_s, 1), "device": str(device), "optimizers": opt_groups},
        "versions": {"vae_lab": __version__, "torch": torch.__version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    modules = {role: _uncompiled(module) for role, module in objective.modules.items()}
    return checkpoints.save(out_dir, config.name, meta=meta, modules=modules, train_state=opt_tensors)


def _restore(objective: Objective, ckpt: Checkpoint) -> tuple[int, int, float]:
    for role, module in objective.modules.items():
        checkpoints.load_into(_uncompiled(module), ckpt, role)
    training = ckpt.meta["training"]
    if ckpt.has("train_state"):
        state = {k: v.to(objective.device) for k, v in ckpt.tensors("train_state").items()}
        checkpoints.restore_optimizers(objective.optimizers, state, training["optimizers"])
    return training["epoch"], training["step"], training["elapsed_s"]


def _compile(objective: Objective, example: torch.Tensor) -> None:
    """torch.compile the model in place; on any failure keep running eagerly, and say so."""
    model = objective.modules["model"]
    try:
        compiled = torch.compile(model)
        with torch.no_grad():
            compiled(example)
    except Exception as error:  # compilers fail in many ways; eager always works
        print(f"torch.compile failed ({type(error).__name__}: {error}); training without it")
        return
    objective.modules["model"] = compiled


def _uncompiled(module: torch.nn.Module) -> torch.nn.Module:
    return getattr(module, "_orig_mod", module)
