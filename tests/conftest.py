"""Shared fixtures. Tests run on the CPU, on the real data root (../shared/data unless
VAE_LAB_DATA says otherwise) or on tiny generated data, and never touch the network."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("VAE_LAB_DATA", str(REPO.parent / "shared" / "data"))
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> Path:
    """A checkpoint folder holding a classifier trained for two epochs on 2,048 images (a few
    seconds), set as $VAE_LAB_CHECKPOINTS for the whole session so no test depends on shipped files."""
    from vae_lab.config import TrainConfig
    from vae_lab.train import train

    folder = tmp_path_factory.mktemp("checkpoints")
    previous = os.environ.get("VAE_LAB_CHECKPOINTS")
    os.environ["VAE_LAB_CHECKPOINTS"] = str(folder)
    train(TrainConfig(kind="classifier", epochs=2, batch_size=64, train_limit=2048, test_limit=256,
                      device="cpu"), out_dir=folder)
    yield folder
    if previous is None:
        os.environ.pop("VAE_LAB_CHECKPOINTS", None)
    else:
        os.environ["VAE_LAB_CHECKPOINTS"] = previous


@pytest.fixture
def tiny_config():
    """A factory of recipes that train in about a second: 256 training and 128 test images."""
    from vae_lab.config import TrainConfig

    def make(**overrides) -> TrainConfig:
        values = dict(epochs=1, batch_size=32, train_limit=256, test_limit=128, device="cpu", log_every=1)
        return TrainConfig(**(values | overrides))
    return make
