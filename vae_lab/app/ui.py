"""Streamlit glue shared by every page: cached loaders, the shared sidebar, shared widgets.
(The sidebar's training panel is training_panel.py; the core modules never import Streamlit.)

Models and data sets are cached per server with `st.cache_resource`, keyed by strings
(checkpoint path and modification time, data set name): tensors never go through Streamlit's
hasher. Pages call `selection()` for what the sidebar chose and lay out the rest.
"""
from __future__ import annotations

import os
import re
import json
import time
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch
from PIL import Image

from .. import checkpoints, explore, lesson, lesson_record, public, scorecard
from . import links
from ..blur import BlurStudy
from ..config import KINDS
from ..data import (CLASS_NAMES, DATASET_LABELS, DEFAULT_DIGITS, FETCH_COMMAND, OFFLINE_SOURCES,
                    SELECTED_TEST_DIGITS, DataMissingError, ImageSplit, data_root, test_split)
from ..images import MAX_UPLOAD_BYTES, MAX_UPLOADS, ImageRejected, digit_doubts, image_grid, read_upload, to_mnist_digit
from ..jobs import JobManager, jobs_root
from ..models import VAE, Classifier

KIND_LABELS = {"plain": "plain VAE", "dfc": "DFC VAE", "vaegan-hinge": "VAE-GAN, hinge",
               "vaegan-wgan": "VAE-GAN, Wasserstein", "classifier": "classifier"}


def model_label(name: str, kind: str) -> str:
    return f"{KIND_LABELS.get(kind, kind)}: {name}"


SOURCES = {"random": "Test set: random sample", "classes": "Test set: one per class",
           "index": "Test set: by index", "notebook": "The notebook's ten digits",
           "upload": "Upload images", "draw": "Draw {noun}"}


def noun(dataset: str, *, plural: bool = False, article: bool = False) -> str:
    """What one image shows, for the pages' text: a digit on MNIST, an item of clothing on Fashion-MNIST
    (with `article`: "a digit", "an item")."""
    word = "digit" if dataset == "mnist" else "item"
    if plural:
        return word + "s"
    return f"{'a' if word == 'digit' else 'an'} {word}" if article else word
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
def _test_split(dataset: str, root: str, files_present: bool) -> ImageSplit:
    return test_split(dataset, root=root)


def test_set(dataset: str) -> ImageSplit:
    """The data set's test split (else the embedded sample), loaded once per server, data root and presence of
    the files, so that data fetched while the server runs is picked up."""
    from ..data import has_split
    return _test_split(dataset, str(data_root()), has_split(dataset, train=False))


@st.cache_resource(max_entries=4, show_spinner=False)
def judge(dataset: str, sha256: str) -> Classifier | None:
    found = checkpoints.load_judge(dataset)
    return found.classifier if found else None


def current_judge(dataset: str) -> Classifier | None:
    """The data set's classifier, loaded once per server (a retrained one is reloaded); None if there is none,
    or if it cannot be loaded (the sidebar says why)."""
    found = checkpoints.find_judge(dataset)
    try:
        return judge(dataset, found.sha256) if found else None
    except checkpoints.CheckpointError:
        return None


def without_folders(error: Exception) -> str:
    """An error's text without the server's checkpoint folders (a visitor's holds their id)."""
    text = str(error)
    for folder in checkpoints.checkpoint_dirs():
        text = text.replace(f"{folder}{os.sep}", "")
    return text


def unusable(name: str, error: Exception) -> str:
    """One line for a model that cannot be used."""
    return f"Model {links.shown(name)} cannot be used: {links.shown(without_folders(error), limit=240)}"


@st.cache_data(max_entries=32, show_spinner=False)
def _analysis(name: str, key: str, root: str) -> scorecard.Analysis:
    return scorecard.analyse(name)


def _analysis_key(name: str) -> tuple[str, str, str]:
    """What a model's numbers depend on, as the server-wide cache's key: its name, the disk cache's key (the
    model's weights and posterior, the classifier that judges it, whether the test set is the embedded sample)
    and the data root."""
    return name, scorecard.cache_key(checkpoints.find(name)), str(data_root())


def analysis(name: str) -> scorecard.Analysis:
    """A model's full-test-set analysis: from memory, else the disk cache, else computed once."""
    return _analysis(*_analysis_key(name))


