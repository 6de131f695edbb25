import os
import signal
import time

import pytest

from vae_lab import checkpoints
from vae_lab.jobs import JobError
from vae_lab.jobs import JobManager
from conftest import workspace_at


def wait(manager, job_id, *, until=lambda s: not s.active, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = manager.status(job_id)
        if until(status):
            return status
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {manager.status(job_id).state} after {timeout}s:\n"
                         f"{manager.log_tail(job_id)}")


@pytest.fixture
def manager(tmp_path, tiny_checkpoints):
    return JobManager(workspace_at(tmp_path))


def test_a_job_runs_reports_progress_and_publishes_a_loadable_checkpoint(manager, tiny_config, tmp_path):
    status = manager.start(tiny_config(kind="plain", name="job-plain", epochs=2, log_every=2))
    assert status.active and status.pid > 0 and status.name == "job-plain"
    done = wait(manager, status.id)
    assert done.state == "succeeded", manager.log_tail(status.id)
    assert done.checkpoint == str(manager.workspace.own_models / "job-plain.json")
    model = checkpoints.load(done.checkpoint)
    assert model.latent_dim == 5
    kinds = [e["event"] for e in manager.events(status.id)]
    assert kinds.count("epoch") == 2 and kinds[-1] == "done" and "step" in kinds
    doing = [e["doing"] for e in manager.events(status.id) if e["event"] == "phase"]  # what the monitor says then
    assert doing == ["validating on 128 test images"] * 2 + ["fitting the aggregate posterior to 256 training "
                                                             "images' codes"], doing
    assert manager.preview(status.id)[:4] == b"\x89PNG"


def test_a_finished_job_is_reaped_at_once_with_no_page_run(manager, tiny_config):
    """No zombie (<defunct>) waits for the next page run to poll it: once the job process is gone, its pid is no
    longer in the process table within a second, and nothing here asked the manager anything meanwhile."""
    from vae_lab.jobs.status import read_status
    status = manager.start(tiny_config(kind="classifier", name="job-reaped"))
    folder = manager.folder(status.id)
    deadline = time.time() + 180
    while read_status(folder).active and time.time() < deadline:  # the file, not the manager
        time.sleep(0.1)
    assert not read_status(folder).active
    stat = f"/proc/{status.pid}/stat"
    for _ in range(50):  # the process writes its status, then exits: up to a few tenths of a second later
        if not os.path.exists(stat):
            break
        time.sleep(0.1)
    gone_or_state = "gone" if not os.path.exists(stat) else open(stat).read().rsplit(")", 1)[1].split()[0]
    assert gone_or_state == "gone", f"the finished job's process is still in the table: state {gone_or_state}"


def test_status_is_read_back_by_a_new_manager(manager, tiny_config):
    status = manager.start(tiny_config(kind="classifier", name="job-cls"))
    wait(manager, status.id)
    again = JobManager(manager.workspace)
    assert again.latest().id == status.id and again.latest().state == "succeeded"
    assert again.events(status.id)[-1]["event"] == "done"


def test_one_job_at_a_time(manager, tiny_config):
    first = manager.start(tiny_config(kind="plain", name="job-long", epochs=30, train_limit=2048))
    try:
        with pytest.raises(JobError, match="already running.*job-long"):
            manager.start(tiny_config(kind="plain", name="job-second"))
        assert JobManager(manager.workspace).running().id == first.id
    finally:
        manager.cancel(first.id)


def test_cancel_stops_the_job_and_keeps_the_last_good_epoch(manager, tiny_config):
    status = manager.start(tiny_config(kind="plain", name="job-cancel", epochs=50, train_limit=1024))
    wait(manager, status.id, until=lambda s: any(e["event"] == "epoch" for e in manager.events(status.id)))
    cancelled = manager.cancel(status.id)
    assert cancelled.state == "cancelled" and "resumed" in cancelled.message
    assert not (manager.publish_to / "job-cancel.json").exists(), "an unfinished model must not be published"
    last_good = manager.resumable(status.id)
    assert checkpoints.read(last_good).meta["training"]["epoch"] >= 1

    resumed = manager.start(tiny_config(kind="plain", name="job-cancel", epochs=2, train_limit=1024),
                            resume=last_good)
    assert wait(manager, resumed.id).state == "succeeded", manager.log_tail(resumed.id)


def test_a_cancel_before_the_first_epoch_offers_nothing_to_resume(manager, tiny_config):
    status = manager.start(tiny_config(kind="plain", name="job-early", epochs=5, train_limit=0, log_every=1))
    wait(manager, status.id, until=lambda s: any(e["event"] == "step" for e in manager.events(status.id)))
    cancelled = manager.cancel(status.id)
    assert cancelled.state == "cancelled" and "nothing to resume" in cancelled.message
    assert manager.resumable(status.id) is None


def test_a_crashing_job_reports_why(manager, tiny_config):
    status = manager.start(tiny_config(kind="dfc", name="job-crash", perceptual_model="no-such-classifier"))
    failed = wait(manager, status.id)
    assert failed.state == "failed"
    assert "'no-such-classifier' of mnist's images as its perceptual model" in failed.message
    assert "python -m vae_lab train --kind classifier" in failed.message
    assert "error:" in manager.log_tail(status.id)


