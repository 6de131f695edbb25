"""The sidebar's "Train a model" panel: a recipe form while idle, a live monitor while a job runs.

The form builds a `TrainConfig` (its one validation); the job manager writes it into the job's
folder, and the job process hands it to `train()`.
"""
from __future__ import annotations

import streamlit as st
import torch

from .. import checkpoints, public, quick_record
from .. import datasets, kinds
from ..config import TrainConfig, pick_device, recipe
from ..data import has_split, missing_data_notice
from ..datasets import default_name
from ..distributed import World
from ..estimate import estimate_seconds
from ..figures import film_measures_chart, training_curves
from ..job_status import JobError, seconds_left
from ..jobs import JobManager, device_choices
from ..models import Classifier
from . import links
from .loaders import clear_caches
from .ui import model_label
from .visitors import job_manager

_published_jobs: set[str] = set()  # jobs whose model this server has picked up (caches are per server)


def render() -> None:
    manager = job_manager()
    latest = manager.latest()
    if latest is not None and not latest.active and not manager.dismissed(latest.id):
        with st.sidebar.container(border=True):  # the outcome stays, whatever the panel below does
            job_monitor(manager, latest.id, live=False)
            if st.button("Dismiss", icon=":material/close:", key="train_dismiss"):
                manager.dismiss(latest.id)
                st.rerun(scope="app")
    with st.sidebar.expander("Train a model", icon=":material/model_training:",
                             expanded=bool(latest and latest.active)):
        if latest and latest.active:
            job_monitor(manager, latest.id, live=True)
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
    dataset = st.selectbox("Dataset", datasets.names(), format_func=datasets.label, key="train_dataset")
    entry = kinds.get(kind)
    choices = device_choices(torch.cuda.device_count())
    device_label = st.selectbox("Device", list(choices), key="train_device")
    device_choice, processes = choices[device_label]
    st.session_state["train_processes"] = processes  # read by the start button
    try:
        device = pick_device(device_choice)
    except RuntimeError as error:
        st.error(str(error))
        return None
    quick = device.type == "cpu"
    defaults = recipe(kind, device=device, quick=quick)
    limits = public.PublicSettings.from_env() if public.enabled() else None
    if limits is not None:
        st.info(f"Public demo: your models are yours alone (this browser) and are removed after "
                f"{limits.keep_hours:g} h. One job trains on this server at a time, for at most "
                f"{limits.job_minutes:g} minutes (then the epoch in progress ends and the model is saved), "
                f"{limits.jobs_per_hour} per visitor per hour.")
    if not has_split(dataset, train=True):  # say so before a job starts, not after it fails
        st.info(missing_data_notice(dataset))
        return None
    if quick and limits is None:
        st.info(f"No GPU here, so this trains on the CPU. The quick CPU recipe ({defaults['epochs']} epoch(s), "
                f"batch {defaults['batch_size']}) gives a usable {entry.label} in a few minutes; the full "
                f"recipes behind the shipped models take much longer.")
    if st.session_state.get("train_recipe_for") != (kind, device.type):  # a new kind or device: its recipe's numbers
        st.session_state["train_recipe_for"] = (kind, device.type)
        for key in ("epochs", "batch_size", "train_limit"):
            st.session_state[f"train_{key}"] = defaults[key]
        st.session_state["train_lr"] = defaults.get("lr", 1e-3)
    st.session_state.setdefault("train_latent_dim", 5)
    left, right = st.columns(2)
    epochs = left.number_input("Epochs", 1, 500, key="train_epochs")
    batch_size = right.number_input("Batch size", 8, 8192, key="train_batch_size")
    lr = left.number_input("Learning rate", 1e-5, 1e-1, format="%.4f", key="train_lr")
    latent_dim = right.number_input("Latent dim", 1, 64, key="train_latent_dim")
    train_size = datasets.get(dataset).train_size
    train_limit = st.number_input(f"Training images (0 = all {train_size:,})", 0, train_size,
                                  step=1000, key="train_train_limit")
    values = {}
    if entry.is_vae:
        values["init_from"] = start_from_input(kind, dataset, defaults["init_from"])
    if quick and quick_record.caption(kind):
        st.caption(measured_caption(kind, dataset, defaults, values["init_from"]))
    if entry.uses_classifier:
        layers = perceptual_layers_input(defaults["perceptual_layers"])
        if layers is None:
            return None
        values["perceptual_layers"] = layers
    taken = {c.name for c in checkpoints.available()}
    suggested = next(f"my-{kind}-{i}" for i in range(1, 1000) if f"my-{kind}-{i}" not in taken)
    name = st.text_input("Name", suggested, key=f"train_name_{kind}")
    if limits is not None and name in checkpoints.shipped_names():  # every visitor's numbers rest on these
        st.error(f"{name!r} is the name of a shipped model; choose another name for yours.")
        return None
    if name in taken:
        st.warning(f"A checkpoint named {name!r} exists; yours will replace it in the model picker.")
    try:
        config = TrainConfig(kind=kind, dataset=dataset, name=name, epochs=int(epochs), batch_size=int(batch_size),
                             lr=float(lr), latent_dim=int(latent_dim), device=device_choice, quick=quick,
                             train_limit=int(train_limit), max_minutes=limits.job_minutes if limits else 0.0,
                             **values)
        World(size=processes).check_batch(config.batch_size)
    except ValueError as error:
        st.error(str(error))
        return None
    estimate = estimate_seconds(config, device) if processes == 1 else None  # no measured multi-GPU speed
    where = device_label if processes > 1 else device
    st.caption(f"Runs on **{where}**. " + (f"Estimated time: about {duration(estimate)}." if estimate else
                                           "No measured speed for this device yet: the time left shows once "
                                           "training starts."))
    return config


