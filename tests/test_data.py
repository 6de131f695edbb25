import gzip

import pytest
import torch
from torchvision import datasets

from vae_lab import data
from vae_lab.datasets import MNIST
from vae_lab.data import SAMPLE_DIR, DataMissingError, data_root, load_sample, load_split

needs_full_data = pytest.mark.usefixtures("full_data")


@needs_full_data
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_splits_load_as_uint8_and_batches_scale_to_unit_range(dataset):
    test = load_split(dataset, train=False)
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels.shape == (10000,) and set(test.labels.tolist()) == set(range(10))
    x, y = test.batch(torch.tensor([0, 5, 9]))
    assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1 and x.max() > 0.9
    assert y.tolist() == test.labels[[0, 5, 9]].tolist()
    assert len(load_split(dataset, train=True)) == 60000


@needs_full_data
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
    with pytest.raises(ValueError, match="fashion-mnist"):
        load_split("cifar10", train=False)


@needs_full_data
@pytest.mark.parametrize("dataset, source", [("mnist", datasets.MNIST), ("fashion-mnist", datasets.FashionMNIST)])
@pytest.mark.parametrize("train", [False, True])
def test_splits_hold_exactly_what_torchvision_reads(dataset, source, train):
    split = load_split(dataset, train=train)
    reference = source(str(data_root()), train=train, download=False)
    assert torch.equal(split.images[:, 0], reference.data) and torch.equal(split.labels, reference.targets)


@needs_full_data
def test_fashion_class_names_are_torchvisions():
    assert load_split("fashion-mnist", train=False).class_names == datasets.FashionMNIST.classes


@needs_full_data
def test_a_truncated_data_file_says_which_file_and_what_to_do(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    good = data_root() / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte").write_bytes((good / "t10k-images-idx3-ubyte").read_bytes()[:5000])
    (raw / "t10k-labels-idx1-ubyte").write_bytes((good / "t10k-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DataMissingError, match="t10k-images-idx3-ubyte is not a complete idx file.*Delete it"):
        load_split("mnist", train=False, root=tmp_path)


@needs_full_data
def test_missing_files_are_fetched_through_torchvision_then_read(tmp_path, monkeypatch):
    def fake_download(self):  # what torchvision's download leaves behind, without a network
        (tmp_path / "MNIST" / "raw").mkdir(parents=True)
        for source in (data_root() / "MNIST" / "raw").iterdir():
            (tmp_path / "MNIST" / "raw" / source.name).symlink_to(source.resolve())
    monkeypatch.setattr(datasets.MNIST, "download", fake_download)
    fetched = load_split("mnist", train=False, root=tmp_path)
    assert torch.equal(fetched.images, load_split("mnist", train=False).images)


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_the_embedded_sample_works_without_a_data_root_and_holds_the_notebooks_digits(dataset, tmp_path):
    sample = data.test_split(dataset, root=tmp_path / "nothing here")
    assert sample.is_sample and len(sample) == 1000 and set(sample.labels.tolist()) == set(range(10))
    assert sample.images.dtype == torch.uint8 and sample.images.shape == (1000, 1, 28, 28)
    assert [sample.number(sample.position(n)) for n in MNIST.notebook_images] == list(MNIST.notebook_images)
    assert sample.position(9999) is None and not (tmp_path / "nothing here").exists(), "never a download"
    assert (SAMPLE_DIR / f"{dataset}-test-sample.safetensors.gz").stat().st_size < 500_000, "compressed"
    assert gzip.decompress((SAMPLE_DIR / f"{dataset}-test-sample.safetensors.gz").read_bytes())


@needs_full_data
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_the_embedded_sample_is_the_test_split_byte_for_byte(dataset):
    full, sample = load_split(dataset, train=False), load_sample(dataset)
    assert torch.equal(full.images[sample.index], sample.images) and torch.equal(full.labels[sample.index],
                                                                                   sample.labels)
    assert not data.test_split(dataset).is_sample, "a data root with the test split wins over the sample"
