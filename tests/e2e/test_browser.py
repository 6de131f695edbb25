"""The real thing: `streamlit run app.py` on a free port, driven through Debian's Chromium.

Screenshots land in tests/output/e2e/. Where Chromium is missing the test is skipped, except
under CI (VAE_LAB_REQUIRE_BROWSER=1), where it fails.
"""
import contextlib
import io
import os
import re
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

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(home: Path, **variables: str):
    """`streamlit run app.py` with its own models, jobs and cache under `home` (and any further environment
    `variables`, e.g. VAE_LAB_PUBLIC="1"), until the block ends."""
    port = free_port()
    env = os.environ | {"VAE_LAB_CHECKPOINTS": str(home / "checkpoints"), "VAE_LAB_JOBS": str(home / "jobs"),
                        "VAE_LAB_CACHE": str(home / "cache"), "PYTHONUNBUFFERED": "1"} | variables
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
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The server the read-only tests share (the training test has its own: it adds a model and a job)."""
    with serve(tmp_path_factory.mktemp("e2e")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:  # one Playwright per thread: every page of the module comes from this browser
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@contextlib.contextmanager
def browser_page(browser, url: str):
    """A new visitor (a browser context of its own) on `url`, watched for failed chunks and element errors."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = watched(context.new_page())
    page.set_default_timeout(120_000)
    expect.set_options(timeout=120_000)  # a busy CI machine is slow; speed is measured in benchmarks/
    page.goto(url)
    try:
        yield page
    finally:
        context.close()


FAILURES: dict[int, list[str]] = {}  # per page: failed requests for the app's own files, uncaught script errors


def watched(page):
    """`page`, with what `no_exception` checks besides Streamlit's error boxes: every failed request for the
    app's static files (a lazily loaded chunk or its CSS) and every uncaught error in the page's scripts."""
    failures = FAILURES.setdefault(id(page), [])
    page.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}")  # not a load the page cancelled
            if "/static/" in r.url and r.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda r: failures.append(f"{r.url}: HTTP {r.status}")
            if r.status >= 400 and "/static/" in r.url else None)
    page.on("pageerror", lambda error: failures.append(f"script error: {error}"))
    return page


@pytest.fixture(scope="module")
def page(chromium, server):
    with browser_page(chromium, server) as page:
        yield page


