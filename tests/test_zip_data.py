"""A zip of images as a data set (zip_data.py), the public demo's route for a visitor's own images: a zipped folder
with class sub-folders, the upload's limits, members that try to leave the folder, and a data set that only its
visitor is offered."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vae_lab import datasets, folder_data, zip_data
from vae_lab.data import load_split
from vae_lab.folder_data import FolderDataError
from vae_lab.images import MAX_UPLOAD_BYTES
from vae_lab.zip_data import from_zip

from test_model_files import zipped

ALICE, BOB = "a1" * 16, "b2" * 16


def png(colour: int, seed: int, side: int = 40) -> bytes:
    """A 40 x 40 picture mostly of one channel (0 red, 1 green, 2 blue), with a little noise to keep it unique."""
    image = np.random.default_rng(seed).integers(0, 30, (side, side, 3), dtype=np.uint8)
    image[..., colour] = 220
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def colours_zip(per_class: int = 12, top: str = "my-photos/") -> bytes:
    return zipped({f"{top}{name}/{i}.png": png(c, 100 * c + i) for c, name in enumerate(("red", "green", "blue"))
                   for i in range(per_class)})


@pytest.fixture
def registered():
    """The names of the data sets a test registers, removed after it (the registry is the process's)."""
    before = set(datasets.names())
    yield
    for name in set(datasets.names()) - before:
        datasets.unregister(name)


def test_a_zipped_folder_with_class_sub_folders_is_a_labelled_colour_data_set(tmp_path, registered):
    entry, report = from_zip("colours", colours_zip(), root=tmp_path, size=32)
    assert entry.classes == ("blue", "green", "red"), "the zipped folder is looked into"
    assert report.train + report.test == 36 and not report.skipped
    x, y = load_split("colours", train=True, root=tmp_path).batch(slice(0, report.train))
    assert x.mean(dim=(2, 3)).argmax(dim=1).tolist() == [{"red": 0, "green": 1, "blue": 2}[entry.classes[k]]
                                                          for k in y.tolist()]


def test_members_outside_the_folder_hidden_or_too_large_are_skipped_and_nothing_leaves_it(tmp_path, registered):
    big = png(0, 999, side=40) + b"\0" * MAX_UPLOAD_BYTES  # a PNG with trailing bytes past the upload limit
    files = {f"pics/{i}.png": png(i % 3, i) for i in range(30)} | {
        "../escaped.png": png(0, 1000), "/absolute.png": png(1, 1001), "__MACOSX/._0.png": b"resource fork",
        ".hidden.png": png(2, 1002), "big.png": big, "notes.txt": b"not an image"}
    entry, report = from_zip("mixed", zipped(files), root=tmp_path / "data", size=32)
    assert report.train + report.test == 30
    assert report.skipped["not a plain path inside the zip"] == ["../escaped.png", "/absolute.png",
                                                                 "__MACOSX/._0.png", ".hidden.png"]
    assert report.skipped[f"larger than {MAX_UPLOAD_BYTES // 2**20} MiB"] == ["big.png"]
    assert not list(tmp_path.glob("*.png")) and not (tmp_path.parent / "escaped.png").exists()


@pytest.mark.parametrize("data, said", [
    (b"PK\x03\x04 not really", "is not a zip file"),
    (zipped({"a.txt": b"no images"}), "holds no PNG, JPEG or WebP images"),
    (b"\0" * (zip_data.MAX_ZIP_BYTES + 1), "the limit is 20 MiB"),
])
def test_a_zip_that_cannot_be_a_data_set_says_what_to_change(tmp_path, registered, data, said):
    with pytest.raises(FolderDataError, match=said):
        from_zip("refused", data, root=tmp_path)
    assert "refused" not in datasets.names() and not (tmp_path / "refused").exists()


def test_more_images_than_the_limit_are_refused_before_any_is_read(tmp_path, registered, monkeypatch):
    monkeypatch.setattr(zip_data, "MAX_ZIP_IMAGES", 10)
    with pytest.raises(FolderDataError, match="holds 36 images; the limit is 10"):
        from_zip("too-many", colours_zip(), root=tmp_path)


def test_a_zip_bomb_stops_at_the_unpacked_limit(tmp_path, registered, monkeypatch):
    monkeypatch.setattr(zip_data, "MAX_UNPACKED_BYTES", 2**20)
    bombs = zipped({f"{i}.png": b"\0" * (MAX_UPLOAD_BYTES - 1) for i in range(3)})  # 15 MiB in about 15 KB
    assert len(bombs) < 100_000
    with pytest.raises(FolderDataError, match="unpacks to more than 1 MiB"):
        from_zip("bomb", bombs, root=tmp_path)


def test_a_visitors_data_set_is_theirs_alone_and_found_again_after_a_restart(tmp_path, registered):
    alice = tmp_path / "visitors" / ALICE / "data"
    entry, _ = from_zip("hues", colours_zip(), root=alice, owner=ALICE, size=32)
    assert entry.name == f"hues-{ALICE[:8]}" and entry.label == "hues" and entry.owner == ALICE
    assert entry.name in datasets.visible_to(ALICE) and entry.name not in datasets.visible_to(BOB)
    assert entry.name not in datasets.visible_to(""), "nor on a page of no visitor"
    assert "mnist" in datasets.visible_to(BOB)
    datasets.unregister(entry.name)  # a restarted server: registered again from the visitor's folder
    assert folder_data.register_all(alice, owner=BOB) == [], "another visitor's index is not taken"
    again = folder_data.register_all(alice, owner=ALICE)
    assert [d.name for d in again] == [entry.name] and len(load_split(entry.name, train=False)) == entry.test_size
