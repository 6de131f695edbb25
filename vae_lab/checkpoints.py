"""Checkpoints: safetensors weights plus a JSON sidecar, written atomically, validated on load.

A checkpoint named `dfc` is `dfc.json` (kind, architecture, data set, perceptual layers, the
training recipe, test metrics, versions, and the SHA-256 of every file it lists) beside
`dfc.safetensors` (the model's weights), and, where training wrote them, `dfc.critic.safetensors`
(a VAE-GAN's critic), `dfc.train-state.safetensors` (optimiser state, for resuming) and
`dfc.posterior.safetensors` (the Gaussian mixture fitted to the aggregate posterior after training).
Nothing is ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import kinds
from . import workspace as places  # SHIPPED_DIR read at call time: a test points it elsewhere
from .models import VAE, AggregatePosterior, Classifier, Critic
from .workspace import Workspace, current

FORMAT = "vae_lab.checkpoint/1"
REQUIRED_KEYS = ("format", "kind", "architecture", "dataset", "files")


class CheckpointError(Exception):
    """A checkpoint is missing, truncated, or does not match what its JSON describes."""


REPR_METRICS = ("accuracy", "bce", "kl", "laplacian_variance")  # what a checkpoint's repr shows


def shipped(name: str) -> Checkpoint:
    """The shipped checkpoint `name`, whatever a user's or a visitor's folder holds under the same name: what the
    landing page's lesson and its stored figures are computed with."""
    path = places.SHIPPED_DIR / f"{name}.json"
    if not path.is_file():
        raise CheckpointError(f"no shipped checkpoint {name!r} in {places.SHIPPED_DIR}")
    return read(path)


def shipped_names() -> set[str]:
    """The names of the shipped checkpoints."""
    return {path.stem for path in places.SHIPPED_DIR.glob("*.json")}


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's JSON, read and validated; the weights are read only by `load`."""

    json_path: Path
    meta: dict = field(repr=False)

    def __repr__(self) -> str:  # the name, kind, data set and key metrics; `meta` holds the rest
        shown = {key: round(value, 4) if isinstance(value, float) else value
                 for key, value in self.metrics.items() if key in REPR_METRICS}
        figures = "".join(f", {key}={value}" for key, value in shown.items())
        return f"Checkpoint({self.name!r}, kind={self.kind!r}, dataset={self.dataset!r}{figures})"

    @property
    def name(self) -> str:
        return self.json_path.stem

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def dataset(self) -> str:
        return self.meta["dataset"]

    @property
    def is_vae(self) -> bool:
        """A VAE of any kind (every kind but the classifier, the data set's judge)."""
        return kinds.is_vae(self.kind)

    @property
    def metrics(self) -> dict:
        return self.meta.get("metrics", {})

    @property
    def sha256(self) -> str:
        return self.meta["files"]["model"]["sha256"]

    def file(self, role: str) -> Path:
        return self.json_path.parent / self.meta["files"][role]["file"]

    def has(self, role: str) -> bool:
        return role in self.meta["files"]

    def tensors(self, role: str = "model") -> dict[str, torch.Tensor]:
        """The tensors of one file, after checking that it exists and is the file the JSON names."""
        path = self.file(role)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {self.name!r}: {path} is missing. Copy it beside "
                                  f"{self.json_path.name} or retrain with `python -m vae_lab train`.")
        expected = self.meta["files"][role]["sha256"]
        if sha256_file(path) != expected:
            raise CheckpointError(f"checkpoint {self.name!r}: {path} does not match its JSON (SHA-256 "
                                  f"differs): the file is truncated or belongs to another checkpoint.")
        try:
            return load_file(str(path))
        except SafetensorError as error:
            raise CheckpointError(f"checkpoint {self.name!r}: cannot read {path}: {error}") from error


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read(path: Path) -> Checkpoint:
    """Read and validate one checkpoint's JSON sidecar."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise CheckpointError(f"no checkpoint JSON at {path}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}): the file is truncated or "
                              f"corrupt. Delete it and retrain, or restore it.") from error
    missing = [key for key in REQUIRED_KEYS if key not in meta] if isinstance(meta, dict) else REQUIRED_KEYS
    if missing:
        raise CheckpointError(f"{path} is not a vae_lab checkpoint: it lacks {list(missing)}")
    if meta["format"] != FORMAT:
        raise CheckpointError(f"{path} has format {meta['format']!r}; this vae_lab reads {FORMAT!r}")
    if "model" not in meta["files"]:
        raise CheckpointError(f"{path} names no model weights file")
    return Checkpoint(path, meta)


def available(*, kind: str | None = None, dataset: str | None = None,
              workspace: Workspace | None = None) -> list[Checkpoint]:
    """Every readable checkpoint in the workspace's `checkpoint_dirs`, by name; unreadable ones are skipped
    with a warning (`unreadable()` lists them). A name in your own folder shadows a shipped one."""
    found, problems = _scan(current(workspace).checkpoint_dirs)
    for path, error in problems.items():
        warnings.warn(f"skipping {path}: {error}", stacklevel=2)
    return [c for c in found.values()
            if (kind is None or c.kind == kind) and (dataset is None or c.dataset == dataset)]


def vaes(*, dataset: str | None = None, workspace: Workspace | None = None) -> list[Checkpoint]:
    """`available()`'s VAEs (no classifiers), kind by kind in the registry's order, then by name."""
    return sorted((c for c in available(dataset=dataset, workspace=workspace) if c.is_vae),
                  key=lambda c: (kinds.order(c.kind), c.name))


def unreadable(workspace: Workspace | None = None) -> dict[Path, CheckpointError]:
    """The checkpoint JSONs in the workspace's `checkpoint_dirs` that `available()` skips, with why."""
    return _scan(current(workspace).checkpoint_dirs)[1]


