"""Streamlit glue shared by every page: labels, the shared sidebar and what it chose (`selection()`), shared
widgets. The cached resources are resources.py, the digit sources digits.py, public mode's visitor visitors.py, the
training panel training_panel.py; the core modules never import Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from .. import checkpoints, datasets, judges, kinds
from . import links
from .digits import Digits, digit_source
from .resources import judge, model, register_datasets, test_set, without_folders
from .visitors import enter_session, workspace
from ..data import DataMissingError, fetch_command, offline_sources
from ..datasets import noun


def model_label(name: str, kind: str) -> str:
    return f"{kinds.label(kind)}: {name}"


NO_CHECKPOINTS = ("No trained models found in {dirs}. Train one from the sidebar's **Train a model** panel or "
                  "on the command line: `python -m vae_lab train --kind classifier` then "
                  "`python -m vae_lab train --kind dfc`.")


@dataclass
class Selection:
    dataset: str = "mnist"
    models: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # model name -> kind, for every model offered
    digits: Digits | None = None
    data_error: str = ""  # why the test set could not be loaded, if it could not
    sample: bool = False  # the test set is the embedded sample: the data root holds no test split
    test_images: int = 0  # how many test images the pages measure on

    @property
    def class_names(self) -> list[str]:
        return list(datasets.get(self.dataset).classes)


def sidebar() -> Selection:
    """Draw the sidebar shared by every page and remember what it chose for `selection()`."""
    enter_session()
    register_datasets(workspace())
    chosen = Selection()
    st.session_state["selection"] = chosen
    st.sidebar.title("vae_lab")
    # One place in the sidebar, whatever it holds (notices, a data set's digit sources): the training panel below
    # keeps its place from run to run. A job's live status is a fragment that reruns by itself; drawn where the
    # page had moved something else, it crashed the whole page ("Cannot set a node at a delta path").
    with st.sidebar.container():
        _choose(chosen)
    return chosen


def _choose(chosen: Selection) -> None:
    """The data set, the models and the digits, into `chosen`."""
    found = checkpoints.available(workspace=workspace())
    vaes = [c for c in found if c.is_vae]
    if not vaes:
        st.error(NO_CHECKPOINTS.format(dirs=", ".join(str(d) for d in workspace().checkpoint_dirs)))
        return
    offered = sorted({c.dataset for c in vaes if c.dataset in datasets.names()}, key=datasets.order)
    new_model = st.session_state.pop("select_model", None)  # a training job just published this one
    if new_model and new_model[0] in offered:
        st.session_state["dataset"] = new_model[0]
    chosen.dataset = links.widget(st.radio, "Dataset", offered, format_func=datasets.label, horizontal=True,
                                  key="dataset", options=offered, what="data set")
    options = sorted((c for c in vaes if c.dataset == chosen.dataset), key=lambda c: (kinds.order(c.kind), c.name))
    chosen.kinds = {c.name: c.kind for c in options}
    default = [c.name for c in options if c.name.removeprefix(f"{chosen.dataset}-") == c.kind] or [options[0].name]
    if new_model and new_model[1] in chosen.kinds:
        shown = st.session_state.get(f"models-{chosen.dataset}", default)
        st.session_state[f"models-{chosen.dataset}"] = [*shown, new_model[1]] if new_model[1] not in shown else shown
    chosen.models = links.widget(
        st.multiselect, "Models", [c.name for c in options], default=default, key=f"models-{chosen.dataset}",
        parse=links.names, options=chosen.kinds, what="models",
        format_func=lambda name: model_label(name, chosen.kinds[name]),
        help="Grouped by kind: plain VAE, DFC VAE, VAE-GANs. The first of each kind is chosen by default.")
    chosen.models = _usable(chosen.models, chosen.dataset)
    try:
        split = test_set(chosen.dataset)
        chosen.sample, chosen.test_images = split.is_sample, len(split)
    except DataMissingError as error:
        chosen.data_error = str(error)
        short_notice(f"The {datasets.label(chosen.dataset)} test set could not be read.", details=chosen.data_error,
                     level="error")
    if chosen.sample:
        short_notice(f"Using the embedded sample: {chosen.test_images:,} test images.",
                     details=data_details(chosen.dataset))
    chosen.digits = digit_source(chosen.dataset, test_set_available=not chosen.data_error)


def short_notice(line: str, *, details: str, level: str = "info") -> None:
    """One line in the sidebar, the details on demand (sidebar messages are narrow: never a wall of text)."""
    getattr(st, level)(line)
    with st.expander("Details", expanded=False):
        st.markdown(details)


def data_details(dataset: str) -> str:
    folders = " and ".join(f"`{d.folder or d.name}/raw`" for d in datasets.SHIPPED)
    return (f"The data root `{workspace().data.resolve()}` holds no {datasets.label(dataset)} files, so the pages work "
            f"on the sample of its test split that ships with vae_lab, and training needs the full data set. "
            f"Fetch it with `{fetch_command()}`, or point `VAE_LAB_DATA` at a folder with "
            f"{folders}.\n\nOffline: {offline_sources()}")


def _usable(names: list[str], dataset: str) -> list[str]:
    """The chosen models that load; one line in the sidebar for each one that does not, for each unreadable
    checkpoint, and for the data set's classifier if it cannot be loaded."""
    problems = [(path.stem, error, "") for path, error in checkpoints.unreadable(workspace()).items()]
    usable = []
    for name in names:
        try:
            model(name)
            usable.append(name)
        except checkpoints.CheckpointError as error:
            problems.append((name, error, ""))
    found = judges.find_judge(dataset, workspace=workspace())
    try:
        judge(dataset, found.sha256) if found else None
    except checkpoints.CheckpointError as error:
        problems.append((found.name, error, " Pages show no classifier's readings."))
    for name, error, consequence in problems:
        short_notice(f"Model {links.shown(name)} cannot be used.{consequence}", details=links.shown(
            without_folders(error), limit=400), level="error")
    return usable


def selection() -> Selection:
    return st.session_state.get("selection") or Selection()


def require(chosen: Selection, *, digits: bool = True, test_set: bool = False) -> bool:
    """Say what is missing, for pages that cannot work without models, digits or the test set."""
    if not chosen.models:
        st.info("Choose at least one model in the sidebar.")
        return False
    if test_set and chosen.data_error:
        st.error(f"The test set could not be read: {chosen.data_error}")
        return False
    if test_set and chosen.sample:
        st.caption(f"Measured on the embedded sample of the test set (n = {chosen.test_images:,}): "
                   f"run `{fetch_command()}` for all of it.")
    if digits and (chosen.digits is None or len(chosen.digits) == 0):
        st.info(f"No {noun(chosen.dataset, plural=True)} yet: choose a source in the sidebar (upload or draw one, "
                f"or use the test set).")
        return False
    return True


# --- shared widgets and helpers ------------------------------------------------------------------

def pick_model(chosen: Selection, *, key: str) -> str:
    return links.widget(st.selectbox, "Model", chosen.models, key=key, options=chosen.models, what="model",
                        format_func=lambda name: model_label(name, chosen.kinds[name]))


def pick_digit(digits: Digits, label: str, *, key: str, default: int = 0) -> int:
    return links.widget(st.selectbox, label, range(len(digits)), index=min(default, len(digits) - 1),
                        format_func=lambda i: digits.captions[i], key=key, parse=int, options=range(len(digits)),
                        what=f"{label.lower()} image")
