import pytest
import torch
from torchvision import datasets

from vae_lab.data import DataMissingError, load_split


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_splits_load_as_uint8_and_batches_scale_to_unit_range(dataset):
    test = load_split(dataset, train=False)
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels.shape == (10000,) and set(test.labels.tolist()) == set(range(10))
    x, y = test.batch(torch.tensor([0, 5, 9]))
    assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1 and x.max() > 0.9
    assert y.tolist() == test.labels[[0, 5, 9]].tolist()
    assert len(load_split(dataset, train=True)) == 60000


def test_subset_keeps_the_first_examples():
    test = load_split("mnist", train=False)
    small = test.subset(10)
    assert len(small) == 10 and torch.equal(small.images, test.images[:10])
    assert test.subset(0) is test


def test_missing_data_names_the_root_the_layout_and_the_variable(tmp_path, monkeypatch):
    def offline(self):
        raise OSError("network is unreachable")
    monkeypatch.setattr(datasets.MNIST, "download", offline)
    with pytest.raises(DataMissingError) as error:
        load_split("mnist", train=False, root=tmp_path / "empty")
    message = str(error.value)
    assert str((tmp_path / "empty").resolve()) in message
    assert "MNIST/raw" in message and "VAE_LAB_DATA" in message and "network is unreachable" in message


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(AssertionError, match="fashion-mnist"):
        load_split("cifar10", train=False)
