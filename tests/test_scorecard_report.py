import json
import math

import pytest

from vae_lab.cli import main
from vae_lab.scorecard import SCORECARD_FIELDS, analyse, evaluate_checkpoint
from vae_lab.train import train


@pytest.fixture(scope="module")
def two_models(tiny_checkpoints):
    """A plain and a DFC VAE trained for a few seconds, written beside the tiny classifier."""
    from vae_lab.config import TrainConfig
    for kind in ("plain", "dfc"):
        train(TrainConfig(kind=kind, name=f"tiny-{kind}", epochs=1, batch_size=32, train_limit=256,
                          test_limit=64, device="cpu"), out_dir=tiny_checkpoints)
    return ["tiny-plain", "tiny-dfc"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "cache"))


def test_scorecard_on_a_small_slice_has_every_field_finite(two_models):
    analysis = analyse("tiny-dfc", limit=200)
    assert set(analysis.scorecard) == {key for key in SCORECARD_FIELDS if not key.startswith("mse_")}, "grey"
    assert all(math.isfinite(v) for v in analysis.scorecard.values())
    assert {k: v.shape for k, v in analysis.per_image.items()} == {
        k: (200,) for k in ("bce", "kl", "mse", "ssim", "laplacian_variance", "prediction")}
    assert 0 <= analysis.scorecard["accuracy"] <= 1 and -1 <= analysis.scorecard["ssim"] <= 1


def test_analysis_is_cached_on_disk_and_reused(two_models, tmp_path, monkeypatch):
    from vae_lab import scorecard
    calls = {"computed": 0, "read": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        monkeypatch.setattr(scorecard, function.__name__, wrapper)
    counted("computed", scorecard._compute)
    counted("read", scorecard._read_cache)

    first = analyse("tiny-plain", limit=100)
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 2 and files[0].startswith("tiny-plain-")
    assert calls == {"computed": 1, "read": 0}
    second = analyse("tiny-plain", limit=100)
    assert calls == {"computed": 1, "read": 1}, "the second analysis is read from the disk, not computed"
    assert second.scorecard == first.scorecard
    assert all((second.per_image[k] == first.per_image[k]).all() for k in first.per_image)
    assert analyse("tiny-plain", limit=50).scorecard != first.scorecard, "a different slice is a different key"
    assert calls["computed"] == 2


def test_evaluate_row_adds_the_originals_laplacian_variance(two_models):
    row = evaluate_checkpoint("tiny-plain", limit=100)
    assert row["images"] == 100 and row["originals_laplacian_variance"] > row["laplacian_variance"] > 0
    assert evaluate_checkpoint("classifier", limit=100)["accuracy"] > 0.5


def test_report_on_a_small_slice_writes_every_file_and_names_every_model(two_models, tmp_path):
    out = tmp_path / "report"
    assert main(["report", "--out", str(out), "--models", *two_models, "--limit", "300"]) == 0
    expected = {"report.html", "report.json", "scorecard.csv", "per_class_laplacian_variance.csv",
                "paired_tests.csv", "per_image.csv", "selected_digits.png", "interpolations.png",
                "laplacian_boxplot.png", "laplacian_histograms.png", "samples.png"}
    assert expected <= {p.name for p in out.iterdir()}
    page = (out / "report.html").read_text()
    assert all(name in page for name in two_models) and "<script>" in page and "<script src=" not in page
    assert f"{two_models[0]}, from the prior" in page, "the samples' rows are named"
    numbers = json.loads((out / "report.json").read_text())
    labels = [t["label"] for t in numbers["paired_tests"]]
    assert labels == ["originals vs tiny-plain", "originals vs tiny-dfc", "tiny-dfc vs tiny-plain"]
    assert [r["group"] for r in numbers["per_class_laplacian_variance"]][-2:] == ["all except 1", "all"]
    assert (out / "per_image.csv").read_text().count("\n") == 301
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_on_the_emoji_sample_is_in_colour_per_category_with_the_dfc_sharper(tmp_path, monkeypatch):
    """`vae-lab report --dataset emoji` without the built data set: the shipped emoji VAEs on the embedded sample,
    their figures in colour, the table per emoji category, and the lesson's paired test in it."""
    import numpy as np
    from PIL import Image
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "report"
    assert main(["report", "--dataset", "emoji", "--out", str(out)]) == 0
    numbers = json.loads((out / "report.json").read_text())
    test = next(t for t in numbers["paired_tests"] if t["label"] == "emoji-dfc vs emoji-plain")
    assert test["mean_difference"] > 0 and test["t_p_value"] < 1e-3, test
    table = (out / "per_class_laplacian_variance.csv").read_text()
    assert "Smileys & Emotion" in table and "Flags" in table
    pixels = np.asarray(Image.open(out / "interpolations.png").convert("RGB")).astype(int)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 10, "the emoji keep their colours"
