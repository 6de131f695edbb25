"""Each checkpoint's analysis on a test split, computed once and cached on disk.

An analysis holds per-image arrays (for paired statistics and the app's plots), a scorecard (the
means, the judge's accuracy, the Frechet distances, what the judge reads in samples from the prior
and from the fitted aggregate posterior, their precision and recall) and the samples' class shares.
The cache key is the checkpoint's weights and posterior hashes, the judge's weights hash, the data
set, the number of test images, the test split's files (their hash, or the embedded sample: without a
data root the analysis runs on it) and CACHE_VERSION, so a retrained model, refitted posterior or judge,
or another test set, is never served stale numbers.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from . import checkpoints, judges
from .data import INFERENCE_BATCH, ImageSplit, has_split, split_fingerprint, test_split
from .metrics import (COLOURS, CONFIDENT, classifier_accuracy, frechet_distance, laplacian_variance, manifold_radii,
                      readings, reconstruction_metrics, score_samples)
from .models import VAE, Classifier
from .workspace import SHIPPED_DIR, Workspace, current

CACHE_VERSION = 3  # bump when any metric's definition changes
# The shipped VAEs' analyses on their whole test splits, as `vae-lab evaluate --record` wrote them: a new
# server's Models, Samples and Blur analysis pages open at once instead of after minutes of analysis.
SHIPPED_ANALYSES = SHIPPED_DIR / "analyses"
log = logging.getLogger(__name__)
SAMPLE_SEED = 0  # the samples behind every sample measure
NEIGHBOURS = 3  # k of the k-NN manifolds behind precision and recall
SCORECARD_FIELDS = {  # key: what it means, in one sentence, for tables, the app and the README
    "bce": "reconstruction BCE, nats/image",
    "kl": "KL(q(z|x) || N(0, I)), nats/image",
    "mse": "mean squared pixel error",
    **{f"mse_{colour}": f"mean squared error of the {colour} channel (colour images)" for colour in COLOURS},
    "ssim": "SSIM to the original",
    "laplacian_variance": "mean Laplacian variance of reconstructions",
    "laplacian_ratio": "... relative to the originals'",
    "accuracy": "judge's accuracy on reconstructions",
    "fid_reconstructions": "Frechet distance, reconstructions vs test images",
    "fid_samples": "Frechet distance, prior samples vs test images",
    "confident_samples": f"share of prior samples the classifier reads with confidence above {CONFIDENT}: "
                         "how many look clearly like some class",
    "class_entropy": "entropy of the classes read in prior samples, relative to an even spread: 1 means every "
                     "class is drawn equally often, lower means some classes are missing or rare",
    "smallest_class_share": "share of prior samples read as the rarest class (0.1 for an even spread)",
    "precision": f"share of prior samples inside the test images' {NEIGHBOURS}-nearest-neighbour manifold "
                 "(classifier features): quality",
    "recall": f"share of test images inside the prior samples' {NEIGHBOURS}-nearest-neighbour manifold: diversity",
    "fid_posterior": "Frechet distance, samples of the fitted aggregate posterior vs test images",
    "posterior_confident_samples": "confident share, for samples of the fitted aggregate posterior",
    "posterior_class_entropy": "class entropy, for samples of the fitted aggregate posterior",
    "posterior_precision": "precision, for samples of the fitted aggregate posterior",
    "posterior_recall": "recall, for samples of the fitted aggregate posterior",
}


@dataclass(frozen=True)
class Analysis:
    """One VAE checkpoint measured on one test split; reconstructions from posterior means."""

    name: str
    kind: str
    dataset: str
    per_image: dict[str, np.ndarray]  # bce, kl, mse, ssim, laplacian_variance, prediction: shape (N,)
    scorecard: dict[str, float]  # the keys of SCORECARD_FIELDS
    sample_classes: dict[str, list[float]]  # "prior"/"posterior" -> share of samples read as each class


def analyse(checkpoint: checkpoints.Checkpoint | str | Path, *, limit: int = 0, device: str = "cpu",
            use_cache: bool = True, workspace: Workspace | None = None) -> Analysis:
    """The analysis of a VAE checkpoint on its data set's test split (the first `limit` images), kept in the
    workspace's cache."""
    workspace = current(workspace)
    ckpt = checkpoint if isinstance(checkpoint, checkpoints.Checkpoint) else checkpoints.find(checkpoint,
                                                                                              workspace=workspace)
    if not ckpt.is_vae:
        raise ValueError(f"{ckpt.name} is a classifier: its accuracy is in `vae-lab evaluate {ckpt.name}`")
    stem = cache_stem(ckpt, limit, workspace)
    found = _stored_stem(stem) if use_cache else None
    cached = _read_cache(ckpt, found) if found is not None else None
    if cached is not None:
        ckpt.tensors("model")  # its weights still there and whole, or the error that computing it would give
        return cached
    judge = judges.load_judge(ckpt.dataset, device, of=ckpt, workspace=workspace)
    analysis = _compute(ckpt, judge, load_test_split(ckpt.dataset, limit, device, root=workspace.data))
    try:
        store(analysis, stem)
    except OSError as error:  # a read-only or full disk: the numbers are still right, only not kept
        if stem.parent not in _unwritable:
            _unwritable.add(stem.parent)
            log.warning("the analysis cache %s cannot be written (%s); analyses are kept in memory only",
                        stem.parent, error)
    return analysis