def analyses(names: list[str]) -> dict[str, scorecard.Analysis]:
    """Several models' analyses; those not yet in memory are announced in a progress bar (model k of n),
    since computing one takes about 10 s on two CPU cores."""
    found, bar = {}, None
    for k, name in enumerate(names):
        try:
            _analysis_key(name)
        except checkpoints.CheckpointError as error:  # said once per model; the other models still show
            st.error(unusable(name, error))
            continue
        if bar is None and not _analysis_ready(name):
            bar = st.progress(0.0)
        if bar is not None:
            bar.progress(k / len(names), text=f"Analysing the whole test set with model {k + 1} of {len(names)}: "
                                             f"{name} (once per model, then cached)...")
        try:
            found[name] = analysis(name)
        except checkpoints.CheckpointError as error:
            st.error(unusable(name, error))
            continue
        _analysed.add(_analysis_key(name))
    if bar is not None:
        bar.empty()
    return found


def _analysis_ready(name: str) -> bool:
    """In this server's memory already, or in the disk cache (looked up once per model and server)."""
    return _analysis_key(name) in _analysed or scorecard.is_cached(checkpoints.find(name))


_analysed: set[tuple] = set()  # the analyses this server has shown (by cache key); cleared with the caches


def blur_study(names: list[str], dataset: str) -> BlurStudy:
    """The blur study of `names` on the whole test set (see `analyses` for the progress shown)."""
    split = test_set(dataset)
    return BlurStudy(dataset, split.labels.numpy(), split.class_names, analyses(names))


@st.cache_data(max_entries=16, show_spinner=False)
def _latent_means(name: str, sha256: str, dataset: str, split_key: tuple) -> np.ndarray:
    return explore.latent_means(model(name), test_set(dataset))


def fingerprint(name: str) -> str:
    """The checkpoint's weights hash: changes when it is retrained."""
    return checkpoints.find(name).sha256


def latent_means(name: str, dataset: str) -> np.ndarray:
    split = test_set(dataset)  # the full test split or the embedded sample: each its own codes
    return _latent_means(name, fingerprint(name), dataset, (split.is_sample, len(split)))


def _lesson_files(dataset: str) -> str:
    """The hashes of every checkpoint file the lesson reads: a retrained one is a new key."""
    return json.dumps(lesson_record.inputs(dataset), sort_keys=True)


@st.cache_resource(max_entries=4, show_spinner=False)
def _judges(dataset: str, files: str) -> lesson.Judges:
    return lesson.Judges.of(dataset)


def lesson_judges(dataset: str) -> lesson.Judges:
    """The data set's shipped perceptual losses (the DFC VAE's classifier, the hinge VAE-GAN's critic)."""
    return _judges(dataset, _lesson_files(dataset))


@st.cache_data(max_entries=4, show_spinner="Asking each loss about a thousand test images...")
def _verdicts(dataset: str, files: str, root: str) -> dict[str, lesson.Verdict]:
    x, _ = test_set(dataset).batch(slice(0, lesson.VERDICT_IMAGES))
    return lesson.verdict_summary(x, lesson_judges(dataset))


@st.cache_resource(max_entries=4, show_spinner=False)
def _record(dataset: str, files: str) -> lesson_record.Record | None:
    return lesson_record.load(dataset)


def lesson_record_of(dataset: str) -> lesson_record.Record | None:
    """The stored lesson figures, where they were computed with the checkpoints in use (else None)."""
    return _record(dataset, _lesson_files(dataset))


def lesson_verdicts(dataset: str) -> dict[str, lesson.Verdict]:
    """How each shipped loss ranks a strong blur against a 2-pixel shift, over the first test images: from the
    stored record where it is current, else computed once per server."""
    record = lesson_record_of(dataset)
    if record is not None:
        return record.verdicts
    return _verdicts(dataset, _lesson_files(dataset), str(data_root()))


_optima: dict[tuple, dict[str, lesson.Optimum]] = {}  # per server: the lesson's loss optima, the latest few
MAX_OPTIMA = 32


