"""The training time estimate: from where this machine's recorded runs spent their wall time."""
import pytest
import torch

from vae_lab.estimate import estimate_seconds, first_guess
from vae_lab.train import train

CPU = torch.device("cpu")


@pytest.fixture
def jobs(monkeypatch, tmp_path, tiny_checkpoints):
    """An empty jobs root and user checkpoint folder: no run recorded yet (the session's classifier aside)."""
    monkeypatch.setenv("VAE_LAB_JOBS", str(tmp_path / "jobs"))
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "mine"))
    return tmp_path / "jobs"


def test_a_checkpoint_records_where_its_wall_time_went(jobs, tiny_config, tmp_path):
    ckpt = train(tiny_config(kind="plain", epochs=3, interim_test_limit=32), out_dir=tmp_path).checkpoint
    wall = ckpt.meta["training"]["wall"]
    assert wall["startup_s"] > 0
    assert [e["images"] for e in wall["epochs"]] == [256, 256, 256]
    assert [e["validation_images"] for e in wall["epochs"]] == [32, 32, 128]
    assert all(e["train_s"] > 0 and e["validation_s"] > 0 for e in wall["epochs"])
    assert ckpt.meta["aggregate_posterior"]["fit_s"] > 0


def test_before_any_recorded_run_the_first_guess_is_used(jobs, tiny_config):
    config = tiny_config(kind="dfc", train_limit=20000, test_limit=0)
    guess = first_guess("dfc")  # from the quick recipe's recorded runs
    assert guess["train"] > 0 and guess["validation"] > 0 and guess["posterior"] > 0
    expected = (guess["startup_s"] + 20000 / guess["train"] + 10000 / guess["validation"]
                + 20000 / guess["posterior"])
    assert estimate_seconds(config, CPU) == pytest.approx(expected)
    assert estimate_seconds(config, torch.device("cuda")) is None, "no first guess for a GPU"


def test_the_estimate_follows_a_recorded_run_part_by_part(jobs, tiny_config):
    recorded = train(tiny_config(kind="plain", epochs=2, interim_test_limit=32),
                     out_dir=jobs / "20261201-000000-plain" / "checkpoint").checkpoint
    wall, fit_s = recorded.meta["training"]["wall"], recorded.meta["aggregate_posterior"]["fit_s"]
    parts = wall["startup_s"] + sum(e["train_s"] + e["validation_s"] for e in wall["epochs"]) + fit_s
    assert estimate_seconds(tiny_config(kind="plain", epochs=2, interim_test_limit=32), CPU) == pytest.approx(parts)
    # four times the training images: four times the training and the fit, the same validation
    train_s = sum(e["train_s"] for e in wall["epochs"])
    bigger = estimate_seconds(tiny_config(kind="plain", epochs=2, interim_test_limit=32, train_limit=1024), CPU)
    assert bigger == pytest.approx(parts + 3 * train_s + 3 * fit_s)
    # a validation on every test image after each epoch: the second epoch's rate over four times the images
    per_image = sum(e["validation_s"] for e in wall["epochs"]) / (32 + 128)
    every = estimate_seconds(tiny_config(kind="plain", epochs=2, interim_test_limit=0), CPU)
    assert every == pytest.approx(parts + 96 * per_image)
    # another batch size or kind has no record of its own: the first guess
    assert estimate_seconds(tiny_config(kind="plain", epochs=2, batch_size=64), CPU) != pytest.approx(parts)
