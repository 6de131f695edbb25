"""The app's caches: models, test sets, judges, analyses, latent codes, the lesson's networks, records and figures
(a network's copy for the browser is cached beside its wire format, in latent_pad.py). Models and data sets are
cached per server with `st.cache_resource`, keyed by strings (checkpoint path and modification time, data set
name, hashes): tensors never go through Streamlit's hasher."""
from __future__ import annotations

import os
import json
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from .. import checkpoints, explore, figures, folder_data, judges, lesson, lesson_record, model_files, scorecard
from . import links
from .visitors import workspace
from ..blur import BlurStudy
from ..data import ImageSplit, has_split, test_split
from ..models import VAE, Classifier
from ..workspace import Workspace


def register_datasets(place: Workspace) -> None:
    """The data sets added under the data root (`vae-lab add-dataset`, `fetch-data --datasets emoji`) and, in public
    mode, the visitor's own, registered once per server and version of their indexes."""
    folders = (place.data, place.own_data) if place.visitor else (place.data,)
    indexes = tuple(sorted((str(p), p.stat().st_mtime) for folder in folders
                           for p in Path(folder).glob(f"*/{folder_data.INDEX}")))
    if indexes:
        _register_datasets(place.to_json(), indexes)


@st.cache_resource(max_entries=64, show_spinner=False)
def _register_datasets(place: str, indexes: tuple) -> None:
    folder_data.register_workspace(Workspace.from_json(place))


@st.cache_resource(max_entries=24, show_spinner=False)
def _load(json_path: str, modified: float) -> torch.nn.Module:
    return checkpoints.load(json_path)


def model(name: str) -> VAE | Classifier:
    """A checkpoint's model, loaded once per server (a retrained file is reloaded)."""
    ckpt = checkpoints.find(name, workspace=workspace())
    return _load(str(ckpt.json_path), ckpt.json_path.stat().st_mtime)


@st.cache_resource(max_entries=4, show_spinner="Loading the test set...")
def _test_split(dataset: str, root: str, files_present: bool) -> ImageSplit:
    return test_split(dataset, root=root)


def test_set(dataset: str) -> ImageSplit:
    """The data set's test split (else the embedded sample), loaded once per server, data root and presence of
    the files, so that data fetched while the server runs is picked up."""
    root = workspace().data
    return _test_split(dataset, str(root), has_split(dataset, train=False, root=root))


@st.cache_resource(max_entries=4, show_spinner=False)
def judge(dataset: str, sha256: str) -> Classifier | None:
    found = judges.load_judge(dataset, workspace=workspace())
    return found.classifier if found else None


def current_judge(dataset: str) -> Classifier | None:
    """The data set's classifier, loaded once per server (a retrained one is reloaded); None if there is none,
    or if it cannot be loaded (the sidebar says why)."""
    found = judges.find_judge(dataset, workspace=workspace())
    try:
        return judge(dataset, found.sha256) if found else None
    except checkpoints.CheckpointError:
        return None


def without_folders(error: Exception) -> str:
    """An error's text without the server's checkpoint folders (a visitor's holds their id)."""
    text = str(error)
    for folder in workspace().checkpoint_dirs:
        text = text.replace(f"{folder}{os.sep}", "")
    return text


def unusable(name: str, error: Exception) -> str:
    """One line for a model that cannot be used."""
    return f"Model {links.shown(name)} cannot be used: {links.shown(without_folders(error), limit=240)}"


@st.cache_data(max_entries=32, show_spinner=False)
def _analysis(json_path: str, key: str, root: str) -> scorecard.Analysis:
    return scorecard.analyse(Path(json_path), workspace=workspace())


def _analysis_key(ckpt: checkpoints.Checkpoint) -> tuple[str, str, str]:
    """What a model's numbers depend on, as the server-wide cache's key: its checkpoint, the disk cache's key (the
    model's weights and posterior, the classifier that judges it, whether the test set is the embedded sample)
    and the data root."""
    return str(ckpt.json_path), scorecard.cache_key(ckpt, workspace=workspace()), str(workspace().data)


