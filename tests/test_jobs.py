import os
import signal
import time

import pytest

from vae_lab import checkpoints
from vae_lab.job_status import JobError
from vae_lab.jobs import JobManager


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
    return JobManager(tmp_path / "jobs", publish_to=tmp_path / "published")


def test_a_job_runs_reports_progress_and_publishes_a_loadable_checkpoint(manager, tiny_config, tmp_path):
    status = manager.start(tiny_config(kind="plain", name="job-plain", epochs=2, log_every=2))
    assert status.active and status.pid > 0 and status.name == "job-plain"
    done = wait(manager, status.id)
    assert done.state == "succeeded", manager.log_tail(status.id)
    assert done.checkpoint == str(tmp_path / "published" / "job-plain.json")
    model = checkpoints.load(done.checkpoint)
    assert model.latent_dim == 5
    kinds = [e["event"] for e in manager.events(status.id)]
    assert kinds.count("epoch") == 2 and kinds[-1] == "done" and "step" in kinds
    assert manager.preview(status.id)[:4] == b"\x89PNG"


def test_a_finished_job_is_reaped_at_once_with_no_page_run(manager, tiny_config):
    """No zombie (<defunct>) waits for the next page run to poll it: once the job process is gone, its pid is no
    longer in the process table within a second, and nothing here asked the manager anything meanwhile."""
    from vae_lab.job_status import read_status
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
    again = JobManager(manager.root, publish_to=manager.publish_to)
    assert again.latest().id == status.id and again.latest().state == "succeeded"
    assert again.events(status.id)[-1]["event"] == "done"


def test_one_job_at_a_time(manager, tiny_config):
    first = manager.start(tiny_config(kind="plain", name="job-long", epochs=30, train_limit=2048))
    try:
        with pytest.raises(JobError, match="already running.*job-long"):
            manager.start(tiny_config(kind="plain", name="job-second"))
        assert JobManager(manager.root).running().id == first.id
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
    assert "'no-such-classifier' as its perceptual model" in failed.message
    assert "python -m vae_lab train --kind classifier" in failed.message
    assert "error:" in manager.log_tail(status.id)


def test_a_killed_process_is_reported_as_failed(manager, tiny_config):
    status = manager.start(tiny_config(kind="plain", name="job-killed", epochs=50, train_limit=2048))
    wait(manager, status.id, until=lambda s: s.state == "running")
    os.kill(status.pid, signal.SIGKILL)
    failed = wait(manager, status.id)
    assert failed.state == "failed" and "without reporting" in failed.message


def test_near_chance_models_are_named():
    from vae_lab.job_process import quality_warning

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
