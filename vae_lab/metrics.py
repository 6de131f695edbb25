"""Measurements of reconstructions: blur (Laplacian variance), likelihood, and the judge's verdict.

Everything here works on whole batches of tensors; per-image results come back as tensors of
shape (N,), so the statistics and the app can pair them image by image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .data import INFERENCE_BATCH, ImageSplit
from .losses import bce_per_image, kl_divergence
from .models import VAE, Classifier

if TYPE_CHECKING:
    from torchmetrics.image.fid import FrechetInceptionDistance

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian(images: torch.Tensor) -> torch.Tensor:
    """`cv2.Laplacian(img, cv2.CV_32F)` of (N, C, H, W) images, channel by channel: OpenCV's ksize=1 kernel
    with its default border (reflect-101, which is torch's "reflect"), bit-identical to OpenCV's."""
    channels = images.shape[1]
    kernel = _LAPLACIAN.to(images.device, images.dtype).expand(channels, 1, 3, 3)
    return F.conv2d(F.pad(images, (1, 1, 1, 1), mode="reflect"), kernel, groups=channels)


# OpenCV's RGB -> grey weights (cv2.cvtColor with COLOR_RGB2GRAY): a colour image's blur is its luminance's
_LUMINANCE = torch.tensor([0.299, 0.587, 0.114])


def luminance(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, 1, H, W) grey, as `cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)` on float images; grey
    images as they are."""
    if images.shape[1] == 1:
        return images
    return (images * _LUMINANCE.to(images.device, images.dtype)[None, :, None, None]).sum(dim=1, keepdim=True)


def laplacian_variance(images: torch.Tensor) -> torch.Tensor:
    """Per-image variance of the Laplacian of the luminance, as `cv2.Laplacian(grey, cv2.CV_32F).var()` with
    `grey` the image itself or, in colour, `cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`, taken in float64.
    `images`: (N, C, H, W) floats in [0, 1]; returns (N,) float32."""
    return laplacian(luminance(images)).double().flatten(1).var(dim=1, unbiased=False).float()


def ssim(images: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (torchmetrics, Gaussian 11x11 window, data_range 1.0)."""
    # imported here: torchmetrics adds 1.4 s to the app's first page, which shows no SSIM
    from torchmetrics.functional.image import structural_similarity_index_measure
    return structural_similarity_index_measure(images, references, data_range=1.0, reduction="none")


COLOURS = ("red", "green", "blue")  # a colour image's channels, as the per-channel errors name them


@dataclass(frozen=True)
class ReconstructionMetrics:
    """Per-image results of one VAE on one split, reconstructing from the posterior mean."""

    bce: torch.Tensor  # nats per image
    kl: torch.Tensor  # nats per image
    mse: torch.Tensor  # mean squared pixel error per image
    ssim: torch.Tensor | None  # structural similarity to the original (None where not asked for)
    laplacian_variance: torch.Tensor  # of the reconstruction
    predictions: torch.Tensor | None  # the judge's class for the reconstruction
    channel_mse: torch.Tensor | None = None  # (N, 3): each colour's mean squared error; None for grey images

    def per_image(self) -> dict[str, torch.Tensor]:
        values = {"bce": self.bce, "kl": self.kl, "mse": self.mse, "ssim": self.ssim,
                  "laplacian_variance": self.laplacian_variance, "prediction": self.predictions}
        if self.channel_mse is not None:
            values |= {f"mse_{colour}": self.channel_mse[:, i] for i, colour in enumerate(COLOURS)}
        return {key: value for key, value in values.items() if value is not None}

    def summary(self, labels: torch.Tensor | None = None) -> dict[str, float]:
        out = {key: value.double().mean().item() for key, value in self.per_image().items() if key != "prediction"}
        if self.predictions is not None and labels is not None:
            out["accuracy"] = (self.predictions == labels.to(self.predictions.device)).float().mean().item()
        return out


@torch.no_grad()
def measure_reconstructions(model: VAE, x: torch.Tensor, *, judge: Classifier | None = None,
                            with_ssim: bool = True) -> tuple[torch.Tensor, ReconstructionMetrics]:
    """Reconstruct a batch from its posterior means; return the reconstructions and their measures."""
    x = x.to(model.device)
    mu, logvar = model.encode(x)
    logits = model.decode_logits(mu)
    rec = torch.sigmoid(logits)
    squared = (rec - x).square()
    return rec, ReconstructionMetrics(
        bce=bce_per_image(logits, x), kl=kl_divergence(mu, logvar), mse=squared.flatten(1).mean(dim=1),
        ssim=ssim(rec, x) if with_ssim else None, laplacian_variance=laplacian_variance(rec),
        predictions=judge.predict(rec) if judge is not None else None,
        channel_mse=squared.flatten(2).mean(dim=2) if x.shape[1] == len(COLOURS) else None)


@torch.no_grad()
def reconstruction_metrics(model: VAE, split: ImageSplit, *, judge: Classifier | None = None,
                           batch_size: int = INFERENCE_BATCH, with_ssim: bool = True,
                           on_reconstructions: Callable[[torch.Tensor], None] | None = None) -> ReconstructionMetrics:
    """`measure_reconstructions` over a whole split, batch by batch.

    `on_reconstructions` sees each batch of reconstructions (the scorecard feeds them to the
    Frechet distance without reconstructing twice).
    """
    parts = []
    for x, _ in split.batches(batch_size):
        rec, measured = measure_reconstructions(model, x, judge=judge, with_ssim=with_ssim)
        parts.append(measured)
        if on_reconstructions is not None:
            on_reconstructions(rec)
    joined = {key: torch.cat([getattr(p, key) for p in parts]).cpu() if getattr(parts[0], key) is not None else None
              for key in ("bce", "kl", "mse", "ssim", "laplacian_variance", "channel_mse")}
    predictions = torch.cat([p.predictions for p in parts]).cpu() if judge is not None else None
    return ReconstructionMetrics(**joined, predictions=predictions)


class PenultimateFeatures(torch.nn.Module):
    """The judge classifier's penultimate layer as torchmetrics' FID feature extractor: 64 ReLU
    units instead of Inception's 2048, trained on the very digits being compared, downloaded from
    nowhere."""

    def __init__(self, classifier: Classifier):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.layers[classifier.penultimate][1].out_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images, [self.classifier.penultimate])[self.classifier.penultimate]


def frechet_distance(classifier: Classifier) -> FrechetInceptionDistance:
    """A torchmetrics FID whose real-image statistics survive `reset()`: feed the test images once
    with real=True, then for each model reset(), feed its images with real=False, compute()."""
    from torchmetrics.image.fid import FrechetInceptionDistance  # imported here, as in `ssim`
    metric = FrechetInceptionDistance(feature=PenultimateFeatures(classifier), normalize=True,
                                      reset_real_features=False)
    return metric.to(next(classifier.parameters()).device)


@torch.no_grad()
def classifier_accuracy(classifier: Classifier, split: ImageSplit, *, batch_size: int = INFERENCE_BATCH) -> float:
    correct = 0
    for x, y in split.batches(batch_size):
        correct += (classifier.predict(x) == y).sum().item()
    return correct / len(split)


# --- samples: what the classifier reads in them, and where they lie against the test images -------------

CONFIDENT = 0.9  # softmax confidence above which a sample counts as a clear member of a class


@torch.no_grad()
def readings(classifier: Classifier, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier's softmax probabilities (N, classes) and penultimate features (N, F) of `images`."""
    features = classifier.features(images, [classifier.penultimate])[classifier.penultimate]
    return classifier.layers["logits"](features).softmax(dim=1), features


@dataclass(frozen=True)
class SampleScores:
    """Generated images judged by the data set's classifier and compared with the test images."""

    confident: float  # share read with softmax confidence above CONFIDENT
    class_shares: list[float]  # share of samples read as each class
    precision: float  # share of samples inside the test images' k-NN manifold: quality
    recall: float  # share of test images inside the samples' k-NN manifold: diversity

    @property
    def class_entropy(self) -> float:
        """Entropy of the class shares relative to a uniform spread: 1 = every class equally often, 0 = one class."""
        shares = torch.tensor(self.class_shares, dtype=torch.float64)
        entropy = -(shares[shares > 0] * shares[shares > 0].log()).sum()
        return float(entropy / math.log(len(self.class_shares)))

    @property
    def smallest_class_share(self) -> float:
        return min(self.class_shares)


def score_samples(probabilities: torch.Tensor, features: torch.Tensor, real_features: torch.Tensor,
                  real_radii: torch.Tensor, *, k: int = 3) -> SampleScores:
    confidence, classes = probabilities.max(dim=1)
    shares = torch.bincount(classes, minlength=probabilities.shape[1]).double() / len(classes)
    precision, recall = precision_recall(real_features, features, k=k, real_radii=real_radii)
    return SampleScores(float((confidence > CONFIDENT).double().mean()), shares.tolist(), precision, recall)


def manifold_radii(features: torch.Tensor, *, k: int = 3, chunk: int = 1024) -> torch.Tensor:
    """Each point's distance to its k-th nearest neighbour in the same set (itself excluded)."""
    radii = [torch.cdist(features[i:i + chunk], features).topk(k + 1, dim=1, largest=False).values[:, k]
             for i in range(0, len(features), chunk)]
    return torch.cat(radii)


def inside_manifold(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, *, chunk: int = 1024) -> float:
    """The share of `points` inside at least one ball (centre, radius)."""
    inside = [(torch.cdist(points[i:i + chunk], centres) <= radii).any(dim=1) for i in range(0, len(points), chunk)]
    return torch.cat(inside).double().mean().item()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, *, k: int = 3,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of `fake` against `real` feature vectors:
    precision, the share of fakes inside the union of the reals' k-NN balls; recall, the share of reals
    inside the fakes' k-NN balls. `real_radii`: the reals' radii, when already computed."""
    real, fake = real.float(), fake.float()
    real_radii = manifold_radii(real, k=k) if real_radii is None else real_radii
    return inside_manifold(fake, real, real_radii), inside_manifold(real, fake, manifold_radii(fake, k=k))
