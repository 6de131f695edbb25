"""Every kind of model the lab trains, in one registry: the only module that knows a kind by its name.

A VAE kind is two choices. Its reconstruction term compares the pixels (summed BCE), a frozen classifier's
features (the DFC VAE) or a critic's (the VAE-GANs); its adversary, if any, is the game that trains that critic
(hinge or Wasserstein with gradient penalty). The classifier is the one kind that is not a VAE: it is each data
set's judge and the DFC VAE's perceptual model. A new kind, a beta-VAE say, is one `register(Kind(...))`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from collections.abc import Mapping

from .registry import Registry

PIXELS, CLASSIFIER_FEATURES, CRITIC_FEATURES = "pixels", "classifier features", "critic features"
RECONSTRUCTIONS = (PIXELS, CLASSIFIER_FEATURES, CRITIC_FEATURES)
ADVERSARIES = ("", "hinge", "wasserstein")


@dataclass(frozen=True)
class Kind:
    """A kind of model: its name (in checkpoints and on the command line), what the pages call it, its loss's
    two axes, and its recipes: the values a config of this kind takes for the fields left unset (the full
    recipe, and the quick one for a CPU; `config.GENERIC` fills in the rest)."""

    name: str
    label: str
    reconstruction: str = PIXELS  # one of RECONSTRUCTIONS; "" for the classifier
    adversary: str = ""  # one of ADVERSARIES; a critic's features need one to train the critic
    recipe: Mapping = field(default_factory=dict)
    quick_recipe: Mapping = field(default_factory=dict)

    @property
    def is_vae(self) -> bool:
        return bool(self.reconstruction)

    @property
    def uses_classifier(self) -> bool:
        """Its loss compares a frozen classifier's features (the DFC VAE's perceptual loss)."""
        return self.reconstruction == CLASSIFIER_FEATURES

    @property
    def has_critic(self) -> bool:
        return bool(self.adversary)


_KINDS: Registry[Kind] = Registry("kind")
get, label, order, unregister = _KINDS.get, _KINDS.label, _KINDS.order, _KINDS.remove


def register(kind: Kind) -> Kind:
    """Add `kind` (or replace the one of its name), after checking that its two axes fit together."""
    if kind.reconstruction not in ("", *RECONSTRUCTIONS) or kind.adversary not in ADVERSARIES:
        raise ValueError(f"kind {kind.name!r}: reconstruction must be one of {RECONSTRUCTIONS} (or '' for a "
                         f"classifier) and adversary one of {ADVERSARIES}")
    if (kind.reconstruction == CRITIC_FEATURES) != kind.has_critic:
        raise ValueError(f"kind {kind.name!r}: a critic's features and an adversary go together (the game trains the "
                         f"critic whose features the loss compares)")
    return _KINDS.add(replace(kind, recipe=MappingProxyType(dict(kind.recipe)),
                              quick_recipe=MappingProxyType(dict(kind.quick_recipe))))


def names(*, vae_only: bool = False) -> tuple[str, ...]:
    """Every registered kind's name, in the registry's order (classifier, plain, DFC, the VAE-GANs, then new ones)."""
    return tuple(kind.name for kind in _KINDS.values() if kind.is_vae or not vae_only)


def is_vae(name: str) -> bool:
    """Whether a checkpoint of this kind is a VAE (an unknown kind is taken for one: only the classifier is not)."""
    return _KINDS.get(name).is_vae if name in _KINDS else True


# The VAE-GANs start from the data set's shipped DFC VAE, whose decoder already draws the right class: a new
# critic, critic-only steps first, the DFC VAE's beta, no KL warm-up (its codes are already where they go).
_FROM_DFC = {"batch_size": 32, "init_from": "dfc", "beta": 8.0, "kl_warmup_steps": 0, "lr": 5e-4}
# Both shipped VAE-GANs: 5 epochs, 1,000 critic-only steps, generator weight 0.5 (at 1.5 the Wasserstein one was
# sharper but kept the class less often: docs/model-card.md)
_FULL_FROM_DFC = _FROM_DFC | {"epochs": 5, "lr_warmup_steps": 100, "warmup_steps": 1000, "gamma": 0.5}
# The quick recipes give a usable model in minutes on a CPU; "init_from" names the kind of model a recipe starts
# from, the data set's shipped one. The DFC VAE converts the shipped plain VAE (the notebook's way out: swap the
# pixel loss for the perceptual one); the VAE-GANs sharpen the shipped DFC VAE. Each choice was measured with
# benchmarks/time_to_quality.py (docs/time-to-quality.md); what they reach: records/quick-recipes.json.
_QUICK_FROM_DFC = _FROM_DFC | {"epochs": 1, "lr_warmup_steps": 50, "warmup_steps": 200}

CLASSIFIER = register(Kind("classifier", "classifier", reconstruction="",
                           recipe={"epochs": 8, "batch_size": 64}, quick_recipe={"epochs": 1, "batch_size": 64}))
PLAIN = register(Kind(
    "plain", "plain VAE", PIXELS,
    recipe={"epochs": 12, "batch_size": 32, "kl_warmup_steps": 2000},
    # lr 3e-3 learns three times faster per image; the KL weight ramps up over 2,000 steps so that no unit of the
    # 5-dimensional code collapses early (with 500 steps one seed in three lost one and ended 10 nats worse)
    quick_recipe={"epochs": 2, "batch_size": 32, "lr": 3e-3, "lr_warmup_steps": 100, "kl_warmup_steps": 2000}))
DFC = register(Kind(
    "dfc", "DFC VAE", CLASSIFIER_FEATURES,
    recipe={"epochs": 12, "batch_size": 32, "kl_warmup_steps": 2000, "beta": 8.0},  # beta 8: good prior samples
    quick_recipe={"epochs": 1, "batch_size": 32, "train_limit": 20000, "init_from": "plain", "lr": 2e-3,
                  "lr_warmup_steps": 50, "kl_warmup_steps": 0, "beta": 0.5,
                  "perceptual_layers": {"conv1": 1.0, "conv2": 1.0, "conv3": 5.0}}))
HINGE = register(Kind(
    "vaegan-hinge", "VAE-GAN, hinge", CRITIC_FEATURES, "hinge",
    recipe=_FULL_FROM_DFC | {"critic_steps": 1},
    quick_recipe=_QUICK_FROM_DFC | {"train_limit": 15000}))
WASSERSTEIN = register(Kind(
    "vaegan-wgan", "VAE-GAN, Wasserstein", CRITIC_FEATURES, "wasserstein",
    recipe=_FULL_FROM_DFC | {"critic_steps": 2},
    quick_recipe=_QUICK_FROM_DFC | {"train_limit": 20000, "critic_steps": 2, "gamma": 1.5}))

# The lesson's three losses come from these kinds' shipped models, and the model card lists these rows.
LESSON = (PLAIN, DFC, HINGE)
MODEL_CARD = (PLAIN, DFC, HINGE, WASSERSTEIN)
