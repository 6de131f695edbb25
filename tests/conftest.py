"""Shared fixtures. Tests run on the CPU, on the embedded test-split samples, on tiny generated data, or
(through the `full_data` fixture, which skips without them) on the full data sets under the data root
($VAE_LAB_DATA, else ./data); they never touch the network, nor the user's own ~/.vae_lab or cache."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
# one thread per process where the suite runs on several (lab.py's pytest-xdist), so they do not fight for cores
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))

# The user's own folders are never read or written: this session's models, jobs and cache live in a
# temporary folder (a test that needs a folder of its own sets the variable again).
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="vae_lab-tests-"))
for variable, folder in (("VAE_LAB_CHECKPOINTS", "checkpoints"), ("VAE_LAB_JOBS", "jobs"), ("VAE_LAB_CACHE", "cache")):
    os.environ[variable] = str(_SESSION_HOME / folder)
os.environ["VAE_LAB_WARM_ANALYSES"] = "0"  # no app server started by a test computes analyses in the background


def workspace_at(folder: Path, *, visitor: str = ""):
    """A workspace whose checkpoints, jobs and cache are under `folder` (the data root is the session's), as one
    visitor sees it if `visitor` is given."""
    from vae_lab.workspace import Workspace

    found = Workspace(data=Workspace.from_env().data, checkpoints=folder / "ck", jobs=folder / "jobs",
                      cache=folder / "cache")
    return found.for_visitor(visitor) if visitor else found


@pytest.fixture(scope="session")
def full_data() -> None:
    """Skips, with the command that fetches them, where the data root lacks the full data sets; fails instead
    under CI (VAE_LAB_REQUIRE_DATA=1), where a missing data root would otherwise pass with a third of the suite
    skipped."""
    from vae_lab.data import has_split, missing_data_notice
    from vae_lab.datasets import SHIPPED

    for dataset in (d.name for d in SHIPPED):
        if not (has_split(dataset, train=True) and has_split(dataset, train=False)):
            if os.environ.get("VAE_LAB_REQUIRE_DATA") == "1":
                pytest.fail(f"VAE_LAB_REQUIRE_DATA=1 and {missing_data_notice(dataset)}")
            pytest.skip(missing_data_notice(dataset))


@pytest.fixture(scope="session")
def emoji_root(tmp_path_factory) -> Path:
    """A data root holding the emoji data set, built (in about 7 s) from the emoji images under the session's data
    root (../shared/data/emoji in CI); skips without them, fails under VAE_LAB_REQUIRE_DATA=1."""
    from vae_lab import datasets, emoji
    from vae_lab.workspace import Workspace

    source = Workspace.from_env().data / "emoji"
    if not (source / "emoji.json").is_file():
        if os.environ.get("VAE_LAB_REQUIRE_DATA") == "1":
            pytest.fail(f"VAE_LAB_REQUIRE_DATA=1 and no emoji images under {source}")
        pytest.skip(f"no emoji images under the data root ({source})")
    root = tmp_path_factory.mktemp("emoji-data")
    emoji.build(datasets.EMOJI, source, root)
    return root


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory, full_data) -> Path:
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
    """A factory of recipes that train in about a second: 256 training and 128 test images, from scratch
    (a recipe that starts from a shipped model, as the VAE-GANs' do, would make a test depend on it)."""
    from vae_lab.config import TrainConfig

    def make(**overrides) -> TrainConfig:
        values = dict(epochs=1, batch_size=32, train_limit=256, test_limit=128, device="cpu", log_every=1,
                      init_from="")
        return TrainConfig(**(values | overrides)).resolved()
    return make
