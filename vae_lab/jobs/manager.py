"""The server's side of training jobs: one at a time per server, each in its own process (runner.py), their state
on disk (status.py). The server starts, lists, cancels and reaps them here.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from .. import checkpoints, datasets
from ..config import TrainConfig
from ..distributed import World
from ..workspace import Workspace, current
from .admission import JobLimits
from .status import (EXIT_DISK_FULL, JobError, JobStatus, process_started, process_stat, read_status, seconds_left,
                     started_ticks, write_status)

REPOSITORY = Path(__file__).resolve().parents[2]  # where `python -m vae_lab...` finds the package
_children: dict[int, subprocess.Popen] = {}  # the job processes this server started, by pid
_reported: set[Path] = set()  # unreadable job folders already logged
log = logging.getLogger(__name__)


class JobManager:
    """Start, watch and cancel training jobs in the workspace's jobs folder; a finished job's model is published
    to the workspace's own models. Holds no state of its own: everything is read from the jobs folder, so any
    session (or a restarted server) sees the same jobs.

    `owner` and `limits` (public mode): this manager lists only the owner's jobs, and starting one is refused
    while any job runs on the server, or past the limits (admission.py)."""

    def __init__(self, workspace: Workspace | None = None, *, owner: str = "", limits: JobLimits | None = None):
        self.workspace = current(workspace)
        self.root, self.publish_to = self.workspace.jobs, self.workspace.own_models
        self.owner, self.limits = owner, limits

    # -- starting ----------------------------------------------------------------------------
    def start(self, config: TrainConfig, *, resume: Path | None = None, processes: int = 1) -> JobStatus:
        """Launch a job, or raise JobError if one is already running (checked under a file lock).
        `processes` > 1: torchrun trains it on that many GPUs, `config.batch_size` being the global batch."""
        config = config.resolved()  # the job's folder holds the values it will train with
        if datasets.get(config.dataset).owner not in ("", self.owner):
            raise JobError(f"the data set {config.dataset!r} is not yours to train on: choose another")
        World(size=processes).check_batch(config.batch_size)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running = self.running()
            if running is not None:
                raise JobError(self._busy(running))
            if self.limits is not None:
                self.limits.check(self.jobs())
            folder = self.root / time.strftime(f"%Y%m%d-%H%M%S-{config.name}")
            folder.mkdir()
            (folder / "config.json").write_text(json.dumps(asdict(config), indent=2))
            (folder / "workspace.json").write_text(self.workspace.to_json())
            if resume is not None:
                (folder / "resume").write_text(str(resume))
            write_status(folder, JobStatus(folder.name, "starting", config.name, config.kind, started=time.time(),
                                            owner=self.owner))
            limited = {} if self.limits is None else self.limits.environment()
            log = open(folder / "log.txt", "w")
            process = subprocess.Popen(
                launch_command(folder, processes=processes, nice=self.limits.nice if self.limits else 0),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                cwd=REPOSITORY, env=os.environ | {"PYTHONUNBUFFERED": "1"} | limited)
            _children[process.pid] = process
            # reaped the moment it ends, so that it never lingers as a zombie (<defunct>) until a page runs
            threading.Thread(target=process.wait, daemon=True, name=f"vae_lab-job-{process.pid}").start()
            write_status(folder, self._read(folder) | {"pid": process.pid, "pid_started": process_started(process.pid)})
        return self.status(folder.name)

    # -- reading -----------------------------------------------------------------------------
    def jobs(self, *, everyone: bool = False) -> list[JobStatus]:
        """The owner's jobs (every job if there is no owner, or with `everyone`), newest first."""
        folders = sorted((p for p in self.root.glob("*") if (p / "status.json").is_file()), reverse=True) \
            if self.root.is_dir() else []
        found = []
        for folder in folders:
            try:
                found.append(self.status(folder.name))
            except JobError as error:  # a corrupt status.json: skipped here, removed by the public sweep
                if folder not in _reported:
                    _reported.add(folder)
                    log.warning("skipping %s", error)
        return found if everyone or not self.owner else [job for job in found if job.owner == self.owner]

    def latest(self) -> JobStatus | None:
        jobs = self.jobs()
        return jobs[0] if jobs else None

    def running(self) -> JobStatus | None:
        """The job running on this server, whoever started it."""
        return next((job for job in self.jobs(everyone=True) if job.active), None)

    def _busy(self, running: JobStatus) -> str:
        if running.owner != self.owner:  # another visitor's: say how long, not what
            steps = [e for e in self.events(running.id) if e["event"] == "step"]
            last = steps[-1] if steps else None
            left = seconds_left(last)
            return ("the server is busy training another visitor's model; try again in about "
                    f"{max(1, round(left / 60))} min" if left else
                    "the server is busy training another visitor's model; try again in a few minutes")
        return (f"a job is already running: {running.kind} '{running.name}' ({running.id}); "
                f"wait for it or cancel it first")

    def status(self, job_id: str) -> JobStatus:
        """The job's recorded status, corrected if its process died without saying so: after a restart of the
        server (or of its container), a kill or running out of memory, it was interrupted at its last saved epoch;
        when the disk was too full for its final words, it says so."""
        folder = self.folder(job_id)
        status = read_status(folder)
        if status.active and status.pid and not _alive(status.pid, status.pid_started):
            time.sleep(0.2)  # the process may be writing its final status right now
            status = read_status(folder)
            if status.active:
                status = JobStatus(**(asdict(status) | {"finished": time.time()} | self._unannounced_end(status)))
                try:
                    write_status(folder, status)
                except OSError as error:  # a full disk: said on every read until there is room again
                    log.warning("cannot record %s's end (%s)", job_id, error)
        return status

    def _unannounced_end(self, status: JobStatus) -> dict:
        child = _children.get(status.pid)
        if child is not None and child.returncode == EXIT_DISK_FULL:
            return {"state": "failed", "message": "the disk is full: the job stopped, its last good epoch is kept; "
                                                  "free some space, then resume it"}
        saved = self.resumable(status.id)
        epochs = json.loads((self.folder(status.id) / "config.json").read_text()).get("epochs")
        if saved is None:
            return {"state": "interrupted", "message": "interrupted before its first epoch ended (the server "
                                                       "restarted, or the process was killed or ran out of "
                                                       "memory): nothing to resume, start it again"}
        epoch = checkpoints.read(saved).meta["training"]["epoch"]
        return {"state": "interrupted", "message": f"interrupted at epoch {epoch} of {epochs} (the server restarted, "
                                                   f"or the process was killed or ran out of memory): resume it "
                                                   f"from there"}

    def events(self, job_id: str) -> list[dict]:
        path = self.folder(job_id) / "events.jsonl"
        if not path.is_file():
            return []
        lines = path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]  # the last line may be half written

    def log_tail(self, job_id: str, lines: int = 15) -> str:
        path = self.folder(job_id) / "log.txt"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""

    def preview(self, job_id: str) -> bytes | None:
        path = self.folder(job_id) / "preview.png"
        return path.read_bytes() if path.is_file() else None

    def film(self, job_id: str) -> bytes | None:
        """The training so far as an animated GIF (frames every FILM_EVERY steps, saved after each epoch)."""
        path = self.folder(job_id) / "film.gif"
        return path.read_bytes() if path.is_file() else None

    def film_measures(self, job_id: str) -> dict | None:
        """The film's measures (see film.py): {"images": test images measured, "frames": [{"step",
        "laplacian_variance", "read_correctly"}, ...]}; None before the first save."""
        path = self.folder(job_id) / "film.json"
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):  # not written yet (it is written atomically)
            return None

    def resumable(self, job_id: str) -> Path | None:
        """The last good epoch's checkpoint of a job that did not finish."""
        found = list((self.folder(job_id) / "checkpoint").glob("*.json"))
        return found[0] if found else None

    def dismiss(self, job_id: str) -> None:
        """The visitor has read the job's outcome: the panel stops showing it."""
        (self.folder(job_id) / "dismissed").touch()

    def dismissed(self, job_id: str) -> bool:
        return (self.folder(job_id) / "dismissed").is_file()

    def folder(self, job_id: str) -> Path:
        folder = self.root / job_id
        if not (folder / "status.json").is_file():
            raise JobError(f"no job {job_id!r} in {self.root}")
        return folder

    def _read(self, folder: Path) -> dict:
        return asdict(read_status(folder))

    # -- stopping ----------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobStatus:
        """Ask the job to stop (SIGTERM to its process group); it records itself as cancelled."""
        status = self.status(job_id)
        if status.active and status.pid:
            (self.folder(job_id) / "cancel").touch()
            try:
                os.killpg(status.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(100):  # up to 10 s for it to write its status
                if not self.status(job_id).active:
                    break
                time.sleep(0.1)
        return self.status(job_id)


def device_choices(gpus: int) -> dict[str, tuple[str, int]]:
    """The training panel's devices, label -> (TrainConfig.device, processes): with several CUDA GPUs
    visible, first "all N GPUs" (one torchrun process on each), then a single device."""
    single = {"auto": ("auto", 1), "cuda": ("cuda", 1), "cpu": ("cpu", 1)}
    return ({f"all {gpus} GPUs": ("cuda", gpus)} if gpus > 1 else {}) | single


def launch_command(folder: Path, *, processes: int = 1, nice: int = 0) -> list[str]:
    """The job process's command line: the runner, or torchrun starting `processes` of it on this node. `nice`:
    the priority it lowers itself to."""
    job = ["-m", "vae_lab.jobs.runner", str(folder), *(["--nice", str(nice)] if nice else [])]
    if processes == 1:
        return [sys.executable, *job]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes), *job]


def _alive(pid: int, started: int = 0) -> bool:
    """Whether the job's process runs: this server's child, or (after a restart) a process with its pid that
    started when it did; another process that reuses the pid after a restart is not it."""
    if pid in _children:
        return _children[pid].returncode is None  # set by the thread that waits for it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = process_stat(pid)
    if started and started_ticks(fields) not in (0, started):
        return False
    return not fields or fields[0] != "Z"  # a zombie (finished, not yet reaped by its parent) is not running
