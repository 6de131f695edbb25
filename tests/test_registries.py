"""One home for a kind of model and for a data set: kinds.py and datasets.py are the only modules that know them
by name, and a new one of each is an entry added from outside the package."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_lab import checkpoints, datasets, kinds, scorecard
from vae_lab.config import TrainConfig
from vae_lab.train import train

PACKAGE = Path(__file__).resolve().parent.parent / "vae_lab"
REGISTRIES = {PACKAGE / "kinds.py", PACKAGE / "datasets.py"}


def test_no_module_outside_the_registries_compares_a_kind_or_a_data_set_name():
    names = "|".join(re.escape(n) for n in (*kinds.names(), *datasets.names()))
    quoted = rf"""["']({names})["']"""
    patterns = [
        rf"(kind|dataset)\w*\s*(==|!=)\s*{quoted}",  # kind == "dfc", ckpt.dataset != "mnist"
        rf"{quoted}\s*(==|!=)\s*\w*\.?(kind|dataset)",  # "dfc" == kind
        rf"(kind|dataset)\w*\s+(not\s+)?in\s+[\(\[\{{]\s*{quoted}",  # kind in ("plain", "dfc")
        r"(kind|dataset)\w*\.startswith\(",  # kind.startswith("vaegan")
    ]
    found = [f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py")) if path not in REGISTRIES
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if any(re.search(pattern, line) for pattern in patterns)]
    assert not found, "compare through kinds.py / datasets.py instead:\n" + "\n".join(found)


def test_the_grep_finds_what_it_looks_for():
    """The check above is only as good as its patterns: each way of comparing a name is caught."""
    lines = ['if config.kind == "dfc":', "if ckpt.dataset != 'mnist':", 'if kind in ("plain", "dfc"):',
             'if self.kind.startswith("vaegan"):']
    names = "|".join(re.escape(n) for n in (*kinds.names(), *datasets.names()))
    quoted = rf"""["']({names})["']"""
    patterns = [rf"(kind|dataset)\w*\s*(==|!=)\s*{quoted}", rf"(kind|dataset)\w*\s+(not\s+)?in\s+[\(\[\{{]\s*{quoted}",
                r"(kind|dataset)\w*\.startswith\("]
    assert all(any(re.search(p, line) for p in patterns) for line in lines)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file of unsigned bytes, as MNIST's (the format every registered data set's files use)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
                     + array.astype(np.uint8).tobytes())


def squares(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 grey images of a bright 3x3 square, in the left half (class 0) or the right half (class 1)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    images = np.zeros((count, 8, 8), dtype=np.uint8)
    for image, label in zip(images, labels):
        row, column = rng.integers(0, 6), rng.integers(0, 2) + 4 * label
        image[row:row + 3, column:column + 3] = rng.integers(160, 256)
    return images, labels


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A toy data set (8x8 grey, generated files) and a toy kind (a beta-VAE), registered from here alone."""
    root = tmp_path / "data"
    for split, count, seed in (("train", 2048, 0), ("t10k", 128, 1)):
        images, labels = squares(count, seed)
        write_idx(root / "toy" / "raw" / f"{split}-images-idx3-ubyte", images)
        write_idx(root / "toy" / "raw" / f"{split}-labels-idx1-ubyte", labels)
    monkeypatch.setenv("VAE_LAB_DATA", str(root))
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "cache"))
    dataset = datasets.register(datasets.DataSet("toy-squares", "Toy squares", ("left", "right"), "square",
                                                 image_shape=(1, 8, 8), folder="toy", train_size=2048, test_size=128))
    kind = kinds.register(kinds.Kind("toy-beta-vae", "beta-VAE", kinds.PIXELS,
                                     recipe={"epochs": 4, "batch_size": 32, "beta": 1.0, "lr": 3e-3}))
    yield dataset, kind, tmp_path / "checkpoints"
    kinds.unregister(kind.name)
    datasets.unregister(dataset.name)


def test_a_new_kind_and_data_set_train_save_load_and_analyse_end_to_end(toy):
    dataset, kind, folder = toy
    judge = train(TrainConfig(kind=kinds.CLASSIFIER.name, dataset=dataset.name, epochs=1, batch_size=32,
                              device="cpu", log_every=5), out_dir=folder)
    assert judge.checkpoint.name == "toy-squares-classifier"  # the data set's own judge, found by that name
    assert judge.metrics["accuracy"] > 0.9, "left or right is easy: a classifier that cannot tell is broken"
    config = TrainConfig(kind=kind.name, dataset=dataset.name, latent_dim=2, device="cpu", log_every=5).resolved()
    assert config.beta == 1.0 and config.epochs == 4, "the kind's recipe fills the fields left unset"
    result = train(config, out_dir=folder)
    ckpt = checkpoints.find("toy-squares-toy-beta-vae")
    assert (ckpt.kind, ckpt.dataset, ckpt.is_vae) == (kind.name, dataset.name, True)
    assert ckpt.meta["recipe"]["lr"] == 3e-3
    vae = checkpoints.load(ckpt)
    assert vae.image_shape == (1, 8, 8) and vae.decode(torch.zeros(3, 2)).shape == (3, 1, 8, 8)
    assert result.metrics["test_images"] == 128
    analysis = scorecard.analyse(ckpt)
    assert analysis.per_image["bce"].shape == (128,)
    assert analysis.scorecard["accuracy"] > 0.8  # its reconstructions keep the side, read by the toy's classifier
    assert [c.name for c in checkpoints.vaes(dataset=dataset.name)] == [ckpt.name]


def test_registering_says_what_to_change():
    with pytest.raises(ValueError, match="adversary"):
        kinds.register(kinds.Kind("half-gan", "half", kinds.CRITIC_FEATURES))
    with pytest.raises(ValueError, match="even sides"):
        datasets.register(datasets.DataSet("odd", "Odd", ("a", "b"), "thing", image_shape=(1, 7, 7)))
    with pytest.raises(ValueError, match="unknown kind 'beta'"):
        TrainConfig(kind="beta", device="cpu")
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        TrainConfig(dataset="cifar", device="cpu")
    assert "half-gan" not in kinds.names() and "odd" not in datasets.names()
