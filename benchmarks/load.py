"""The public demo under load: N visitors at once on this machine's cores.

Starts the app in public mode (VAE_LAB_PUBLIC=1, as the Dockerfile does) and drives N concurrent
browser sessions (Playwright contexts in Debian's Chromium) for a fixed time. Each visitor loops:
the Reconstruct page, an upload, the Latent explorer (a server-decoded slider step and a model
switch), Interpolation, Samples, Blur analysis, Models. Part way through, visitor 0 starts a quick
training job (capped by VAE_LAB_PUBLIC_JOB_MINUTES). Printed per N: errors, p50/p95 seconds from an
interaction to its updated page, apart for the times with and without a job training, and the
server's peak memory (its resident set, VmHWM). With --hostile, one more visitor sends the worst
inputs known (tests/test_hostile.py) over and over while the others work: crafted links, a PNG
text-chunk bomb and a 25-megapixel PNG; the others' error count must stay 0. Writes its figures to
benchmarks/results/load.json (or --out), with the machine, the date and the commit; `vae-lab docs` puts
them in docs/performance.md.

    VAE_LAB_DATA=../shared/data python benchmarks/load.py [--sessions 1 4 8] [--seconds 120] [--hostile]
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_server import CHROMIUM_ARGS, REPO, chromium, running_app

TIMEOUT_MS = 120_000


def digit_png() -> bytes:
    paper = np.full((160, 120), 255, dtype=np.uint8)
    paper[30:130, 52:68] = 0
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, format="PNG")
    return buffer.getvalue()


def with_text_bomb(data: bytes) -> bytes:
    """The PNG with a compressed text chunk that would expand to 200 MB, before its pixels."""
    body = b"Comment\0\0" + zlib.compress(b" " * 200 * 2**20, 9)
    at = data.index(b"IDAT") - 4
    return data[:at] + struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body)) \
        + data[at:]


def many_pixels_png() -> bytes:
    """25 megapixels in about 25 KB."""
    big = np.zeros((5000, 5000), dtype=np.uint8)
    big[600:4400, 2300:2700] = 255
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG")
    return buffer.getvalue()


HOSTILE_LINKS = ("?source=index&indices=" + quote("²"), "?source=index&indices=" + "9" * 5000,
                 "?source=index&indices=" + ",".join(map(str, range(600))),
                 "samples?models-mnist=" + ",".join(["dfc"] * 300), "latent_explorer?pad_z=nan,inf,1e309,0,0",
                 "?dataset=" + quote("![t](http://example.invalid/t.png)"))


class Recorder:
    """Timings per interaction, each marked with whether a job was training meanwhile."""

    def __init__(self, jobs_root: Path):
        self.jobs_root = jobs_root
        self.timings: dict[tuple[str, bool], list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def training(self) -> bool:
        for status in self.jobs_root.glob("*/status.json"):
            if json.loads(status.read_text()).get("state") in ("starting", "running"):
                return True
        return False

    async def time(self, what: str, action, done) -> None:
        """Run `action`, wait for `done`; record the seconds between, or the error."""
        busy = self.training()
        start = time.perf_counter()
        try:
            await action()
            await done()
            self.timings[what, busy or self.training()].append(time.perf_counter() - start)
        except Exception as error:  # a timeout or a missing element: an error of the demo
            self.errors.append(f"{what} ({'a job training' if busy or self.training() else 'no job'}): "
                               f"{type(error).__name__}: {str(error).splitlines()[0]}")


async def no_exception(page, recorder: Recorder, where: str) -> None:
    if await page.get_by_test_id("stException").count():
        recorder.errors.append(f"{where}: an exception on the page")


async def visitor(browser, url: str, recorder: Recorder, until: float, *, trains_at: float | None) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    link = lambda name: page.get_by_role("link", name=name)  # noqa: E731
    await recorder.time("first page", lambda: page.goto(f"{url}/reconstruct"),  # the page measured before the lesson
                        lambda: page.get_by_text("Download the grid as PNG").wait_for())
    digit = digit_png()
    while time.perf_counter() < until:
        shown = page.get_by_text("as 28x28")
        before = await shown.count()
        await recorder.time("upload", lambda: _upload(page, digit), lambda s=shown, b=before: _more(s, b))
        await recorder.time("page: Latent explorer", lambda: link("Latent explorer").click(),
                            lambda: page.locator("iframe[title*=latent_pad]").wait_for())
        toggle = page.get_by_text("Decode in the browser")
        await toggle.click()  # the server-side slider: every step a round trip
        decoded = page.locator("[data-testid=stImage]").filter(has_text="decode(z)").locator("img")
        await decoded.wait_for()
        for _ in range(3):
            before = await decoded.get_attribute("src")
            slider = page.get_by_test_id("stMain").get_by_role("slider").first
            await recorder.time("slider step (server)", lambda s=slider: _nudge(page, s),
                                lambda b=before, d=decoded: _changed(d, b))
        await toggle.click()
        await recorder.time("switch model", lambda: _switch_model(page),
                            lambda: page.locator("iframe[title*=latent_pad]").wait_for())
        for name, marker in (("Interpolation", "Download as animated GIF"), ("Samples", "What the numbers mean"),
                             ("Blur analysis", "Paired comparisons"), ("Models", "Your models"),
                             ("Reconstruct", "Download the grid as PNG")):
            await recorder.time(f"page: {name}", lambda n=name: link(n).click(),
                                lambda m=marker: page.get_by_text(m, exact=True).first.wait_for())
            await no_exception(page, recorder, name)
        if trains_at is not None and time.perf_counter() > trains_at:
            trains_at = None
            await recorder.time("start a training job", lambda: _start_job(page),
                                lambda: page.get_by_test_id("stProgress").wait_for())
    await context.close()


async def hostile_visitor(browser, url: str, recorder: Recorder, until: float) -> None:
    """Crafted links, then a bomb and a 25-megapixel upload, again and again; every page must stay whole."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    files = [{"name": "bomb.png", "mimeType": "image/png", "buffer": with_text_bomb(digit_png())},
             {"name": "big.png", "mimeType": "image/png", "buffer": many_pixels_png()}]
    while time.perf_counter() < until:
        for link in HOSTILE_LINKS:
            await recorder.time("hostile link", lambda link=link: page.goto(f"{url}/{link}"),
                                lambda: page.get_by_text("Train a model").wait_for())
            await page.wait_for_timeout(1000)  # the page's run finishing
            await no_exception(page, recorder, f"hostile link {link[:40]}")
        await recorder.time("hostile uploads", lambda: _upload(page, files=files),
                            lambda: page.get_by_text("far more than a digit needs").wait_for())
        await no_exception(page, recorder, "hostile uploads")
    await context.close()


