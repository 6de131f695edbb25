"""A restart in the middle of a job, as a Space's container restart does it: the server and its job killed with
SIGKILL, a new server on the same folders, the job shown as interrupted, resumed by its owner, and the model it
ends with the one an uninterrupted run gives."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from test_browser import CHROMIUM, REPO, SHOTS, browser_page, choose, free_port, no_exception

from playwright.sync_api import expect, sync_playwright

from vae_lab import checkpoints
from vae_lab.config import TrainConfig
from vae_lab.jobs.status import read_status
from vae_lab.train import train


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    """The app's server on the folders under `home`, in a process group of its own; healthy when returned."""
    port = free_port()
    env = os.environ | {"VAE_LAB_CHECKPOINTS": str(home / "checkpoints"), "VAE_LAB_JOBS": str(home / "jobs"),
                        "VAE_LAB_CACHE": str(home / "cache"), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    log = open(home / f"server-{port}.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
                                f"--server.port={port}", "--server.address=127.0.0.1"], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise AssertionError("the server did not become healthy:\n" + (home / f"server-{port}.log").read_text())


def kill_everything(server: subprocess.Popen, jobs: Path) -> None:
    """What a container's restart does: every process gone at once, with no chance to say so."""
    for folder in jobs.iterdir():
        if (folder / "status.json").is_file() and read_status(folder).pid:
            try:
                os.killpg(read_status(folder).pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


def test_a_job_killed_with_its_server_is_shown_interrupted_and_resumes_to_the_uninterrupted_model(
        chromium, tmp_path, full_data):
    home = tmp_path / "state"
    home.mkdir()
    server, url = start_server(home)
    try:
        with browser_page(chromium, url) as page:
            page.get_by_role("link", name="Reconstruct").click()
            expect(page.get_by_text("Originals", exact=True)).to_be_visible()
            page.get_by_text("Train a model").click()
            choose(page, "Kind", "plain VAE")
            page.get_by_label("Epochs").fill("2")
            page.get_by_label("Training images (0 = all 60,000)").fill("4000")
            name = page.get_by_label("Name")
            expect(page.locator("input[aria-label=Name][value^=my-plain]")).to_be_visible()
            expect(name).to_have_count(1)  # the previous kind's name box gone: a busy server removes it late
            name.fill("restarted")
            name.press("Enter")
            page.get_by_role("button", name="Start training").click()
            expect(page.get_by_test_id("stProgress")).to_be_visible()
            saved = home / "jobs"
            for _ in range(1200):  # the first epoch's checkpoint, then the kill at once
                found = list(saved.glob("*/checkpoint/*.json"))
                if found:
                    break
                time.sleep(0.05)
            assert found, "no epoch was saved"
            kill_everything(server, saved)
        (job,) = [folder for folder in saved.iterdir() if folder.is_dir()]
        assert read_status(job).state == "running", "nobody was left to record the end"
        stale = job / "checkpoint" / ".restarted.json.half.tmp"  # what a write cut short by the kill leaves
        stale.write_text("{")
        os.utime(stale, (time.time() - 3600, time.time() - 3600))

        server, url = start_server(home)
        with browser_page(chromium, url) as page:
            notice = page.get_by_text("interrupted at epoch 1 of 2")
            expect(notice).to_be_visible()
            page.screenshot(path=SHOTS / "restart-interrupted.png", full_page=True)
            assert not stale.exists(), "a half-written file survived the restart"
            page.get_by_role("button", name="Resume from the last good epoch").click()
            expect(page.get_by_text("It is in the model picker")).to_be_visible(timeout=300_000)
            no_exception(page)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    resumed = checkpoints.read(home / "checkpoints" / "restarted.json")
    assert resumed.meta["training"]["epoch"] == 2

    # The same recipe, uninterrupted, on one thread as the job processes ran
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        straight = train(TrainConfig.from_dict(resumed.meta["recipe"]), out_dir=tmp_path / "straight").checkpoint
    finally:
        torch.set_num_threads(threads)
    a, b = resumed.tensors(), straight.tensors()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-4, atol=1e-5), key
    leftovers = [p for p in home.rglob("*.tmp")]
    assert not leftovers, leftovers
