"""A data set's judge: its classifier, a role of the checkpoint store. It reads reconstructions and samples for
every analysis and, for the DFC VAE, defines the perceptual loss. A shipped model is always judged by the shipped
classifier, so its numbers are the published ones whatever else is installed."""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import datasets, kinds
from . import workspace as places
from .checkpoints import Checkpoint, available, load, read
from .datasets import default_name
from .models import Classifier
from .workspace import Workspace


class Judge(NamedTuple):
    """A data set's classifier, frozen for good (eval mode, no gradients, owned by no optimiser):
    it judges reconstructions and, for the DFC VAE, defines the perceptual loss."""

    classifier: Classifier
    checkpoint: Checkpoint


def find_judge(dataset: str, *, name: str = "", workspace: Workspace | None = None) -> Checkpoint | None:
    """The classifier checkpoint `name` in the workspace (default: the data set's own, `classifier` for MNIST,
    `fashion-mnist-classifier` for Fashion-MNIST), or None if there is none for `dataset`."""
    name = name or default_name(kinds.CLASSIFIER.name, dataset)
    return next((c for c in available(kind=kinds.CLASSIFIER.name, dataset=dataset, workspace=workspace)
                 if c.name == name), None)


def judge_of(ckpt: Checkpoint, *, workspace: Workspace | None = None) -> Checkpoint | None:
    """The classifier that judges `ckpt`'s analysis: for a shipped model the shipped classifier, for any other the
    data set's own (`find_judge`)."""
    if ckpt.json_path.parent != places.SHIPPED_DIR:
        return find_judge(ckpt.dataset, workspace=workspace)
    path = places.SHIPPED_DIR / f"{default_name(kinds.CLASSIFIER.name, ckpt.dataset)}.json"
    return read(path) if path.is_file() else None


# The DFC VAE's perceptual model where a data set has no classifier (a folder without labels): the classifier's
# network with He et al.'s initialisation for ReLU networks (PyTorch's default shrinks each layer's features about
# sixfold in energy, leaving conv3 near silent), from a fixed seed, frozen. Untrained networks' features are a
# usable perceptual metric (Zhang et al. 2018, LPIPS: a random VGG); what one does for the DFC VAE here is measured
# by benchmarks/random_perceptual.py (docs/model-card.md).
RANDOM = "random"
RANDOM_SEED = 0


def random_network(dataset: str, device: str | torch.device = "cpu") -> Classifier:
    """The fixed random network for `dataset`'s images (see RANDOM): the same weights on every machine and run."""
    entry = datasets.get(dataset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        network = Classifier(num_classes=len(entry.classes), image_shape=entry.image_shape)
        for layer in network.modules():
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                torch.nn.init.zeros_(layer.bias)
    return network.to(device).eval().requires_grad_(False)


def _same_shape_classifiers(dataset: str, workspace: Workspace | None) -> list[Checkpoint]:
    """The classifiers of images of `dataset`'s shape, the data set's own first (the emoji classifier, say, for your
    own 64 px colour images)."""
    shape = datasets.get(dataset).image_shape
    found = [c for c in available(kind=kinds.CLASSIFIER.name, workspace=workspace) if c.dataset in datasets.names()
             and datasets.get(c.dataset).image_shape == shape]
    return sorted(found, key=lambda c: c.dataset != dataset)


def perceptual_choices(dataset: str, *, workspace: Workspace | None = None) -> list[str]:
    """What a DFC VAE of `dataset` can take its features from, the best first: its own classifiers, those of other
    data sets of the same image shape, the random network."""
    return [c.name for c in _same_shape_classifiers(dataset, workspace)] + [RANDOM]


def perceptual_network(dataset: str, name: str, device: str | torch.device = "cpu", *,
                       workspace: Workspace | None = None,
                       judge: Judge | None = None) -> tuple[torch.nn.Module, dict] | None:
    """The frozen network a DFC VAE of `dataset` compares features in (`name`: one of `perceptual_choices`), and
    how its checkpoint names it; None if there is no such classifier. `judge`: the data set's, already loaded, taken
    if it is the one named."""
    if name == RANDOM:
        return random_network(dataset, device), {"network": RANDOM, "seed": RANDOM_SEED}
    if judge is not None and judge.checkpoint.name == name:
        network, found = judge
    else:
        found = next((c for c in _same_shape_classifiers(dataset, workspace) if c.name == name), None)
        if found is None:
            return None
        network = load(found, device).requires_grad_(False)
    return network, {"checkpoint": found.name, "sha256": found.sha256}


def load_judge(dataset: str, device: str | torch.device = "cpu", *, name: str = "", of: Checkpoint | None = None,
               workspace: Workspace | None = None) -> Judge | None:
    """`find_judge`'s classifier (with `of`: `judge_of(of)`), loaded and frozen, with its checkpoint;
    None if there is none."""
    found = judge_of(of, workspace=workspace) if of is not None else find_judge(dataset, name=name,
                                                                                  workspace=workspace)
    return Judge(load(found, device).requires_grad_(False), found) if found is not None else None