async def _upload(page, digit: bytes = b"", *, files: list[dict] | None = None) -> None:
    if not await page.locator("input[type=file]").count():  # choose "Upload images" as the digit source
        source = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Digits")
        await source.click()
        await page.get_by_role("option", name="Upload images", exact=True).click()
    await page.locator("input[type=file]").set_input_files(
        files=files or [{"name": f"one-{time.perf_counter_ns()}.png", "mimeType": "image/png", "buffer": digit}])


async def _nudge(page, slider) -> None:
    await slider.focus()
    await page.keyboard.press("ArrowRight")


async def _more(locator, before: int) -> None:
    """Until `locator` matches more elements than `before` (uploads add to the list)."""
    deadline = time.perf_counter() + TIMEOUT_MS / 1000
    while await locator.count() <= before:
        if time.perf_counter() > deadline:
            raise TimeoutError("the upload was not read")
        await asyncio.sleep(0.01)


async def _changed(image, before: str) -> None:
    deadline = time.perf_counter() + TIMEOUT_MS / 1000
    while await image.get_attribute("src") == before:
        if time.perf_counter() > deadline:
            raise TimeoutError("the decoded image did not change")
        await asyncio.sleep(0.01)


async def _switch_model(page) -> None:
    picker = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Model").first
    current = await picker.inner_text()
    await picker.click()
    await page.get_by_role("option", name="DFC VAE: dfc" if "plain" in current else "plain VAE: plain").click()