def _scan(folders: list[Path]) -> tuple[dict[str, Checkpoint], dict[Path, CheckpointError]]:
    found: dict[str, Checkpoint] = {}
    problems: dict[Path, CheckpointError] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.stem in found:
                continue
            try:
                ckpt = read(path)
            except CheckpointError as error:
                problems[path] = error
                continue
            if ckpt.file("model").is_file():
                found[path.stem] = ckpt
    return found, problems


def find(name_or_path: str | Path, *, workspace: Workspace | None = None) -> Checkpoint:
    """A checkpoint by name (searched in the workspace's `checkpoint_dirs`) or by path to its .json/.safetensors."""
    text = str(name_or_path)
    as_path = Path(text)
    if as_path.suffix in (".json", ".safetensors") or os.sep in text:
        stem = as_path.name.split(".")[0]
        return read(as_path.parent / f"{stem}.json")
    workspace = current(workspace)
    for folder in workspace.checkpoint_dirs:
        if (folder / f"{text}.json").is_file():
            return read(folder / f"{text}.json")
    names = [c.name for c in available(workspace=workspace)]
    raise CheckpointError(f"no checkpoint named {text!r} in {[str(d) for d in workspace.checkpoint_dirs]}. "
                          f"Available: {names or 'none'}. Train one with `python -m vae_lab train`.")


def build(ckpt: Checkpoint, role: str = "model") -> torch.nn.Module:
    """An untrained module of the architecture the JSON describes."""
    if role == "critic":
        return Critic(**_shape_args(ckpt.meta["critic_architecture"]))
    architecture = _shape_args(ckpt.meta["architecture"])
    if ckpt.is_vae:  # checkpoints written before the strided layout name none: all had the notebook's networks
        return VAE(**{"layout": "notebook"} | architecture)
    return Classifier(**architecture)


def _shape_args(architecture: dict) -> dict:
    return {key: tuple(value) if key == "image_shape" else value for key, value in architecture.items()}


def load_into(module: torch.nn.Module, ckpt: Checkpoint, role: str = "model") -> torch.nn.Module:
    """Copy a checkpoint file's weights into `module`, after checking every name and shape."""
    tensors = ckpt.tensors(role)
    expected = module.state_dict()
    problems = [f"missing {k}" for k in expected if k not in tensors]
    problems += [f"unexpected {k}" for k in tensors if k not in expected]
    problems += [f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(v.shape)}"
                 for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape]
    if problems:
        raise CheckpointError(f"checkpoint {ckpt.name!r} ({role}) does not match its architecture "
                              f"{ckpt.meta.get('architecture')}: " + "; ".join(problems[:5]))
    module.load_state_dict(tensors)
    return module


