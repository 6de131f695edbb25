"""A zip of images as a data set: what the app's "Your own images" takes, from a visitor of the public demo too.

The zip is read as `folder_data.build` reads a folder (sub-folders name the classes; a zipped folder is looked
into), within an upload's limits: at most MAX_ZIP_BYTES and MAX_ZIP_IMAGES images, each image within the limits
of an uploaded image (images.py: its bytes and its pixels, whatever the zip's headers claim). Only image files at
plain relative paths are unpacked, into a temporary folder; what is left out is counted in the report.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from . import datasets
from .folder_data import SUFFIXES, FolderDataError, Report, build
from .images import MAX_PIXELS, MAX_UPLOAD_BYTES

MAX_ZIP_BYTES = 20 * 2**20
MAX_ZIP_IMAGES = 5_000
MAX_UNPACKED_BYTES = 200 * 2**20  # all images together, unpacked (a zip bomb stops here)


def from_zip(name: str, data: bytes, *, root: Path, owner: str = "", size: int = 64, channels: int = 3,
             noun: str = "image", origin: str = "a zip",
             progress: Callable[[int, int], None] | None = None) -> tuple[datasets.DataSet, Report]:
    """The data set `name` made from the zip file's bytes `data` and registered (see `folder_data.build` for
    `root`, `owner` and the rest). Raises FolderDataError, saying what to change, for a zip it cannot use."""
    if len(data) > MAX_ZIP_BYTES:
        raise FolderDataError(f"{origin} is {len(data) / 2**20:.1f} MiB; the limit is {MAX_ZIP_BYTES // 2**20} MiB: "
                              f"zip fewer or smaller images")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise FolderDataError(f"{origin} is not a zip file: zip a folder of PNG, JPEG or WebP images") from None
    skipped: dict[str, list[str]] = {}
    images = []
    for info in members:
        path = _plain_path(info.filename)
        if path is None:
            skipped.setdefault("not a plain path inside the zip", []).append(info.filename)
        elif path.suffix.lower() in SUFFIXES:
            images.append((info, path))
    if len(images) > MAX_ZIP_IMAGES:
        raise FolderDataError(f"{origin} holds {len(images):,} images; the limit is {MAX_ZIP_IMAGES:,}")
    top = {path.parts[0] for _, path in images}
    if len(top) == 1 and all(len(path.parts) > 1 for _, path in images):  # a zipped folder: look into it
        images = [(info, PurePosixPath(*path.parts[1:])) for info, path in images]
    with tempfile.TemporaryDirectory(prefix="vae_lab-zip-") as folder:
        unpacked = 0
        for info, path in images:
            body = _read(archive, info)
            if body is None:
                skipped.setdefault("unreadable inside the zip", []).append(str(path))
                continue
            if len(body) > MAX_UPLOAD_BYTES:
                skipped.setdefault(f"larger than {MAX_UPLOAD_BYTES // 2**20} MiB", []).append(str(path))
                continue
            unpacked += len(body)
            if unpacked > MAX_UNPACKED_BYTES:
                raise FolderDataError(f"{origin} unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB of images: "
                                      f"zip fewer or smaller images")
            target = Path(folder, *path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        return build(name, Path(folder), root=root, size=size, channels=channels, noun=noun, owner=owner,
                     max_pixels=MAX_PIXELS, origin=origin, skipped=skipped, progress=progress)


def _plain_path(name: str) -> PurePosixPath | None:
    """A member's path if it is a plain relative one (no '..', no drive or root, nothing hidden such as macOS's
    __MACOSX/ and ._ files), else None."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or not path.parts or ":" in path.parts[0]:
        return None
    if any(part in ("..", "__MACOSX") or part.startswith(".") for part in path.parts):
        return None
    return path


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The member's bytes, read no further than one byte past an upload's limit; None if it cannot be read
    (encrypted, corrupt, an unknown compression)."""
    try:
        with archive.open(info) as member:
            return member.read(MAX_UPLOAD_BYTES + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
        return None
