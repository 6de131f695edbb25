"""Training: one plain loop over any objective (see objectives.py and vaegan.py).

The loop owns the data on the device, the learning-rate schedule, progress events, validation,
the NaN guard, and a checkpoint after every epoch (written atomically, so the last good one
survives a crash). What is optimised belongs to the objective; what is trained, to the config.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable

import torch

from . import __version__, checkpoints, distributed, kinds, optimizer_state, posterior
from .checkpoints import Checkpoint
from .config import TrainConfig, pick_device, resolve_precision
from .data import ImageSplit, load_split
from .film import TrainingFilm
from .models import uncompiled
from .objectives import ClassifierObjective, Objective, VAEObjective
from .vaegan import VAEGANObjective
from .workspace import Workspace, current


@dataclass(frozen=True)
class TrainEvent:
    """What a progress callback receives: after every `log_every` steps ("step"), when the run turns to work other
    than steps ("phase": validating, saving, fitting the posterior; `doing` says which), after each epoch's
    validation ("epoch"), and once at the end ("done")."""

    event: str
    epoch: int  # 1-based; the epoch in progress or just finished
    epochs: int
    step: int  # optimiser steps taken so far
    total_steps: int
    metrics: dict[str, float]
    images_per_s: float
    elapsed_s: float
    checkpoint: str = ""  # path of the checkpoint JSON written after this epoch
    doing: str = ""  # a "phase": what the run is doing now


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Checkpoint
    metrics: dict[str, float]
    images_per_s: float
    elapsed_s: float
    precision: str  # fp32 or bf16: what "auto" chose, or what was asked for
    capped: bool = False  # the run hit config.max_minutes and stopped after a shortened epoch


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def make_objective(config: TrainConfig, device: torch.device, train_split: ImageSplit, *,
                   workspace: Workspace | None = None) -> Objective:
    bf16 = resolve_precision(config.precision, device) == "bf16"
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)  # noqa: E731
    kind = kinds.get(config.kind)
    if not kind.is_vae:
        return ClassifierObjective(config, device, autocast)
    if kind.has_critic:
        return VAEGANObjective(config, device, autocast, train_split, workspace=workspace)
    return VAEObjective(config, device, autocast, workspace=workspace)


# --- the loop -----------------------------------------------------------------------------

def lr_factor(config: TrainConfig, step: int, total_steps: int) -> float:
    """The schedule, as a factor of each optimiser's initial learning rate: an optional linear
    warm-up (a high peak rate is safe once Adam's moment estimates have settled), then constant or
    cosine decay to 0 at the last step."""
    warmup = min(config.lr_warmup_steps, total_steps - 1)
    if step < warmup:
        return (step + 1) / warmup
    if config.lr_schedule == "constant":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min(step - warmup, total_steps - warmup) / (total_steps - warmup)))


def train(config: TrainConfig, *, out_dir: Path | None = None, resume: Checkpoint | None = None,
          progress: Callable[[TrainEvent], None] | None = None, film: TrainingFilm | None = None,
          workspace: Workspace | None = None) -> TrainResult | None:
    """Train `config` on the workspace's data and write a checkpoint `out_dir/<name>` (default: the workspace's
    own models) after every epoch.

    `resume`: a checkpoint written by this function (by any number of processes); its weights,
    optimiser state and epoch count are restored and training continues to `config.epochs`.
    `film`: captures a frame of the model every `film.every` steps and saves the film after each epoch.
    Under torchrun each process trains on its share of every batch (see distributed.py); rank 0 returns
    the result and the other ranks None, once rank 0 has written everything.
    """
    started = time.perf_counter()
    workspace = current(workspace)
    out_dir = Path(out_dir) if out_dir else workspace.own_models
    world, device = distributed.join(pick_device(config.device))
    config = config.resolved(device)  # the recipe's values for what is unset, for the device this runs on
    world.check_batch(config.batch_size)
    if not world.main:  # rank 0 alone reports, validates and writes
        progress, film = None, None
    torch.manual_seed(config.seed)
    train_split = load_split(config.dataset, train=True, device=device, root=workspace.data).subset(config.train_limit)
    test_split = load_split(config.dataset, train=False, device=device, root=workspace.data).subset(config.test_limit)
    interim_split = test_split.subset(config.interim_test_limit)  # a quick look after the epochs before the last
    objective = make_objective(config, device, train_split, workspace=workspace)
    # where the VAE started: recorded in every checkpoint of the run, resumed or not
    lineage = _init_from(objective, config, workspace) if resume is None else {
        key: resume.meta[key] for key in ("init_from",) if key in resume.meta}
    precision = resolve_precision(config.precision, device)
    memory_format = config.memory_format
    for module in objective.modules.values():
        module.to(memory_format=memory_format).train()
    if film is not None and lineage.get("init_from") and resume is None:
        film.capture(objective.model, step=0)  # the film opens on the starting model: the blur that goes away
    if config.compile:
        _compile(objective, train_split.batch(slice(0, 2))[0].to(memory_format=memory_format))
    objective.distribute(world)

    epoch_images = world.epoch_images(len(train_split), config.batch_size)
    steps_per_epoch = math.ceil(epoch_images / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    epoch, step, elapsed = 0, 0, 0.0
    if resume is not None:
        epoch, step, elapsed = _restore(objective, resume)
    emit = progress or (lambda event: None)
    last_good = out_dir / f"{config.name}.json"
    metrics: dict[str, float] = {}
    ckpt = resume
    images_per_s = 0.0
    deadline = time.perf_counter() + 60 * config.max_minutes if config.max_minutes else math.inf
    capped = False
    # where the wall time goes, for estimating later runs (estimate.estimate_seconds); a resumed run adds its epochs
    wall = {"startup_s": round(time.perf_counter() - started, 2),
            "epochs": list(resume.meta["training"].get("wall", {}).get("epochs", [])) if resume else []}

    is_vae = kinds.get(config.kind).is_vae
    # The aggregate posterior's codes: the posterior means the last training batches compute anyway, where they are
    # a quarter of the final epoch at most (the weights barely move by then); else encoded after training.
    posterior_codes = min(config.posterior_codes or len(train_split), len(train_split))
    keep_codes_from = steps_per_epoch - math.ceil(posterior_codes / config.batch_size) \
        if is_vae and world.main and 4 * posterior_codes <= epoch_images else None
    while epoch < config.epochs:
        epoch_start, seen = time.perf_counter(), 0
        window: dict[str, torch.Tensor] = {}
        window_steps = 0
        torch.manual_seed(config.seed * 1000 + epoch)  # every epoch's randomness, resumed or not
        order = torch.randperm(len(train_split), device=device)[:epoch_images]  # the same on every rank
        for i in range(steps_per_epoch):
            if epoch == config.epochs - 1 and i == keep_codes_from:
                objective.codes = []
            x, y = train_split.batch(world.shard(order[i * config.batch_size:(i + 1) * config.batch_size]))
            x = x.contiguous(memory_format=memory_format)
            factor = lr_factor(config, step, total_steps)
            for optimizer in objective.optimizers.values():
                for group in optimizer.param_groups:  # "initial_lr": PyTorch's schedulers' convention
                    group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor
            for key, value in objective.train_step(x, y, step).items():
                window[key] = window.get(key, 0.0) + value
            step, seen, window_steps = step + 1, seen + x.shape[0] * world.size, window_steps + 1
            if film is not None and film.due(step):
                film.capture(objective.model, step)
            # a clean stop: this epoch ends here and is saved (on every rank at the same step)
            capped = world.any(time.perf_counter() > deadline, device) if config.max_minutes else False
            if step % config.log_every == 0 or i == steps_per_epoch - 1 or capped:
                world.average(list(window.values()))  # the global batch's; a rank's NaN stops every rank
                averages = {k: v.item() / window_steps for k, v in window.items()}
                _guard(averages, epoch + 1, step, last_good)
                images_per_s = seen / (time.perf_counter() - epoch_start)
                emit(TrainEvent("step", epoch + 1, config.epochs, step, total_steps, averages | {"lr_factor": factor},
                                images_per_s, elapsed + time.perf_counter() - epoch_start))
                window, window_steps = {}, 0
            if capped:
                break
        train_time = time.perf_counter() - epoch_start
        images_per_s = seen / train_time
        if not world.main:  # rank 0 alone validates and writes; the next collective waits for it
            epoch += 1
            if capped:
                break
            continue
        for module in objective.modules.values():
            module.eval()
        split = test_split if capped or epoch + 1 == config.epochs else interim_split
        emit(TrainEvent("phase", epoch + 1, config.epochs, step, total_steps, {}, images_per_s,
                        elapsed + train_time, doing=f"validating on {len(split):,} test images"))
        metrics = objective.evaluate(split) | {"test_images": len(split)}
        for module in objective.modules.values():
            module.train()
        _guard(metrics, epoch + 1, step, last_good)
        wall["epochs"].append({"train_s": round(train_time, 2), "images": seen, "validation_images": len(split),
                               "validation_s": round(time.perf_counter() - epoch_start - train_time, 2)})
        epoch += 1
        elapsed += time.perf_counter() - epoch_start
        ckpt = _save(objective, out_dir, metrics, epoch=epoch, step=step, elapsed=elapsed,
                     images_per_s=images_per_s, device=device, precision=precision, processes=world.size,
                     lineage=lineage, wall=wall)
        if film is not None:
            film.capture(objective.model, step)
            film.save()
        emit(TrainEvent("epoch", epoch, config.epochs, step, total_steps, metrics, images_per_s, elapsed,
                        str(ckpt.json_path)))
        if capped:
            break
    if not world.main:
        world.barrier()  # until rank 0 has written everything
        return None
    if ckpt is None:
        raise ValueError(f"nothing to train: the checkpoint already has all {config.epochs} epochs; "
                         f"ask for more epochs to continue it")
    if is_vae:  # where the codes lie, for sampling from the aggregate posterior
        codes = torch.cat(objective.codes)[-posterior_codes:] if objective.codes else None
        count = len(codes) if codes is not None else posterior_codes
        emit(TrainEvent("phase", epoch, config.epochs, step, total_steps, metrics, images_per_s, elapsed,
                        doing=f"fitting the aggregate posterior to {count:,} training images' codes"))
        ckpt = posterior.fit_posterior(ckpt, codes=codes, split=train_split.subset(config.posterior_codes),
                                       device=device)
    emit(TrainEvent("done", epoch, config.epochs, step, total_steps, metrics, images_per_s, elapsed,
                    str(ckpt.json_path)))
    world.barrier()
    return TrainResult(ckpt, metrics, images_per_s, elapsed, precision, capped)


def _guard(values: dict[str, float], epoch: int, step: int, last_good: Path) -> None:
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        kept = (f"the last good checkpoint {last_good} is kept" if last_good.is_file()
                else "no checkpoint was written")
        raise TrainingDiverged(f"training diverged at epoch {epoch}, step {step}: {bad}; {kept}. "
                               f"Try a lower learning rate (--lr) or --precision fp32.")


def _save(objective: Objective, out_dir: Path, metrics: dict, *, epoch: int, step: int, elapsed: float,
          images_per_s: float, device: torch.device, precision: str, processes: int, lineage: dict,
          wall: dict) -> Checkpoint:
    config = objective.config
    opt_tensors, opt_groups = optimizer_state.optimizer_tensors(objective.optimizers)
    meta = {
        "kind": config.kind, "dataset": config.dataset, **objective.meta(), **lineage,
        "recipe": asdict(config), "metrics": metrics,
        "training": {"epoch": epoch, "step": step, "elapsed_s": round(elapsed, 1),
                     "images_per_s": round(images_per_s, 1), "device": str(device), "precision": precision,
                     "processes": processes, "wall": wall, "optimizers": opt_groups},
        "versions": {"vae_lab": __version__, "torch": torch.__version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    modules = {role: uncompiled(module) for role, module in objective.modules.items()}
    return checkpoints.save(out_dir, config.name, meta=meta, modules=modules, train_state=opt_tensors)


def _init_from(objective: Objective, config: TrainConfig, workspace: Workspace) -> dict:
    """Copy `config.init_from`'s weights into the VAE (its optimiser stays fresh, a VAE-GAN's critic new);
    what the checkpoint records of where it started."""
    if not config.init_from:
        return {}
    start = checkpoints.starting_point(config.init_from, dataset=config.dataset, latent_dim=config.latent_dim,
                                       workspace=workspace)
    checkpoints.load_into(uncompiled(objective.model), start)
    return {"init_from": {"checkpoint": start.name, "kind": start.kind, "sha256": start.sha256}}


def _restore(objective: Objective, ckpt: Checkpoint) -> tuple[int, int, float]:
    for role, module in objective.modules.items():
        checkpoints.load_into(uncompiled(module), ckpt, role)
    training = ckpt.meta["training"]
    if ckpt.has("train_state"):
        state = {k: v.to(objective.device) for k, v in ckpt.tensors("train_state").items()}
        optimizer_state.restore_optimizers(objective.optimizers, state, training["optimizers"])
    return training["epoch"], training["step"], training["elapsed_s"]


def _compile(objective: Objective, example: torch.Tensor) -> None:
    """torch.compile the model in place; on any failure keep running eagerly, and say so."""
    model = objective.modules["model"]
    try:
        compiled = torch.compile(model)
        with torch.no_grad():
            compiled(example)
    except Exception as error:  # compilers fail in many ways; eager always works
        print(f"torch.compile failed ({type(error).__name__}: {error}); training without it")
        return
    objective.modules["model"] = compiled