def loss_optima(dataset: str, targets: torch.Tensor, on_step) -> dict[str, lesson.Optimum]:
    """`lesson.optima` of `targets`: from the stored record where it has them, else found once per server
    (`on_step` shows the search when it runs)."""
    record = lesson_record_of(dataset)
    centre = targets[len(targets) // 2:len(targets) // 2 + 1]
    max_shift = (int(len(targets) ** 0.5) - 1) // 2
    stored = record.optima(centre, max_shift) if record is not None else None
    if stored is not None:
        return stored
    key = (dataset, _lesson_files(dataset), targets.numpy().tobytes())
    if key not in _optima:
        if len(_optima) >= MAX_OPTIMA:
            _optima.pop(next(iter(_optima)))
        _optima[key] = lesson.optima(targets, lesson_judges(dataset), on_step=on_step)
    return _optima[key]


def clear_caches() -> None:
    """After a checkpoint appears or changes (a training job finished)."""
    _load.clear()
    _judges.clear()
    _record.clear()
    _verdicts.clear()
    _optima.clear()
    judge.clear()
    _analysis.clear()
    _latent_means.clear()
    _analysed.clear()


# --- public mode ---------------------------------------------------------------------------------

_last_sweep = [0.0]  # per server: when visitors' old models and jobs were last removed
SWEEP_EVERY_S = 600


VISITOR_COOKIE = "vae_lab_visitor"


def visitor() -> str:
    """This browser's id in public mode: its models and jobs are its own. A random id kept in a cookie of this
    site, so that a reload, another tab or a restarted server finds the same visitor (and the same limits)."""
    if "visitor" not in st.session_state:
        sent = st.context.cookies.get(VISITOR_COOKIE, "")
        st.session_state["visitor"] = sent if public.is_visitor_id(sent) else public.new_visitor_id()
    return st.session_state["visitor"]


def _remember_visitor(settings: public.PublicSettings) -> None:
    """Once per session: (re)set the visitor's cookie in this browser, for as long as their models are kept.
    Only this session's page carries the id; in the Space's cross-site iframe the cookie must be SameSite=None,
    Secure and Partitioned (a third-party cookie otherwise), which needs https."""
    if st.session_state.get("visitor_remembered") == visitor():
        return
    st.session_state["visitor_remembered"] = visitor()
    attributes = f"Max-Age={round(3600 * settings.keep_hours)}; Path=/; "
    st.sidebar.html(f"""<script>
        document.cookie = "{VISITOR_COOKIE}={visitor()}; {attributes}" +
            (location.protocol === "https:" ? "SameSite=None; Secure; Partitioned" : "SameSite=Lax");
        </script>""", unsafe_allow_javascript=True)


def enter_session() -> None:
    """At the start of every run: in public mode, this visitor's model folder; now and then, the sweep."""
    if not public.enabled():
        checkpoints.use_session_dir(None)
        return
    checkpoints.use_session_dir(public.visitor_dir(checkpoints.user_root(), visitor()))
    _remember_visitor(public.PublicSettings.from_env())
    if time.time() - _last_sweep[0] > SWEEP_EVERY_S:
        _last_sweep[0] = time.time()
        public.sweep(checkpoints.user_root(), jobs_root(), public.PublicSettings.from_env())


def job_manager() -> JobManager:
    """Everyone's jobs on a private lab; the visitor's own, with the demo's limits, in public mode."""
    if not public.enabled():
        return JobManager()
    return JobManager(owner=visitor(), limits=public.PublicSettings.from_env(), publish_to=checkpoints.user_dir())


# --- the sidebar ---------------------------------------------------------------------------------

@dataclass
class Digits:
    """The digits the sidebar's data source chose: images (N, 1, 28, 28) in [0, 1]."""

    images: torch.Tensor
    labels: list[int | None]  # the true class where known (test set), else None
    captions: list[str]
    doubts: list[list[str]] = field(default_factory=list)  # uploads and drawings: why it may not be a digit

    def __len__(self) -> int:
        return self.images.shape[0]


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
        return CLASS_NAMES[self.dataset]


def sidebar() -> Selection:
    """Draw the sidebar shared by every page and remember what it chose for `selection()`."""
    enter_session()
    chosen = Selection()
    st.session_state["selection"] = chosen
    st.sidebar.title("vae_lab")
    found = checkpoints.available()
    vaes = [c for c in found if c.kind != "classifier"]
    if not vaes:
        st.sidebar.error(NO_CHECKPOINTS.format(dirs=", ".join(str(d) for d in checkpoints.checkpoint_dirs())))
        return chosen
    datasets = sorted({c.dataset for c in vaes}, key=list(DATASET_LABELS).index)
    links.seed("dataset", options=datasets, what="data set")
    new_model = st.session_state.pop("select_model", None)  # a training job just published this one
    if new_model and new_model[0] in datasets:
        st.session_state["dataset"] = new_model[0]
    chosen.dataset = st.sidebar.radio("Dataset", datasets, format_func=DATASET_LABELS.get, horizontal=True,
                                      key="dataset")
    options = sorted((c for c in vaes if c.dataset == chosen.dataset), key=lambda c: (KINDS.index(c.kind), c.name))
    chosen.kinds = kinds = {c.name: c.kind for c in options}
    default = [c.name for c in options if c.name.removeprefix(f"{chosen.dataset}-") == c.kind] or [options[0].name]
    links.seed(f"models-{chosen.dataset}", parse=links.names, options=kinds, what="models")
    if new_model and new_model[1] in kinds:
        shown = st.session_state.get(f"models-{chosen.dataset}", default)
        st.session_state[f"models-{chosen.dataset}"] = [*shown, new_model[1]] if new_model[1] not in shown else shown
    chosen.models = st.sidebar.multiselect(
        "Models", [c.name for c in options], default=default, key=f"models-{chosen.dataset}",
        format_func=lambda name: model_label(name, kinds[name]),
        help="Grouped by kind: plain VAE, DFC VAE, VAE-GANs. The first of each kind is chosen by default.")
    chosen.models = _usable(chosen.models, chosen.dataset)
    try:
        split = test_set(chosen.dataset)
        chosen.sample, chosen.test_images = split.is_sample, len(split)
    except DataMissingError as error:
        chosen.data_error = str(error)
        short_notice(f"The {DATASET_LABELS[chosen.dataset]} test set could not be read.", details=chosen.data_error,
                     level="error")
    if chosen.sample:
        short_notice(f"Using the embedded sample: {chosen.test_images:,} test images.",
                     details=data_details(chosen.dataset))
    chosen.digits = digit_source(chosen.dataset, test_set_available=not chosen.data_error)
    return chosen


def short_notice(line: str, *, details: str, level: str = "info") -> None:
    """One line in the sidebar, the details on demand (sidebar messages are narrow: never a wall of text)."""
    getattr(st.sidebar, level)(line)
    with st.sidebar.expander("Details", expanded=False):
        st.markdown(details)


def data_details(dataset: str) -> str:
    return (f"The data root `{data_root().resolve()}` holds no {DATASET_LABELS[dataset]} files, so the pages work "
            f"on the sample of its test split that ships with vae_lab, and training needs the full data set. "
            f"Fetch it with `{FETCH_COMMAND}`, or point `VAE_LAB_DATA` at a folder with "
            f"`MNIST/raw` and `FashionMNIST/raw`.\n\nOffline: {OFFLINE_SOURCES}")


def _usable(names: list[str], dataset: str) -> list[str]:
    """The chosen models that load; one line in the sidebar for each one that does not, for each unreadable
    checkpoint, and for the data set's classifier if it cannot be loaded."""
    problems = [(path.stem, error, "") for path, error in checkpoints.unreadable().items()]
    usable = []
    for name in names:
        try:
            model(name)
            usable.append(name)
        except checkpoints.CheckpointError as error:
            problems.append((name, error, ""))
    found = checkpoints.find_judge(dataset)
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
                   f"run `{FETCH_COMMAND}` for all of it.")
    if digits and (chosen.digits is None or len(chosen.digits) == 0):
        st.info(f"No {noun(chosen.dataset, plural=True)} yet: choose a source in the sidebar (upload or draw one, "
                f"or use the test set).")
        return False
    return True


