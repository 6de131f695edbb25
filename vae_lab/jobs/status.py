"""A training job's folder and its status.json: what the server, the job process and public mode's sweep share.

A job is a folder under the jobs root:

    config.json    the TrainConfig recipe
    workspace.json the folders it runs in (workspace.py): the data root, and where its model is published
    status.json    state (running, succeeded, failed, cancelled, interrupted), pid, times, message, checkpoint
    events.jsonl   every progress event of the trainer, one JSON object per line
    preview.png    reconstructions of fixed test digits, rewritten after each epoch
    film.gif       the training as a film (see film.py)
    film.json      each frame's Laplacian variance and share read correctly
    log.txt        the process's output
    checkpoint/    the run's checkpoint, rewritten (atomically) after each epoch
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import checkpoints

ACTIVE = ("starting", "running")
EXIT_DISK_FULL = 28  # the job process's exit status when the disk was too full even for its final status (ENOSPC)


@dataclass(frozen=True)
class JobStatus:
    id: str
    state: str  # starting | running | succeeded | failed | cancelled | interrupted (its process died unannounced)
    name: str  # the checkpoint being trained
    kind: str
    pid: int = 0
    started: float = 0.0
    finished: float = 0.0
    message: str = ""  # why it failed, or what it produced
    checkpoint: str = ""  # the published checkpoint JSON, once it succeeded
    warning: str = ""  # a succeeded job whose model is near chance level says so here
    owner: str = ""  # public mode: the visitor (browser session) who started it; only they see it
    pid_started: int = 0  # the process's start time (clock ticks after boot): tells it from a later one with its pid

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class JobError(RuntimeError):
    """A job cannot be started (another is running) or found."""


def read_status(folder: Path) -> JobStatus:
    """A job folder's recorded status; JobError if its status.json cannot be read (corrupt, or not a job's)."""
    try:
        return JobStatus(**json.loads((folder / "status.json").read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise JobError(f"job {folder.name}: its status.json cannot be read ({type(error).__name__}: {error})") \
            from error


def write_status(folder: Path, status: JobStatus | dict) -> None:
    values = asdict(status) if isinstance(status, JobStatus) else status
    checkpoints.atomic_write(folder / "status.json", lambda tmp: tmp.write_text(json.dumps(values, indent=2)))


def process_stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command's name (the state letter first); [] where it cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def process_started(pid: int) -> int:
    """When process `pid` started, in clock ticks after boot (/proc/PID/stat's 22nd field); 0 where unknown."""
    return started_ticks(process_stat(pid))


def started_ticks(fields: list[str]) -> int:
    """A process's start time from its `process_stat` fields; 0 where unknown."""
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else 0


def seconds_left(step: dict | None) -> float | None:
    """From a job's latest "step" event, the seconds its training has left at the rate so far; None before the
    first step."""
    if not step or not step["step"]:
        return None
    return step["elapsed_s"] * (step["total_steps"] / step["step"] - 1)