def test_a_killed_process_is_reported_as_interrupted(manager, tiny_config):
    status = manager.start(tiny_config(kind="plain", name="job-killed", epochs=50, train_limit=2048))
    wait(manager, status.id, until=lambda s: s.state == "running")
    os.kill(status.pid, signal.SIGKILL)
    ended = wait(manager, status.id)
    assert ended.state == "interrupted" and "the process was killed" in ended.message


def test_near_chance_models_are_named():
    from vae_lab.jobs.runner import quality_warning

    assert "barely better than chance" in quality_warning({"accuracy": 0.11})
    assert quality_warning({"accuracy": 0.93}) == "" and quality_warning({"loss": 1.0}) == ""


def test_the_job_monitors_loss_chart_reads_in_the_sidebar():
    """A perceptual loss starts in the thousands and falls to tens: the y-axis spans the run after its start, so
    the rest is not a flat line at the bottom, and the legend sits under the plot, not beside it."""
    from vae_lab.figures import training_curves
    steps = [{"step": s, "metrics": {"loss": 5000.0 if s < 5 else 100.0 - s / 10, "kl": 8.0}} for s in range(100)]
    epochs = [{"step": 99, "metrics": {"val_loss": 95.0, "val_kl": 8.5}}]
    figure = training_curves(steps, epochs, ["loss", "kl"])
    low, high = figure.layout.yaxis.range
    assert high < 200 and low < 8.0, (low, high)
    assert figure.layout.legend.orientation == "h"


def _job_folder(manager, config):
    """A job's folder as `JobManager.start` writes it, without starting its process (the test runs its body)."""
    import json
    from dataclasses import asdict

    from vae_lab.jobs.status import JobStatus, write_status
    folder = manager.root / f"job-{config.name}"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(asdict(config.resolved())))
    (folder / "workspace.json").write_text(manager.workspace.to_json())
    write_status(folder, JobStatus(folder.name, "starting", config.name, config.kind, started=time.time()))
    return folder


def test_a_full_disk_keeps_the_last_good_epoch_and_fails_the_job_saying_so(manager, tiny_config, monkeypatch):
    """ENOSPC while the second epoch's checkpoint is written: the first epoch's files stay whole and loadable, no
    temporary file is left, and the job fails with "the disk is full" (the job process's body, run here)."""
    import errno

    from vae_lab.jobs import runner
    from vae_lab.jobs.status import read_status
    folder = _job_folder(manager, tiny_config(kind="plain", name="full-disk", epochs=2))
    real_write, written = checkpoints.atomic_write, []

    def fills_up(path, write):
        if path.parent.name == "checkpoint" and any(p.parent == path.parent and p.suffix == ".json" for p in written):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        real_write(path, write)

    monkeypatch.setattr(checkpoints, "atomic_write", fills_up)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the job process's SIGTERM handler: not pytest's
    assert runner.run_job(folder) == 1
    status = read_status(folder)
    assert status.state == "failed" and status.message.startswith("the disk is full"), status
    kept = checkpoints.read(next((folder / "checkpoint").glob("*.json")))
    assert kept.meta["training"]["epoch"] == 1 and checkpoints.load(kept.json_path).latent_dim == 5
    assert not list(folder.rglob("*.tmp")) and not manager.publish_to.exists()
    assert manager.resumable(folder.name) == kept.json_path


def test_a_job_the_disk_could_not_even_record_is_said_to_have_filled_it(manager, tiny_config, monkeypatch):
    """When not even the final status fits, the job process exits with EXIT_DISK_FULL and the server (its parent)
    says why; a process that died unannounced with a saved epoch is "interrupted at epoch k of n"."""
    import subprocess

    from vae_lab.jobs import manager as jobs
    from vae_lab.jobs.status import EXIT_DISK_FULL, read_status, write_status
    folder = _job_folder(manager, tiny_config(kind="plain", name="silent", epochs=3))
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_status(folder, read_status(folder).__dict__ | {"state": "running", "pid": dead.pid})
    monkeypatch.setitem(jobs._children, dead.pid, type("Ended", (), {"returncode": EXIT_DISK_FULL})())
    assert manager.status(folder.name).message.startswith("the disk is full")

    other = _job_folder(manager, tiny_config(kind="plain", name="killed", epochs=3))
    from vae_lab.train import train
    train(tiny_config(kind="plain", name="killed", epochs=1), out_dir=other / "checkpoint")
    write_status(other, read_status(other).__dict__ | {"state": "running", "pid": dead.pid})
    monkeypatch.setitem(jobs._children, dead.pid, type("Killed", (), {"returncode": -9})())
    status = manager.status(other.name)
    assert (status.state, status.message.split(" (")[0]) == ("interrupted", "interrupted at epoch 1 of 3"), status


def test_a_pid_reused_after_a_restart_is_not_taken_for_the_job(manager, tiny_config):
    """After a container restart a new process may get the old job's pid: the start time recorded with the pid
    tells them apart, so the job is not shown running for ever."""
    from vae_lab.jobs.status import process_started, read_status, write_status
    folder = _job_folder(manager, tiny_config(kind="plain", name="reused", epochs=2))
    me = os.getpid()
    write_status(folder, read_status(folder).__dict__ | {"state": "running", "pid": me,
                                                         "pid_started": process_started(me) - 1})
    assert manager.status(folder.name).state == "interrupted"
    write_status(folder, read_status(folder).__dict__ | {"state": "running", "pid": me,
                                                         "pid_started": process_started(me)})
    assert manager.status(folder.name).state == "running", "the job's own process, still running"
