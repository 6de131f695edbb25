"""Your own images as a data set (folder_data.py, `vae-lab add-dataset`): every kind of awkward file a folder of
photos holds, a split that holds when files are added, labels from sub-folders, and the data set trained on."""
from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import torch
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


def folder_data_upload(data: bytes) -> np.ndarray:
    from vae_lab.images import photo_from_upload

    return photo_from_upload(data, size=32, channels=3).digit


def emoji_subset(folder, count: int = 40):
    """The first `count` emoji of the shared copy (emoji.json and both vendors' images), as a source folder."""
    from vae_lab.workspace import Workspace

    shared = Workspace.from_env().data / "emoji"
    if not (shared / "emoji.json").is_file():
        pytest.skip(f"no emoji images under the data root ({shared})")
    index = json.loads((shared / "emoji.json").read_text())
    chosen = [e for e in index if e["category"] in datasets.EMOJI.classes][:: len(index) // count][:count]
    chosen += [next(e for e in index if e.get("skin_variations"))]  # one with skin tones
    for vendor in ("twitter", "google"):
        (folder / vendor / "64").mkdir(parents=True)
        for emoji in chosen:
            for form in [emoji, *(emoji.get("skin_variations") or {}).values()]:
                source = shared / vendor / "64" / form["image"]
                if source.is_file():
                    (folder / vendor / "64" / form["image"]).write_bytes(source.read_bytes())
    (folder / "emoji.json").write_text(json.dumps(chosen))
    return chosen


def test_fetch_data_emoji_builds_the_colour_data_set_with_every_skin_tone_on_one_side(tmp_path, monkeypatch, capsys):
    from vae_lab import emoji

    chosen = emoji_subset(tmp_path / "source")
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "data"))
    try:
        assert main(["fetch-data", "--datasets", "emoji", "--from", str(tmp_path / "source")]) == 0
        assert "training and" in capsys.readouterr().err
        splits = [load_split("emoji", train=train, root=tmp_path / "data") for train in (True, False)]
        expected = list(emoji.images(chosen, datasets.EMOJI.classes))
        assert sum(len(s) for s in splits) == len(expected) and splits[0].images.shape[1:] == (3, 64, 64)
        by_emoji = sum(folder_data.test_split(group) for *_, group in expected)
        by_file = sum(folder_data.test_split(f"{vendor}/{name}") for vendor, name, *_ in expected)
        assert len(splits[1]) == by_emoji != by_file, "split by emoji (every variant, both vendors), not by file"
        corners = splits[0].images[:, :, :2, :2].float().mean()
        assert corners > 250, "transparent corners are white"
        assert (tmp_path / "data" / "Emoji" / "dataset.json").is_file(), "beside, never inside, the source"
    finally:
        datasets.register(datasets.EMOJI)  # the shipped entry again, not the one read from the test's index


