"""The real thing: `streamlit run app.py` on a free port, driven through Debian's Chromium.

Screenshots land in tests/output/e2e/. Where Chromium is missing the test is skipped, except
under CI (VAE_LAB_REQUIRE_BROWSER=1), where it fails.
"""
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "tests" / "output" / "e2e"

if not Path(CHROMIUM).exists():
    if os.environ.get("VAE_LAB_REQUIRE_BROWSER"):
        raise RuntimeError("Chromium is required here: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e")
    port = free_port()
    env = os.environ | {"VAE_LAB_CHECKPOINTS": str(home / "checkpoints"), "VAE_LAB_JOBS": str(home / "jobs"),
                        "VAE_LAB_CACHE": str(home / "cache"), "PYTHONUNBUFFERED": "1"}
    log = open(home / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
                                f"--server.port={port}", "--server.address=127.0.0.1"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError as error:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError("the server did not become healthy:\n" + (home / "server.log").read_text()) \
                    from error
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)  # a busy CI machine is slow; speed is measured in benchmarks/
        page.goto(server)
        yield page
        browser.close()


def no_exception(page):
    expect(page.get_by_test_id("stException")).to_have_count(0)


def choose(page, label: str, option: str):
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def picker_offers(page, option: str, *, within_s: float = 120) -> bool:
    """Open the model picker until it offers `option` (the app redraws the sidebar just after a job ends)."""
    deadline = time.time() + within_s
    while time.time() < deadline:
        page.get_by_role("combobox", name="Models").click()
        offered = page.get_by_role("option", name=option).count() > 0
        page.keyboard.press("Escape")
        if offered:
            return True
        time.sleep(1)
    return False


def digit_png() -> bytes:
    paper = np.full((160, 120), 255, dtype=np.uint8)
    paper[30:130, 52:68] = 0  # a bold "1" in pen on paper
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_page_with_upload_and_latent_slider(page):
    expect(page.get_by_text("Originals", exact=True)).to_be_visible()
    no_exception(page)
    page.screenshot(path=SHOTS / "1-reconstruct.png", full_page=True)

    choose(page, "Digits", "Upload images")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "my-one.png", "mimeType": "image/png", "buffer": digit_png()}])
    expect(page.get_by_text("as 28x28")).to_be_visible()
    expect(page.get_by_text("my-one.png").first).to_be_visible()
    rows = page.locator("[data-testid=stMarkdownContainer] strong")
    expect(rows.filter(has_text="dfc")).to_have_count(1)
    no_exception(page)
    page.screenshot(path=SHOTS / "2-upload.png", full_page=True)

    page.get_by_role("link", name="Latent explorer").click()
    decoded = page.locator("[data-testid=stImage]").filter(has_text="decode(z)")
    expect(decoded).to_be_visible()
    before = decoded.locator("img").get_attribute("src")
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(decoded.locator("img")).not_to_have_attribute("src", before)
    no_exception(page)
    page.screenshot(path=SHOTS / "3-latent-explorer.png", full_page=True)

    page.get_by_role("link", name="Interpolation").click()
    expect(page.get_by_text("Download as animated GIF")).to_be_visible()
    no_exception(page)
    page.screenshot(path=SHOTS / "4-interpolation.png", full_page=True)

    page.get_by_role("link", name="Blur analysis").click()
    expect(page.get_by_text("Paired comparisons", exact=True)).to_be_visible(timeout=300_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    no_exception(page)
    page.screenshot(path=SHOTS / "5-blur-analysis.png", full_page=True)

    page.get_by_role("link", name="Models").click()
    expect(page.get_by_text("What the columns mean")).to_be_visible(timeout=300_000)
    no_exception(page)
    page.screenshot(path=SHOTS / "6-models.png", full_page=True)


def test_a_tiny_training_job_from_the_sidebar(page):
    page.get_by_role("link", name="Reconstruct").click()
    page.get_by_text("Train a model").click()
    choose(page, "Kind", "plain VAE")
    page.get_by_label("Epochs").fill("1")
    page.get_by_label("Training images (0 = all 60,000)").fill("2000")
    expect(page.locator("input[aria-label=Name][value^=my-plain]")).to_be_visible()  # the plain VAE form
    expect(page.get_by_label("Name")).to_have_count(1)  # and the DFC form's stale field is gone
    name = page.get_by_label("Name")
    name.fill("e2e-plain")
    name.press("Enter")
    page.get_by_role("button", name="Start training").click()
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_be_visible()
    page.screenshot(path=SHOTS / "7-training.png", full_page=True)
    expect(page.get_by_text("It is in the model picker")).to_be_visible(timeout=300_000)
    assert picker_offers(page, "plain VAE: e2e-plain")
    no_exception(page)
    page.screenshot(path=SHOTS / "8-trained.png", full_page=True)


@pytest.fixture
def cross_site_parent(server, tmp_path):
    """A page on another origin (localhost on a second port vs the app's 127.0.0.1) that embeds the app in
    an iframe, as a Hugging Face Space does."""
    import functools
    import http.server
    import threading

    (tmp_path / "index.html").write_text(f'<!doctype html><title>host</title><h1>A host page</h1>'
                                         f'<iframe src="{server}" width="1350" height="900"></iframe>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    host = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    yield f"http://localhost:{host.server_address[1]}/index.html"
    host.shutdown()


def test_an_upload_works_inside_a_cross_site_iframe(page, cross_site_parent):
    framed = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})  # a new visitor
    framed.set_default_timeout(120_000)
    framed.goto(cross_site_parent)
    app = framed.frame_locator("iframe")
    expect(app.get_by_text("Originals", exact=True)).to_be_visible(timeout=120_000)
    app.get_by_test_id("stSelectbox").filter(has_text="Digits").first.click()
    app.get_by_role("option", name="Upload images", exact=True).click()
    app.locator("input[type=file]").set_input_files(
        files=[{"name": "framed-one.png", "mimeType": "image/png", "buffer": digit_png()}])
    expect(app.get_by_text("as 28x28")).to_be_visible(timeout=120_000)
    expect(app.locator("[data-testid=stMarkdownContainer] strong").filter(has_text="dfc")).to_have_count(1)
    expect(app.get_by_test_id("stException")).to_have_count(0)
    framed.screenshot(path=SHOTS / "9-cross-site-iframe-upload.png", full_page=True)
    framed.close()