def no_exception(page):
    """No exception box, no element error (such as "Unable to preload CSS"), no failed chunk, no script error."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stErrorElement")).to_have_count(0)
    assert not FAILURES.get(id(page)), FAILURES[id(page)]


def choose(page, label: str, option: str, *, within: str = "stApp"):
    """Pick `option` in the select box `label`, opening its list again if a rerun closed it first (a page whose
    first run is still drawing replaces its widgets: CI, 2026-12-01), and again if a rerun that was under way
    put the box back to its old value (the Interpolation page's To box, a fresh clone's CI, 2026-12-04)."""
    box = page.get_by_test_id(within).get_by_test_id("stSelectbox").filter(has_text=label).first
    seen = []
    for _ in range(3):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=20_000)
        except PlaywrightTimeoutError:
            seen = page.get_by_role("option").all_inner_texts()
            page.keyboard.press("Escape")
            idle(page)
            continue
        idle(page)
        if box.locator("input").input_value() == option:
            return
    raise AssertionError(f"{label}: {option!r} was not chosen (the list showed {seen})")


def choose_dataset(page, label: str):
    page.get_by_test_id("stSidebar").get_by_text(label, exact=True).click()
    no_exception(page)


def digit_png() -> bytes:
    paper = np.full((160, 120), 255, dtype=np.uint8)
    paper[30:130, 52:68] = 0  # a bold "1" in pen on paper
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_landing_page_redraws_curves_and_images_when_a_transform_slider_is_dragged(page):
    expect(page.get_by_role("heading", name="Why are VAEs blurry?")).to_be_visible()
    expect(page.get_by_text("the critic's decoder: Laplacian variance")).to_be_visible(timeout=300_000)
    idle(page)
    page.screenshot(path=SHOTS / "0-why-blurry.png", full_page=True)
    before = image_sources(page)
    slider = page.get_by_test_id("stMain").get_by_role("slider").first  # the change's amount: blur, sigma 2
    slider.focus()
    for _ in range(4):  # dragged by the keyboard, as a student's arrow keys do: sigma 2 -> 1
        page.keyboard.press("ArrowLeft")
    expect(page.get_by_text("Gaussian blur: 1", exact=True)).to_be_visible()
    expect(page.get_by_text("the line marks 1.")).to_be_visible()  # the curves' chart, redrawn
    idle(page)
    after = image_sources(page)
    assert after[0] == before[0], "the original changed"
    assert len(set(after) - set(before)) >= 3, "the changed image, its maps and the curves were not redrawn"
    page.screenshot(path=SHOTS / "0b-why-blurry-dragged.png", full_page=True)


def test_every_page_with_upload_and_latent_slider(page):
    page.get_by_role("link", name="Reconstruct").click()
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
    first_image = "() => document.querySelector('#outputs canvas.decoding').toDataURL()"
    first_value = "() => document.querySelectorAll('#sliders span')[1].textContent"
    before, value = on_pad(page, first_image), on_pad(page, first_value)  # decoded in the browser
    pad_frame(page).locator("#sliders input").first.focus()
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    deadline = time.time() + 30
    while on_pad(page, first_value) == value:
        assert time.time() < deadline, "the dragged slider's value did not change"
        page.wait_for_timeout(100)
    assert on_pad(page, first_image) != before  # drawn in the same animation frame as the value
    box = pad_frame(page).locator("#pad").bounding_box()
    point = on_pad(page, "() => window.vaeLab.point()")
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.move(box["x"] + 60, box["y"] + 50)
    assert on_pad(page, "() => window.vaeLab.point()") != point  # hovering the pad moves the point
    no_exception(page)
    page.screenshot(path=SHOTS / "3-latent-explorer.png", full_page=True)

    page.get_by_text("Decode in the browser").click()  # the server-side fallback
    decoded = page.locator("[data-testid=stImage]").filter(has_text="decode(z)")
    expect(decoded).to_be_visible()
    before = decoded.locator("img").get_attribute("src")
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(decoded.locator("img")).not_to_have_attribute("src", before)
    no_exception(page)
    page.screenshot(path=SHOTS / "3b-latent-explorer-server.png", full_page=True)
    page.get_by_text("Decode in the browser").click()
    pad_frame(page)

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


@pytest.fixture
def own_page(chromium, tmp_path, full_data):
    """A browser on a server of its own, for a test that leaves a model and a job behind (training needs the
    full data sets)."""
    with serve(tmp_path) as url, browser_page(chromium, url) as page:
        yield page


def test_a_tiny_training_job_from_the_sidebar(own_page):
    page = own_page
    page.get_by_role("link", name="Reconstruct").click()  # the landing page is "Why blurry?"
    expect(page.get_by_text("Originals", exact=True)).to_be_visible()
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
    outcome = page.get_by_text("It is in the model picker")
    expect(outcome).to_be_visible(timeout=300_000)
    rows = page.get_by_test_id("stMain").locator("[data-testid=stMarkdownContainer] strong")  # not the job monitor's
    expect(rows.filter(has_text="e2e-plain")).to_have_count(1)  # chosen in the picker: its row is shown
    no_exception(page)
    page.screenshot(path=SHOTS / "8-trained.png", full_page=True)
    page.get_by_role("link", name="Interpolation").click()
    expect(page.get_by_text("Download as animated GIF")).to_be_visible()
    expect(outcome).to_be_visible()  # the outcome stays until dismissed
    page.get_by_role("button", name="Dismiss").click()
    expect(outcome).to_have_count(0)


@pytest.fixture
def cross_site_parent(server, tmp_path):
    """A page on another origin (localhost on a second port vs the app's 127.0.0.1) that embeds the app in
    an iframe, as a Hugging Face Space does."""
    import functools
    import http.server
    import threading

    (tmp_path / "index.html").write_text(f'<!doctype html><title>host</title><h1>A host page</h1>'
                                         f'<iframe src="{server}/reconstruct" width="1350" height="900"></iframe>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    host = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    yield f"http://localhost:{host.server_address[1]}/index.html"
    host.shutdown()


def test_an_upload_works_inside_a_cross_site_iframe(page, cross_site_parent):
    framed = watched(page.context.browser.new_page(viewport={"width": 1400, "height": 1000}))  # a new visitor
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
    expect(app.get_by_test_id("stErrorElement")).to_have_count(0)
    assert not FAILURES.get(id(framed)), FAILURES[id(framed)]
    framed.screenshot(path=SHOTS / "9-cross-site-iframe-upload.png", full_page=True)
    framed.close()


def on_pad(page, script: str):
    """`script`'s result in the latent pad's frame, found afresh each time: the run that follows a gesture
    may redraw the component while the test looks at it."""
    for _ in range(20):
        try:
            return pad_frame(page).evaluate(script)
        except PlaywrightError:  # the frame was replaced between finding it and asking it
            page.wait_for_timeout(200)
    raise AssertionError(f"the latent pad kept being replaced while evaluating {script}")


def pad_frame(page, *, showing: str = "", starting_from: str = ""):
    """The latent pad's iframe, once its decoders (of models whose names contain `showing`) have drawn, and,
    with `starting_from` (a digit's caption), once it starts from that digit: the component hears of a choice
    after Streamlit's running indicator has gone (CI, 2026-12-02)."""
    deadline = time.time() + 120
    while time.time() < deadline:
        for frame in [f for f in page.frames if "latent_pad" in f.url]:
            try:
                ready = frame.evaluate("() => window.vaeLab && window.vaeLab.stats.firstImageMs !== null && "
                                       "[Array.from(document.querySelectorAll('#outputs canvas.decoding'), "
                                       "c => c.dataset.model), window.vaeLab.startKey()]")
            except Exception:  # a frame Streamlit has just replaced
                continue
            if ready and all(showing in label for label in ready[0]) and ready[1].endswith(f"-{starting_from}"
                                                                                          if starting_from else ""):
                return frame
        page.wait_for_timeout(200)  # not time.sleep: Playwright's sync API learns of new frames only while called
    page.screenshot(path=SHOTS / "no-latent-pad.png", full_page=True)
    raise AssertionError(f"no latent pad showing {showing!r} models drew within 120 s on {page.url}")


def test_side_by_side_every_model_starts_from_its_own_code_of_the_digit(page, server):
    import torch
    from vae_lab import checkpoints, data

    page.goto(f"{server}/latent_explorer?dataset=mnist&source=index&indices=1%2C+2%2C+3")  # a new session, by link
    idle(page)
    judge = checkpoints.load(checkpoints.shipped("classifier"))  # the server's: this process may hold a test's own
    for digit, number, label in (("#1 (2)", 1, 2), ("#3 (0)", 3, 0)):
        choose(page, "Digit", digit, within="stMain")
        idle(page)
        frame = pad_frame(page, starting_from=digit)
        labels = frame.locator("#outputs canvas.decoding").evaluate_all("cs => cs.map(c => c.dataset.model)")
        assert len(labels) == 4, labels
        x = data.test_split("mnist").batch(slice(number, number + 1))[0]
        codes = [checkpoints.load(checkpoints.shipped(label.split(": ")[-1])).encode(x).mu[0] for label in labels]
        for _ in range(100):  # each model at its own code of the digit, once the component has heard of it
            latents = frame.evaluate("() => window.vaeLab.latents()")
            if all(torch.allclose(torch.tensor(z), code, atol=1e-4) for z, code in zip(latents, codes)):
                break
            page.wait_for_timeout(100)
        assert all(torch.allclose(torch.tensor(z), code, atol=1e-4) for z, code in zip(latents, codes)), \
            (digit, latents, codes)
        images = torch.tensor([frame.evaluate("([i, z]) => window.vaeLab.decode(i, z)", [i, z])
                               for i, z in enumerate(latents)]).view(-1, 1, 28, 28)
        read = judge.predict(images).tolist()
        assert read == [label] * len(labels), (digit, dict(zip(labels, read)))  # one vector would read 2, 8, 9, 7
    legend = frame.locator("#legend span").all_inner_texts()
    assert legend == [str(d) for d in range(10)]
    box = frame.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 150, box["y"] + 150)
    page.mouse.move(box["x"] + 40, box["y"] + 260)
    moved = frame.evaluate("() => window.vaeLab.latents()")
    assert all(not np.allclose(a, b) for a, b in zip(latents, moved)), "every model follows the pad"
    no_exception(page)
    page.screenshot(path=SHOTS / "3c-side-by-side.png", full_page=True)


def idle(page):
    """The app has finished its run (Streamlit's running indicator is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=300_000)  # a cold analysis cache
    no_exception(page)


def copied_link(page, *, showing: str) -> str:
    """The sidebar's link, once it shows `showing` (the page's path and what was just set: the app
    rewrites it at the end of the run that the last interaction started)."""
    idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    code = sidebar.get_by_test_id("stCode")
    if not code.is_visible():
        sidebar.get_by_text("Link to this view").click()
    expect(code).to_contain_text(re.compile(showing))
    return code.inner_text().strip()


def image_sources(page) -> list[str]:
    return page.locator("[data-testid=stMain] [data-testid=stImage] img").evaluate_all("imgs => imgs.map(i => i.src)")


def test_a_copied_link_reopens_the_same_view_in_a_new_browser(page, server):
    views = {}
    # A page of its own: a click on the Reconstruct link while the Latent explorer's pad still sent the last
    # test's pointer moves kept the app there three times in a row (a fresh clone without ../shared, 2026-12-02)
    page.goto(f"{server}/reconstruct")
    expect(page.get_by_text("Originals", exact=True)).to_be_visible()
    idle(page)
    choose(page, "Digits", "Test set: by index")
    page.get_by_role("textbox", name="Test image indices").fill("7, 11, 42")
    page.keyboard.press("Enter")
    expect(page.get_by_text("#42 (4)").first).to_be_visible()
    views["reconstruct"] = copied_link(page, showing=r"/reconstruct\?.*indices=7%2C\+11"), image_sources(page)

    page.get_by_role("link", name="Interpolation").click()
    choose(page, "From", "#11 (6)", within="stMain")  # not the training panel's "Start from"
    choose(page, "To", "#42 (4)", within="stMain")  # (its default is the second digit, #11 itself)
    page.get_by_text("spherical", exact=True).click()
    # What the run for the last choice draws (a check for a caption's absence passed before it was drawn)
    expect(page.get_by_text("From #11 (6) to #42 (4), 11 steps, spherical.")).to_be_visible()
    views["interpolation"] = (copied_link(page, showing=r"/interpolation\?.*interp_from=1.*spherical.*interp_to=2"),
                              image_sources(page))

    page.get_by_role("link", name="Samples").click()
    page.get_by_role("spinbutton", name="Seed").fill("17")
    page.keyboard.press("Enter")
    views["samples"] = copied_link(page, showing=r"/samples\?.*samples_seed=17"), image_sources(page)

    page.get_by_role("link", name="Latent explorer").click()
    choose(page, "Digit", "#42 (4)", within="stMain")
    frame = pad_frame(page, starting_from="#42 (4)")
    box = frame.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 120)
    page.mouse.move(box["x"] + 110, box["y"] + 130)
    page.mouse.move(box["x"] + box["width"] + 30, box["y"] + 130)  # leaving the pad tells the server the point
    point = frame.evaluate("() => window.vaeLab.point()")
    expect(page).to_have_url(re.compile("pad_z="))
    views["latent_explorer"] = copied_link(page, showing=r"/latent_explorer\?.*pad_z="), image_sources(page)

    fresh = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = watched(fresh.new_page())
        for name, (link, sources) in views.items():
            assert f"/{name}?" in link, link
            other.goto(link)
            idle(other)
            if name == "latent_explorer":
                restored = pad_frame(other).evaluate("() => window.vaeLab.point()")
                assert np.allclose(restored, point, atol=2e-3), (restored, point)
            expect(other.locator("[data-testid=stMain] [data-testid=stImage] img")).to_have_count(len(sources))
            assert image_sources(other) == sources, name
            idle(other)  # the screenshot after the images are drawn, not their placeholders
            other.screenshot(path=SHOTS / f"10-link-{name}.png", full_page=True)
    finally:
        fresh.close()


def colour_png(rgb: tuple[int, int, int]) -> bytes:
    """A disc of one colour on white, as a photo of an emoji would be."""
    yy, xx = np.mgrid[:200, :200]
    picture = np.full((200, 200, 3), 255, dtype=np.uint8)
    picture[(yy - 100) ** 2 + (xx - 100) ** 2 < 70 ** 2] = rgb
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def shown_pixels(page, source: str) -> np.ndarray:
    """The RGB pixels of an image the page shows (`source`: its src)."""
    return np.asarray(Image.open(io.BytesIO(page.request.get(source).body())).convert("RGB"), dtype=np.float64) / 255


def test_every_page_works_in_colour_on_the_emoji_data_set_and_a_reconstruction_keeps_the_uploads_colour(chromium,
                                                                                                         server):
    with browser_page(chromium, f"{server}/?dataset=emoji") as page:
        expect(page.get_by_role("heading", name="Why are VAEs blurry?")).to_be_visible()
        expect(page.get_by_text("The same emoji, three kinds of VAE")).to_be_visible(timeout=300_000)
        idle(page)
        page.screenshot(path=SHOTS / "e1-why-blurry-emoji.png", full_page=True)

        page.get_by_role("link", name="Reconstruct").click()
        expect(page.get_by_text("Originals", exact=True)).to_be_visible()
        choose(page, "Emoji", "Upload images", within="stSidebar")
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "red.png", "mimeType": "image/png", "buffer": colour_png((220, 30, 40))}])
        expect(page.get_by_text("as 64x64")).to_be_visible()
        expect(page.get_by_text("red.png").first).to_be_visible()
        idle(page)
        shown = image_sources(page)  # the upload's row, then one row per model
        assert len(shown) >= 3, shown
        for source in shown:
            pixels = shown_pixels(page, source)
            coloured = pixels[pixels.sum(axis=2) < 2.4]  # off the white background
            assert len(coloured) > 0.1 * pixels.shape[0] * pixels.shape[1], source
            red, green, blue = coloured.mean(axis=0)
            assert red > green + 0.3 and red > blue + 0.3, (source, red, green, blue)
        page.screenshot(path=SHOTS / "e2-reconstruct-emoji-upload.png", full_page=True)

        page.get_by_role("link", name="Latent explorer").click()
        frame = pad_frame(page, showing="emoji")
        pixels = frame.evaluate("() => Array.from(window.vaeLab.decode(0, new Array(64).fill(0)))")
        assert len(pixels) == 3 * 64 * 64
        no_exception(page)
        page.screenshot(path=SHOTS / "e3-latent-explorer-emoji.png", full_page=True)

        main = page.get_by_test_id("stMain")
        for link, marker, shot in (("Interpolation", "Download as animated GIF", "e4-interpolation-emoji"),
                                   ("Samples", "samples: ", "e5-samples-emoji"),
                                   ("Blur analysis", "Paired comparisons", "e6-blur-analysis-emoji"),
                                   ("Models", "What the columns mean", "e7-models-emoji")):
            page.get_by_role("link", name=link).click()
            expect(main.get_by_text(marker).first).to_be_visible(timeout=300_000)
            idle(page)
            page.screenshot(path=SHOTS / f"{shot}.png", full_page=True)