def analyses(names: list[str]) -> dict[str, scorecard.Analysis]:
    """Several models' analyses; those not yet in memory are announced in a progress bar (model k of n),
    since computing one runs the model over the whole test set."""
    found, bar = {}, None
    for k, name in enumerate(names):
        try:  # the key once per model and run: it reads the judge and the test split's fingerprint
            ckpt = checkpoints.find(name, workspace=workspace())
            key = _analysis_key(ckpt)
        except checkpoints.CheckpointError as error:  # said once per model; the other models still show
            st.error(unusable(name, error))
            continue
        if bar is None and key not in _analysed and not scorecard.is_cached(ckpt, workspace=workspace()):
            bar = st.progress(0.0)
        if bar is not None:
            bar.progress(k / len(names), text=f"Analysing the whole test set with model {k + 1} of {len(names)}: "
                                             f"{name} (once per model, then cached)...")
        try:
            found[name] = _analysis(*key)
        except checkpoints.CheckpointError as error:
            st.error(unusable(name, error))
            continue
        _analysed.add(key)
    if bar is not None:
        bar.empty()
    return found


_analysed: set[tuple] = set()  # the analyses this server has shown (by cache key); cleared with the caches


def blur_study(names: list[str], dataset: str) -> BlurStudy:
    """The blur study of `names` on the whole test set (see `analyses` for the progress shown)."""
    split = test_set(dataset)
    return BlurStudy(dataset, split.labels.numpy(), split.class_names, analyses(names))


@st.cache_data(max_entries=16, show_spinner=False)
def _latent_means(name: str, sha256: str, dataset: str, split_key: tuple) -> np.ndarray:
    return explore.latent_means(model(name), test_set(dataset))


@st.cache_data(max_entries=16, show_spinner=False)
def _model_zip(json_path: str, sha256: str) -> bytes:
    return model_files.to_zip(checkpoints.read(Path(json_path)))


def model_zip(ckpt: checkpoints.Checkpoint) -> bytes:
    """A model's download (model_files.to_zip), made once per version of its weights."""
    return _model_zip(str(ckpt.json_path), ckpt.sha256)


def fingerprint(name: str) -> str:
    """The checkpoint's weights hash: changes when it is retrained."""
    return checkpoints.find(name, workspace=workspace()).sha256


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
    return _verdicts(dataset, _lesson_files(dataset), str(workspace().data))


_optima: dict[tuple, dict[str, lesson.Optimum]] = {}  # per server: the lesson's loss optima, the latest few
MAX_OPTIMA = 32


def loss_optima(dataset: str, x: torch.Tensor, targets: torch.Tensor, on_step) -> dict[str, lesson.Optimum]:
    """`lesson.optima` of `targets`, the shifted copies of the image `x`: from the stored record where it has them,
    else found once per server (`on_step` shows the search when it runs). The record is looked up by `x` itself:
    on a white background the unshifted target is 1 - (1 - x), a few bits away from it."""
    record = lesson_record_of(dataset)
    max_shift = (int(len(targets) ** 0.5) - 1) // 2
    stored = record.optima(x, max_shift) if record is not None else None
    if stored is not None:
        return stored
    key = (dataset, _lesson_files(dataset), targets.numpy().tobytes())
    if key not in _optima:
        if len(_optima) >= MAX_OPTIMA:
            _optima.pop(next(iter(_optima)))
        _optima[key] = lesson.optima(targets, lesson_judges(dataset), on_step=on_step)
    return _optima[key]


@st.cache_data(max_entries=8, show_spinner=False)
def _first_codes(name: str, sha256: str, dataset: str, count: int, sample: bool) -> np.ndarray:
    with torch.no_grad():
        return model(name).encode(test_set(dataset).batch(slice(0, count))[0]).mu.numpy()


def first_codes(name: str, dataset: str, count: int) -> np.ndarray:
    """The posterior means of the first `count` test images (the lesson's step 1 asks about those): the whole test
    set took a cold server 2 s on one thread, for six neighbours."""
    return _first_codes(name, fingerprint(name), dataset, count, test_set(dataset).is_sample)


# the lesson's figures: the same transform, amount and models draw the same picture
loss_curves = st.cache_data(max_entries=64, show_spinner=False)(figures.loss_curves)
layer_losses = st.cache_data(max_entries=64, show_spinner=False)(figures.layer_losses)


def clear_caches() -> None:
    """After a checkpoint appears or changes (a training job finished). The lesson's caches stay: they are keyed
    by the hashes of the shipped checkpoints they use, which a visitor's new model never changes."""
    _load.clear()
    judge.clear()
    _analysis.clear()
    _latent_means.clear()
    _first_codes.clear()
    _analysed.clear()
