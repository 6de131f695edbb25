"""How long a training run will take, from where the wall time of this machine's earlier runs went.

Every checkpoint records its run's wall time in parts (train.py: start-up, each epoch's training and
its validation with the number of test images validated; posterior.py: the aggregate-posterior fit).
A new run is estimated part by part from the rates of the recorded runs of the same kind, device type
and batch size: the jobs this server ran and the user's own checkpoints (the shipped ones were trained
elsewhere). Before any such run, on a CPU, the quick recipes' measured runs stand in (quick_record.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from . import datasets, quick_record
from .config import TrainConfig
from .workspace import Workspace, current

RECENT_RUNS = 5  # the latest recorded runs a rate is taken from: the machine's speed drifts over a day


def first_guess(kind: str) -> dict[str, float] | None:
    """Before this machine has recorded a run of the kind: the rates of its quick recipe's measured runs
    (records/quick-recipes.json, two CPU cores); None for a kind never measured."""
    runs = quick_record.load().get(kind)
    return _rates([run["meta"] for run in runs]) if runs else None


def estimate_seconds(config: TrainConfig, device: torch.device, *, workspace: Workspace | None = None) -> float | None:
    """Seconds the whole run will take: start-up, every epoch's training and validation (the epochs before
    the last look at `interim_test_limit` test images), and the posterior fit. None when this device type
    has neither a recorded run of the kind nor a first guess."""
    config = config.resolved(device)
    rates = recorded_rates(config, device, workspace=workspace) or (
        first_guess(config.kind) if device.type == "cpu" else None)
    if rates is None:
        return None
    dataset = datasets.get(config.dataset)
    images = min(config.train_limit or dataset.train_size, dataset.train_size)
    test = min(config.test_limit or dataset.test_size, dataset.test_size)
    validated = (config.epochs - 1) * min(config.interim_test_limit or test, test) + test
    seconds = rates["startup_s"] + config.epochs * images / rates["train"] + validated / rates["validation"]
    codes = min(config.posterior_codes or images, images)
    return seconds + (codes / rates["posterior"] if rates["posterior"] else 0.0)


def recorded_rates(config: TrainConfig, device: torch.device, *,
                   workspace: Workspace | None = None) -> dict[str, float] | None:
    """The rates of the latest recorded runs like this one (kind, device type, batch size) in the workspace; None
    if none."""
    runs = sorted((meta for meta in _recorded_runs(current(workspace)) if meta["kind"] == config.kind
                   and meta["training"]["device"].split(":")[0] == device.type
                   and meta["recipe"].get("batch_size") == config.batch_size), key=lambda meta: meta["created"])
    return _rates(runs[-RECENT_RUNS:]) if runs else None


def _rates(runs: list[dict]) -> dict[str, float]:
    """Seconds of start-up, and images per second of training, validation and posterior fit, over `runs`'
    checkpoint records."""
    epochs = [epoch for meta in runs for epoch in meta["training"]["wall"]["epochs"]]
    fits = [(_posterior_codes(meta), meta["aggregate_posterior"]["fit_s"])
            for meta in runs if "fit_s" in meta.get("aggregate_posterior", {})]
    return {"startup_s": sum(meta["training"]["wall"]["startup_s"] for meta in runs) / len(runs),
            "train": sum(e["images"] for e in epochs) / sum(e["train_s"] for e in epochs),
            "validation": sum(e["validation_images"] for e in epochs) / sum(e["validation_s"] for e in epochs),
            "posterior": sum(n for n, _ in fits) / sum(s for _, s in fits) if fits else 0.0}


def _posterior_codes(meta: dict) -> int:
    """The training images a recorded run's posterior fit encoded: its recipe's limits, or the whole split."""
    size = datasets.get(meta["dataset"]).train_size if meta.get("dataset") in datasets.names() else 0
    limits = [n for n in (meta["recipe"].get("train_limit"), meta["recipe"].get("posterior_codes"), size) if n]
    return min(limits) if limits else 0


def _recorded_runs(workspace: Workspace) -> list[dict]:
    """The JSON of every checkpoint trained here that records its wall time: jobs' and the user's own."""
    paths = [*workspace.jobs.glob("*/checkpoint/*.json"), *workspace.own_models.glob("*.json")]
    found = []
    for path in paths:
        try:
            meta = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a job's checkpoint being rewritten, or not a checkpoint: no record to learn from
        if isinstance(meta, dict) and "wall" in meta.get("training", {}) and "recipe" in meta:
            found.append(meta)
    return found
