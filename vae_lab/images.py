"""Images in and out: uploaded files and drawings -> MNIST-style digits; tensors -> PNG and GIF.

The conversion follows how MNIST was made: grayscale, white ink on black, cropped to the
digit, scaled to fit a 20x20 box keeping the aspect ratio (anti-aliased), and placed in a
28x28 field so that its centre of mass is at the centre.
"""
from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from . import datasets
from .folder_data import prepare

MAX_UPLOAD_BYTES = 5 * 2**20
# What a digit needs, with room for a phone photo (JPEGs are decoded at a reduced scale first, see
# open_upload): anything larger is refused before decoding. A small file can claim many pixels, and
# decoding 25 megapixels takes seconds and hundreds of MB.
MAX_PIXELS = 4_000_000
JPEG_DRAFT_SIDE = 1024  # a large JPEG is decoded at 1/2, 1/4 or 1/8 scale, down to about this side
MAX_UPLOADS = 16  # images read from one upload at once, as many as a page shows
ACCEPTED_FORMATS = ("PNG", "JPEG")
INK_THRESHOLD = 0.1  # a pixel belongs to the digit above this (after normalising to [0, 1])
PREVIEW_SIDE = 112  # the longer side of an upload's preview, in pixels
# What handwritten MNIST digits look like after this conversion, measured on the 60,000 training digits:
# the share of the 28x28 field their ink covers (0.5th to 99.5th percentile) and the mean value of
# their ink pixels (0.5th percentile). A photo or a smooth gradient falls outside.
MNIST_INK_SHARE = (0.066, 0.314)
MNIST_INK_LEVEL = 0.593
UNSURE_BELOW = 0.7  # the classifier's top softmax probability under which a reading is called unsure


class ImageRejected(ValueError):
    """An upload that is not a usable digit image; the message says why, for the user."""


def open_upload(data: bytes, *, name: str = "the file") -> Image.Image:
    """Decode an uploaded PNG/JPEG, refusing empty, oversized, non-image and bomb files."""
    if not data:
        raise ImageRejected(f"{name} is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"{name} is {len(data) / 2**20:.1f} MiB; the limit is {MAX_UPLOAD_BYTES / 2**20:g} MiB.")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header and the chunks before the pixels
    except Image.DecompressionBombError as error:
        raise ImageRejected(f"{name} claims to be far too large an image; the limit is "
                            f"{MAX_PIXELS / 1e6:.0f} megapixels.") from error
    except ValueError as error:  # Pillow's limit on a compressed text chunk: a text bomb
        raise ImageRejected(f"{name} holds metadata too large to read ({error}).") from error
    except (UnidentifiedImageError, OSError) as error:
        raise ImageRejected(f"{name} is not an image (PNG or JPEG expected).") from error
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(f"{name} is a {image.format} image; upload a PNG or JPEG.")
    if image.format == "JPEG":
        image.draft(image.mode, (JPEG_DRAFT_SIDE, JPEG_DRAFT_SIDE))  # decodes at a reduced scale: cheap
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"{name} is {width}x{height} pixels; the limit is {MAX_PIXELS / 1e6:.0f} megapixels, "
                            f"far more than a digit needs.")
    try:
        image.load()
    except ValueError as error:  # a text bomb after the pixels
        raise ImageRejected(f"{name} holds metadata too large to read ({error}).") from error
    except (OSError, Image.DecompressionBombError) as error:
        raise ImageRejected(f"{name} could not be decoded ({error}); it may be truncated.") from error
    return image


