"""The sidebar's digit sources: test-set digits at random, one per class or by index, the notebook's ten, uploads
and a drawing, each as `Digits` (images, captions and what the judge doubts)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch
from PIL import Image

from . import links
from .resources import current_judge, test_set
from .. import datasets
from ..data import DEFAULT_DIGITS, ImageSplit
from ..datasets import noun
from ..images import (MAX_UPLOAD_BYTES, MAX_UPLOADS, ImageRejected, digit_doubts, enlarge, photo_from_upload,
                      read_upload, to_mnist_digit)


SOURCES = {"random": "Test set: random sample", "classes": "Test set: one per class",
           "index": "Test set: by index", "notebook": "The notebook's ten digits",
           "upload": "Upload images", "draw": "Draw {noun}"}


@dataclass
class Digits:
    """The digits the sidebar's data source chose: images (N, C, H, W) in [0, 1], of the data set's shape."""

    images: torch.Tensor
    labels: list[int | None]  # the true class where known (test set), else None
    captions: list[str]
    doubts: list[list[str]] = field(default_factory=list)  # uploads and drawings: why it may not be a digit

    def __len__(self) -> int:
        return self.images.shape[0]


def digit_source(dataset: str, *, test_set_available: bool = True) -> Digits:
    """The sidebar's data-source controls (drawn where the caller is: in the sidebar's selection); the chosen
    digits as one batch."""
    entry = datasets.get(dataset)
    sources = [key for key in SOURCES if (key != "notebook" or entry.notebook_images)
               and (key != "draw" or entry.image_shape == MNIST_FORMAT)]  # a drawing becomes an MNIST-style digit
    source = links.widget(st.selectbox, noun(dataset, plural=True).capitalize(), sources, key="source",
                          options=sources, what="digit source",
                          format_func=lambda key: SOURCES[key].format(noun=noun(dataset, article=True)))
    if source in ("upload", "draw"):
        return _with_doubts(_uploaded_digits(dataset) if source == "upload" else _drawn_digit(dataset), dataset)
    if not test_set_available:
        return _digits([], [])
    split = test_set(dataset)
    if source == "random":
        count = links.widget(st.slider, "How many", 1, MAX_DIGITS, DEFAULT_DIGITS, key="random_count",
                             parse=int, options=range(1, MAX_DIGITS + 1))
        links.seed("seed", parse=int, options=range(2**31))
        if st.button("Re-roll", icon=":material/casino:"):
            st.session_state["seed"] = st.session_state.get("seed", 0) + 1
        numbers = split.random_numbers(count, seed=st.session_state.get("seed", 0))
    elif source == "classes":
        numbers = [split.number(p) for p in split.one_per_class()]
    elif source == "notebook":
        numbers = list(datasets.get(dataset).notebook_images)
    else:
        numbers = _indices_input(split)
    return digits_at(split, numbers)


def digits_at(split: ImageSplit, numbers: list[int]) -> Digits:
    """The test images with these numbers in the full split (those the embedded sample lacks are left out)."""
    positions = [p for p in map(split.position, numbers) if p is not None]
    images, labels = split.batch(torch.tensor(positions, dtype=torch.long))
    names = split.class_names
    return Digits(images, labels.tolist(), [f"#{split.number(p)} ({names[int(y)]})" for p, y in zip(positions, labels)])


def _indices_input(split: ImageSplit) -> list[int]:
    which = (f"numbers of the {len(split):,} images in the embedded sample (0 to 989 and the notebook's ten)"
             if split.is_sample else f"numbers from 0 to {len(split) - 1}")
    text = links.widget(st.text_input, "Test image indices", "0, 1, 2, 3", key="indices",
                        max_chars=MAX_DIGITS * 8, help=f"Up to {MAX_DIGITS} comma-separated {which}.")
    indices, bad = parse_indices(text, split)
    if bad:
        st.warning(f"Ignored {', '.join(map(links.shown, bad[:5]))}{' ...' if len(bad) > 5 else ''}: "
                   f"write up to {MAX_DIGITS} different {which}.")
    return indices


MAX_DIGITS = 16  # digits shown at once, however they are chosen: a row of each page stays a readable width


def parse_indices(text: str, split: ImageSplit) -> tuple[list[int], list[str]]:
    """The first MAX_DIGITS different image numbers of `split` in a comma-separated text, and the parts ignored."""
    indices, bad = [], []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if re.fullmatch(r"[0-9]{1,9}", part) and split.position(int(part)) is not None and len(indices) < MAX_DIGITS:
            if int(part) not in indices:
                indices.append(int(part))
        elif part:
            bad.append(part)
    return indices, bad


def _uploaded_digits(dataset: str) -> Digits:
    # The browser's limit is in units of 10^6 bytes: one more than MAX_UPLOAD_BYTES lets a file of exactly
    # 5 MiB reach read_upload, which refuses larger ones itself, with one line.
    files = st.file_uploader(f"PNG or JPEG images of {noun(dataset, plural=True)}", type=["png", "jpg", "jpeg"],
                             accept_multiple_files=True, max_upload_size=MAX_UPLOAD_BYTES // 10**6 + 1,
                             key="uploads") or []
    if len(files) > MAX_UPLOADS:
        st.warning(f"{len(files)} files: only the first {MAX_UPLOADS} are read.")
    images, captions, shape = [], [], datasets.get(dataset).image_shape
    for upload, reading in zip(files, _read_uploads(files[:MAX_UPLOADS], dataset)):
        if isinstance(reading, str):
            st.warning(reading)
            continue
        digit, preview = reading
        left, right = st.columns(2)
        left.image(preview, caption=upload.name, width="stretch")  # decoded pixels, never the raw file
        right.image(enlarge(digit), caption="as {1}x{2}".format(*shape), width="stretch")
        images.append(torch.from_numpy(digit).reshape(shape))
        captions.append(upload.name)
    return _digits(images, captions)


def _read_uploads(files: list, dataset: str) -> list:
    """Each file read once per session and data set (a rerun reuses it): its image and preview, or why it was
    refused."""
    before = st.session_state.get("upload_readings", {})
    readings = {}
    for upload in files:
        key = (upload.file_id, upload.name, dataset)
        if key not in readings:
            readings[key] = before.get(key) or _read_upload(upload, dataset)
    st.session_state["upload_readings"] = readings  # only the files still there
    return [readings[(upload.file_id, upload.name, dataset)] for upload in files]


def _read_upload(upload, dataset: str):
    """A digit as MNIST's are drawn for a data set of MNIST's format, else a picture as the data set's files were
    read (your own folder's, emoji), colour kept."""
    shape, name = datasets.get(dataset).image_shape, links.shown(upload.name)
    try:
        if shape == MNIST_FORMAT:
            return read_upload(upload.getvalue(), name=name)
        return photo_from_upload(upload.getvalue(), size=shape[1], channels=shape[0], name=name)
    except ImageRejected as error:
        return str(error)


MNIST_FORMAT = (1, 28, 28)  # a data set of this format (MNIST, Fashion-MNIST) takes an upload as a centred digit


def _drawn_digit(dataset: str) -> Digits:
    from streamlit_drawable_canvas import st_canvas  # a custom component: only needed here

    st.caption(f"Draw one {noun(dataset)}, large, in the middle.")
    result = st_canvas(stroke_width=16, stroke_color="#FFFFFF", background_color="#000000", height=224,
                       width=224, drawing_mode="freedraw", return_image_data=True, key="canvas")
    image_data = getattr(result, "image_data", None) if result is not None else None
    if image_data is None or np.asarray(image_data)[..., :3].max() == 0:
        return _digits([], [])
    try:
        digit = to_mnist_digit(Image.fromarray(np.asarray(image_data).astype(np.uint8), "RGBA"))
    except ImageRejected as error:
        st.warning(str(error))
        return _digits([], [])
    st.image(enlarge(digit), caption="as 28x28", width=112)
    return _digits([torch.from_numpy(digit)[None]], ["drawing"])


def _with_doubts(digits: Digits, dataset: str) -> Digits:
    """Say, beside each upload or drawing, if it does not look like a handwritten digit."""
    judge = current_judge(dataset)
    with torch.no_grad():
        confidence = judge(digits.images).softmax(dim=1).max(dim=1).values.tolist() if judge is not None and len(
            digits) else [None] * len(digits)
    digits.doubts = [digit_doubts(image[0].numpy(), c, dataset=dataset) for image, c in zip(digits.images, confidence)]
    for caption, doubts in zip(digits.captions, digits.doubts):
        if doubts:
            st.warning(f"{links.shown(caption)} may not be a handwritten "
                       f"{noun(dataset)}: {'; '.join(doubts)}. "
                       f"Readings of it are shown with a question mark.")
    return digits


def _digits(images: list[torch.Tensor], captions: list[str]) -> Digits:
    stacked = torch.stack(images) if images else torch.zeros(0, 1, 28, 28)  # none: what the pages ask for instead
    return Digits(stacked, [None] * len(images), captions)
