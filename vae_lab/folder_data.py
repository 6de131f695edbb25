"""Your own images as a data set: `vae-lab add-dataset NAME PATH --size 64`.

Every PNG, JPEG and WebP image under PATH (any size, grey or colour) is read once, centre-cropped to a square and
resized to SIZE x SIZE, and stored under the data root as the registered data sets are: idx files of unsigned bytes
in `<root>/<NAME>/raw/`, with `<root>/<NAME>/dataset.json` describing them. Sub-folders of PATH name the classes
(as torchvision's ImageFolder); without them the images have no labels (one class, "unlabelled"). Each image's
split is fixed by a hash of its path inside PATH, so adding files never moves another image between train and
test. What cannot be used (unreadable, too small, a duplicate) is skipped and counted, with examples, and nothing
is written unless at least one image in each split can be used. `register_workspace` makes every data set added
under a data root known to the registry (datasets.py), and in public mode a visitor's own (zip_data.py), which
live in the visitor's folder, are registered under a name of their own that only that visitor is offered.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import datasets
from .checkpoints import atomic_write
from .workspace import Workspace

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
SIZES = (32, 64)
TEST_SHARE = 0.1  # of the images, by the hash of their path
UNLABELLED = "unlabelled"
MAX_PIXELS = 50_000_000  # a larger image is refused before it is decoded (a decompression bomb)
INDEX = "dataset.json"


class FolderDataError(ValueError):
    """The folder cannot become a data set; the message says what to change."""


@dataclass
class Report:
    """What became of the folder's images: how many went to each split, and what was skipped and why."""

    train: int = 0
    test: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> the files (relative paths)

    def skip(self, reason: str, path: str) -> None:
        self.skipped.setdefault(reason, []).append(path)

    def summary(self) -> str:
        return "; ".join([f"{self.train:,} training and {self.test:,} test images", *self.skipped_lines()])

    def skipped_lines(self) -> list[str]:
        return [f"{len(paths):,} skipped: {reason} ({', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''})"
                for reason, paths in self.skipped.items()]


def test_split(relative: str) -> bool:
    """Whether the image at `relative` (its path inside the folder) is a test image: a hash of the path, never
    of the order or the number of files, so the split holds when files are added."""
    digest = hashlib.sha256(relative.encode()).digest()
    return int.from_bytes(digest[:4], "big") < TEST_SHARE * 2**32


