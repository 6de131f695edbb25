"""The hostile visitor in a real browser, on a server in public mode: what only a browser shows (cookies,
requests to other hosts, the latent pad's page). Skipped where Chromium is missing, as test_browser.py is."""
import json
import re
import time
from urllib.parse import urlparse

import pytest

from test_browser import CHROMIUM, PlaywrightTimeoutError, idle, serve

from playwright.sync_api import expect, sync_playwright


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`streamlit run app.py` in public mode on a free port; the URL and its folders."""
    home = tmp_path_factory.mktemp("public-e2e")
    with serve(home, VAE_LAB_PUBLIC="1") as url:
        yield url, home


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        expect.set_options(timeout=120_000)
        yield browser
        browser.close()


def open_app(browser, url: str):
    """A new browser (its own cookies) on the app, once the sidebar's training panel shows."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))
    page.goto(url)
    expect(page.get_by_text("Train a model")).to_be_visible()
    return context, page, hosts


def visitor_cookie(context) -> str:
    return next((c["value"] for c in context.cookies() if c["name"] == "vae_lab_visitor"), "")


def first_visitor_cookie(context) -> str:
    """The cookie the page sets after its first run, within 30 s (on a busy machine, seconds after it shows)."""
    deadline = time.time() + 30
    while not visitor_cookie(context) and time.time() < deadline:
        time.sleep(0.2)
    return visitor_cookie(context)


def test_a_reload_keeps_the_visitor_and_another_browser_is_another_visitor(demo, browser):
    url, home = demo
    alice, page, _ = open_app(browser, url)
    alice_id = first_visitor_cookie(alice)
    assert re.fullmatch(r"[a-f0-9]{32}", alice_id), alice.cookies()
    assert alice_id not in page.url and alice_id not in page.inner_text("body"), "the id is in no link and no text"
    job = home / "jobs" / "20260101-000000-mine"  # a job of Alice's that ended: her panel shows its outcome
    job.mkdir(parents=True)
    (job / "status.json").write_text(json.dumps({"id": job.name, "state": "failed", "name": "mine", "kind": "plain",
                                                 "owner": alice_id, "message": "stopped by the test"}))
    page.reload()
    expect(page.get_by_text("stopped by the test")).to_be_visible()
    assert visitor_cookie(alice) == alice_id
    bob, other, _ = open_app(browser, url)
    assert first_visitor_cookie(bob) not in ("", alice_id)  # a fixed 2 s were once too few (2026-12-02)
    assert not other.get_by_text("stopped by the test").count(), "another browser is another visitor"


def test_the_page_asks_no_other_host(demo, browser):
    """Not even for its icon: a visitor's browser talks to this server only."""
    _, page, hosts = open_app(browser, demo[0])
    page.wait_for_timeout(3000)
    assert hosts <= {"127.0.0.1"}, f"the page asked other hosts: {hosts}"


def test_a_visitors_zip_becomes_their_data_set_and_trains_and_another_browser_is_not_offered_it(demo, browser,
                                                                                               tmp_path):
    """The public demo's "Add your own images" in a real browser: a zip of colour images with class sub-folders
    uploaded, added at 32 px, a DFC VAE trained on it with the fixed random network (no classifier of it exists),
    and the model in the picker; another visitor's panel does not list the data set."""
    from test_browser import SHOTS
    from test_zip_data import colours_zip
    archive = tmp_path / "my photos.zip"
    archive.write_bytes(colours_zip())
    alice, page, _ = open_app(browser, demo[0])
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Train a model").click()
    sidebar.get_by_text("Add your own images").click()
    sidebar.locator("input[type=file]").set_input_files(archive)
    expect(sidebar.get_by_role("button", name="Add the data set")).to_be_enabled()  # the zip is on the server
    sidebar.get_by_label("Data set name", exact=True).fill("colours")
    sidebar.get_by_label("Data set name", exact=True).press("Enter")
    sidebar.get_by_text("32 x 32").click()
    sidebar.get_by_role("button", name="Add the data set").click()
    expect(sidebar.get_by_text("Added colours")).to_be_visible()
    idle(page)  # the form of the data set before is gone (its widgets stay, faded, until the run ends)
    # no classifier of the images exists, and the emoji's is of 64 px: the DFC's one choice at 32 px
    expect(sidebar.get_by_role("combobox", name="Perceptual network")).to_have_value("a fixed random network")
    page.screenshot(path=SHOTS / "z1-zip-added.png", full_page=True)
    sidebar.get_by_role("button", name="Start training").click()
    # watched live to the end: the status's fragment reruns by itself while the sidebar changes around it (it
    # once crashed the page, blank, after the job: 3 of 7 runs on a fresh clone without the data, 2026-12-07)
    expect(sidebar.get_by_text("It is in the model picker").first).to_be_visible(timeout=240_000)
    idle(page)
    expect(sidebar.get_by_text("colours", exact=True).first).to_be_visible()
    expect(page.get_by_text("choose one of those data sets")).to_be_visible()  # the lesson: not for own images
    page.screenshot(path=SHOTS / "z2-zip-trained.png", full_page=True)
    assert not [e for e in page.get_by_test_id("stException").all()], "no exception on the page"
    assert not errors, errors

    bob, other, _ = open_app(browser, demo[0])
    bobs = other.get_by_test_id("stSidebar")
    bobs.get_by_text("Train a model").click()
    options = []
    for _ in range(3):  # a rerun under way may close the list as it opens
        bobs.get_by_role("combobox", name="Dataset").click()
        try:
            other.get_by_role("option").first.wait_for(timeout=20_000)
        except PlaywrightTimeoutError:
            continue
        options = other.get_by_role("option").all_inner_texts()
        break
    assert "MNIST" in options and "colours" not in options, options
    for context in (alice, bob):
        context.close()
