"""The one module that imports Streamlit: cached loaders, the shared sidebar, shared widgets.

Models and data sets are cached per server with `st.cache_resource`, keyed by strings
(checkpoint path and modification time, data set name): tensors never go through Streamlit's
hasher. Pages call `selection()` for what the sidebar chose and lay out the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch
from PIL import Image

from . import checkpoints, explore, scorecard
from .data import CLASS_NAMES, SELECTED_TEST_DIGITS, DataMissingError, ImageSplit, data_root, load_split
from .images import ImageRejected, MAX_UPLOAD_BYTES, digit_from_upload, image_grid, to_mnist_digit
from .models import VAE, Classifier
from .train import KINDS, load_judge

KIND_LABELS = {"plain": "plain VAE", "dfc": "DFC VAE", "vaegan-hinge": "VAE-GAN, hinge",
               "vaegan-wgan": "VAE-GAN, Wasserstein", "classifier": "classifier"}
DATASET_LABELS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def model_label(name: str, kind: str) -> str:
    return f"{KIND_LABELS.get(kind, kind)}: {name}"


SOURCES = {"random": "Test set: random sample", "classes": "Test set: one per class",
           "index": "Test set: by index", "notebook": "The notebook's ten digits",
           "upload": "Upload images", "draw": "Draw a digit"}
NO_CHECKPOINTS = ("No trained models found in {dirs}. Train one from the sidebar's **Train a model** panel or "
                  "on the command line: `python -m vae_lab train --kind classifier` then "
                  "`python -m vae_lab train --kind dfc`.")


# --- cached resources ------------------------------------------------------------------------

@st.cache_resource(max_entries=24, show_spinner=False)
def _load(json_path: str, modified: float) -> torch.nn.Module:
    return checkpoints.load(json_path)


def model(name: str) -> VAE | Classifier:
    """A checkpoint's model, loaded once per server (a retrained file is reloaded)."""
    ckpt = checkpoints.find(name)
    return _load(str(ckpt.json_path), ckpt.json_path.stat().st_mtime)


@st.cache_resource(max_entries=4, show_spinner="Loading the test set...")
def _test_split(dataset: str, root: str) -> ImageSplit:
    return load_split(dataset, train=False, root=root)


def test_set(dataset: str) -> ImageSplit:
    """The data set's test split, loaded once per server and data root."""
    return _test_split(dataset, str(data_root()))


@st.cache_resource(max_entries=4, show_spinner=False)
def judge(dataset: str, modified: float) -> Classifier | None:
    return load_judge(dataset, torch.device("cpu"))[0]


def current_judge(dataset: str) -> Classifier | None:
    found = [c for c in checkpoints.available(kind="classifier", dataset=dataset) if c.name == "classifier"]
    return judge(dataset, found[0].json_path.stat().st_mtime) if found else None


@st.cache_data(max_entries=32, show_spinner=False)
def _analysis(name: str, sha256: str) -> scorecard.Analysis:
    return scorecard.analyse(name)


def analysis(name: str) -> scorecard.Analysis:
    """A model's full-test-set analysis: from memory, else the disk cache, else computed once."""
    return _analysis(name, checkpoints.find(name).sha256)


@st.cache_data(max_entries=16, show_spinner=False)
def _latent_means(name: str, sha256: str, dataset: str) -> np.ndarray:
    return explore.latent_means(model(name), test_set(dataset))


def latent_means(name: str, dataset: str) -> np.ndarray:
    return _latent_means(name, checkpoints.find(name).sha256, dataset)


def clear_caches() -> None:
    """After a checkpoint appears or changes (a training job finished)."""
    _load.clear()
    judge.clear()
    _analysis.clear()
    _latent_means.clear()


# --- the sidebar ---------------------------------------------------------------------------------

@dataclass
class Digits:
    """The digits the sidebar's data source chose: images (N, 1, 28, 28) in [0, 1]."""

    images: torch.Tensor
    labels: list[int | None]  # the true class where known (test set), else None
    captions: list[str]

    def __len__(self) -> int:
        return self.images.shape[0]


@dataclass
class Selection:
    dataset: str = "mnist"
    models: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # model name -> kind, for every model offered
    digits: Digits | None = None
    data_error: str = ""  # why the test set could not be loaded, if it could not

    @property
    def class_names(self) -> list[str]:
        return CLASS_NAMES[self.dataset]