def load(checkpoint: Checkpoint | str | Path, device: str | torch.device = "cpu", *,
         workspace: Workspace | None = None) -> torch.nn.Module:
    """The checkpoint's model in eval mode on `device`: a `VAE` or, for kind classifier, a `Classifier`.
    `checkpoint`: a `Checkpoint` already read, or a name or path to find in the workspace."""
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else find(checkpoint, workspace=workspace)
    model = load_into(build(ckpt), ckpt).to(device).eval()
    if ckpt.has("posterior"):
        model.aggregate_posterior = AggregatePosterior(**ckpt.tensors("posterior"))
    return model


def starting_point(name: str, *, dataset: str, latent_dim: int, workspace: Workspace | None = None) -> Checkpoint:
    """The VAE checkpoint `name` to start a training run from, after checking that its weights fit a
    VAE of `latent_dim` on `dataset` (any VAE kind: plain, DFC and VAE-GANs share one architecture)."""
    ckpt = find(name, workspace=workspace)
    if not ckpt.is_vae:
        raise ValueError(f"cannot start a VAE from {ckpt.name!r}: it is a classifier. Choose a VAE checkpoint "
                         f"of {dataset}: {[c.name for c in vaes(dataset=dataset, workspace=workspace)]}")
    if ckpt.dataset != dataset:
        raise ValueError(f"cannot start a {dataset} VAE from {ckpt.name!r}: it was trained on {ckpt.dataset}. "
                         f"Choose a {dataset} checkpoint, or train on {ckpt.dataset}")
    found_dim = ckpt.meta["architecture"].get("latent_dim")
    if found_dim != latent_dim:
        raise ValueError(f"cannot start a VAE with latent_dim {latent_dim} from {ckpt.name!r}: its latent size is "
                         f"{found_dim}. Set latent_dim to {found_dim}, or start from scratch")
    return ckpt


def save(folder: Path, name: str, *, meta: dict, modules: dict[str, torch.nn.Module],
         train_state: dict[str, torch.Tensor] | None = None) -> Checkpoint:
    """Write `name`'s files atomically (temporary file, then rename), the JSON last.

    `modules` maps a role ("model", "critic") to the module whose state_dict is stored.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    payloads = {role: module.state_dict() for role, module in modules.items()}
    if train_state:
        payloads["train_state"] = train_state
    for role, tensors in payloads.items():
        files[role] = _write_tensors(folder, name, role, tensors)
    full_meta = {"format": FORMAT, **meta, "files": files}
    json_path = folder / f"{name}.json"
    atomic_write(json_path, lambda tmp: tmp.write_text(json.dumps(full_meta, indent=2) + "\n"))
    return Checkpoint(json_path, full_meta)


def add_file(ckpt: Checkpoint, role: str, tensors: dict[str, torch.Tensor], meta: dict) -> Checkpoint:
    """Write one more file (`role`) beside an existing checkpoint, with `meta` merged into its JSON;
    the JSON is rewritten last, so a reader sees the old checkpoint or the new one, never half."""
    files = ckpt.meta["files"] | {role: _write_tensors(ckpt.json_path.parent, ckpt.name, role, tensors)}
    full_meta = ckpt.meta | meta | {"files": files}
    atomic_write(ckpt.json_path, lambda tmp: tmp.write_text(json.dumps(full_meta, indent=2) + "\n"))
    return Checkpoint(ckpt.json_path, full_meta)


def _write_tensors(folder: Path, name: str, role: str, tensors: dict[str, torch.Tensor]) -> dict:
    """One role's safetensors file, written atomically; its entry for the JSON's "files"."""
    filename = f"{name}.safetensors" if role == "model" else f"{name}.{role.replace('_', '-')}.safetensors"
    cpu_tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(folder / filename, lambda tmp: save_file(cpu_tensors, str(tmp)))
    return {"file": filename, "sha256": sha256_file(folder / filename)}


def remove_stale_temporaries(folder: Path, *, older_than_s: float = 600) -> list[Path]:
    """Remove the temporary files of `atomic_write`s that a killed process left anywhere under `folder` (a write
    takes seconds, so one older than `older_than_s` has no writer left); the files removed."""
    removed = []
    for path in folder.rglob(".*.tmp") if folder.is_dir() else []:
        try:
            if path.is_file() and time.time() - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def atomic_write(path: Path, write) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # mkstemp makes it private; checkpoints are meant to be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
