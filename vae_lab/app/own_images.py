"""The training panel's "Your own images": a zip of images becomes a data set to train on (zip_data.py). In public
mode it is the visitor's alone, kept and removed with their models; on your own lab it joins the data root, as
`vae-lab add-dataset` does."""
from __future__ import annotations

import streamlit as st

from .. import public
from ..folder_data import SIZES, FolderDataError
from ..zip_data import MAX_ZIP_BYTES, MAX_ZIP_IMAGES, from_zip
from . import links
from .visitors import workspace

ADDED = "own_images_added"  # the data set just added and what became of the images, shown after the rerun


def chosen_dataset() -> str | None:
    """The data set added in the last run, for the panel's data set choice (set before that widget is drawn)."""
    added = st.session_state.get(ADDED)
    return added[0] if added else None


def render() -> None:
    added = st.session_state.pop(ADDED, None)
    if added:  # the name is checked (letters, digits, '-'); the files' names are the visitor's: shown as code
        st.session_state["own_images"] = False  # the form folds away: the panel goes on to training
        _, label, report = added
        st.success(f"Added **{label}**: {report.train:,} training and {report.test:,} test images. Choose a kind "
                   f"and train on it.")
        for line in report.skipped_lines():
            st.warning(links.shown(line, limit=200))
    if not st.toggle("Add your own images", key="own_images",
                     help="A zip of PNG, JPEG or WebP images. Sub-folders name the classes; without them the "
                          "images have no labels (a classifier, and so a DFC VAE, needs two classes or more)."):
        return
    place = workspace()
    kept = ("yours alone, kept with your models" if public.enabled() else
            f"kept in the data root {place.data}")
    upload = st.file_uploader(f"A zip of at most {MAX_ZIP_BYTES // 2**20} MiB and {MAX_ZIP_IMAGES:,} images ({kept})",
                              type="zip", key="own_images_zip", max_upload_size=MAX_ZIP_BYTES // 10**6 + 1)
    name = st.text_input("Data set name", "my-images", max_chars=40, key="own_images_name",
                         help="Lower-case letters, digits and '-'.")
    left, right = st.columns(2)
    size = left.radio("Size", SIZES, index=SIZES.index(64), format_func=lambda s: f"{s} x {s}",
                      key="own_images_size")
    colour = right.radio("Colour", ("colour", "grey"), key="own_images_colour") == "colour"
    if not st.button("Add the data set", icon=":material/upload:", key="own_images_add", disabled=upload is None):
        return
    bar = st.progress(0.0, text="Reading the images...")
    try:
        entry, report = from_zip(name, upload.getvalue(), root=place.own_data, owner=place.visitor,
                                 size=size, channels=3 if colour else 1, origin="your zip",
                                 progress=lambda done, total: bar.progress(done / total,
                                                                           text=f"{done:,} of {total:,} images read"))
    except FolderDataError as error:  # it may name the zip's files: shown as code
        st.error(f"Not added: {links.shown(error, limit=400)}")
        return
    finally:
        bar.empty()
    st.session_state[ADDED] = (entry.name, entry.label, report)
    st.rerun(scope="app")