def digit_source(dataset: str, *, test_set_available: bool = True) -> Digits:
    """The sidebar's data-source controls; the chosen digits as one batch."""
    sources = [key for key in SOURCES if key != "notebook" or dataset == "mnist"]
    links.seed("source", options=sources, what="digit source")
    source = st.sidebar.selectbox(noun(dataset, plural=True).capitalize(), sources, key="source",
                                  format_func=lambda key: SOURCES[key].format(noun=noun(dataset, article=True)))
    if source in ("upload", "draw"):
        return _with_doubts(_uploaded_digits(dataset) if source == "upload" else _drawn_digit(dataset), dataset)
    if not test_set_available:
        return _digits([], [])
    split = test_set(dataset)
    if source == "random":
        links.seed("random_count", parse=int, options=range(1, MAX_DIGITS + 1))
        count = st.sidebar.slider("How many", 1, MAX_DIGITS, DEFAULT_DIGITS, key="random_count")
        links.seed("seed", parse=int, options=range(2**31))
        if st.sidebar.button("Re-roll", icon=":material/casino:"):
            st.session_state["seed"] = st.session_state.get("seed", 0) + 1
        numbers = split.random_numbers(count, seed=st.session_state.get("seed", 0))
    elif source == "classes":
        numbers = [split.number(p) for p in split.one_per_class()]
    elif source == "notebook":
        numbers = list(SELECTED_TEST_DIGITS)
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
    links.seed("indices")
    which = (f"numbers of the {len(split):,} images in the embedded sample (0 to 989 and the notebook's ten)"
             if split.is_sample else f"numbers from 0 to {len(split) - 1}")
    text = st.sidebar.text_input("Test image indices", "0, 1, 2, 3", key="indices", max_chars=MAX_DIGITS * 8,
                                 help=f"Up to {MAX_DIGITS} comma-separated {which}.")
    indices, bad = parse_indices(text, split)
    if bad:
        st.sidebar.warning(f"Ignored {', '.join(map(links.shown, bad[:5]))}{' ...' if len(bad) > 5 else ''}: "
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
    files = st.sidebar.file_uploader(f"PNG or JPEG images of {noun(dataset, plural=True)}", type=["png", "jpg", "jpeg"],
                                     accept_multiple_files=True, max_upload_size=MAX_UPLOAD_BYTES // 10**6 + 1,
                                     key="uploads") or []
    if len(files) > MAX_UPLOADS:
        st.sidebar.warning(f"{len(files)} files: only the first {MAX_UPLOADS} are read.")
    images, captions = [], []
    for upload, reading in zip(files, _read_uploads(files[:MAX_UPLOADS])):
        if isinstance(reading, str):
            st.sidebar.warning(reading)
            continue
        digit, preview = reading
        left, right = st.sidebar.columns(2)
        left.image(preview, caption=upload.name, width="stretch")  # decoded pixels, never the raw file
        right.image(enlarge(digit), caption="as 28x28", width="stretch")
        images.append(torch.from_numpy(digit)[None])
        captions.append(upload.name)
    return _digits(images, captions)


def _read_uploads(files: list) -> list:
    """Each file read once per session (a rerun reuses it): its digit and preview, or why it was refused."""
    before = st.session_state.get("upload_readings", {})
    readings = {}
    for upload in files:
        key = (upload.file_id, upload.name)
        if key not in readings:
            readings[key] = before.get(key) or _read_upload(upload)
    st.session_state["upload_readings"] = readings  # only the files still there
    return [readings[(upload.file_id, upload.name)] for upload in files]


def _read_upload(upload):
    try:
        return read_upload(upload.getvalue(), name=links.shown(upload.name))
    except ImageRejected as error:
        return str(error)


def _drawn_digit(dataset: str) -> Digits:
    from streamlit_drawable_canvas import st_canvas  # a custom component: only needed here

    with st.sidebar:
        st.caption(f"Draw one {noun(dataset)}, large, in the middle.")
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


def _with_doubts(digits: Digits, dataset: str) -> Digits:
    """Say, beside each upload or drawing, if it does not look like a handwritten digit."""
    judge = current_judge(dataset)
    with torch.no_grad():
        confidence = judge(digits.images).softmax(dim=1).max(dim=1).values.tolist() if judge is not None and len(
            digits) else [None] * len(digits)
    digits.doubts = [digit_doubts(image[0].numpy(), c, dataset=dataset) for image, c in zip(digits.images, confidence)]
    for caption, doubts in zip(digits.captions, digits.doubts):
        if doubts:
            st.sidebar.warning(f"{links.shown(caption)} may not be a handwritten "
                               f"{noun(dataset)}: {'; '.join(doubts)}. "
                               f"Readings of it are shown with a question mark.")
    return digits


def _digits(images: list[torch.Tensor], captions: list[str]) -> Digits:
    stacked = torch.stack(images) if images else torch.zeros(0, 1, 28, 28)
    return Digits(stacked, [None] * len(images), captions)


# --- shared widgets and helpers ------------------------------------------------------------------

def enlarge(images, scale: int = 4) -> np.ndarray:
    """A (H, W) image or a single (1, H, W) tensor as uint8, `scale` times larger, without smoothing."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return image_grid([array.reshape(1, *array.shape[-2:])], pad=0, scale=scale)


def pick_model(chosen: Selection, *, key: str) -> str:
    links.seed(key, options=chosen.models, what="model")
    return st.selectbox("Model", chosen.models, key=key, format_func=lambda name: model_label(name, chosen.kinds[name]))


def pick_digit(digits: Digits, label: str, *, key: str, default: int = 0) -> int:
    links.seed(key, parse=int, options=range(len(digits)), what=f"{label.lower()} image")
    return st.selectbox(label, range(len(digits)), index=min(default, len(digits) - 1),
                        format_func=lambda i: digits.captions[i], key=key)
