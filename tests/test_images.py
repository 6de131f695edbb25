import io

import numpy as np
import pytest
import torch
from PIL import Image

from vae_lab.data import load_sample
from vae_lab.images import (MAX_UPLOAD_BYTES, ImageRejected, digit_from_upload, gif_bytes, image_grid,
                            open_upload, png_bytes, to_mnist_digit)


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def bar(size=(200, 200), box=(40, 90, 160, 110), ink=0, paper=255, mode="L") -> Image.Image:
    """A thick vertical stroke (a '1') drawn on a canvas: `box` is (top, left, bottom, right)."""
    array = np.full(size, paper, dtype=np.uint8 if mode == "L" else np.uint16)
    top, left, bottom, right = box
    array[top:bottom, left:right] = ink
    return Image.fromarray(array)


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(digit.shape)
    return (ys * digit).sum() / digit.sum(), (xs * digit).sum() / digit.sum()


def check_mnist_style(digit: np.ndarray):
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() == pytest.approx(1.0, abs=0.05)
    rows, cols = np.nonzero(digit > 0.1)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21, "the digit must fit the 20x20 box"
    assert np.allclose(centre_of_mass(digit), (14, 14), atol=0.75)
    assert digit[0].max() == digit[-1].max() == digit[:, 0].max() == digit[:, -1].max() == 0


@pytest.mark.parametrize("ink, paper", [(0, 255), (255, 0), (40, 200)])
def test_light_and_dark_backgrounds_give_white_ink_on_black(ink, paper):
    digit = to_mnist_digit(bar(ink=ink, paper=paper))
    check_mnist_style(digit)
    rows, cols = np.nonzero(digit > 0.5)
    assert np.ptp(rows) + 1 >= 19 and np.ptp(cols) + 1 <= 6, "a tall stroke stays tall and thin"


def test_off_centre_strokes_are_cropped_and_centred_by_mass():
    check_mnist_style(to_mnist_digit(bar(size=(300, 400), box=(5, 350, 60, 390))))


def test_rgba_strokes_on_a_transparent_canvas_in_either_colour():
    for colour in (255, 0):
        rgba = np.zeros((150, 150, 4), dtype=np.uint8)
        rgba[20:130, 60:80] = (colour, colour, colour, 255)
        check_mnist_style(digit_from_upload(encode(Image.fromarray(rgba, "RGBA"))))


def test_16_bit_images_keep_their_range():
    image = bar(ink=0, paper=65535, mode="I;16")
    assert Image.open(io.BytesIO(encode(image))).mode.startswith("I")
    check_mnist_style(digit_from_upload(encode(image)))


def test_tiny_and_huge_images():
    check_mnist_style(to_mnist_digit(bar(size=(6, 6), box=(1, 2, 5, 4))))
    huge = bar(size=(3000, 3000), box=(500, 1400, 2500, 1600))
    check_mnist_style(digit_from_upload(encode(huge, "JPEG"), name="huge.jpg"))


def test_an_mnist_digit_drawn_large_on_paper_comes_back_as_itself():
    originals = load_sample("mnist").float_images()[:30, 0].numpy()
    correlations = []
    for original in originals:
        paper = Image.fromarray((255 * (1 - original)).astype(np.uint8)).resize((280, 280), Image.Resampling.BICUBIC)
        correlations.append(np.corrcoef(digit_from_upload(encode(paper)).ravel(), original.ravel())[0, 1])
    assert np.mean(correlations) > 0.9


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"not an image at all", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not an image"),
    (b"x" * (MAX_UPLOAD_BYTES + 1), "the limit is 5 MiB"),
])
def test_bad_uploads_are_refused_with_a_reason(data, message):
    with pytest.raises(ImageRejected, match=message):
        digit_from_upload(data)


def test_other_formats_truncated_files_bombs_and_blank_images_are_refused():
    with pytest.raises(ImageRejected, match="GIF image; upload a PNG or JPEG"):
        open_upload(encode(bar(), "GIF"))
    png = encode(bar(size=(400, 400)))
    with pytest.raises(ImageRejected, match="truncated"):
        open_upload(png[: len(png) // 2])
    bomb = encode(Image.new("1", (6000, 6000)))  # 36 megapixels in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(ImageRejected, match="megapixels"):
        open_upload(bomb)
    with pytest.raises(ImageRejected, match="no digit found"):
        digit_from_upload(encode(Image.new("L", (50, 50), 255)))


def test_grids_pngs_and_gifs():
    rows = [torch.zeros(3, 1, 28, 28), torch.ones(2, 1, 28, 28)]
    grid = image_grid(rows, pad=2)
    assert grid.shape == (2 * 30 + 2, 3 * 30 + 2) and grid.dtype == np.uint8
    assert grid[2:30, 2:30].max() == 0 and grid[32:60, 2:30].min() == 255 and grid[0, 0] == 96
    assert image_grid(rows, scale=3).shape == (3 * 62, 3 * 92)
    assert Image.open(io.BytesIO(png_bytes(grid))).size == (92, 62)
    gif = Image.open(io.BytesIO(gif_bytes([grid, 255 - grid, grid])))
    assert gif.format == "GIF" and gif.n_frames == 4  # forwards, then back without repeating the ends
