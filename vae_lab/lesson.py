"""The "why": what a pixel-wise loss and a perceptual loss each charge for a small change of an image,
what each prefers when it is unsure, and what the perceptual networks see (no Streamlit here).

Three losses compare an image `y` with a reference `x` (N, 1, 28, 28) in [0, 1], as in training:
the summed BCE of the plain VAE (and the MSE beside it), the DFC VAE's perceptual loss (the frozen
classifier's layers and weights the shipped DFC VAE was trained with) and the hinge VAE-GAN's feature
loss (its critic's layers and weights). `Judges.of(dataset)` loads the shipped networks.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import checkpoints, datasets, kinds
from .datasets import default_name
from .losses import PerceptualLoss, bce_per_image
from .metrics import laplacian, laplacian_variance, luminance
from .models import VAE
from .transforms import REFERENCE, STRONG_BLUR, TRANSFORMS, apply, on_background, shift

EPS = 1e-4  # images are clamped to [EPS, 1 - EPS] before the BCE, whose log would be infinite at 0 and 1


# --- the losses --------------------------------------------------------------------------------------

@dataclass
class Judges:
    """The shipped perceptual losses of a data set: the DFC VAE's (frozen classifier) and the hinge
    VAE-GAN's (its critic), each with the layers and weights its model was trained with."""

    dataset: str
    dfc: PerceptualLoss
    critic: PerceptualLoss
    plain: VAE  # its decoder is where the optima start (see `optimum`)

    @classmethod
    def of(cls, dataset: str) -> Judges:
        """The shipped networks (a model of the same name in the user's folder does not replace them)."""
        dfc_ckpt = checkpoints.shipped(default_name(kinds.DFC.name, dataset))
        classifier = checkpoints.load(checkpoints.shipped(dfc_ckpt.meta["perceptual"]["checkpoint"]))
        gan_ckpt = checkpoints.shipped(default_name(kinds.HINGE.name, dataset))
        critic = checkpoints.load_into(checkpoints.build(gan_ckpt, "critic"), gan_ckpt, "critic").eval()
        plain = checkpoints.load(checkpoints.shipped(default_name(kinds.PLAIN.name, dataset))).eval()
        plain.requires_grad_(False)
        return cls(dataset, PerceptualLoss(classifier.requires_grad_(False), dfc_ckpt.meta["perceptual"]["layers"]),
                   PerceptualLoss(critic.requires_grad_(False), gan_ckpt.meta["perceptual"]["critic_layers"]), plain)

    def perceptual(self, network: str, weights: dict[str, float] | None = None) -> PerceptualLoss:
        """"dfc" or "critic", with other layers and weights if given (the trained ones otherwise)."""
        base = {"dfc": self.dfc, "critic": self.critic}[network]
        return base if weights is None else PerceptualLoss(base.net, weights)


def has_lesson(dataset: str) -> bool:
    """Whether the lesson's models (its plain VAE, DFC VAE and hinge VAE-GAN) ship for `dataset`: a data set of
    one's own has none."""
    return {default_name(kind.name, dataset) for kind in kinds.LESSON} <= checkpoints.shipped_names()


