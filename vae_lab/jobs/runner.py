"""The job process, `python -m vae_lab.jobs.runner <folder>`: a fresh interpreter (so CUDA works in it) that reads
the job's config and workspace, calls `train()` and records how it ended, with the exception's own message. On
several GPUs torchrun starts one per GPU; rank 0 records and publishes. Only a finished run's checkpoint is
published to the workspace's own models, so the model picker never lists a model in training; a failed run keeps
its last good epoch in checkpoint/, from which it can be resumed."""
from __future__ import annotations

import argparse
import errno
import json
import math
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from .. import checkpoints, datasets, folder_data
from ..config import TrainConfig
from ..distributed import is_main_process
from ..workspace import Workspace
from .status import EXIT_DISK_FULL, process_started, write_status

FILM_EVERY = 50  # steps between the frames of a job's training film


def run_job(folder: Path, *, nice: int = 0) -> int:
    """Body of the job process: train, publish the checkpoint, record the outcome. `nice`: lower this process's
    priority (public mode: the server's pages come first)."""
    from ..film import TrainingFilm
    from ..progress import EpochPreview, JsonLinesWriter, listeners
    from ..train import TrainingDiverged, train

    workspace = Workspace.from_json((folder / "workspace.json").read_text())
    folder_data.register_workspace(workspace)  # a data set added from images is trained on as a shipped one
    if not is_main_process():  # another rank of a torchrun job trains its share; rank 0 reports
        config, resume = _job_inputs(folder)
        train(config, out_dir=folder / "checkpoint", resume=resume, workspace=workspace)
        return 0
    status = json.loads((folder / "status.json").read_text())
    status |= {"pid": os.getpid(), "pid_started": process_started(os.getpid())}
    write_status(folder, status | {"state": "running"})
    if nice:
        os.nice(nice)

    def cancelled(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, cancelled)
    outcome = {"state": "failed", "message": ""}
    try:
        config, resume = _job_inputs(folder)
        print(f"training {config.kind} '{config.name}' on {config.dataset}", flush=True)
        result = train(config, out_dir=folder / "checkpoint", resume=resume, workspace=workspace,
                       progress=listeners(JsonLinesWriter(folder / "events.jsonl"),
                                          EpochPreview(folder / "preview.png", config.dataset)),
                       film=TrainingFilm(folder / "film.gif", config.dataset, every=FILM_EVERY,
                                         workspace=workspace))
        outcome = {"state": "succeeded", **_publish(folder, workspace.own_models),
                   "warning": quality_warning(result.metrics)}
        if result.capped:
            outcome["message"] += capped_message(config, result.checkpoint.meta["training"]["epoch"],
                                                 result.checkpoint.meta["training"]["step"])
    except KeyboardInterrupt:
        resumable = any((folder / "checkpoint").glob("*.json"))
        outcome = {"state": "cancelled", "message": "cancelled; the last finished epoch can be resumed" if resumable
                   else "cancelled before the first epoch ended: nothing to resume"}
    except (ValueError, FileNotFoundError, checkpoints.CheckpointError, TrainingDiverged) as error:
        outcome["message"] = str(error)  # a bad recipe, missing data or checkpoint, a diverged run: said plainly
        print(f"error: {error}", flush=True)
    except OSError as error:
        outcome["message"] = os_error_message(error)
    except Exception as error:  # a bug: the message for the panel, the traceback for the log
        outcome["message"] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
    except BaseException as error:  # out of memory, interpreter exit: record them, whatever they are
        outcome["message"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        try:
            write_status(folder, status | {"finished": time.time()} | outcome)
        except OSError as error:  # even the status does not fit: the server learns why from the exit status
            if error.errno == errno.ENOSPC:
                sys.exit(EXIT_DISK_FULL)
            raise
    return 0 if outcome["state"] == "succeeded" else 1


def os_error_message(error: OSError) -> str:
    """What the panel says of a failed read or write; a full disk in plain words (every file is written
    atomically, so the last good epoch's files are what is on disk)."""
    if error.errno == errno.ENOSPC:
        print(f"error: {error}", flush=True)
        return "the disk is full: the job stopped, its last good epoch is kept; free some space, then resume it"
    traceback.print_exc()
    return f"{type(error).__name__}: {error}"


def _job_inputs(folder: Path) -> tuple[TrainConfig, checkpoints.Checkpoint | None]:
    resume = checkpoints.read(Path((folder / "resume").read_text().strip())) \
        if (folder / "resume").is_file() else None
    return TrainConfig.from_json(folder / "config.json"), resume


def capped_message(config: TrainConfig, epoch: int, step: int) -> str:
    """Where the wall-clock cap stopped a run: the epoch it cut short, and the step."""
    images = config.train_limit or datasets.get(config.dataset).train_size
    total = config.epochs * math.ceil(images / config.batch_size)
    return (f" (stopped at the {config.max_minutes:g}-minute cap in epoch {epoch} of {config.epochs}, at step "
            f"{step:,} of {total:,}; the model as it was then is saved)")


CHANCE = 0.1  # ten classes


def quality_warning(metrics: dict[str, float]) -> str:
    """A plain sentence when the classifier reads the model's output (or a classifier's own test images)
    barely better than chance; empty otherwise."""
    accuracy = metrics.get("accuracy")
    if accuracy is None or accuracy >= 2 * CHANCE:
        return ""
    return (f"This model is barely better than chance: the classifier reads {accuracy:.0%} of its test images "
            f"correctly (chance is {CHANCE:.0%}). Train for more epochs or on more images.")


def _publish(folder: Path, publish_to: Path) -> dict:
    """Copy the finished checkpoint's files to the user checkpoint folder, the JSON last."""
    source = checkpoints.read(next((folder / "checkpoint").glob("*.json")))
    publish_to.mkdir(parents=True, exist_ok=True)
    for role in source.meta["files"]:
        checkpoints.atomic_write(publish_to / source.file(role).name,
                                 lambda tmp, role=role: shutil.copyfile(source.file(role), tmp))
    checkpoints.atomic_write(publish_to / source.json_path.name,
                             lambda tmp: shutil.copyfile(source.json_path, tmp))
    published = publish_to / source.json_path.name
    return {"checkpoint": str(published), "message": f"saved as '{source.name}'"}  # no server folder in words


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description="a training job's process (started by manager.py)")
    arguments.add_argument("folder", type=Path)
    arguments.add_argument("--nice", type=int, default=0)
    given = arguments.parse_args()
    sys.exit(run_job(given.folder, nice=given.nice))
