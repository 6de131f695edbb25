"""Measurements of reconstructions: blur (Laplacian variance), likelihood, and the judge's verdict.

Everything here works on whole batches of tensors; per-image results come back as tensors of
shape (N,), so the statistics and the app can pair them image by image.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import ImageSplit
from .losses import bce_per_image, kl_divergence
from .models import VAE, Classifier

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_variance(images: torch.Tensor) -> torch.Tensor:
    """Per-image variance of the Laplacian, as `cv2.Laplacian(img, cv2.CV_32F).var()`.

    OpenCV's ksize=1 kernel with its default border (reflect-101, which is torch's "reflect"):
    the filtered images are bit-identical to OpenCV's; the variance is taken in float64.
    `images`: (N, C, H, W) floats in [0, 1]; returns (N,) float32.
    """
    channels = images.shape[1]
    kernel = _LAPLACIAN.to(images.device, images.dtype).expand(channels, 1, 3, 3)
    filtered = F.conv2d(F.pad(images, (1, 1, 1, 1), mode="reflect"), kernel, groups=channels)
    return filtered.double().flatten(1).var(dim=1, unbiased=False).float()


@dataclass(frozen=True)
class ReconstructionMetrics:
    """Per-image results of one VAE on one split, reconstructing from the posterior mean."""

    bce: torch.Tensor  # nats per image
    kl: torch.Tensor  # nats per image
    mse: torch.Tensor  # mean squared pixel error per image
    laplacian_variance: torch.Tensor  # of the reconstruction
    predictions: torch.Tensor | None  # the judge's class for the reconstruction

    def summary(self, labels: torch.Tensor | None = None) -> dict[str, float]:
        out = {"bce": self.bce.mean().item(), "kl": self.kl.mean().item(), "mse": self.mse.mean().item(),
               "laplacian_variance": self.laplacian_variance.mean().item()}
        if self.predictions is not None and labels is not None:
            out["accuracy"] = (self.predictions == labels.to(self.predictions.device)).float().mean().item()
        return out


@torch.no_grad()
def reconstruction_metrics(model: VAE, split: ImageSplit, *, judge: Classifier | None = None,
                           batch_size: int = 1000) -> ReconstructionMetrics:
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("bce", "kl", "mse", "lap", "pred")}
    for start in range(0, len(split), batch_size):
        x, _ = split.batch(slice(start, start + batch_size))
        x = x.to(model.device)
        mu, logvar = model.encode(x)
        logits = model.decode_logits(mu)
        rec = torch.sigmoid(logits)
        parts["bce"].append(bce_per_image(logits, x))
        parts["kl"].append(kl_divergence(mu, logvar))
        parts["mse"].append((rec - x).square().flatten(1).mean(dim=1))
        parts["lap"].append(laplacian_variance(rec))
        if judge is not None:
            parts["pred"].append(judge.predict(rec))
    cat = {k: torch.cat(v).cpu() if v else None for k, v in parts.items()}
    return ReconstructionMetrics(cat["bce"], cat["kl"], cat["mse"], cat["lap"], cat["pred"])


@torch.no_grad()
def classifier_accuracy(classifier: Classifier, split: ImageSplit, *, batch_size: int = 2000) -> float:
    correct = 0
    for start in range(0, len(split), batch_size):
        x, y = split.batch(slice(start, start + batch_size))
        correct += (classifier.predict(x) == y).sum().item()
    return correct / len(split)
