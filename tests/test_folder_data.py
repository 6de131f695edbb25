"""Your own images as a data set (folder_data.py, `vae-lab add-dataset`): every kind of awkward file a folder of
photos holds, a split that holds when files are added, labels from sub-folders, and the data set trained on."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from vae_lab import checkpoints, datasets, folder_data
from vae_lab.cli import main
from vae_lab.data import load_split
from vae_lab.folder_data import FolderDataError, build, register_all


def picture(seed: int, size: int = 80, mode: str = "RGB") -> Image.Image:
    """A distinct image: coloured noise, big enough to crop to 64."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size + 10, 3), dtype=np.uint8)).convert(mode)


@pytest.fixture
def data_root(tmp_path):
    yield tmp_path / "data"
    for name in ("shapes", "plain-folder", "odd"):
        datasets.unregister(name)


def test_sub_folders_are_the_classes_and_the_images_keep_their_colour(tmp_path, data_root):
    for c, colour in enumerate(("red", "green", "blue")):
        folder = tmp_path / "shapes" / colour
        folder.mkdir(parents=True)
        for i in range(12):
            image = np.zeros((70, 90, 3), dtype=np.uint8)
            image[..., c] = 200 + i
            Image.fromarray(image).save(folder / f"{i}.png")
    entry, report = build("shapes", tmp_path / "shapes", root=data_root, size=32)
    assert entry.classes == ("blue", "green", "red") and entry.image_shape == (3, 32, 32)
    assert report.train + report.test == 36 and not report.skipped
    split = load_split("shapes", train=True, root=data_root)
    x, y = split.batch(slice(0, len(split)))
    dominant = x.mean(dim=(2, 3)).argmax(dim=1)  # red images are red: channel 0
    assert dominant.tolist() == [{"blue": 2, "green": 1, "red": 0}[entry.classes[label]] for label in y.tolist()]


def test_the_split_is_fixed_by_each_files_path_and_holds_when_files_are_added(tmp_path, data_root):
    folder = tmp_path / "plain-folder"
    folder.mkdir()
    for i in range(60):
        picture(i).save(folder / f"{i:03d}.jpg")
    build("plain-folder", folder, root=data_root)
    first = {name: folder_data.test_split(name) for name in (f"{i:03d}.jpg" for i in range(60))}
    test_before = load_split("plain-folder", train=False, root=data_root).images.clone()
    for i in range(60, 120):
        picture(i).save(folder / f"{i:03d}.jpg")
    entry, report = build("plain-folder", folder, root=data_root)
    assert entry.classes == (folder_data.UNLABELLED,), "no sub-folders: no labels"
    assert 0 < sum(first.values()) < 60 and report.train + report.test == 120
    after = load_split("plain-folder", train=False, root=data_root).images
    kept = [image for image in after if any(np.array_equal(image, old) for old in test_before)]
    assert len(kept) == len(test_before), "every test image stays a test image"


def awkward_folder(folder) -> dict[str, str]:
    """One file of every awkward kind; what happens to each."""
    folder.mkdir(parents=True)
    picture(1).save(folder / "good.png")
    (folder / "not-an-image.png").write_bytes(b"this is text")
    data = io.BytesIO()
    picture(2).save(data, format="PNG")
    (folder / "truncated.png").write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    picture(3, mode="CMYK").save(folder / "cmyk.jpg")
    sixteen = (np.random.default_rng(4).integers(0, 65535, (80, 80))).astype(np.uint16)
    Image.fromarray(sixteen).save(folder / "sixteen-bit.png")
    palette = picture(5).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    palette.save(folder / "palette.png")
    frames = [picture(6), picture(7)]
    frames[0].save(folder / "animated.webp", save_all=True, append_images=frames[1:], lossless=True)
    rotated = picture(8, size=120)
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 on display
    rotated.save(folder / "exif-rotated.jpg", exif=exif)
    picture(9, size=20).save(folder / "small.png")
    picture(1).save(folder / "second-good.png")
    (folder / "notes.txt").write_text("not an image, not looked at")
    for i in range(40):  # enough images for both splits
        picture(100 + i).save(folder / f"more-{i}.png")
    return {"not-an-image.png": "not a readable image", "truncated.png": "truncated or corrupt",
            "small.png": "smaller than 64 x 64 pixels", "second-good.png": "the same picture as another file"}