def sidebar() -> Selection:
    """Draw the sidebar shared by every page and remember what it chose for `selection()`."""
    chosen = Selection()
    st.session_state["selection"] = chosen
    st.sidebar.title("vae_lab")
    found = checkpoints.available()
    vaes = [c for c in found if c.kind != "classifier"]
    if not vaes:
        st.sidebar.error(NO_CHECKPOINTS.format(dirs=", ".join(str(d) for d in checkpoints.checkpoint_dirs())))
        return chosen
    datasets = sorted({c.dataset for c in vaes}, key=list(DATASET_LABELS).index)
    chosen.dataset = st.sidebar.radio("Dataset", datasets, format_func=DATASET_LABELS.get, horizontal=True,
                                      key="dataset")
    options = sorted((c for c in vaes if c.dataset == chosen.dataset), key=lambda c: (KINDS.index(c.kind), c.name))
    chosen.kinds = kinds = {c.name: c.kind for c in options}
    default = [c.name for c in options if c.name.removeprefix(f"{chosen.dataset}-") == c.kind] or [options[0].name]
    chosen.models = st.sidebar.multiselect(
        "Models", [c.name for c in options], default=default, key=f"models-{chosen.dataset}",
        format_func=lambda name: model_label(name, kinds[name]),
        help="Grouped by kind: plain VAE, DFC VAE, VAE-GANs. The first of each kind is chosen by default.")
    try:
        test_set(chosen.dataset)
    except DataMissingError as error:
        chosen.data_error = f"**The data set is missing.** {error}"
        st.sidebar.error(chosen.data_error)
    chosen.digits = digit_source(chosen.dataset, test_set_available=not chosen.data_error)
    return chosen


def selection() -> Selection:
    return st.session_state.get("selection") or Selection()


def require(chosen: Selection, *, digits: bool = True, test_set: bool = False) -> bool:
    """Say what is missing, for pages that cannot work without models, digits or the test set."""
    if not chosen.models:
        st.info("Choose at least one model in the sidebar.")
        return False
    if test_set and chosen.data_error:
        st.error(chosen.data_error)
        return False
    if digits and (chosen.digits is None or len(chosen.digits) == 0):
        st.info("No digits yet: choose a data source in the sidebar (upload or draw one, or use the test set).")
        return False
    return True


def digit_source(dataset: str, *, test_set_available: bool = True) -> Digits:
    """The sidebar's data-source controls; the chosen digits as one batch."""
    sources = [key for key in SOURCES if key != "notebook" or dataset == "mnist"]
    source = st.sidebar.selectbox("Digits", sources, format_func=SOURCES.get, key="source")
    if source == "upload":
        return _uploaded_digits()
    if source == "draw":
        return _drawn_digit()
    if not test_set_available:
        return _digits([], [])
    split = test_set(dataset)
    if source == "random":
        count = st.sidebar.slider("How many", 1, 16, 8, key="random_count")
        if st.sidebar.button("Re-roll", icon=":material/casino:"):
            st.session_state["seed"] = st.session_state.get("seed", 0) + 1
        rng = np.random.default_rng(st.session_state.get("seed", 0))
        indices = sorted(rng.choice(len(split), size=count, replace=False).tolist())
    elif source == "classes":
        indices = split.one_per_class()
    elif source == "notebook":
        indices = list(SELECTED_TEST_DIGITS)
    else:
        indices = _indices_input(len(split))
    return digits_at(split, indices)


def digits_at(split: ImageSplit, indices: list[int]) -> Digits:
    images, labels = split.batch(torch.tensor(indices, dtype=torch.long))
    names = split.class_names
    return Digits(images, labels.tolist(), [f"#{i} ({names[int(y)]})" for i, y in zip(indices, labels)])


def _indices_input(size: int) -> list[int]:
    text = st.sidebar.text_input("Test image indices", "0, 1, 2, 3", key="indices",
                                 help=f"Comma-separated numbers from 0 to {size - 1}.")
    indices, bad = [], []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if part.isdigit() and int(part) < size:
            indices.append(int(part))
        elif part:
            bad.append(part)
    if bad:
        st.sidebar.warning(f"Ignored {', '.join(bad)}: indices are whole numbers from 0 to {size - 1}.")
    return indices


def _uploaded_digits() -> Digits:
    files = st.sidebar.file_uploader("PNG or JPEG images of digits", type=["png", "jpg", "jpeg"],
                                     accept_multiple_files=True, max_upload_size=MAX_UPLOAD_BYTES // 2**20,
                                     key="uploads")
    images, captions = [], []
    for upload in files or []:
        try:
            digit = digit_from_upload(upload.getvalue(), name=upload.name)
        except ImageRejected as error:
            st.sidebar.warning(str(error))
            continue
        left, right = st.sidebar.columns(2)
        left.image(upload.getvalue(), caption=upload.name, width="stretch")
        right.image(enlarge(digit), caption="as 28x28", width="stretch")
        images.append(torch.from_numpy(digit)[None])
        captions.append(upload.name)
    return _digits(images, captions)


