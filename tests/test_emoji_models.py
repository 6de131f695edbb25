"""The shipped emoji models make the lesson's case in colour, as their judge reads them (issue 29): the DFC VAE's
reconstructions are sharper than the plain VAE's, read as the right category at least as often, and keep the
colours; and their numbers are the model card's."""
import pytest
import torch

from vae_lab import checkpoints, model_record
from vae_lab.data import load_split
from vae_lab.judges import load_judge
from vae_lab.metrics import COLOURS, reconstruction_metrics
from vae_lab.stats import paired_comparison

KINDS = ("plain", "dfc", "vaegan-hinge")
COLOUR_SHIFT = 0.025  # the largest mean shift of an image's average red, green or blue, on a 0-1 scale


@pytest.fixture(scope="module")
def measured(emoji_root):
    """Each shipped emoji VAE's reconstructions of the whole test split measured with the shipped judge, and the
    mean colour of each reconstruction."""
    split = load_split("emoji", train=False, root=emoji_root)
    judge = load_judge("emoji", of=checkpoints.shipped("emoji-dfc"))
    found, colours = {}, {}
    for kind in KINDS:
        model, means = checkpoints.load(checkpoints.shipped(f"emoji-{kind}")), colours.setdefault(kind, [])
        found[kind] = reconstruction_metrics(model, split, judge=judge.classifier, with_ssim=False,
                                             on_reconstructions=lambda rec, to=means: to.append(rec.mean(dim=(2, 3))))
    colours = {kind: torch.cat(means) for kind, means in colours.items()}
    return split, found, colours


def test_the_dfc_vae_is_sharper_reads_as_the_right_category_as_often_and_keeps_the_colours(measured):
    split, found, colours = measured
    plain, dfc = found["plain"], found["dfc"]
    test = paired_comparison(dfc.laplacian_variance.numpy(), plain.laplacian_variance.numpy(), name_a="dfc",
                             name_b="plain")
    assert test.cohens_dz > 0 and test.t_p_value < 1e-3, test
    accuracy = {kind: (m.predictions == split.labels).float().mean().item() for kind, m in found.items()}
    assert accuracy["dfc"] >= accuracy["plain"], accuracy
    # the colours: each image's mean colour is kept, and each channel's error stays near the plain VAE's, whose
    # pixel loss charges every colour directly while the DFC VAE's sees colour only through the classifier
    originals = split.float_images().mean(dim=(2, 3))
    for kind in ("plain", "dfc"):
        assert (colours[kind] - originals).abs().mean() < COLOUR_SHIFT, kind
    for i, colour in enumerate(COLOURS):
        assert dfc.channel_mse[:, i].mean() < 1.5 * plain.channel_mse[:, i].mean(), colour


def test_the_model_card_holds_the_figures_of_the_shipped_models(measured):
    record = model_record.read("emoji")
    assert record is not None and not model_record.stale(record), "run `vae-lab evaluate --record emoji`"
    _, found, _ = measured
    for row in record["rows"]:
        kind = row["name"].removeprefix("emoji-")
        if kind in found:
            assert row["laplacian_variance"] == pytest.approx(found[kind].laplacian_variance.double().mean().item(),
                                                             rel=1e-4)
            for i, colour in enumerate(COLOURS):
                assert row[f"mse_{colour}"] == pytest.approx(found[kind].channel_mse[:, i].double().mean().item(),
                                                             rel=1e-4)


def test_the_landing_page_opens_on_emoji_from_its_record():
    """The Why blurry? page finds each default emoji's optima in the stored record (a live search takes 20 s)."""
    from vae_lab import lesson_record
    from vae_lab.data import DEFAULT_DIGITS, load_sample

    record = lesson_record.load("emoji")
    assert record is not None, "run `vae-lab lesson --write --dataset emoji`: the record names other checkpoints"
    sample = load_sample("emoji")
    for number in sample.random_numbers(DEFAULT_DIGITS):
        position = sample.position(number)
        x = sample.batch(slice(position, position + 1))[0]
        assert all(record.optima(x, shift) is not None for shift in lesson_record.MAX_SHIFTS), number