_unwritable: set[Path] = set()  # cache folders already reported


def _read_cache(ckpt: checkpoints.Checkpoint, stem: Path) -> Analysis | None:
    """The cached analysis, or None (with a log line) if its files cannot be read: then it is computed again
    and the entry rewritten."""
    try:
        numbers = json.loads(stem.with_suffix(".json").read_text())
        per_image = load_file(str(stem.with_suffix(".safetensors")))
        return Analysis(ckpt.name, ckpt.kind, ckpt.dataset, per_image, dict(numbers["scorecard"]),
                        dict(numbers["sample_classes"]))
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as error:
        log.warning("ignoring the unreadable analysis cache entry %s (%s: %s)", stem.name, type(error).__name__, error)
        return None


def store(analysis: Analysis, stem: Path) -> None:
    """Write an analysis as `stem`.safetensors (the per-image arrays) and `stem`.json (the numbers), atomically."""
    numbers = {"scorecard": analysis.scorecard, "sample_classes": analysis.sample_classes}
    stem.parent.mkdir(parents=True, exist_ok=True)
    checkpoints.atomic_write(stem.with_suffix(".safetensors"), lambda tmp: save_file(analysis.per_image, str(tmp)))
    checkpoints.atomic_write(stem.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(numbers)))


def is_cached(ckpt: checkpoints.Checkpoint, *, limit: int = 0, workspace: Workspace | None = None) -> bool:
    """Whether `analyse` would read this checkpoint's analysis from the disk instead of computing it."""
    return _stored_stem(cache_stem(ckpt, limit, current(workspace))) is not None


def _stored_stem(cached: Path) -> Path | None:
    """Where the analysis is stored: the cache entry `cached`, else the shipped analyses' entry of that name (a
    shipped model's, on its whole test split: the key names the weights, the posterior, the judge and the split,
    so any change misses it)."""
    for stem in (cached, SHIPPED_ANALYSES / cached.name):
        if stem.with_suffix(".json").is_file() and stem.with_suffix(".safetensors").is_file():
            return stem
    return None


def cache_key(ckpt: checkpoints.Checkpoint, limit: int = 0, *, workspace: Workspace | None = None) -> str:
    """A hash of every input of the checkpoint's numbers (see the module docstring): the judge and the test split
    are the workspace's (the environment's by default)."""
    workspace = current(workspace)
    judge = judges.judge_of(ckpt, workspace=workspace)
    posterior = ckpt.meta["files"]["posterior"]["sha256"] if ckpt.has("posterior") else "-"
    test_set = split_fingerprint(ckpt.dataset, root=workspace.data)
    return hashlib.sha256(f"{CACHE_VERSION}|{ckpt.sha256}|{posterior}|{judge.sha256 if judge else '-'}|"
                          f"{ckpt.dataset}|{limit}|{test_set}".encode()).hexdigest()[:24]


def entry_name(ckpt: checkpoints.Checkpoint, limit: int = 0, *, workspace: Workspace | None = None) -> str:
    """The analysis files' name without suffix, in the cache and among the shipped analyses."""
    return f"{ckpt.name}-{cache_key(ckpt, limit, workspace=workspace)}"


def cache_stem(ckpt: checkpoints.Checkpoint, limit: int, workspace: Workspace) -> Path:
    """The cache files' path without suffix."""
    return workspace.cache / entry_name(ckpt, limit, workspace=workspace)


def load_test_split(dataset: str, limit: int = 0, device: str = "cpu", *, root: Path | None = None) -> ImageSplit:
    """The test split (the embedded sample where the data root holds none), its first `limit` images."""
    return test_split(dataset, device=device, root=root).subset(limit)


def originals_laplacian_variance(dataset: str, limit: int = 0) -> np.ndarray:
    """Per-image Laplacian variance of the test images themselves."""
    return _originals_laplacian_variance(dataset, limit, has_split(dataset, train=False))


@lru_cache(maxsize=8)
def _originals_laplacian_variance(dataset: str, limit: int, full_split: bool) -> np.ndarray:
    return laplacian_variance(load_test_split(dataset, limit).float_images()).numpy()


