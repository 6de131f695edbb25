"""Background training jobs: one at a time per server, in their own process, state on disk.

A job is a folder under the jobs root:

    config.json    the TrainConfig recipe
    status.json    state (running, succeeded, failed, cancelled), pid, times, message, checkpoint
    events.jsonl   every progress event of the trainer, one JSON object per line
    preview.png    reconstructions of fixed test digits, rewritten after each epoch
    film.gif       the training as a film: a frame every FILM_EVERY steps (see film.py)
    film.json      each frame's Laplacian variance and share read correctly
    log.txt        the process's output
    checkpoint/    the run's checkpoint, rewritten (atomically) after each epoch

The process is `python -m vae_lab.jobs <folder>`: a fresh interpreter (so CUDA works in it) that
reads the config, calls `train()` and records how it ended, with the exception's own message.
On several GPUs it is torchrun starting one such process per GPU; rank 0 records and publishes.
Only a finished run's checkpoint is
published to the user checkpoint folder, so the model picker never lists a model in training;
a failed run keeps its last good epoch in checkpoint/, from which it can be resumed.
"""
from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import checkpoints
from .config import TrainConfig
from .data import TRAIN_SPLIT_SIZE
from .distributed import World, is_main_process

if TYPE_CHECKING:  # a type only: public.py's sweep imports this module at run time
    from .public import PublicSettings

ACTIVE = ("starting", "running")
FILM_EVERY = 50  # steps between the frames of a job's training film
_children: dict[int, subprocess.Popen] = {}  # processes this server started; polled to reap them
_reported: set[Path] = set()  # unreadable job folders already logged
log = logging.getLogger(__name__)


def jobs_root() -> Path:
    return Path(os.environ.get("VAE_LAB_JOBS", "~/.vae_lab/jobs")).expanduser()


@dataclass(frozen=True)
class JobStatus:
    id: str
    state: str  # starting | running | succeeded | failed | cancelled
    name: str  # the checkpoint being trained
    kind: str
    pid: int = 0
    started: float = 0.0
    finished: float = 0.0
    message: str = ""  # why it failed, or what it produced
    checkpoint: str = ""  # the published checkpoint JSON, once it succeeded
    warning: str = ""  # a succeeded job whose model is near chance level says so here
    owner: str = ""  # public mode: the visitor (browser session) who started it; only they see it

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class JobError(RuntimeError):
    """A job cannot be started (another is running) or found."""


class JobManager:
    """Start, watch and cancel training jobs. Holds no state of its own: everything is read from
    the jobs folder, so any session (or a restarted server) sees the same jobs.

    `owner` and `limits` (public mode): this manager lists only the owner's jobs, and starting one is
    refused while any job runs on the server, or after `limits.jobs_per_hour` of the owner's jobs in the
    last hour; the job process runs at lower priority on `limits.job_threads` threads."""

    def __init__(self, root: Path | None = None, publish_to: Path | None = None, *, owner: str = "",
                 limits: PublicSettings | None = None):
        self.root = Path(root) if root else jobs_root()
        self.publish_to = Path(publish_to) if publish_to else checkpoints.user_dir()
        self.owner, self.limits = owner, limits

    # -- starting ----------------------------------------------------------------------------
    def start(self, config: TrainConfig, *, resume: Path | None = None, processes: int = 1) -> JobStatus:
        """Launch a job, or raise JobError if one is already running (checked under a file lock).
        `processes` > 1: torchrun trains it on that many GPUs, `config.batch_size` being the global batch."""
        World(size=processes).check_batch(config.batch_size)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running = self.running()
            if running is not None:
                raise JobError(self._busy(running))
            if self.limits is not None:
                recent = [j for j in self.jobs() if j.started > time.time() - 3600]
                if len(recent) >= self.limits.jobs_per_hour:
                    wait_s = min(j.started for j in recent) + 3600 - time.time()
                    raise JobError(f"this demo allows {self.limits.jobs_per_hour} training jobs per visitor per "
                                   f"hour; you can start another in about {max(1, round(wait_s / 60))} min")
            folder = self.root / time.strftime(f"%Y%m%d-%H%M%S-{config.name}")
            folder.mkdir()
            (folder / "config.json").write_text(json.dumps(asdict(config), indent=2))
            if resume is not None:
                (folder / "resume").write_text(str(resume))
            _write_status(folder, JobStatus(folder.name, "starting", config.name, config.kind, started=time.time(),
                                            owner=self.owner))
            limited = {} if self.limits is None else {"OMP_NUM_THREADS": str(self.limits.job_threads),
                                                       "VAE_LAB_JOB_NICE": str(self.limits.job_nice)}
            log = open(folder / "log.txt", "w")
            process = subprocess.Popen(
                launch_command(folder, self.publish_to, processes=processes),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                cwd=Path(__file__).resolve().parent.parent, env=os.environ | {"PYTHONUNBUFFERED": "1"} | limited)
            _children[process.pid] = process
            _write_status(folder, self._read(folder) | {"pid": process.pid})
        return self.status(folder.name)

    # -- reading -----------------------------------------------------------------------------
    def jobs(self, *, everyone: bool = False) -> list[JobStatus]:
        """The owner's jobs (every job if there is no owner, or with `everyone`), newest first."""
        _reap()
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
            left = (last["elapsed_s"] * (last["total_steps"] / last["step"] - 1)) if last else None
            return ("the server is busy training another visitor's model; try again in about "
                    f"{max(1, round(left / 60))} min" if left else
                    "the server is busy training another visitor's model; try again in a few minutes")
        return (f"a job is already running: {running.kind} '{running.name}' ({running.id}); "
                f"wait for it or cancel it first")

    def status(self, job_id: str) -> JobStatus:
        """The job's recorded status, corrected if its process died without saying so."""
        folder = self.folder(job_id)
        status = read_status(folder)
        if status.active and status.pid and not _alive(status.pid):
            time.sleep(0.2)  # the process may be writing its final status right now
            status = read_status(folder)
            if status.active:
                status = JobStatus(**(asdict(status) | {
                    "state": "failed", "finished": time.time(),
                    "message": "the training process ended without reporting (killed, or out of memory)"}))
                _write_status(folder, status)
        return status

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


