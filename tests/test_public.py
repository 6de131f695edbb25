"""Public-demo mode: visitors' jobs and models are their own, fair use, clean stops, the sweep."""
import json
import os
import time

import pytest

from vae_lab import checkpoints, public
from vae_lab.jobs import JobError
from vae_lab.jobs import JobManager
from conftest import workspace_at
from vae_lab.train import train
from test_jobs import wait


@pytest.fixture
def limits():
    return public.PublicSettings(jobs_per_hour=2, job_minutes=0.05, job_threads=1).job_limits()


def test_a_visitor_sees_only_their_own_jobs_and_another_visitor_is_told_the_server_is_busy(
        tmp_path, tiny_config, tiny_checkpoints, limits):
    alice = JobManager(workspace_at(tmp_path, visitor="a" * 16), owner="a" * 16, limits=limits)
    bob = JobManager(workspace_at(tmp_path, visitor="b" * 16), owner="b" * 16, limits=limits)
    status = alice.start(tiny_config(kind="plain", name="mine", epochs=50, train_limit=0))
    assert alice.latest().id == status.id and bob.latest() is None  # nor its log, preview or film
    with pytest.raises(JobError, match="busy training another visitor's model"):
        bob.start(tiny_config(kind="plain", name="theirs"))
    with pytest.raises(JobError, match="already running"):
        alice.start(tiny_config(kind="plain", name="again"))
    alice.cancel(status.id)


def test_the_hourly_limit_counts_the_visitors_own_jobs(tmp_path, tiny_config, tiny_checkpoints, limits):
    alice = JobManager(workspace_at(tmp_path, visitor="a" * 16), owner="a" * 16, limits=limits)
    for i in range(2):
        assert wait(alice, alice.start(tiny_config(kind="classifier", name=f"c{i}", epochs=1)).id).state == "succeeded"
    with pytest.raises(JobError, match="2 training jobs per visitor per hour"):
        alice.start(tiny_config(kind="classifier", name="c3", epochs=1))
    bob = JobManager(workspace_at(tmp_path, visitor="b" * 16), owner="b" * 16, limits=limits)
    assert wait(bob, bob.start(tiny_config(kind="classifier", name="b1", epochs=1)).id).state == "succeeded"


def test_the_wall_clock_cap_ends_the_epoch_early_and_still_saves_it(tmp_path, tiny_config, tiny_checkpoints):
    config = tiny_config(kind="plain", name="capped", epochs=3, train_limit=20_000, max_minutes=0.05)

    def slow_steps(event):  # 625 steps an epoch at 10 ms each at least: no machine finishes one in the 3 s cap
        time.sleep(0.01)
    result = train(config, out_dir=tmp_path, progress=slow_steps)
    training = result.checkpoint.meta["training"]
    assert result.capped and training["epoch"] == 1 and "bce" in result.metrics
    assert training["step"] < 20_000 // config.batch_size, "the epoch ended early, not after all its steps"
    assert checkpoints.load(result.checkpoint) is not None


def test_the_sweep_removes_old_visitors_then_the_oldest_over_the_disk_cap(tmp_path):
    root, jobs = tmp_path / "ck", tmp_path / "jobs"
    for name, age_h, size in (("a" * 16, 30, 10), ("b" * 16, 5, 600_000), ("c" * 16, 1, 600_000)):
        folder = workspace_at(tmp_path, visitor=name).own_models
        folder.mkdir(parents=True)
        (folder / "m.safetensors").write_bytes(b"x" * size)
        then = time.time() - 3600 * age_h
        for path in (folder / "m.safetensors", folder):
            os.utime(path, (then, then))
    old_job = jobs / "old"
    old_job.mkdir(parents=True)
    (old_job / "status.json").write_text(json.dumps({"id": "old", "state": "succeeded", "name": "m", "kind": "plain"}))
    then = time.time() - 3600 * 30
    for path in (old_job / "status.json", old_job):
        os.utime(path, (then, then))
    removed = public.sweep(root, jobs, public.PublicSettings(keep_hours=24, disk_mb=1.0))
    assert sorted(p.name for p in removed) == ["a" * 16, "b" * 16, "old"]
    assert workspace_at(tmp_path, visitor="c" * 16).own_models.is_dir()


def test_a_visitor_id_cannot_walk_out_of_its_folder(tmp_path):
    with pytest.raises(ValueError, match="hexadecimal"):
        workspace_at(tmp_path, visitor="../../etc")
