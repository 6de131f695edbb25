"""A trained model as one file to keep: its checkpoint's JSON and weights in a zip, and the way back in.

Where a demo's disk does not outlive a restart, a visitor downloads their model and brings it back later. What
comes back is a stranger's file, so it is checked as hostile input: the zip's size and entries (a zip bomb is
refused before anything is unpacked), plain file names only, a registered kind and data set, and the weights
against the SHA-256 hashes and the architecture the JSON names (`checkpoints.load`), before it joins a folder.
"""
from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from . import checkpoints, datasets, kinds
from .config import CHECKPOINT_NAME

MAX_ZIP_BYTES = 20 * 2**20  # the zip as uploaded
MAX_UNPACKED_BYTES = 60 * 2**20  # its files together, unpacked (the largest shipped model's are under 3 MB)
FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a plain file name: no folder, nothing a shell or a path reads
MAX_ENTRIES = 8  # a JSON and at most a model, a posterior, a critic, a training state and a judge's files


class ModelFileError(ValueError):
    """An uploaded model that cannot be taken in, with what to do about it."""


def to_zip(ckpt: checkpoints.Checkpoint) -> bytes:
    """The checkpoint's JSON and every file it names, in one zip (what `from_zip` takes back)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(ckpt.json_path, ckpt.json_path.name)
        for role in ckpt.meta["files"]:
            archive.write(ckpt.file(role), ckpt.file(role).name)
    return buffer.getvalue()


def from_zip(data: bytes, folder: Path, *, refused_names: set[str] = frozenset()) -> checkpoints.Checkpoint:
    """Check the zip `data` as `to_zip` makes them and add its model to `folder` (an existing model of that name
    there is replaced, the JSON written last); ModelFileError says what is wrong with it otherwise."""
    if len(data) > MAX_ZIP_BYTES:
        raise ModelFileError(f"the file is {len(data) / 2**20:.1f} MB; a model's zip is at most "
                             f"{MAX_ZIP_BYTES // 2**20} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(f"this is not a zip file ({error}): upload the .zip that 'Download' gave you") from None
    jsons = [e.filename for e in entries if e.filename.endswith(".json")]
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise ModelFileError(f"the zip holds {len(entries)} files and {sum(e.file_size for e in entries):,} bytes "
                             f"unpacked: a model's zip holds at most {MAX_ENTRIES} files, "
                             f"{MAX_UNPACKED_BYTES // 2**20} MB unpacked")
    if any(not FILE_NAME.fullmatch(e.filename) or e.filename.startswith(".") for e in entries):
        raise ModelFileError("the zip may hold only plain file names (no folders): upload the .zip that "
                             "'Download' gave you")
    if len(jsons) != 1:
        raise ModelFileError(f"a model's zip holds one checkpoint JSON, this one {len(jsons)}")
    name = Path(jsons[0]).stem
    if not CHECKPOINT_NAME.fullmatch(name) or name in refused_names:
        raise ModelFileError(f"{name!r} cannot be used as a model's name here (it is a shipped model's): rename "
                             f"the JSON and its files in the zip")
    with tempfile.TemporaryDirectory(prefix="vae_lab-upload-") as unpacked:
        unpacked = Path(unpacked)
        try:
            archive.extractall(unpacked)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise ModelFileError(f"the zip cannot be unpacked ({error})") from None
        ckpt = _checked(unpacked / jsons[0])
        folder.mkdir(parents=True, exist_ok=True)
        for role in ckpt.meta["files"]:
            checkpoints.atomic_write(folder / ckpt.file(role).name,
                                     lambda tmp, role=role: shutil.copyfile(ckpt.file(role), tmp))
        checkpoints.atomic_write(folder / ckpt.json_path.name, lambda tmp: shutil.copyfile(ckpt.json_path, tmp))
    return checkpoints.read(folder / f"{name}.json")


def _checked(path: Path) -> checkpoints.Checkpoint:
    """The unpacked checkpoint, once its JSON, kind, data set and every file it names have been checked."""
    try:
        ckpt = checkpoints.read(path)
        for role, entry in ckpt.meta["files"].items():
            if not FILE_NAME.fullmatch(str(entry.get("file", ""))):
                raise ModelFileError(f"the checkpoint names an odd file for its {role}: {entry.get('file')!r}")
        kinds.get(ckpt.kind)
        datasets.get(ckpt.dataset)
        checkpoints.load(ckpt)  # the weights against their hashes and the architecture
        for role in ckpt.meta["files"]:
            ckpt.tensors(role)
    except ModelFileError:
        raise
    except (checkpoints.CheckpointError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as error:
        raise ModelFileError(f"this is not a vae_lab model that can be used here: {error}") from None
    return ckpt