def start_from_input(kind: str, dataset: str, recipe_start: str) -> str:
    """Scratch, or the name of a VAE of this data set to start from; the recipe's starting model by default."""
    starts = checkpoints.vaes(dataset=dataset)
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
    if init_from != recipe_start:
        return (f"The quick recipe's figures were measured from "
                f"{recipe_start or 'scratch'}; from {init_from or 'scratch'} they are not measured.")
    return quick_record.caption(kind)


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


def job_monitor(manager: JobManager, job_id: str, *, live: bool) -> None:
    """The job's status; while it runs, redrawn every second without rerunning the page."""

    @st.fragment(run_every=1.0 if live else None)
    def monitor() -> None:
        status = manager.status(job_id)
        events = manager.events(job_id)
        steps = [e for e in events if e["event"] == "step"]
        epochs = [e for e in events if e["event"] == "epoch"]
        st.markdown(f"**{kinds.label(status.kind)} '{status.name}'**: {status.state}")
        if status.active:
            last = steps[-1] if steps else None
            done = last["step"] / last["total_steps"] if last else 0.0
            eta = seconds_left(last)
            text = (f"epoch {last['epoch']}/{last['epochs']}, step {last['step']}/{last['total_steps']}, "
                    f"{last['images_per_s']:,.0f} img/s" + (f", about {duration(eta)} left" if eta else "")
                    if last else "starting...")
            st.progress(done, text=text)
            if st.button("Cancel", icon=":material/stop:", key="train_cancel"):
                manager.cancel(job_id)
                st.rerun(scope="app")
        if steps:
            shown = ("loss", "reconstruction", "perceptual", "kl", "critic_loss")
            keys = [k for k in shown if k in steps[-1]["metrics"]]
            st.plotly_chart(training_curves(steps, epochs, keys), key=f"curves-{job_id}-{len(steps)}")
        film = manager.film(job_id)
        if film:
            st.image(film, caption="The training so far: test images, their reconstructions, and fixed prior "
                                   "points decoded, a frame every 50 steps", width="stretch")
            st.download_button("Download the training as GIF", film, file_name=f"{status.name}-training.gif",
                               mime="image/gif", icon=":material/movie:", key=f"film-{job_id}")
            measures = manager.film_measures(job_id)
            if measures and measures["frames"]:
                st.plotly_chart(film_measures_chart(measures["frames"]),
                                key=f"film-measures-{job_id}-{len(measures['frames'])}")
                st.caption(f"Blur and meaning, frame by frame, on the first {measures['images']:,} test images: "
                           "a perceptual loss should raise the Laplacian variance (sharper reconstructions) "
                           "while the classifier still reads them as the digits they came from.")
        else:
            preview = manager.preview(job_id)
            if preview:
                st.image(preview, caption=f"after epoch {len(epochs)}: originals, then reconstructions",
                         width="stretch")
        if status.state == "succeeded":
            st.success(f"Done: {status.message}. It is in the model picker.")
            if status.warning:
                st.warning(status.warning)
            if job_id not in _published_jobs:  # once per job and server: caches are shared by all sessions
                _published_jobs.add(job_id)
                clear_caches()
            if st.session_state.get("job_seen") != job_id:  # once per session: choose it in the model picker
                st.session_state["job_seen"] = job_id
                st.session_state["select_model"] = checkpoints.read(status.checkpoint).dataset, status.name
                st.rerun(scope="app")
        elif status.state in ("failed", "cancelled"):
            (st.warning if status.state == "cancelled" else st.error)(status.message)
            st.code(manager.log_tail(job_id), language=None)
            resumable = manager.resumable(job_id)
            if resumable is not None and st.button("Resume from the last good epoch", key="train_resume"):
                try:
                    recipe_values = checkpoints.read(resumable).meta["recipe"]
                    manager.start(TrainConfig.from_dict(recipe_values), resume=resumable)
                except (JobError, OSError, checkpoints.CheckpointError, ValueError) as error:  # busy, as for a start
                    st.error(str(error))
                    return
                st.rerun(scope="app")


    monitor()


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
