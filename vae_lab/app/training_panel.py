"""The sidebar's "Train a model" panel: a recipe form while idle (with "Add your own images", own_images.py), the
job's live status while it runs, and its loss curves and film at the top of the page's main area, where they have
room (job_view.py).

The form builds a `TrainConfig` (its one validation); the job manager writes it into the job's
folder, and the job process hands it to `train()`.
"""
from __future__ import annotations

import streamlit as st
import torch

from .. import checkpoints, judges, public, quick_record
from .. import datasets, kinds
from ..config import TrainConfig, pick_device, recipe
from ..data import has_split, missing_data_notice
from ..datasets import default_name
from ..distributed import World
from ..estimate import estimate_seconds
from ..jobs import JobError, device_choices
from .visitors import workspace
from ..layouts import scale_for
from ..models import Classifier
from . import job_view, links, own_images
from .ui import model_label
from .visitors import job_manager


def render() -> None:
    manager = job_manager()
    latest = manager.latest()
    shown = latest is not None and (latest.active or not manager.dismissed(latest.id))
    if shown:  # the curves and the film want the page's width, not the sidebar's
        with st.expander(f"Training {latest.name}: loss curves and film", icon=":material/monitoring:",
                         expanded=latest.active):
            job_view.job_details(manager, latest.id, latest.name, live=latest.active)
    outcome = st.sidebar.container()  # drawn in every run, so that the live status below keeps its place
    if shown and not latest.active:
        with outcome.container(border=True):  # the outcome stays, whatever the panel below does
            job_view.job_status(manager, latest.id, live=False)
            if st.button("Dismiss", icon=":material/close:", key="train_dismiss"):
                manager.dismiss(latest.id)
                st.rerun(scope="app")
    with st.sidebar.expander("Train a model", icon=":material/model_training:",
                             expanded=bool(latest and latest.active)):
        if latest and latest.active:
            job_view.job_status(manager, latest.id, live=True)
            return
        config = recipe_form()
        if config is None:
            return
        if st.button("Start training", type="primary", icon=":material/play_arrow:", key="train_start"):
            try:
                manager.start(config, processes=st.session_state.get("train_processes", 1))
            except (JobError, OSError, ValueError) as error:
                st.error(str(error))
                return
            st.rerun(scope="app")


def recipe_form() -> TrainConfig | None:
    """The form; the config it describes, or None (with the reason shown) if it is not valid."""
    offered = kinds.names()
    kind = st.selectbox("Kind", offered, index=offered.index(kinds.DFC.name), format_func=kinds.label,
                        key="train_kind")
    if own_images.chosen_dataset():  # a data set just added from a zip is the one to train on
        st.session_state["train_dataset"] = own_images.chosen_dataset()
    dataset = st.selectbox("Dataset", datasets.visible_to(workspace().visitor), format_func=datasets.label,
                           key="train_dataset")
    own_images.render()
    entry = kinds.get(kind)
    chosen = device_input()
    if chosen is None:
        return None
    device_choice, device, where = chosen
    quick = device.type == "cpu"
    defaults = recipe(kind, device=device, quick=quick)
    limits = public.PublicSettings.from_env() if public.enabled() else None
    if not notices(entry, dataset, defaults, limits, quick=quick):
        return None
    numbers = number_inputs(kind, dataset, device, defaults)
    values = {}
    if entry.is_vae:
        values["init_from"] = start_from_input(kind, dataset, defaults["init_from"])
    if quick and quick_record.caption(kind):
        st.caption(measured_caption(kind, dataset, defaults, values["init_from"]))
    if entry.uses_classifier:
        values["perceptual_model"] = perceptual_model_input(dataset)
        layers = perceptual_layers_input(defaults["perceptual_layers"])
        if layers is None:
            return None
        values["perceptual_layers"] = layers
    name = name_input(kind, public=limits is not None)
    if name is None:
        return None
    try:
        config = TrainConfig(kind=kind, dataset=dataset, name=name, device=device_choice, quick=quick,
                             max_minutes=limits.job_minutes if limits else 0.0, **numbers, **values).resolved(device)
        World(size=st.session_state["train_processes"]).check_batch(config.batch_size)
    except ValueError as error:
        st.error(str(error))
        return None
    single = st.session_state["train_processes"] == 1
    # no measured multi-GPU speed
    estimate = estimate_seconds(config, device, workspace=workspace()) if single else None
    st.caption(f"Runs on **{where}**. " + (f"Estimated time: about {job_view.duration(estimate)}." if estimate else
                                           "No measured speed for this device yet: the time left shows once "
                                           "training starts."))
    return config


def device_input() -> tuple[str, torch.device, str] | None:
    """The device chosen (its config value, the device, and how to name it), or None if it is not here."""
    choices = device_choices(torch.cuda.device_count())
    device_label = st.selectbox("Device", list(choices), key="train_device")
    device_choice, processes = choices[device_label]
    st.session_state["train_processes"] = processes  # read by the start button
    try:
        device = pick_device(device_choice)
    except RuntimeError as error:
        st.error(str(error))
        return None
    return device_choice, device, device_label if processes > 1 else str(device)