@torch.no_grad()
def _compute(ckpt: checkpoints.Checkpoint, judge: checkpoints.Judge | None, split: ImageSplit) -> Analysis:
    # channels_last weights: 1.3x faster convolutions here (benchmarks/scorecard_speed.py, 2 CPU cores)
    model = checkpoints.load(ckpt, split.device).to(memory_format=torch.channels_last)
    classifier = judge.classifier.to(memory_format=torch.channels_last) if judge is not None else None
    reference = _test_reference(classifier, judge.checkpoint.sha256, split) if judge is not None else None
    fid = copy.deepcopy(reference.fid) if reference is not None else None
    feed = (lambda rec: fid.update(rec, real=False)) if fid is not None else None
    results = reconstruction_metrics(model, split, judge=classifier, on_reconstructions=feed)
    scorecard = results.summary(split.labels)
    originals = float(laplacian_variance(split.float_images()).mean())  # this split's, wherever it comes from
    scorecard["laplacian_ratio"] = scorecard["laplacian_variance"] / originals
    sample_classes = {}
    if fid is not None:
        scorecard["fid_reconstructions"] = fid.compute().item()
        sources = ["prior"] + (["posterior"] if model.aggregate_posterior is not None else [])
        for source in sources:
            fid.reset()
            scores = _sample_scores(model, classifier, reference, fid, source=source, n=len(split))
            prefix = "" if source == "prior" else "posterior_"
            scorecard["fid_samples" if source == "prior" else "fid_posterior"] = fid.compute().item()
            scorecard |= {f"{prefix}confident_samples": scores.confident,
                          f"{prefix}class_entropy": scores.class_entropy,
                          f"{prefix}precision": scores.precision, f"{prefix}recall": scores.recall}
            if source == "prior":
                scorecard["smallest_class_share"] = scores.smallest_class_share
            sample_classes[source] = scores.class_shares
    per_image = {k: v.numpy() for k, v in results.per_image().items()}
    return Analysis(ckpt.name, ckpt.kind, ckpt.dataset, per_image, scorecard, sample_classes)


@torch.no_grad()
def _sample_scores(model: VAE, classifier: Classifier, reference: TestReference, fid, *, source: str, n: int):
    """`n` samples from `source`, fed to the FID metric and read by the classifier, in batches."""
    generator = torch.Generator(device=model.device).manual_seed(SAMPLE_SEED)
    probabilities, features = [], []
    for start in range(0, n, INFERENCE_BATCH):
        images = model.sample(min(INFERENCE_BATCH, n - start), source=source, generator=generator)
        fid.update(images, real=False)
        p, f = readings(classifier, images)
        probabilities.append(p)
        features.append(f)
    return score_samples(torch.cat(probabilities), torch.cat(features), reference.features, reference.radii,
                         k=NEIGHBOURS)


@dataclass(frozen=True)
class TestReference:
    """What every model is compared with, from the test images: the FID metric holding their statistics,
    their classifier features and the radii of their k-NN manifold."""

    fid: object
    features: torch.Tensor
    radii: torch.Tensor


_reference_lock = threading.Lock()
_references: dict[tuple, TestReference] = {}


def _test_reference(classifier: Classifier, classifier_sha256: str, split: ImageSplit) -> TestReference:
    """Computed once per process (the test images go through the classifier once for all models)."""
    key = (classifier_sha256, split.dataset, len(split), str(split.device))
    with _reference_lock:
        if key not in _references:
            fid = frechet_distance(classifier)
            features = []
            for x, _ in split.batches():
                fid.update(x, real=True)
                features.append(readings(classifier, x)[1])
            features = torch.cat(features)
            _references.clear()
            _references[key] = TestReference(fid, features, manifold_radii(features, k=NEIGHBOURS))
        return _references[key]


def evaluate_checkpoint(name: str, *, device: str = "cpu", limit: int = 0,
                        workspace: Workspace | None = None) -> dict:
    """One table row: a VAE's scorecard plus the originals' Laplacian variance, or a classifier's accuracy."""
    ckpt = checkpoints.find(name, workspace=workspace)
    row = {"name": ckpt.name, "kind": ckpt.kind, "dataset": ckpt.dataset}
    if not ckpt.is_vae:
        split = load_test_split(ckpt.dataset, limit, device)
        model = checkpoints.load(ckpt, device)
        return row | {"images": len(split), "accuracy": classifier_accuracy(model, split)}
    analysis = analyse(ckpt, limit=limit, device=device, workspace=workspace)
    originals = float(originals_laplacian_variance(ckpt.dataset, limit).mean())
    return row | {"images": len(analysis.per_image["bce"]), **analysis.scorecard,
                  "originals_laplacian_variance": originals}


def evaluate_checkpoints(names: list[str], *, device: str = "cpu", limit: int = 0,
                         workspace: Workspace | None = None) -> list[dict]:
    return [evaluate_checkpoint(name, device=device, limit=limit, workspace=workspace) for name in names]


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