def read_image(path: Path, *, size: int, channels: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """One image as uint8 (size, size) or (size, size, 3): its first frame, turned as its EXIF says, transparent
    pixels on white, centre-cropped and resized. Raises ValueError with the reason it cannot be used."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > max_pixels:
                raise ValueError(f"larger than {max_pixels / 1e6:g} megapixels")
            image.seek(0)  # an animated image: its first frame
            image.load()
            return prepare(image, size=size, channels=channels)
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ValueError("not a readable image") from None
    except OSError:
        raise ValueError("truncated or corrupt") from None


def prepare(image: Image.Image, *, size: int, channels: int) -> np.ndarray:
    """A decoded image as a data set of your own images stores it (see `read_image`); ValueError if too small."""
    image = ImageOps.exif_transpose(image)
    if min(image.size) < size:
        raise ValueError(f"smaller than {size} x {size} pixels")
    image = _eight_bit(image)
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)


def _eight_bit(image: Image.Image) -> Image.Image:
    """RGB or L, 8 bits: 16-bit and float images scaled down, palettes and CMYK converted, alpha on white."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" and values.max() > 255 else max(float(values.max()), 1.0)
        return Image.fromarray(np.clip(values / top * 255, 0, 255).round().astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, image).convert("RGB")
    return image.convert("L" if image.mode in ("1", "L") else "RGB")


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def check_source(source: Path, *, allowed_roots: Sequence[Path] | None) -> Path:
    """The folder, resolved; refused where it is not a folder or (public mode) lies outside `allowed_roots`."""
    resolved = Path(source).expanduser().resolve()
    if allowed_roots is not None and not any(resolved.is_relative_to(Path(r).resolve()) for r in allowed_roots):
        raise FolderDataError(f"{source} is outside the folders this server reads from; upload a zip of your "
                              f"images instead")
    if not resolved.is_dir():
        raise FolderDataError(f"{source} is not a folder: give the folder that holds your images")
    return resolved


def build(name: str, source: Path, *, root: Path, size: int = 64, channels: int = 3, noun: str = "image",
          allowed_roots: Sequence[Path] | None = None, owner: str = "", max_pixels: int = MAX_PIXELS,
          origin: str = "", skipped: dict[str, list[str]] | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[datasets.DataSet, Report]:
    """Read the folder `source` into the data set `name` under the data root `root`, register it, and say what
    became of each image. `owner`: the public-mode visitor whose data set it is (registered as `<name>-<their id's
    first 8 digits>`, labelled `name`); `origin`: where the images came from, if not `source` (an upload);
    `skipped`: what was left out before (a zip's members). `progress(done, total)` hears of every 500th image."""
    if size not in SIZES:
        raise FolderDataError(f"--size must be one of {', '.join(map(str, SIZES))}, got {size}")
    if channels not in (1, 3):
        raise FolderDataError(f"channels must be 1 (grey) or 3 (colour), got {channels}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise FolderDataError(f"a data set's name uses lower-case letters, digits and '-', got {name!r}")
    label, name = name, f"{name}-{owner[:8]}" if owner else name
    if name in datasets.names() and not (root / name / INDEX).is_file():
        raise FolderDataError(f"{name!r} is a data set the lab ships: choose another name")
    source = check_source(source, allowed_roots=allowed_roots)
    origin = origin or str(source)
    files = image_files(source)
    if not files:
        raise FolderDataError(f"{origin} holds no PNG, JPEG or WebP images (looked in every sub-folder)")
    classes = sorted({p.relative_to(source).parts[0] for p in files if len(p.relative_to(source).parts) > 1})
    if len(classes) > 256:
        raise FolderDataError(f"{origin} has {len(classes)} sub-folders: at most 256 classes")
    report, seen = Report(skipped=dict(skipped or {})), {}
    images: dict[bool, list[np.ndarray]] = {False: [], True: []}
    labels: dict[bool, list[int]] = {False: [], True: []}
    for done, path in enumerate(files, 1):
        relative = path.relative_to(source).as_posix()
        if progress is not None and (done % 500 == 0 or done == len(files)):
            progress(done, len(files))
        if classes and len(path.relative_to(source).parts) == 1:
            report.skip("outside the class sub-folders", relative)
            continue
        try:
            pixels = read_image(path, size=size, channels=channels, max_pixels=max_pixels)
        except ValueError as error:
            report.skip(str(error), relative)
            continue
        digest = hashlib.sha256(pixels.tobytes()).hexdigest()
        if digest in seen:
            report.skip("the same picture as another file", f"{relative} (= {seen[digest]})")
            continue
        seen[digest] = relative
        test = test_split(relative)
        images[test].append(pixels)
        labels[test].append(classes.index(path.relative_to(source).parts[0]) if classes else 0)
    report.train, report.test = len(images[False]), len(images[True])
    if not (report.train and report.test):
        raise FolderDataError(f"too few usable images in {origin} to split into training and test images: "
                              f"{report.summary()}")
    entry = datasets.DataSet(name, label, tuple(classes) or (UNLABELLED,), noun, image_shape=(channels, size, size),
                             folder=str(root / name) if owner else name, files=datasets.BUILT_FILES,
                             train_size=report.train, test_size=report.test, licence=f"your own images, from {origin}",
                             owner=owner)
    write(root / name, entry, images, labels, report, origin)
    return datasets.register(entry), report


def write(folder: Path, entry: datasets.DataSet, images: dict, labels: dict, report: Report, source: str) -> None:
    """The idx files, then the index last (a reader sees the old data set or the new one)."""
    raw = folder / "raw"
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    for test, (_, images_file, labels_file) in zip((False, True), entry.files):
        _write_idx(raw / images_file, np.stack(images[test]))
        _write_idx(raw / labels_file, np.asarray(labels[test], dtype=np.uint8))
    described = {key: value for key, value in asdict(entry).items() if key in INDEXED} | {
        "source": source, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "skipped": {reason: len(paths) for reason, paths in report.skipped.items()}}
    atomic_write(folder / INDEX, lambda tmp: tmp.write_text(json.dumps(described, indent=2) + "\n"))


INDEXED = ("name", "label", "classes", "noun", "image_shape", "folder", "files", "train_size", "test_size", "licence",
           "prepare", "owner")


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    atomic_write(path, lambda tmp: tmp.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()))


def register_workspace(workspace: Workspace) -> list[datasets.DataSet]:
    """Register the data sets added under the workspace's data root, and in public mode the visitor's own."""
    found = register_all(workspace.data)
    return found + (register_all(workspace.own_data, owner=workspace.visitor) if workspace.visitor else [])


def register_all(root: Path, *, owner: str = "") -> list[datasets.DataSet]:
    """Register every data set added under the data root `root` (with `owner`: a visitor's own folder of data
    sets, each registered where it lies now); an index that cannot be read, or is not `owner`'s, is skipped."""
    found = []
    for index in sorted(Path(root).glob(f"*/{INDEX}")):
        try:
            values = {key: value for key, value in json.loads(index.read_text()).items() if key in INDEXED}
            if values.get("owner", "") != owner:
                continue
            values |= {"classes": tuple(values["classes"]), "image_shape": tuple(values["image_shape"]),
                       "files": tuple(tuple(f) for f in values["files"])}
            if owner:
                values["folder"] = str(index.parent)
            # a data set the lab knows (the emoji) keeps what its index does not hold: its sample, its background
            known = datasets.get(values["name"]) if values["name"] in datasets.names() else None
            found.append(datasets.register(replace(known, **values) if known else datasets.DataSet(**values)))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return found