def launch_command(folder: Path, publish_to: Path, *, processes: int = 1) -> list[str]:
    """The job process's command line: the job module, or torchrun starting `processes` of it on this node."""
    job = ["-m", "vae_lab.jobs", str(folder), str(publish_to)]
    if processes == 1:
        return [sys.executable, *job]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes), *job]


def _reap() -> None:
    """Collect the exit status of this server's finished jobs, which otherwise stay zombies (<defunct>) until
    the server exits: a job that ends on its own is read from its folder, never waited for."""
    for pid, process in list(_children.items()):
        if process.poll() is not None:
            del _children[pid]


def _alive(pid: int) -> bool:
    if pid in _children:
        return _children[pid].poll() is None  # polling also reaps our finished children
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (finished, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_status(folder: Path) -> JobStatus:
    """A job folder's recorded status; JobError if its status.json cannot be read (corrupt, or not a job's)."""
    try:
        return JobStatus(**json.loads((folder / "status.json").read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise JobError(f"job {folder.name}: its status.json cannot be read ({type(error).__name__}: {error})") \
            from error


def _write_status(folder: Path, status: JobStatus | dict) -> None:
    values = asdict(status) if isinstance(status, JobStatus) else status
    checkpoints.atomic_write(folder / "status.json", lambda tmp: tmp.write_text(json.dumps(values, indent=2)))


# --- the job process ------------------------------------------------------------------------------

def run_job(folder: Path, publish_to: Path) -> int:
    """Body of the job process: train, publish the checkpoint, record the outcome."""
    from .film import TrainingFilm
    from .progress import EpochPreview, JsonLinesWriter, listeners
    from .train import TrainingDiverged, train

    if not is_main_process():  # another rank of a torchrun job trains its share; rank 0 reports
        config, resume = _job_inputs(folder)
        train(config, out_dir=folder / "checkpoint", resume=resume)
        return 0
    status = json.loads((folder / "status.json").read_text())
    _write_status(folder, status | {"state": "running", "pid": os.getpid()})
    if os.environ.get("VAE_LAB_JOB_NICE"):  # public mode: the server's pages come first
        os.nice(int(os.environ["VAE_LAB_JOB_NICE"]))

    def cancelled(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, cancelled)
    outcome = {"state": "failed", "message": ""}
    try:
        config, resume = _job_inputs(folder)
        print(f"training {config.kind} '{config.name}' on {config.dataset}", flush=True)
        result = train(config, out_dir=folder / "checkpoint", resume=resume,
                       progress=listeners(JsonLinesWriter(folder / "events.jsonl"),
                                          EpochPreview(folder / "preview.png", config.dataset)),
                       film=TrainingFilm(folder / "film.gif", config.dataset, every=FILM_EVERY))
        outcome = {"state": "succeeded", **_publish(folder, publish_to), "warning": quality_warning(result.metrics)}
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
    except Exception as error:  # a bug: the message for the panel, the traceback for the log
        outcome["message"] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
    except BaseException as error:  # out of memory, interpreter exit: record them, whatever they are
        outcome["message"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        _write_status(folder, status | {"pid": os.getpid(), "finished": time.time()} | outcome)
    return 0 if outcome["state"] == "succeeded" else 1


def _job_inputs(folder: Path) -> tuple[TrainConfig, checkpoints.Checkpoint | None]:
    resume = checkpoints.read(Path((folder / "resume").read_text().strip())) \
        if (folder / "resume").is_file() else None
    return TrainConfig.from_json(folder / "config.json"), resume


def capped_message(config: TrainConfig, epoch: int, step: int) -> str:
    """Where the wall-clock cap stopped a run: the epoch it cut short, and the step."""
    total = config.epochs * math.ceil((config.train_limit or TRAIN_SPLIT_SIZE) / config.batch_size)
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
    sys.exit(run_job(Path(sys.argv[1]), Path(sys.argv[2])))