def notices(entry: kinds.Kind, dataset: str, defaults: dict, limits: public.PublicSettings | None, *,
            quick: bool) -> bool:
    """What a visitor should know before choosing numbers; False when the data set is not here to train on."""
    if limits is not None:
        st.info(f"Public demo: your models are yours alone (this browser) and are removed after "
                f"{limits.keep_hours:g} h. One job trains on this server at a time, for at most "
                f"{limits.job_minutes:g} minutes (then the epoch in progress ends and the model is saved), "
                f"{limits.jobs_per_hour} per visitor per hour." + (
                    "" if workspace().kept else f" {public.NOT_KEPT}"))
    if not has_split(dataset, train=True):  # say so before a job starts, not after it fails
        st.info(missing_data_notice(dataset))
        return False
    if quick and limits is None:
        st.info(f"No GPU here, so this trains on the CPU. The quick CPU recipe ({defaults['epochs']} epoch(s), "
                f"batch {defaults['batch_size']}) gives a usable {entry.label} in a few minutes; the full "
                f"recipes behind the shipped models take much longer.")
    return True


def number_inputs(kind: str, dataset: str, device: torch.device, defaults: dict) -> dict:
    """Epochs, batch, learning rate, latent size and images: the recipe's for a newly chosen kind or device."""
    if st.session_state.get("train_recipe_for") != (kind, dataset, device.type):
        st.session_state["train_recipe_for"] = (kind, dataset, device.type)
        for key in ("epochs", "batch_size", "train_limit"):
            st.session_state[f"train_{key}"] = defaults[key]
        st.session_state["train_lr"] = defaults.get("lr", 1e-3)
        st.session_state["train_latent_dim"] = scale_for(datasets.get(dataset).image_shape).latent_dim
    left, right = st.columns(2)
    epochs = left.number_input("Epochs", 1, 500, key="train_epochs")
    batch_size = right.number_input("Batch size", 8, 8192, key="train_batch_size")
    lr = left.number_input("Learning rate", 1e-5, 1e-1, format="%.4f", key="train_lr")
    latent_dim = right.number_input("Latent dim", 1, 128, key="train_latent_dim")
    train_size = datasets.get(dataset).train_size
    train_limit = st.number_input(f"Training images (0 = all {train_size:,})", 0, train_size,
                                  step=1000, key="train_train_limit")
    return {"epochs": int(epochs), "batch_size": int(batch_size), "lr": float(lr), "latent_dim": int(latent_dim),
            "train_limit": int(train_limit)}


def name_input(kind: str, *, public: bool) -> str | None:
    """The new model's name (a free one by default), or None if a visitor chose a shipped model's."""
    taken = {c.name for c in checkpoints.available(workspace=workspace())}
    suggested = next(f"my-{kind}-{i}" for i in range(1, 1000) if f"my-{kind}-{i}" not in taken)
    name = st.text_input("Name", suggested, key=f"train_name_{kind}")
    if public and name in checkpoints.shipped_names():  # every visitor's numbers rest on these
        st.error(f"{name!r} is the name of a shipped model; choose another name for yours.")
        return None
    if name in taken:
        st.warning(f"A checkpoint named {name!r} exists; yours will replace it in the model picker.")
    return name


def start_from_input(kind: str, dataset: str, recipe_start: str) -> str:
    """Scratch, or the name of a VAE of this data set to start from; the recipe's starting model by default."""
    starts = checkpoints.vaes(dataset=dataset, workspace=workspace())
    options = [""] + [c.name for c in starts]
    labels = {"": "scratch"} | {c.name: model_label(c.name, c.kind) for c in starts}
    default = default_name(recipe_start, dataset) if recipe_start else ""
    return st.selectbox("Start from", options, index=options.index(default) if default in options else 0,
                        format_func=labels.get, key=f"train_init_from_{kind}_{dataset}",
                        help="A trained model's weights to begin with (a fresh optimiser; a VAE-GAN's critic "
                             "starts new): a plain VAE becomes a DFC VAE in a fraction of an epoch.")


def measured_caption(kind: str, dataset: str, defaults: dict, init_from: str) -> str:
    """What the quick recipe was measured to reach, or why the choice made is not that recipe."""
    recipe_start = default_name(defaults["init_from"], dataset) if defaults["init_from"] else ""
    if recipe_start not in checkpoints.shipped_names():  # the data set ships no such model: the recipe starts afresh
        recipe_start = ""
    if init_from != recipe_start:
        return (f"The quick recipe's figures were measured from "
                f"{recipe_start or 'scratch'}; from {init_from or 'scratch'} they are not measured.")
    return quick_record.caption(kind)


def perceptual_model_input(dataset: str) -> str:
    """The network whose features the DFC loss compares: the data set's classifier first, then others of the same
    image size, then a fixed random network (the one choice for images without labels)."""
    choices = judges.perceptual_choices(dataset, workspace=workspace())
    return st.selectbox("Perceptual network", choices, key=f"train_perceptual_{dataset}",
                        format_func=lambda name: "a fixed random network" if name == judges.RANDOM else name,
                        help="Whose features the DFC loss compares. A classifier of other images of this size "
                             "works too; an untrained network's features are a usable perceptual measure as well "
                             "(see the model card for how well here).")


def perceptual_layers_input(default: dict[str, float]) -> dict[str, float] | None:
    """The DFC loss's layers and their weights (the recipe's at first), as the mapping the config takes."""
    layers = st.multiselect("Perceptual layers", Classifier().layer_names, default=list(default), key="train_layers")
    text = st.text_input("Layer weights", ", ".join(str(default.get(layer, 1.0)) for layer in layers),
                         key=f"train_weights_{'-'.join(layers)}",
                         help="One number per chosen layer, in the same order, separated by commas.")
    try:
        weights = links.floats(",".join(w for w in text.split(",") if w.strip())) if text.strip() else []
    except ValueError:  # also nan and inf
        st.error("Layer weights are finite numbers separated by commas, one per layer.")
        return None
    if len(weights) != len(layers):
        st.error(f"Give one weight per perceptual layer: {len(layers)} layer(s), {len(weights)} weight(s).")
        return None
    return dict(zip(layers, weights))