def grayscale(image: Image.Image) -> np.ndarray:
    """Luminance in [0, 1] as float64 (H, W), for 8- and 16-bit, palette and transparent images.

    Transparent pixels are laid on whichever of black or white contrasts with the visible ink,
    so a white stroke on a transparent canvas and a black one both stay visible.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image, dtype=np.float64) / 65535.0
    if image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode == "I" and values.max() > 255 else (255.0 if values.max() > 1 else 1.0)
        return np.clip(values / max(top, values.max()), 0.0, 1.0)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    alpha = rgba[..., 3]
    ink_is_light = (luminance * alpha).sum() / max(alpha.sum(), 1e-9) > 0.5
    background = 0.0 if ink_is_light else 1.0
    return alpha * luminance + (1 - alpha) * background


def to_mnist_digit(image: Image.Image, *, size: int = 28, box: int = 20) -> np.ndarray:
    """An MNIST-style digit, float32 (size, size) in [0, 1], white on black."""
    gray = grayscale(image)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # light background: dark ink on paper
        gray, border = 1.0 - gray, 1.0 - border
    level, top = np.median(border), gray.max()
    if top - level < 0.05:
        raise ImageRejected("no digit found: the image is blank or has almost no contrast.")
    ink = np.clip((gray - level) / (top - level), 0.0, 1.0)
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]

    height, width = ink.shape
    scale = box / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    patch = Image.fromarray(ink.astype(np.float32), mode="F").resize(new_size, Image.Resampling.LANCZOS,
                                                                      reducing_gap=3.0)
    patch = np.clip(np.asarray(patch, dtype=np.float64), 0.0, 1.0)

    total = patch.sum()
    ys, xs = np.indices(patch.shape)
    centre_y, centre_x = (ys * patch).sum() / total, (xs * patch).sum() / total
    middle = size / 2  # where MNIST's centres of mass sit (14.0 in 28x28, measured on the test set)
    top_row = int(np.clip(round(middle - centre_y), 0, size - patch.shape[0]))
    left_col = int(np.clip(round(middle - centre_x), 0, size - patch.shape[1]))
    digit = np.zeros((size, size), dtype=np.float32)
    digit[top_row:top_row + patch.shape[0], left_col:left_col + patch.shape[1]] = patch
    return digit


class Upload(NamedTuple):
    digit: np.ndarray  # MNIST-style, float32 (28, 28) in [0, 1]; a picture (photo_from_upload): (C, H, W)
    preview: np.ndarray  # the decoded image, uint8 grayscale, at most PREVIEW_SIDE pixels on its longer side


def read_upload(data: bytes, *, name: str = "the file") -> Upload:
    """An uploaded file as a digit and a safe preview (made from the decoded pixels, never the raw file)."""
    image = open_upload(data, name=name)
    try:
        digit = to_mnist_digit(image)
    except ImageRejected as error:
        raise ImageRejected(f"{name}: {error}") from error
    preview = Image.fromarray((grayscale(image) * 255.0 + 0.5).astype(np.uint8))
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return Upload(digit, np.asarray(preview))


def photo_from_upload(data: bytes, *, size: int, channels: int, name: str = "the file") -> Upload:
    """An uploaded file for a data set of pictures (your own folder's, emoji): cropped and resized as the data set's
    files were (folder_data.prepare), colour kept, as float32 (channels, size, size) in [0, 1]; and a preview."""
    image = open_upload(data, name=name)
    try:
        pixels = prepare(image, size=size, channels=channels).astype(np.float32) / 255.0
    except ValueError as error:
        raise ImageRejected(f"{name} is {error}: upload a larger image.") from error
    preview = image.convert("RGB")
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return Upload(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1), np.asarray(preview))


def digit_from_upload(data: bytes, *, name: str = "the file") -> np.ndarray:
    return read_upload(data, name=name).digit


def digit_doubts(digit: np.ndarray, confidence: float | None = None, *, dataset: str = "mnist") -> list[str]:
    """Why an uploaded or drawn image may not be a handwritten digit, in words (empty when it looks like one):
    the classifier's top probability `confidence` is low, or (for a handwritten data set: MNIST) its strokes are
    unlike pen strokes."""
    doubts = []
    if confidence is not None and confidence < UNSURE_BELOW:
        doubts.append(f"the classifier is unsure (its best guess has {confidence:.0%})")
    if datasets.get(dataset).handwritten:
        ink = digit > INK_THRESHOLD
        share, level = float(ink.mean()), float(digit[ink].mean()) if ink.any() else 0.0
        low, high = MNIST_INK_SHARE
        if not low <= share <= high:
            doubts.append(f"its ink covers {share:.0%} of the field, handwritten digits {low:.0%}-{high:.0%}")
        if level < MNIST_INK_LEVEL:
            doubts.append("its strokes are faint or shaded, unlike pen strokes")
    return doubts


# --- tensors out ---------------------------------------------------------------------------

def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, 1, H, W) or (N, H, W) floats in [0, 1] -> (N, H, W) uint8; colour (N, 3, H, W) -> (N, H, W, 3)."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim == 4:
        array = array[:, 0] if array.shape[1] == 1 else array.transpose(0, 2, 3, 1)
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_grid(rows: list[torch.Tensor | np.ndarray], *, pad: int = 2, scale: int = 1, fill: int = 96) -> np.ndarray:
    """Rows of equally sized images (grey or colour) laid out as one uint8 picture, `pad` pixels of gray between."""
    rows = [to_uint8(r) for r in rows]
    n_cols = max(len(r) for r in rows)
    h, w = rows[0].shape[1:3]
    grid = np.full((len(rows) * (h + pad) + pad, n_cols * (w + pad) + pad, *rows[0].shape[3:]), fill, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[y:y + h, x:x + w] = image
    return grid.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else grid


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: list[np.ndarray], *, frame_ms: int = 120, bounce: bool = True) -> bytes:
    """An endlessly looping animated GIF; with `bounce`, it plays forwards then backwards."""
    pictures = [Image.fromarray(f) for f in (frames + frames[-2:0:-1] if bounce else frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()


def enlarge(images, scale: int = 4) -> np.ndarray:
    """One image, (H, W) or (C, H, W) with C 1 or 3, as uint8, `scale` times larger, without smoothing."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return image_grid([array.reshape(1, -1, *array.shape[-2:])], pad=0, scale=scale)
