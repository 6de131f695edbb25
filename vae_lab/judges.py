"""A data set's judge: its classifier, a role of the checkpoint store. It reads reconstructions and samples for
every analysis and, for the DFC VAE, defines the perceptual loss. A shipped model is always judged by the shipped
classifier, so its numbers are the published ones whatever else is installed."""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import kinds
from . import workspace as places
from .checkpoints import Checkpoint, available, load, read
from .datasets import default_name
from .models import Classifier


class Judge(NamedTuple):
    """A data set's classifier, frozen for good (eval mode, no gradients, owned by no optimiser):
    it judges reconstructions and, for the DFC VAE, defines the perceptual loss."""

    classifier: Classifier
    checkpoint: Checkpoint


def find_judge(dataset: str, *, name: str = "") -> Checkpoint | None:
    """The classifier checkpoint `name` (default: the data set's own, `classifier` for MNIST,
    `fashion-mnist-classifier` for Fashion-MNIST), or None if there is none for `dataset`."""
    name = name or default_name(kinds.CLASSIFIER.name, dataset)
    return next((c for c in available(kind=kinds.CLASSIFIER.name, dataset=dataset) if c.name == name), None)


def judge_of(ckpt: Checkpoint) -> Checkpoint | None:
    """The classifier that judges `ckpt`'s analysis: for a shipped model the shipped classifier, for any other the
    data set's own (`find_judge`)."""
    if ckpt.json_path.parent != places.SHIPPED_DIR:
        return find_judge(ckpt.dataset)
    path = places.SHIPPED_DIR / f"{default_name(kinds.CLASSIFIER.name, ckpt.dataset)}.json"
    return read(path) if path.is_file() else None


def load_judge(dataset: str, device: str | torch.device = "cpu", *, name: str = "",
               of: Checkpoint | None = None) -> Judge | None:
    """`find_judge`'s classifier (with `of`: `judge_of(of)`), loaded and frozen, with its checkpoint;
    None if there is none."""
    found = judge_of(of) if of is not None else find_judge(dataset, name=name)
    return Judge(load(found, device).requires_grad_(False), found) if found is not None else None