def _drawn_digit() -> Digits:
    from streamlit_drawable_canvas import st_canvas  # a custom component: only needed here

    with st.sidebar:
        st.caption("Draw one digit, large, in the middle.")
        result = st_canvas(stroke_width=16, stroke_color="#FFFFFF", background_color="#000000", height=224,
                           width=224, drawing_mode="freedraw", return_image_data=True, key="canvas")
    image_data = getattr(result, "image_data", None) if result is not None else None
    if image_data is None or np.asarray(image_data)[..., :3].max() == 0:
        return _digits([], [])
    try:
        digit = to_mnist_digit(Image.fromarray(np.asarray(image_data).astype(np.uint8), "RGBA"))
    except ImageRejected as error:
        st.sidebar.warning(str(error))
        return _digits([], [])
    st.sidebar.image(enlarge(digit), caption="as 28x28", width=112)
    return _digits([torch.from_numpy(digit)[None]], ["drawing"])


def _digits(images: list[torch.Tensor], captions: list[str]) -> Digits:
    stacked = torch.stack(images) if images else torch.zeros(0, 1, 28, 28)
    return Digits(stacked, [None] * len(images), captions)


# --- shared widgets and helpers ------------------------------------------------------------------

def enlarge(images, scale: int = 4) -> np.ndarray:
    """A (H, W) image or a single (1, H, W) tensor as uint8, `scale` times larger, without smoothing."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return image_grid([array.reshape(1, *array.shape[-2:])], pad=0, scale=scale)


def pick_model(chosen: Selection, *, key: str) -> str:
    return st.selectbox("Model", chosen.models, key=key, format_func=lambda name: model_label(name, chosen.kinds[name]))


def pick_digit(digits: Digits, label: str, *, key: str, default: int = 0) -> int:
    return st.selectbox(label, range(len(digits)), index=min(default, len(digits) - 1),
                        format_func=lambda i: digits.captions[i], key=key)


# --- the training panel ---------------------------------------------------------------------------

def training_panel() -> None:
    """The sidebar's "Train a model" panel: a form while idle, a live monitor while a job runs."""
    from .jobs import JobError, JobManager

    manager = JobManager()
    latest = manager.latest()
    with st.sidebar.expander("Train a model", icon=":material/model_training:",
                             expanded=bool(latest and latest.active)):
        _job_monitor(manager, latest.id if latest else None, live=bool(latest and latest.active))
        if latest and latest.active:
            return
        config = _recipe_form()
        if config is None:
            return
        if st.button("Start training", type="primary", icon=":material/play_arrow:", key="train_start"):
            try:
                manager.start(config)
            except (JobError, OSError) as error:
                st.error(str(error))
                return
            st.rerun(scope="app")


WIDGET_FIELDS = ("epochs", "batch_size", "lr", "latent_dim", "train_limit")  # the form's number inputs


