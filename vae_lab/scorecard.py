"""Each checkpoint's analysis on a test split, computed once and cached on disk.

An analysis holds per-image arrays (for paired statistics and the app's plots) and a scorecard
(the means, the judge's accuracy, the Frechet distances). The cache key is the checkpoint's
weights hash, the judge's weights hash, the data set, the number of test images and
CACHE_VERSION, so a retrained model or judge is never served stale numbers.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from . import checkpoints
from .data import INFERENCE_BATCH, ImageSplit, load_split
from .metrics import classifier_accuracy, frechet_distance, laplacian_variance, reconstruction_metrics
from .models import Classifier

CACHE_VERSION = 2  # bump when any metric's definition changes
SAMPLE_SEED = 0  # the prior samples behind "fid_samples"
SCORECARD_FIELDS = {  # key: what it means, for tables and the README
    "bce": "reconstruction BCE, nats/image",
    "kl": "KL(q(z|x) || N(0, I)), nats/image",
    "mse": "mean squared pixel error",
    "ssim": "SSIM to the original",
    "laplacian_variance": "mean Laplacian variance of reconstructions",
    "laplacian_ratio": "... relative to the originals'",
    "accuracy": "judge's accuracy on reconstructions",
    "fid_reconstructions": "Frechet distance, reconstructions vs test images",
    "fid_samples": "Frechet distance, prior samples vs test images",
}


def cache_dir() -> Path:
    return Path(os.environ.get("VAE_LAB_CACHE", Path.home() / ".cache" / "vae_lab")).expanduser()


@dataclass(frozen=True)
class Analysis:
    """One VAE checkpoint measured on one test split; reconstructions from posterior means."""

    name: str
    kind: str
    dataset: str
    per_image: dict[str, np.ndarray]  # bce, kl, mse, ssim, laplacian_variance, prediction: shape (N,)
    scorecard: dict[str, float]  # the keys of SCORECARD_FIELDS


def analyse(checkpoint: checkpoints.Checkpoint | str | Path, *, limit: int = 0, device: str = "cpu",
            use_cache: bool = True) -> Analysis:
    """The analysis of a VAE checkpoint on its data set's test split (the first `limit` images)."""
    ckpt = checkpoint if isinstance(checkpoint, checkpoints.Checkpoint) else checkpoints.find(checkpoint)
    if ckpt.kind == "classifier":
        raise ValueError(f"{ckpt.name} is a classifier: its accuracy is in `vae-lab evaluate {ckpt.name}`")
    judge = checkpoints.load_judge(ckpt.dataset, device)
    key = hashlib.sha256(f"{CACHE_VERSION}|{ckpt.sha256}|{judge.checkpoint.sha256 if judge else '-'}|"
                         f"{ckpt.dataset}|{limit}".encode()).hexdigest()[:24]
    stem = cache_dir() / f"{ckpt.name}-{key}"
    if use_cache and stem.with_suffix(".json").is_file() and stem.with_suffix(".safetensors").is_file():
        return Analysis(ckpt.name, ckpt.kind, ckpt.dataset, load_file(str(stem.with_suffix(".safetensors"))),
                        json.loads(stem.with_suffix(".json").read_text()))
    analysis = _compute(ckpt, judge, load_test_split(ckpt.dataset, limit, device))
    stem.parent.mkdir(parents=True, exist_ok=True)
    checkpoints.atomic_write(stem.with_suffix(".safetensors"), lambda tmp: save_file(analysis.per_image, str(tmp)))
    checkpoints.atomic_write(stem.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(analysis.scorecard)))
    return analysis


def load_test_split(dataset: str, limit: int = 0, device: str = "cpu") -> ImageSplit:
    return load_split(dataset, train=False, device=device).subset(limit)


@lru_cache(maxsize=8)
def originals_laplacian_variance(dataset: str, limit: int = 0) -> np.ndarray:
    """Per-image Laplacian variance of the test images themselves."""
    return laplacian_variance(load_test_split(dataset, limit).float_images()).numpy()


@torch.no_grad()
def _compute(ckpt: checkpoints.Checkpoint, judge: checkpoints.Judge | None, split: ImageSplit) -> Analysis:
    # channels_last weights: 1.3x faster convolutions here (benchmarks/scorecard_speed.py, 2 CPU cores)
    model = checkpoints.load(ckpt, split.device).to(memory_format=torch.channels_last)
    classifier = judge.classifier.to(memory_format=torch.channels_last) if judge is not None else None
    fid = _fid_with_real_features(classifier, judge.checkpoint.sha256, split) if judge is not None else None
    feed = (lambda rec: fid.update(rec, real=False)) if fid is not None else None
    results = reconstruction_metrics(model, split, judge=classifier, on_reconstructions=feed)
    scorecard = results.summary(split.labels)
    originals = float(originals_laplacian_variance(split.dataset, len(split)).mean())
    scorecard["laplacian_ratio"] = scorecard["laplacian_variance"] / originals
    if fid is not None:
        scorecard["fid_reconstructions"] = fid.compute().item()
        fid.reset()
        generator = torch.Generator(device=split.device).manual_seed(SAMPLE_SEED)
        for start in range(0, len(split), INFERENCE_BATCH):
            fid.update(model.sample(min(INFERENCE_BATCH, len(split) - start), generator=generator), real=False)
        scorecard["fid_samples"] = fid.compute().item()
    per_image = {k: v.numpy() for k, v in results.per_image().items()}
    return Analysis(ckpt.name, ckpt.kind, ckpt.dataset, per_image, scorecard)


_fid_lock = threading.Lock()
_fid_prepared: dict[tuple, object] = {}


def _fid_with_real_features(judge: Classifier, judge_sha256: str, split: ImageSplit):
    """A fresh FID metric whose real-image statistics (the test split's) are computed once per
    process and copied, so analysing several models feeds the test images through the judge once."""
    key = (judge_sha256, split.dataset, len(split), str(split.device))
    with _fid_lock:
        if key not in _fid_prepared:
            metric = frechet_distance(judge)
            for x, _ in split.batches():
                metric.update(x, real=True)
            _fid_prepared.clear()
            _fid_prepared[key] = metric
        return copy.deepcopy(_fid_prepared[key])


def evaluate_checkpoint(name: str, *, device: str = "cpu", limit: int = 0) -> dict:
    """One table row: a VAE's scorecard plus the originals' Laplacian variance, or a classifier's accuracy."""
    ckpt = checkpoints.find(name)
    row = {"name": ckpt.name, "kind": ckpt.kind, "dataset": ckpt.dataset}
    if ckpt.kind == "classifier":
        split = load_test_split(ckpt.dataset, limit, device)
        model = checkpoints.load(ckpt, device)
        return row | {"images": len(split), "accuracy": classifier_accuracy(model, split)}
    analysis = analyse(ckpt, limit=limit, device=device)
    originals = float(originals_laplacian_variance(ckpt.dataset, limit).mean())
    return row | {"images": len(analysis.per_image["bce"]), **analysis.scorecard,
                  "originals_laplacian_variance": originals}


def evaluate_checkpoints(names: list[str], *, device: str = "cpu", limit: int = 0) -> list[dict]:
    return [evaluate_checkpoint(name, device=device, limit=limit) for name in names]


def format_table(rows: list[dict]) -> str:
    """A plain-text table, one row per checkpoint, numbers to 4 significant digits."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths))]
    lines += ["  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).replace("e", "", 1).isdigit()
