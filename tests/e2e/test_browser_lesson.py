"""The landing page walked in Chromium on both data sets, every control changed, and every sentence's numbers
checked against what the core computes for the view on screen."""
import re

import pytest
import torch

from test_browser import SHOTS, browser_page, choose, choose_dataset, idle, no_exception
from test_browser import chromium, server  # noqa: F401 (the same fixtures: a server and a browser per module)

from playwright.sync_api import expect
from vae_lab import checkpoints, data, lesson, lesson_record, transforms
from vae_lab.datasets import default_name
from vae_lab.metrics import laplacian_variance

DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def text_of(page, start: str) -> str:
    """The page's paragraph that begins with `start`."""
    return page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile("^" + re.escape(start))).first \
        .inner_text()


def image_box(page):
    return page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first


def chosen_image(page, dataset: str) -> torch.Tensor:
    number = int(re.search(r"#(\d+)", image_box(page).locator("input").input_value()).group(1))
    split = data.test_split(dataset)
    position = split.position(number)
    return split.batch(slice(position, position + 1))[0]


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_sentence_of_the_landing_page_quotes_the_view(chromium, server, dataset):  # noqa: F811
    with browser_page(chromium, server) as page:
        if dataset != "mnist":
            choose_dataset(page, DATASETS[dataset])
        page.get_by_text("'s decoder: Laplacian variance").first.wait_for(timeout=300_000)
        idle(page)
        item = "digit" if dataset == "mnist" else "item"
        assert image_box(page).inner_text().startswith(item.capitalize())
        shown = image_box(page).locator("input").input_value()
        if dataset != "mnist":  # the image box names the class as its options do, after the switch
            assert re.search(r"#\d+ \([A-Za-z]", shown), shown
        x, judges = chosen_image(page, dataset), lesson.Judges.of(dataset)

        for name in (default_name(k, dataset) for k in ("plain", "dfc", "vaegan-hinge")):  # the side-by-side row
            rec = checkpoints.load(checkpoints.shipped(name)).reconstruct(x).detach()
            expected = f"BCE {float(lesson.pixel_bce(x, rec)[0]):.1f} nats, Laplacian variance " \
                       f"{float(laplacian_variance(rec)[0]):.3f}"
            assert page.get_by_text(expected).count() == 1, expected

        record = lesson_record.load(dataset)
        many = text_of(page, "Over the first 1,000 test images")
        for key in ("bce", "dfc", "critic"):
            v = record.verdicts[key]
            assert f"{v.images - v.blur_cheaper:,} of 1,000 (median {v.median_ratio:.2f}" in many, key
        assert "the shipped perceptual losses prefer the shift" in many

        def cost_sentence_matches(transform: str, amount: float) -> None:
            curves = lesson.curves(x, transform, judges)
            at = list(curves.amounts).index(amount)
            text = text_of(page, f"For this {item},")
            assert f"{transforms.TRANSFORMS[transform].label} by {amount:g}" in text, text
            for key in ("bce", "dfc", "critic"):
                assert f"{curves.normalised[key][at]:.2f}" in text, (key, text)

        cost_sentence_matches("blur", 2.0)
        choose(page, "Change", "rotate", within="stMain")
        idle(page)
        slider = page.get_by_test_id("stMain").get_by_role("slider").first
        for _ in range(20):  # 30 degrees -> -15 by the keyboard, a step at a time, as a student's arrow keys
            idle(page)
            now = float(re.search(r"rotate: (-?[\d.]+)", page.get_by_test_id("stMain").inner_text()).group(1))
            if now == -15:
                break
            slider.focus()
            page.keyboard.press("ArrowLeft" if now > -15 else "ArrowRight")
        expect(page.get_by_text("rotate: -15", exact=True)).to_be_visible()
        idle(page)
        cost_sentence_matches("rotate", -15.0)
        assert "stroke" not in page.get_by_test_id("stMain").inner_text() or dataset == "mnist"

        page.get_by_test_id("stMain").get_by_text("1 pixel", exact=True).click()  # the optima's targets
        idle(page)
        stored = record.optima(x, 1)
        for loss in lesson.OPTIMA:  # waited for: idle() can return before the click's rerun has begun
            expect(page.get_by_text(f"Laplacian variance {stored[loss].laplacian_variance:.3f}, read as").first
                   ).to_be_visible()
        expect(page.get_by_text("9 targets")).to_have_count(1)

        page.get_by_test_id("stMain").get_by_role("radiogroup").filter(has_text="critic").get_by_text(
            "the hinge VAE-GAN's critic", exact=True).click()
        expect(page.get_by_text("critic's conv1 weight", exact=False).or_(
            page.get_by_text("conv1 weight").first)).to_be_visible()
        idle(page)
        expected = {}
        for name in (default_name(k, dataset) for k in ("plain", "dfc", "vaegan-hinge")):
            rec = checkpoints.load(checkpoints.shipped(name)).reconstruct(x).detach()
            expected[name] = sum(v.loss for v in lesson.layer_views(judges.critic, x, rec))
        first = next(iter(expected))
        expect(page.get_by_text(f"{first} {expected[first]:,.1f}")).to_be_visible()  # the rerun has drawn
        text = text_of(page, "Under these layers and weights")
        for name, total in expected.items():
            assert f"{name} {total:,.1f}" in text, (name, text)
        assert text_of(page, f"A VAE squeezes each {item}")
        no_exception(page)
        page.screenshot(path=SHOTS / f"lesson-walk-{dataset}.png", full_page=True)
