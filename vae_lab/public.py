"""Public-demo mode (VAE_LAB_PUBLIC=1, set by the Dockerfile): many strangers, one small box.

What changes in public mode, and the settings that tune it (environment variables):
- each browser is a visitor (a random id in a cookie) with its own model folder, `<checkpoints>/visitors/<id>/`:
  only that browser sees its models; the shipped models are seen by all, and no visitor's model shadows one;
- visitors' models and jobs are removed VAE_LAB_PUBLIC_KEEP_HOURS (24) after their last change, and
  the oldest visitors' models and jobs go first when all of them take more than VAE_LAB_PUBLIC_DISK_MB (500);
- training: one job on the server at a time (as always), the quick CPU recipe, at most
  VAE_LAB_PUBLIC_JOB_MINUTES (5) of training (the epoch in progress then ends early and is published),
  at most VAE_LAB_PUBLIC_JOBS_PER_HOUR (3) jobs per visitor per hour, at lower priority (nice 10) and on
  VAE_LAB_JOB_THREADS threads (default: one fewer than the box has cores), so pages stay responsive.
Uploads, drawings and job logs live in the visitor's session or job, never shown to another visitor. A zip of
images a visitor adds (the training panel; zip_data.py) becomes a data set in their own folder, `<id>/data/`,
offered to them alone, kept and removed with their models and counted in their share of the disk.
Where a persistent volume is mounted (VAE_LAB_STATE, or a Space's /data), the models, jobs and analyses are kept
there, across restarts; elsewhere the page says that they last until the demo restarts, and offers downloads.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .jobs import JobError, JobLimits
from .jobs.status import read_status
from .workspace import public_mode

log = logging.getLogger(__name__)


def _number(name: str, default: float) -> float:
    text = os.environ.get(name, "")
    try:
        return float(text) if text else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


@dataclass(frozen=True)
class PublicSettings:
    keep_hours: float = 24.0
    disk_mb: float = 500.0
    job_minutes: float = 5.0
    jobs_per_hour: int = 3
    job_threads: int = 1
    job_nice: int = 10

    @classmethod
    def from_env(cls) -> PublicSettings:
        return cls(keep_hours=_number("VAE_LAB_PUBLIC_KEEP_HOURS", 24), disk_mb=_number("VAE_LAB_PUBLIC_DISK_MB", 500),
                   job_minutes=_number("VAE_LAB_PUBLIC_JOB_MINUTES", 5),
                   jobs_per_hour=int(_number("VAE_LAB_PUBLIC_JOBS_PER_HOUR", 3)),
                   job_threads=job_threads(), job_nice=10)

    def job_limits(self) -> JobLimits:
        """What each visitor's jobs may use (jobs/admission.py)."""
        return JobLimits(jobs_per_hour=self.jobs_per_hour, threads=self.job_threads, nice=self.job_nice)


def enabled() -> bool:
    return public_mode()


NOT_KEPT = ("Models trained here last until the demo restarts: download yours (Models page) to keep it, and "
            "upload it there to bring it back.")


def job_threads() -> int:
    """Threads for a training job: VAE_LAB_JOB_THREADS, else one fewer than the cores (at least 1)."""
    return int(_number("VAE_LAB_JOB_THREADS", max(1, (os.cpu_count() or 2) - 1)))


def new_visitor_id() -> str:
    """A visitor's id: 128 random bits, so that nobody can guess another visitor's."""
    return secrets.token_hex(16)


def is_visitor_id(text) -> bool:
    """Whether a value a browser sent (anything at all) is a visitor id as `new_visitor_id` makes them."""
    return isinstance(text, str) and re.fullmatch(r"[a-f0-9]{32}", text) is not None


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _last_change(path: Path) -> float:
    return max([path.stat().st_mtime, *(p.stat().st_mtime for p in path.rglob("*"))])


def sweep(checkpoints_root: Path, jobs_root: Path, settings: PublicSettings, *, now: float | None = None) -> list[Path]:
    """Remove jobs whose status cannot be read; visitors' model folders and finished jobs older than
    `keep_hours`; then the oldest visitors' models and finished jobs (a job keeps its own copy of the model and
    its optimiser state) until all of them fit in `disk_mb`. Returns what was removed."""
    now = time.time() if now is None else now
    keep_s = 3600 * settings.keep_hours
    removed = []

    def remove(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)

    held: dict[str, list[Path]] = {}  # visitor -> their folders that count towards the disk cap
    for folder in sorted(p for p in (checkpoints_root / "visitors").glob("*") if p.is_dir()):
        held[folder.name] = [folder]
    for job in sorted(p for p in jobs_root.glob("*") if p.is_dir()) if jobs_root.is_dir() else []:
        if not (job / "status.json").exists():  # a job being created right now, or a stray folder
            if now - _last_change(job) > keep_s:
                remove(job)
            continue
        try:
            status = read_status(job)
        except JobError as error:
            log.warning("removing %s", error)
            remove(job)
            continue
        if not status.active:
            held.setdefault(status.owner, []).append(job)
    for folders in held.values():
        for folder in list(folders):
            if now - _last_change(folder) > keep_s:
                remove(folder)
                folders.remove(folder)
    owners = sorted((o for o in held if held[o]), key=lambda o: max(_last_change(f) for f in held[o]))
    while owners and sum(_size(f) for o in owners for f in held[o]) > settings.disk_mb * 2**20:
        for folder in held[owners.pop(0)]:
            remove(folder)
    return removed