def _recipe_form():
    from .jobs import QUICK_CPU_RECIPES, estimate_seconds
    from .train import TrainConfig, pick_device

    kind = st.selectbox("Kind", KINDS, index=KINDS.index("dfc"), format_func=KIND_LABELS.get, key="train_kind")
    dataset = st.selectbox("Dataset", list(DATASET_LABELS), format_func=DATASET_LABELS.get, key="train_dataset")
    device_choice = st.selectbox("Device", ["auto", "cuda", "cpu"], key="train_device")
    try:
        device = pick_device(device_choice)
    except RuntimeError as error:
        st.error(str(error))
        return None
    quick = QUICK_CPU_RECIPES[kind]
    if device.type == "cpu":
        st.info(f"No GPU here, so this trains on the CPU. The quick CPU recipe ({quick['epochs']} epoch(s), "
                f"batch {quick['batch_size']}) gives a usable {KIND_LABELS[kind]} in a few minutes; the full "
                f"recipes behind the shipped models take much longer.")
        if st.button("Use the quick CPU recipe", key="train_quick"):
            for field_name, value in quick.items():
                st.session_state[f"train_{field_name}"] = value
    defaults = TrainConfig(kind=kind)
    for field_name, value in ({"lr": defaults.lr, "latent_dim": defaults.latent_dim} | quick).items():
        st.session_state.setdefault(f"train_{field_name}", value)  # widgets below read their values from here
    left, right = st.columns(2)
    epochs = left.number_input("Epochs", 1, 500, key="train_epochs")
    batch_size = right.number_input("Batch size", 8, 8192, key="train_batch_size")
    lr = left.number_input("Learning rate", 1e-5, 1e-1, format="%.4f", key="train_lr")
    latent_dim = right.number_input("Latent dim", 1, 64, key="train_latent_dim")
    train_limit = st.number_input("Training images (0 = all 60,000)", 0, 60000, step=1000, key="train_train_limit")
    values = {}
    if kind == "dfc":
        from .models import Classifier
        layers = st.multiselect("Perceptual layers", Classifier().layer_names, default=defaults.perceptual_layers,
                                key="train_layers")
        weights = st.text_input("Layer weights", ", ".join("1.0" for _ in layers), key=f"train_weights_{len(layers)}")
        try:
            values["perceptual_weights"] = [float(w) for w in weights.split(",") if w.strip()]
        except ValueError:
            st.error("Layer weights are numbers separated by commas, one per layer.")
            return None
        values["perceptual_layers"] = layers
    taken = {c.name for c in checkpoints.available()}
    suggested = next(f"my-{kind}-{i}" for i in range(1, 1000) if f"my-{kind}-{i}" not in taken)
    name = st.text_input("Name", suggested, key=f"train_name_{kind}")
    if name in taken:
        st.warning(f"A checkpoint named {name!r} exists; yours will replace it in the model picker.")
    try:
        config = TrainConfig(kind=kind, dataset=dataset, name=name, epochs=int(epochs), batch_size=int(batch_size),
                             lr=float(lr), latent_dim=int(latent_dim), device=device_choice,
                             train_limit=int(train_limit),
                             **{k: v for k, v in quick.items() if k not in WIDGET_FIELDS}, **values)
    except (AssertionError, ValueError) as error:
        st.error(str(error))
        return None
    estimate = estimate_seconds(config, device)
    st.caption(f"Runs on **{device}**. " + (f"Estimated time: about {_duration(estimate)}." if estimate else
                                            "No measured speed for this device yet: the time left shows once "
                                            "training starts."))
    return config


def _job_monitor(manager, job_id: str | None, *, live: bool) -> None:
    """The latest job's status; while it runs, redrawn every second without rerunning the page."""
    if job_id is None:
        return

    @st.fragment(run_every=1.0 if live else None)
    def monitor() -> None:
        from .figures import training_curves

        status = manager.status(job_id)
        events = manager.events(job_id)
        steps = [e for e in events if e["event"] == "step"]
        epochs = [e for e in events if e["event"] == "epoch"]
        st.markdown(f"**{KIND_LABELS.get(status.kind, status.kind)} '{status.name}'**: {status.state}")
        if status.active:
            last = steps[-1] if steps else None
            done = last["step"] / last["total_steps"] if last else 0.0
            eta = (last["elapsed_s"] / done - last["elapsed_s"]) if last and done > 0 else None
            text = (f"epoch {last['epoch']}/{last['epochs']}, step {last['step']}/{last['total_steps']}, "
                    f"{last['images_per_s']:,.0f} img/s" + (f", about {_duration(eta)} left" if eta else "")
                    if last else "starting...")
            st.progress(done, text=text)
            if st.button("Cancel", icon=":material/stop:", key="train_cancel"):
                manager.cancel(job_id)
                st.rerun(scope="app")
        if steps:
            keys = [k for k in ("loss", "reconstruction", "perceptual", "kl", "critic_loss") if k in steps[-1]["metrics"]]
            st.plotly_chart(training_curves(steps, epochs, keys), key=f"curves-{job_id}-{len(steps)}")
        preview = manager.preview(job_id)
        if preview:
            st.image(preview, caption=f"after epoch {len(epochs)}: originals, then reconstructions", width="stretch")
        if status.state == "succeeded":
            st.success(f"Done: {status.message}. It is in the model picker.")
            if job_id not in _published_jobs:  # once per job and server: caches are shared by all sessions
                _published_jobs.add(job_id)
                clear_caches()
            if st.session_state.get("job_seen") != job_id:  # once per session: redraw the model picker
                st.session_state["job_seen"] = job_id
                st.rerun(scope="app")
        elif status.state in ("failed", "cancelled"):
            (st.warning if status.state == "cancelled" else st.error)(status.message)
            st.code(manager.log_tail(job_id), language=None)
            resumable = manager.resumable(job_id)
            if resumable is not None and st.button("Resume from the last good epoch", key="train_resume"):
                from .train import TrainConfig
                recipe = checkpoints.read(resumable).meta["recipe"]
                manager.start(TrainConfig.from_dict(recipe), resume=resumable)
                st.rerun(scope="app")

    monitor()


_published_jobs: set[str] = set()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