async def _start_job(page) -> None:
    await page.get_by_text("Train a model").click()
    kind = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Kind")
    await kind.click()
    await page.get_by_role("option", name="plain VAE", exact=True).click()
    await page.get_by_role("button", name="Start training").click()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def figures(recorder: Recorder) -> dict:
    """Per interaction and whether a job trained meanwhile: count, p50 and p95 seconds; and over all of them."""
    rows = [{"interaction": what, "job_training": busy, "count": len(values),
             "p50_s": round(statistics.median(values), 2), "p95_s": round(p95(values), 2)}
            for (what, busy), values in sorted(recorder.timings.items())]
    overall = {}
    for busy in (False, True):
        values = [v for (_, b), vs in recorder.timings.items() if b == busy for v in vs]
        if values:
            overall["with_job" if busy else "without_job"] = {
                "count": len(values), "p50_s": round(statistics.median(values), 2), "p95_s": round(p95(values), 2)}
    return {"interactions": rows, "overall": overall}


async def run(n: int, seconds: float, job_minutes: float, *, hostile: bool = False) -> dict:
    from playwright.async_api import async_playwright
    env = {"VAE_LAB_PUBLIC": "1", "VAE_LAB_PUBLIC_JOB_MINUTES": str(job_minutes),
           "VAE_LAB_CACHE": str(Path.home() / ".cache" / "vae_lab")}  # analyses computed once, as the Space's build
    with running_app(env) as (url, server, home):
        recorder, stranger = Recorder(home / "jobs"), Recorder(home / "jobs")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            start = time.perf_counter()
            until = start + seconds
            await asyncio.gather(*(visitor(browser, url, recorder, until,
                                           trains_at=start + seconds / 4 if i == 0 else None) for i in range(n)),
                                 *([hostile_visitor(browser, url, stranger, until)] if hostile else []))
            await browser.close()
        memory = peak_rss_mb(server.pid)
    print(f"\nN = {n} visitors, {seconds:.0f} s: {len(recorder.errors)} errors; server peak memory {memory:,.0f} MB")
    for error in recorder.errors[:10]:
        print(f"  error: {error}")
    if hostile:
        print(f"  and one hostile visitor: {len(stranger.errors)} errors on their own pages")
        for error in stranger.errors[:10]:
            print(f"  hostile visitor's error: {error}")
        for (what, _), values in sorted(stranger.timings.items()):
            print(f"  {what:28} {'':>5} {len(values):6} {statistics.median(values):7.2f}")
    measured = figures(recorder)
    print(f"  {'interaction':28} {'job':>5} {'count':>6} {'p50 s':>7} {'p95 s':>7}")
    for row in measured["interactions"]:
        print(f"  {row['interaction']:28} {'yes' if row['job_training'] else 'no':>5} {row['count']:6} "
              f"{row['p50_s']:7.2f} {row['p95_s']:7.2f}")
    return {"visitors": n, "seconds": seconds, "errors": recorder.errors, "hostile": hostile,
            "hostile_errors": stranger.errors if hostile else [],
            "server_peak_memory_mb": round(memory) if memory == memory else None, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=120, help="how long the visitors keep going, per N")
    parser.add_argument("--job-minutes", type=float, default=1.5, help="the public training cap for the job")
    parser.add_argument("--hostile", action="store_true", help="one more visitor, sending the worst inputs")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "load.json")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "vae_lab", "evaluate"], cwd=REPO, check=True,
                   capture_output=True)  # warm the analysis cache (a no-op once warm)
    load_before = os.getloadavg()
    runs = [asyncio.run(run(n, args.seconds, args.job_minutes, hostile=args.hostile)) for n in args.sessions]
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True).stdout
    record = {"command": " ".join(["python", "benchmarks/load.py", *sys.argv[1:]]),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit.strip(),
              "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
              "load_average_before": load_before, "job_minutes": args.job_minutes, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
