"""The emoji data set: every emoji of two openly licensed vendors as a 64 x 64 colour image, its category its class.

The images are Twemoji (Twitter, Inc. and contributors; CC BY 4.0) and Noto Emoji (Google; Apache License 2.0) from
the npm packages emoji-datasource-twitter and emoji-datasource-google, whose emoji.json (Cal Henderson; MIT) names
each emoji's category and skin-tone variants. The same project's Apple and Facebook sets are not openly licensed
and are never read. A vendor's image is used only where emoji.json says the vendor has one (elsewhere its folder may
hold another vendor's drawing). Transparent pixels go on white (folder_data.read_image). Every variant of an emoji,
in both vendors' drawings, falls on the same side of the split, by a hash of the emoji's own code: no test image is
a recoloured training image. The category "Component" (skin-tone swatches, hair parts) is left out.

    vae-lab fetch-data --datasets emoji [--from FOLDER]

FOLDER holds emoji.json and <vendor>/64/*.png (as ../shared/data/emoji does), or is an unpacked npm package
(package/emoji.json, package/img/<vendor>/64/); without it, `npm pack` fetches both packages.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import datasets, folder_data

VERSION = "16.0.0"
VENDORS = ("twitter", "google")
SIZE = 64


def package(vendor: str) -> str:
    return f"emoji-datasource-{vendor}@{VERSION}"


def images(index: list[dict], classes: tuple[str, ...]) -> Iterator[tuple[str, str, int, str]]:
    """(vendor, image file name, class, group) of every image to use: each emoji of a category in `classes` and
    each of its skin-tone variants, in each vendor that has it; the group is the emoji's own code."""
    for emoji in index:
        if emoji.get("category") not in classes:
            continue
        forms = [emoji, *(emoji.get("skin_variations") or {}).values()]
        for vendor in VENDORS:
            for form in forms:
                if form.get(f"has_img_{vendor}") and form.get("image"):
                    yield vendor, form["image"], classes.index(emoji["category"]), emoji["unified"]


def layout(source: Path) -> tuple[Path, dict[str, Path]]:
    """emoji.json and each vendor's 64-pixel folder inside `source`, in either layout."""
    for base, images_under in ((source, source), (source / "package", source / "package" / "img")):
        index = base / "emoji.json"
        folders = {vendor: images_under / vendor / str(SIZE) for vendor in VENDORS}
        if index.is_file() and all(folder.is_dir() for folder in folders.values()):
            return index, folders
    raise folder_data.FolderDataError(f"{source} holds no emoji.json beside twitter/64/ and google/64/ (nor under "
                                      f"package/ as npm packs them)")


def build(entry: datasets.DataSet, source: Path, root: Path) -> folder_data.Report:
    """Read the emoji images of `source` into `entry`'s files under the data root `root`."""
    index, folders = layout(Path(source))
    report = folder_data.Report()
    split: dict[bool, tuple[list[np.ndarray], list[int]]] = {False: ([], []), True: ([], [])}
    for vendor, name, label, group in images(json.loads(index.read_text()), entry.classes):
        path = folders[vendor] / name
        try:
            pixels = folder_data.read_image(path, size=SIZE, channels=3)
        except (ValueError, FileNotFoundError) as error:
            report.skip(str(error) if isinstance(error, ValueError) else "missing", f"{vendor}/{name}")
            continue
        test = folder_data.test_split(group)
        split[test][0].append(pixels)
        split[test][1].append(label)
    report.train, report.test = len(split[False][0]), len(split[True][0])
    if not (report.train and report.test):
        raise folder_data.FolderDataError(f"too few emoji images in {source}: {report.summary()}")
    sized = replace(entry, train_size=report.train, test_size=report.test)
    folder_data.write(root / entry.folder, sized, {t: s[0] for t, s in split.items()},
                      {t: s[1] for t, s in split.items()}, report, str(source))
    datasets.register(sized)
    return report


def fetch(entry: datasets.DataSet, root: Path, *, package_file: Path | None = None) -> str:
    """`vae-lab fetch-data --datasets emoji`: from the folder `package_file`, else from both npm packages."""
    if package_file is not None:
        report = build(entry, Path(package_file), root)
        return "; ".join([f"from {package_file}", *report.skipped_lines()])
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed: install it, or give the images' folder with --from "
                                "(emoji.json beside twitter/64/ and google/64/)")
    with tempfile.TemporaryDirectory(prefix="vae_lab-emoji-") as folder:
        unpacked = Path(folder) / "unpacked"
        for vendor in VENDORS:
            print(f"fetching the npm package {package(vendor)}", file=sys.stderr)
            subprocess.run([npm, "pack", package(vendor), "--pack-destination", folder], check=True,
                           capture_output=True, timeout=1200)
            tarball = next(Path(folder).glob(f"emoji-datasource-{vendor}-*.tgz"))
            with tarfile.open(tarball) as archive:
                wanted = [m for m in archive.getmembers() if m.isfile() and (
                    m.name == "package/emoji.json" or m.name.startswith(f"package/img/{vendor}/{SIZE}/"))]
                archive.extractall(unpacked, members=wanted, filter="data")
        report = build(entry, unpacked, root)
    return "; ".join([f"from the npm packages {' and '.join(map(package, VENDORS))}", *report.skipped_lines()])