def test_every_awkward_file_is_used_or_skipped_with_its_reason(tmp_path, data_root):
    expected = awkward_folder(tmp_path / "odd")
    entry, report = build("odd", tmp_path / "odd", root=data_root)
    skipped = {path.split(" ")[0]: reason for reason, paths in report.skipped.items() for path in paths}
    assert skipped == expected, report.skipped
    assert report.train + report.test == 46, "good, CMYK, 16-bit, palette, animated, EXIF-rotated and 40 more"
    assert "1 skipped: not a readable image (not-an-image.png)" in report.summary()
    index = json.loads((data_root / "odd" / "dataset.json").read_text())
    assert index["skipped"] == {reason: 1 for reason in expected.values()}


def test_the_exif_orientation_and_the_first_frame_are_what_is_stored(tmp_path):
    folder = tmp_path / "two"
    awkward_folder(folder)
    banded = np.zeros((120, 130, 3), dtype=np.uint8)
    banded[:20, :, 0] = 255  # a red band along the top, as stored
    image = Image.fromarray(banded)
    exif = image.getexif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: the band on the right
    image.save(folder / "band.jpg", exif=exif, quality=95)
    shown = folder_data.read_image(folder / "band.jpg", size=64, channels=3).astype(int)
    assert shown[:, -8:, 0].mean() > 200 > 50 > shown[:, :8, 0].mean(), "turned as its EXIF says"
    first = folder_data.read_image(folder / "animated.webp", size=64, channels=3).astype(int)
    for frame, close in ((6, True), (7, False)):
        picture(frame).save(folder / f"frame-{frame}.png")
        difference = np.abs(first - folder_data.read_image(folder / f"frame-{frame}.png", size=64, channels=3)).mean()
        assert (difference < 3) == close, (frame, difference)
    grey = folder_data.read_image(folder / "sixteen-bit.png", size=64, channels=1)
    assert grey.dtype == np.uint8 and grey.shape == (64, 64) and 100 < grey.mean() < 155, "scaled, not clipped"
    on_white = folder_data.read_image(folder / "palette.png", size=64, channels=3)
    assert on_white.shape == (64, 64, 3)


@pytest.mark.parametrize("make, said", [
    (lambda folder: folder.mkdir(), "holds no PNG, JPEG or WebP images"),
    (lambda folder: (folder.mkdir(), picture(0).save(folder / "only.png")), "too few usable images"),
    (lambda folder: folder.write_text("a file"), "is not a folder"),
])
def test_a_folder_that_cannot_be_a_data_set_says_what_to_change_and_writes_nothing(tmp_path, data_root, make, said):
    make(tmp_path / "source")
    with pytest.raises(FolderDataError, match=said):
        build("odd", tmp_path / "source", root=data_root)
    assert not data_root.exists() and "odd" not in datasets.names()


def test_names_sizes_and_the_public_roots_are_checked_first(tmp_path, data_root):
    (tmp_path / "source").mkdir()
    for name, size, said in (("MNIST!", 64, "lower-case"), ("mnist", 64, "ships"), ("odd", 48, "--size")):
        with pytest.raises(FolderDataError, match=said):
            build(name, tmp_path / "source", root=data_root, size=size)
    with pytest.raises(FolderDataError, match="outside the folders this server reads from"):
        build("odd", tmp_path / "source", root=data_root, allowed_roots=[tmp_path / "uploads"])


def test_add_dataset_on_the_command_line_then_the_data_set_is_a_choice_of_every_command(tmp_path, monkeypatch,
                                                                                         capsys):
    awkward_folder(tmp_path / "odd")
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "data"))
    try:
        assert main(["add-dataset", "odd", str(tmp_path / "odd"), "--size", "32", "--noun", "emoji"]) == 0
        said = capsys.readouterr().err
        assert "50 of 50 images read" in said and "skipped: truncated or corrupt (truncated.png)" in said
        datasets.unregister("odd")
        assert [d.name for d in register_all(tmp_path / "data")] == ["odd"], "found again under the data root"
        assert datasets.get("odd").image_shape == (3, 32, 32) and datasets.noun("odd") == "emoji"
        assert main(["train", "--kind", "plain", "--dataset", "odd", "--epochs", "1", "--device", "cpu", "--quick",
                     "--out-dir", str(tmp_path / "models"), "--quiet"]) == 0, capsys.readouterr().err
        model = checkpoints.load(tmp_path / "models" / "odd-plain.json")
        x = load_split("odd", train=False, root=tmp_path / "data").float_images()
        assert model.reconstruct(x).shape == x.shape == (len(x), 3, 32, 32), "a colour model of the data set's shape"
    finally:
        datasets.unregister("odd")
