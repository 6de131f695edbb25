"""What defines a training run: the config dataclass, the device and the precision.

A field left unset (None) takes its value from the kind's recipe (kinds.py) for the device the run goes on,
in one explicit step, `TrainConfig.resolved()`:
the full recipes are the measured ones behind the shipped checkpoints, the quick ones give a
usable model in a few minutes on two CPU cores (the sidebar's default there). Everything a user
can get wrong is checked here, once, with a ValueError that says what to change.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path

import torch

from . import checkpoints, datasets, kinds
from .layouts import scale_for
from .models import CRITIC_DEPTHS, Classifier, Critic

DEVICES = ("auto", "cuda", "mps", "cpu")
CHECKPOINT_NAME = re.compile(r"[A-Za-z0-9_-]+")  # what a checkpoint's name may use (it is also its file names)
PRECISIONS = ("auto", "fp32", "bf16")

# On a GPU: the full recipe with batches 8x larger and the learning rate scaled by sqrt(8) (untested
# here: no GPU was lent; see the README). The data stays resident on the GPU as everywhere.
GPU_BATCH_FACTOR = 8
BASE_LR = 1e-3  # Adam's learning rate at the recipes' batch sizes


def lr_for_batch(batch_size: int, *, base_batch: int, base_lr: float = BASE_LR) -> float:
    """The learning-rate rule for larger batches: scale by the square root of the batch's growth (Adam's
    noise scale; linear scaling overshoots at these sizes). The batch is the global one: training on more
    processes with the same --batch-size takes the same steps, so the same learning rate."""
    return base_lr * (batch_size / base_batch) ** 0.5


# What a recipe leaves unset
GENERIC = {"epochs": 10, "batch_size": 32, "beta": 1.0, "kl_warmup_steps": 0, "lr_warmup_steps": 0, "critic_steps": 1,
           "gamma": 1.0, "warmup_steps": 2000, "train_limit": 0, "pixel_weight": 0.0, "pixel_anneal_steps": 0,
           "init_from": "", "perceptual_layers": {"conv1": 1.0, "conv2": 1.0, "conv3": 1.0}, "test_limit": 0,
           "posterior_codes": 0}
# A quick job validates on this many test images (the first: a fixed subset) and fits the aggregate posterior to
# the codes of this many training images (its last training batches'): on all of them a third of its wall time went
# to the two (benchmarks/quick_job.py). Its model's full analysis runs when a page first shows it, as every model's
# does.
QUICK = {"test_limit": 2000, "posterior_codes": 5000}


def recipe(kind: str, *, device: torch.device | str = "cpu", quick: bool = False) -> dict:
    """The values a config of `kind` takes for its unset fields on `device`."""
    found = kinds.get(kind)
    device_type = torch.device(device).type
    if quick and device_type == "cpu":
        return GENERIC | QUICK | dict(found.quick_recipe)
    values = GENERIC | dict(found.recipe)
    if device_type == "cuda":
        values = values | {"batch_size": values["batch_size"] * GPU_BATCH_FACTOR,
                           "lr": lr_for_batch(values["batch_size"] * GPU_BATCH_FACTOR, base_batch=values["batch_size"],
                                              base_lr=values.get("lr", BASE_LR))}
    return values


def option(default, help: str, *, choices: Callable[[], tuple[str, ...]] | None = None):
    """A TrainConfig field with its help text (the CLI's option is generated from it) and, for a choice, where
    its choices come from. A mutable default is copied for every config."""
    metadata = {"help": help, "choices": choices}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved in the checkpoint's JSON as its recipe."""

    kind: str = option("dfc", "what to train: a registered kind (kinds.py)", choices=kinds.names)
    dataset: str = option("mnist", "what to train on: a registered data set (datasets.py)", choices=datasets.names)
    name: str = option("", "checkpoint name (default: the kind, prefixed with the data set unless MNIST)")
    epochs: int | None = option(None, "epochs (default: the kind's recipe)")
    batch_size: int | None = option(None, "the global batch size, split evenly over torchrun's processes (default: "
                                          "the kind's recipe)")
    lr: float | None = option(None, "learning rate (default: the recipe's, else 1e-3; scaled with the batch on a GPU)")
    lr_schedule: str = option("cosine", "cosine (decays to 0 over the run) or constant",
                              choices=lambda: ("cosine", "constant"))
    lr_warmup_steps: int | None = option(None, "steps over which the learning rate ramps up from 0 (default: the "
                                               "kind's recipe)")
    latent_dim: int | None = option(None, "latent size (default: the data set's: 5 at 28 px, 64 from 32 px up)")
    init_from: str | None = option(None, "start the VAE from this checkpoint's weights (any VAE kind, same data set "
                                         "and latent size) with a fresh optimiser; '' from scratch (default: the "
                                         "recipe's: the quick CPU recipes start from a shipped model)")
    beta: float | None = option(None, "weight of the KL term (default: the kind's recipe)")
    kl_warmup_steps: int | None = option(None, "steps over which the KL weight ramps up to beta (default: the "
                                               "kind's recipe)")
    perceptual_model: str = option("", "DFC: the classifier checkpoint whose features define the loss: the data "
                                       "set's (the default) or another of the same image size; 'random': a fixed "
                                       "randomly initialised network, for images without labels")
    perceptual_layers: dict[str, float] | None = option(None, "DFC: layers of the perceptual model, as LAYER=WEIGHT "
                                                              "(or LAYER for weight 1; default: the recipe's)")
    critic_width: int = option(32, "VAE-GAN: channels of the critic's first conv (then 2x, 2x, 4x)")
    critic_depth: int | None = option(None, "VAE-GAN: the critic's conv layers, 3 to 5 (default: the data set's: 3 "
                                            "at 28 px, 5 at 64 px)")
    critic_layers: dict[str, float] = option({"conv1": 30.0, "conv2": 30.0, "conv3": 30.0},
                                             "VAE-GAN: critic layers in the perceptual loss, as LAYER=WEIGHT (or "
                                             "LAYER for weight 1)")
    critic_lr: float = option(2e-4, "VAE-GAN: the critic's learning rate")
    critic_betas: list[float] = option([0.5, 0.9], "VAE-GAN: the critic's Adam betas")
    critic_steps: int | None = option(None, "VAE-GAN: critic updates per VAE update (default: the kind's recipe)")
    gamma: float | None = option(None, "VAE-GAN: weight of the generator loss, times the adaptive weight (default: "
                                       "the kind's recipe)")
    adaptive_weight: bool = option(True, "VAE-GAN: scale the generator loss to the reconstruction's gradient")
    warmup_steps: int | None = option(None, "VAE-GAN: critic-only steps before the generator loss switches on "
                                            "(default: the recipe's)")
    gp_weight: float = option(10.0, "Wasserstein VAE-GAN: weight of the gradient penalty")
    prior_fakes: bool = option(True, "VAE-GAN: also show the critic decoded prior samples as fakes (better samples)")
    pixel_weight: float | None = option(None, "VAE-GAN: weight of a pixel-wise BCE term beside the critic's "
                                              "features at step 0 ...")
    pixel_anneal_steps: int | None = option(None, "... decaying linearly to 0 at this step (keeps the digit early on)")
    train_limit: int | None = option(None, "use only the first N training images (0 = all; default: the kind's "
                                           "recipe)")
    test_limit: int | None = option(None, "validate on only the first N test images (0 = all; default: the "
                                          "recipe's: all, the quick CPU recipes 2,000)")
    posterior_codes: int | None = option(None, "fit the aggregate posterior to the codes of the last N training "
                                               "images of the final epoch, as training computed them (0 = all; "
                                               "default: the recipe's: all, the quick CPU recipes 5,000)")
    interim_test_limit: int = option(1000, "epochs before the last validate on only the first N of those test "
                                           "images, a quick look that saves time (0 = all)")
    seed: int = option(0, "the seed of the weights, the batches and the noise")
    device: str = option("auto", "auto (cuda, then mps, then cpu), cuda, mps or cpu", choices=lambda: DEVICES)
    quick: bool = option(False, "on a CPU, take the quick recipe (a usable model in minutes) for what is not given")
    precision: str = option("auto", "auto (bf16 where the hardware runs it natively, else fp32), fp32 or bf16",
                            choices=lambda: PRECISIONS)
    channels_last: bool = option(True, "channels-last tensors for the models and the perceptual network (faster "
                                       "on CPUs: docs/performance.md)")
    compile: bool = option(False, "torch.compile the model; falls back to eager if compiling fails")
    log_every: int = option(10, "steps between progress events (each one syncs with the device)")
    max_minutes: float = option(0.0, "wall-clock cap: the epoch in progress ends early, is validated and saved "
                                     "(0 = no cap)")

    def __post_init__(self):
        """Checks every value that is set; an unset one (None) is checked once `resolved()` has filled it."""
        kind = kinds.get(self.kind)
        datasets.get(self.dataset)
        _check_choice("device", self.device, DEVICES)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("lr_schedule", self.lr_schedule, ("cosine", "constant"))
        if self.name and not CHECKPOINT_NAME.fullmatch(self.name):
            raise ValueError(f"checkpoint name {self.name!r} may use only letters, digits, '-' and '_'")
        for key in ("epochs", "batch_size", "latent_dim", "critic_steps", "log_every"):
            if _given(self, key) and getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        for key in ("kl_warmup_steps", "lr_warmup_steps", "warmup_steps", "train_limit", "test_limit",
                    "posterior_codes", "interim_test_limit", "pixel_anneal_steps", "beta"):
            if _given(self, key) and getattr(self, key) < 0:
                raise ValueError(f"{key} must be 0 or more, got {getattr(self, key)}")
        if _given(self, "pixel_weight") and (self.pixel_weight < 0 or (
                self.pixel_weight and _given(self, "pixel_anneal_steps") and not self.pixel_anneal_steps)):
            raise ValueError(f"pixel_weight must be 0 or more, with pixel_anneal_steps set to when it reaches 0; got "
                             f"{self.pixel_weight} over {self.pixel_anneal_steps} steps")
        if self.max_minutes < 0:
            raise ValueError(f"max_minutes must be 0 (no cap) or more, got {self.max_minutes}")
        if _given(self, "lr") and not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if _given(self, "critic_depth") and self.critic_depth not in CRITIC_DEPTHS:
            raise ValueError(f"critic_depth must be 3, 4 or 5, got {self.critic_depth}")
        if self.init_from and not kind.is_vae:
            raise ValueError(f"init_from starts a VAE from another VAE's weights; a classifier always starts "
                             f"from scratch: leave init_from empty (got {self.init_from!r})")
        if not kind.is_vae and len(datasets.get(self.dataset).classes) < 2:
            raise ValueError(f"{self.dataset} has no labels (its images are in no class sub-folders), so there is no "
                             f"classifier to train: a DFC VAE can take its features from perceptual_model='random'")
        if kind.uses_classifier and _given(self, "perceptual_layers"):
            _check_layers("perceptual", self.perceptual_layers, _layer_names("classifier", 3))
        if kind.has_critic:
            depth = self.critic_depth or scale_for(datasets.get(self.dataset).image_shape).critic_depth
            _check_layers("critic", self.critic_layers, _layer_names("critic", depth))

    def resolved(self, device: torch.device | None = None) -> TrainConfig:
        """This config with every unset field taken from the kind's recipe for `device` (default: the one the
        config names), and the checkpoint's and perceptual model's names from the data set. The explicit step
        that the CLI, the panel and `train()` take: a TrainConfig itself means the same on every machine."""
        if device is None:
            try:
                device = pick_device(self.device)
            except RuntimeError as error:
                raise ValueError(str(error)) from error
        dataset = datasets.get(self.dataset)
        values = recipe(self.kind, device=device, quick=self.quick)
        # a recipe names the kind of model it starts from: the data set's shipped one (else, from scratch)
        start = dataset.checkpoint_name(values["init_from"]) if values["init_from"] else ""
        values["init_from"] = start if start in checkpoints.shipped_names() else ""
        filled = {key: copy.deepcopy(value) for key, value in values.items() if getattr(self, key, 0) is None}
        if self.lr is None and "lr" not in filled:
            filled["lr"] = BASE_LR
        scale = scale_for(dataset.image_shape)  # the networks' size follows the images'
        filled |= {key: getattr(scale, key) for key in ("latent_dim", "critic_depth") if getattr(self, key) is None}
        filled["name"] = self.name or dataset.checkpoint_name(self.kind)
        filled["perceptual_model"] = self.perceptual_model or dataset.checkpoint_name(kinds.CLASSIFIER.name)
        return replace(self, **filled)

    @property
    def memory_format(self) -> torch.memory_format:
        """The layout of the models' weights and of every batch they see."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build a config from a dict (a JSON recipe), refusing keys it does not know."""
        values = _upgrade(dict(values))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config key(s) {unknown}; valid keys: {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _given(config: TrainConfig, key: str) -> bool:
    return getattr(config, key) is not None


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{key} must be one of {', '.join(choices)}, got {value!r}")


@lru_cache(maxsize=4)
def _layer_names(net: str, depth: int) -> tuple[str, ...]:
    module = Classifier() if net == "classifier" else Critic(depth=depth)
    return tuple(module.layer_names)


def _check_layers(what: str, layers: dict[str, float], valid: tuple[str, ...]) -> None:
    if not isinstance(layers, dict) or not layers:
        raise ValueError(f"choose at least one {what} layer, as a mapping layer -> weight, from {list(valid)}")
    unknown = sorted(set(layers) - set(valid))
    if unknown:
        raise ValueError(f"unknown {what} layer(s) {unknown}: choose from {list(valid)}")
    negative = {name: w for name, w in layers.items() if not float(w) >= 0}
    if negative:
        raise ValueError(f"{what} layer weights must be 0 or more, got {negative}")


def _upgrade(values: dict) -> dict:
    """Recipes written before layer weights became mappings and precision a choice (older checkpoints)."""
    for prefix in ("perceptual", "critic"):
        if isinstance(values.get(f"{prefix}_layers"), list) and f"{prefix}_weights" in values:
            values[f"{prefix}_layers"] = dict(zip(values[f"{prefix}_layers"], values.pop(f"{prefix}_weights")))
    if "bf16" in values:
        values["precision"] = "bf16" if values.pop("bf16") else "fp32"
    return values


# --- where and how precisely a run computes ---------------------------------------------------------

def pick_device(name: str = "auto") -> torch.device:
    """auto: CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is visible; use device auto or cpu")
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    """fp32 or bf16: auto is bf16 where the hardware computes it natively, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def native_bf16(device: torch.device) -> bool:
    """CUDA GPUs with bf16 support; CPUs with AVX512-BF16 or AMX (emulated bf16 elsewhere is slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})
    return False


@lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no run-time detection, so fp32
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())