def test_every_page_runs_on_a_colour_model_of_your_own_images(tmp_path, monkeypatch):
    """A colour data set from a folder, a plain VAE trained on it, and every page that shows models, with no
    exception; the images keep their colour on the way to the page (images.image_grid)."""
    from streamlit.testing.v1 import AppTest

    from conftest import REPO
    from vae_lab.images import image_grid

    for variable, folder in (("VAE_LAB_DATA", "data"), ("VAE_LAB_CHECKPOINTS", "ck"), ("VAE_LAB_JOBS", "jobs"),
                             ("VAE_LAB_CACHE", "cache")):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    for c in ("a", "b"):
        (tmp_path / "src" / c).mkdir(parents=True)
        for i in range(24):
            picture(i + 100 * (c == "b"), size=40).save(tmp_path / "src" / c / f"{i}.png")
    try:
        assert main(["add-dataset", "toys", str(tmp_path / "src"), "--size", "32"]) == 0
        assert main(["train", "--kind", "plain", "--dataset", "toys", "--epochs", "1", "--device", "cpu", "--quiet",
                     "--name", "toys-plain", "--test-limit", "8"]) == 0
        datasets.unregister("toys")  # as a new server finds it: only in the data root
        for page in ("reconstruct", "latent_explorer", "interpolation", "samples", "blur_analysis", "models"):
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
            at.query_params.update({"dataset": "toys", "models-toys": "toys-plain"})
            at.switch_page(f"vae_lab/app/views/{page}.py")
            at.run()
            assert not at.exception, (page, [e.stack_trace[-3:] for e in at.exception])
        red = io.BytesIO()
        Image.fromarray(np.tile(np.array([220, 30, 20], dtype=np.uint8), (50, 60, 1))).save(red, format="PNG")
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
        at.query_params.update({"dataset": "toys", "models-toys": "toys-plain", "source": "upload"})
        at.switch_page("vae_lab/app/views/reconstruct.py")
        at.run()
        assert "draw" not in at.sidebar.selectbox(key="source").options, "a drawing is an MNIST-style digit"
        at.sidebar.file_uploader(key="uploads").set_value(("red.png", red.getvalue(), "image/png")).run()
        assert not at.exception and not at.sidebar.warning, [w.value for w in at.sidebar.warning]
        assert "as 32x32" in [c for image in at.sidebar.image for c in image.captions]
    finally:
        datasets.unregister("toys")
    upload = folder_data_upload(red.getvalue())
    assert upload.shape == (3, 32, 32) and upload[0].mean() > 0.8 > 0.2 > upload[1:].mean(), "its colour kept"
    red = np.zeros((2, 3, 4, 4), dtype=np.float32)
    red[:, 0] = 1.0
    grid = image_grid([red], pad=1, scale=2)
    assert grid.shape == (2 * 6, 2 * 11, 3) and grid[2, 2].tolist() == [255, 0, 0]


def test_images_without_labels_get_a_dfc_vae_on_a_fixed_random_network_and_no_classifier(tmp_path, monkeypatch):
    """A folder with no class sub-folders has no classifier to train: the config says so and points to the random
    network; the panel offers what fits the images' size (the emoji classifier only at 64 px in colour); and a
    DFC VAE trained on the random network names it in its checkpoint."""
    from vae_lab import judges
    from vae_lab.config import TrainConfig
    from vae_lab.train import train

    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "data"))
    (tmp_path / "src").mkdir()
    for i in range(40):
        picture(i, size=70).save(tmp_path / "src" / f"{i}.png")
    try:
        for name, size in (("unlabelled", 32), ("unlabelled-64", 64)):
            build(name, tmp_path / "src", root=tmp_path / "data", size=size)
        with pytest.raises(ValueError, match="no labels.*perceptual_model='random'"):
            TrainConfig(kind="classifier", dataset="unlabelled")
        assert judges.perceptual_choices("unlabelled") == [judges.RANDOM]
        assert judges.perceptual_choices("unlabelled-64") == ["emoji-classifier", judges.RANDOM]
        first = judges.random_network("unlabelled")
        torch.manual_seed(123)
        again = judges.random_network("unlabelled")
        assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values())), \
            "the same network whatever the random state: a checkpoint names it by its seed"
        config = TrainConfig(kind="dfc", dataset="unlabelled", epochs=1, batch_size=16, device="cpu", init_from="",
                             perceptual_model=judges.RANDOM, name="mine")
        result = train(config, out_dir=tmp_path / "models")
        assert result.checkpoint.meta["perceptual"]["network"] == judges.RANDOM and "checkpoint" not in \
            result.checkpoint.meta["perceptual"]
        with pytest.raises(checkpoints.CheckpointError, match="perceptual_model='random'"):
            train(replace(config, perceptual_model=""), out_dir=tmp_path / "models")
    finally:
        for name in ("unlabelled", "unlabelled-64"):
            datasets.unregister(name)