def pixel_bce(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The plain VAE's reconstruction loss of `y` for the target `x`, in nats per image."""
    return bce_per_image(torch.logit(y.clamp(EPS, 1 - EPS)), x)


def losses(x: torch.Tensor, y: torch.Tensor, judges: Judges) -> dict[str, torch.Tensor]:
    """Every loss of `y` against `x`, per image: BCE, MSE, each DFC layer and their sum, each critic layer
    and their sum (keys "dfc:conv1", "dfc", "critic:conv1", "critic", ...)."""
    out = {"bce": pixel_bce(x, y), "mse": (y - x).square().flatten(1).mean(dim=1)}
    for network in ("dfc", "critic"):
        terms = judges.perceptual(network).layer_terms(x, y)
        out |= {f"{network}:{layer}": value for layer, value in terms.items()}
        out[network] = sum(terms.values())
    return out


LOSS_LABELS = {"bce": "BCE (summed)", "mse": "MSE", "dfc": "DFC perceptual (sum)", "critic": "critic features (sum)"}


def loss_label(key: str) -> str:
    network, _, layer = key.partition(":")
    if layer:
        return f"{'DFC' if network == 'dfc' else 'critic'} {layer}"
    return LOSS_LABELS[key]


@dataclass
class Curves:
    """Each loss over a transform's range, for one image: raw, and divided by the reference change's."""

    transform: str
    amounts: np.ndarray
    raw: dict[str, np.ndarray]
    reference: dict[str, float]  # each loss's value for REFERENCE

    @property
    def normalised(self) -> dict[str, np.ndarray]:
        return {key: values / self.reference[key] for key, values in self.raw.items()}


@torch.no_grad()
def curves(x: torch.Tensor, transform: str, judges: Judges) -> Curves:
    """`x` (1, 1, 28, 28) changed by every amount of the transform's slider, each loss against `x`."""
    amounts, background = TRANSFORMS[transform].amounts, datasets.get(judges.dataset).background
    changed = torch.cat([apply(x, transform, float(a), background=background) for a in amounts])
    raw = {k: v.numpy() for k, v in losses(x.expand_as(changed), changed, judges).items()}
    reference = {k: float(v[0]) for k, v in losses(x, apply(x, *REFERENCE, background=background), judges).items()}
    return Curves(transform, amounts, raw, reference)


@torch.no_grad()
def verdicts(x: torch.Tensor, judges: Judges) -> dict[str, np.ndarray]:
    """Per loss and image of `x` (N, 1, 28, 28): the strong blur's cost over the 2-pixel shift's.
    Below 1: the loss prefers the blurred image to the shifted one."""
    background = datasets.get(judges.dataset).background
    blurred, shifted = apply(x, *STRONG_BLUR, background=background), apply(x, *REFERENCE, background=background)
    blur, moved = losses(x, blurred, judges), losses(x, shifted, judges)
    return {k: (blur[k] / moved[k]).numpy() for k in blur}


VERDICT_IMAGES = 1000  # the first test images: the shipped networks' verdicts quoted on the page and in the README


@dataclass(frozen=True)
class Verdict:
    """How one loss ranks the strong blur against the 2-pixel shift over many images."""

    blur_cheaper: int  # images for which the loss charges the blur less than the shift
    images: int
    median_ratio: float  # the median of blur's cost / shift's cost


def verdict_summary(x: torch.Tensor, judges: Judges) -> dict[str, Verdict]:
    return {key: Verdict(int((r < 1).sum()), len(r), float(np.median(r))) for key, r in verdicts(x, judges).items()}


def test_bce(dataset: str) -> dict[str, float]:
    """The shipped plain and DFC VAEs' test-set BCE (nats per image), where their checkpoints have it."""
    found = {}
    for kind in (kinds.PLAIN.name, kinds.DFC.name):
        try:
            value = checkpoints.find(default_name(kind, dataset)).metrics.get("bce")
        except checkpoints.CheckpointError:
            continue
        if value is not None:
            found[kind] = float(value)
    return found


def laplacian_map(image: torch.Tensor) -> np.ndarray:
    """The Laplacian of a (C, H, W) image's luminance (what `laplacian_variance` takes the variance of)."""
    return laplacian(luminance(image[None]))[0, 0].numpy()


# --- what each loss prefers when it is unsure -------------------------------------------------------

def shifted_targets(x: torch.Tensor, *, max_shift: int = 2, background: float = 0.0) -> torch.Tensor:
    """`x` (1, C, H, W) shifted by every (dx, dy) with |dx|, |dy| <= max_shift: (2m+1)^2 targets; what comes in at
    the edges is the `background` (transforms.on_background)."""
    if not 1 <= max_shift <= 4:
        raise ValueError(f"choose a largest shift from 1 to 4 pixels, got {max_shift}")
    steps = range(-max_shift, max_shift + 1)
    return on_background(x, background, lambda drawing: torch.cat(
        [shift(shift(drawing, dx, axis=-1), dy, axis=-2) for dy in steps for dx in steps]))


OPTIMA = ("bce", "dfc", "critic")
OPTIMUM_STEPS = 300
# Adam's step size for each loss's decoder. The critic's is smaller: at 2e-3 its decoder ran, within the 300
# steps, into speckle that the critic (trained on the data and the VAE-GAN's reconstructions only, never on
# noise) barely charges; at 3e-4 it stays among the images a decoder draws (docs/lesson.md).
OPTIMUM_LR = {"bce": 2e-3, "dfc": 2e-3, "critic": 3e-4}


@dataclass
class Optimum:
    """What a decoder trained with one loss draws for one ambiguous code: a copy of the shipped plain VAE's
    decoder, fitted by Adam to map the code of the unshifted image to every target at once."""

    loss: str
    image: torch.Tensor  # (1, 28, 28)
    losses: list[float]  # the mean loss over the targets, every step (a stored record keeps only the last)
    seconds: float

    @property
    def laplacian_variance(self) -> float:
        return float(laplacian_variance(self.image[None])[0])


def optimum(targets: torch.Tensor, loss: str, judges: Judges, *, steps: int = OPTIMUM_STEPS, lr: float | None = None,
            on_step: Callable[[int, torch.Tensor], None] | None = None, every: int = 25) -> Optimum:
    """Fit a copy of the plain VAE's decoder for `steps` Adam steps so that the code of the middle target (the
    unshifted image) decodes to the image with the lowest mean `loss` ("bce", "dfc" or "critic") over `targets`;
    `on_step(step, image)` every `every` steps.

    Why through a decoder and not over free pixels: a free search finds the classifier's and the critic's blind
    spots (speckle that the features barely see). A decoder can only draw what its layers make easy, as in
    training, so the answer is what a VAE trained with that loss would draw for a code it cannot place."""
    if loss not in OPTIMA:
        raise ValueError(f"unknown loss {loss!r}: choose from {list(OPTIMA)}")
    start = time.perf_counter()
    decoder = copy.deepcopy(judges.plain.decoder).train().requires_grad_(True)
    with torch.no_grad():
        code = judges.plain.encode(targets[len(targets) // 2:len(targets) // 2 + 1]).mu
    optimiser = torch.optim.Adam(decoder.parameters(), lr=OPTIMUM_LR[loss] if lr is None else lr)
    if loss == "bce":
        def compare(logits: torch.Tensor) -> torch.Tensor:
            return bce_per_image(logits.expand_as(targets), targets)
    else:  # the targets' features once; the image's broadcast against every target's
        perceptual = judges.perceptual(loss)
        real = perceptual.reference_features(targets)

        def compare(logits: torch.Tensor) -> torch.Tensor:
            return sum(perceptual.terms(real, perceptual.features_of(torch.sigmoid(logits))).values())
    history = []
    for step in range(1, steps + 1):
        value = compare(decoder(code)).mean()
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()
        history.append(value.item())
        if on_step is not None and (step % every == 0 or step == steps):
            with torch.no_grad():
                on_step(step, torch.sigmoid(decoder(code))[0])
    with torch.no_grad():
        image = torch.sigmoid(decoder(code))[0]
    return Optimum(loss, image, history, time.perf_counter() - start)


def optima(targets: torch.Tensor, judges: Judges, *, steps: int = OPTIMUM_STEPS,
           on_step: Callable[[str, int, torch.Tensor], None] | None = None) -> dict[str, Optimum]:
    """Each of OPTIMA's optimum over `targets`, from the same decoder and code."""
    return {loss: optimum(targets, loss, judges, steps=steps,
                          on_step=None if on_step is None else lambda s, img, loss=loss: on_step(loss, s, img))
            for loss in OPTIMA}


# --- what the perceptual networks see ---------------------------------------------------------------

@dataclass
class LayerView:
    """One layer's features of an image and of its reconstruction, and where they differ."""

    layer: str
    weight: float
    original: np.ndarray  # (C, H, W)
    reconstruction: np.ndarray  # (C, H, W)
    difference: np.ndarray  # (H, W): the squared difference summed over channels
    loss: float  # weight * the difference's sum: this layer's term of the loss

    def strongest(self, count: int = 8) -> list[int]:
        """The channels that differ most, strongest first: the ones worth showing."""
        energy = ((self.original - self.reconstruction) ** 2).reshape(len(self.original), -1).sum(axis=1)
        return np.argsort(-energy)[:count].tolist()


@torch.no_grad()
def layer_views(loss: PerceptualLoss, x: torch.Tensor, reconstruction: torch.Tensor) -> list[LayerView]:
    """Every layer of `loss` for one image `x` (1, 1, 28, 28) and its reconstruction, in the net's order."""
    real, fake = loss.reference_features(x), loss.reference_features(reconstruction)
    views = []
    for layer in [name for name in loss.net.layer_names if name in loss.weights]:
        a, b = real[layer][0].float().numpy(), fake[layer][0].float().numpy()
        if a.ndim == 1:  # a dense layer: one strip of units
            a, b = a.reshape(1, 1, -1), b.reshape(1, 1, -1)
        difference = ((a - b) ** 2).sum(axis=0)
        weight = float(loss.weights[layer])
        views.append(LayerView(layer, weight, a, b, difference, weight * float(difference.sum())))
    return views


def shares(views: list[LayerView]) -> dict[str, float]:
    """Each layer's share of the loss (summing to 1; all 0 where the loss is 0)."""
    total = sum(v.loss for v in views)
    return {v.layer: v.loss / total if total > 0 else 0.0 for v in views}
