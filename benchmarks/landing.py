"""The landing page for a class: how soon it is settled (Streamlit's running indicator gone, the optima shown) on a
fresh server with empty caches, on a warm one, and for N browser sessions opening it at once; the server's and the
browser's CPU seconds per warm view, from which docs/performance.md says how many visitors a 2-vCPU Space serves a
minute; and, as the floor under those figures, the same visits to a one-line Streamlit page on the same machine.

    VAE_LAB_DATA=../shared/data python benchmarks/landing.py [--sessions 8] [--warm-runs 5] [--out FILE]

Writes its figures to benchmarks/results/landing.json (or --out), with the machine, the date and the commit.
Run it on idle cores: it measures the server and the browsers on the same machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_server import CHROMIUM_ARGS, REPO, chromium, running_app

SETTLED_TIMEOUT_MS = 120_000
MARKER = "'s decoder: Laplacian variance"  # the optima's captions: the last of the page's slow parts


def cpu_seconds(pid: int) -> float:
    """User and system time of the server process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_cpu_seconds() -> float:
    """User and system time so far of every Chromium process (the browser and its renderers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if "chrom" in (stat.parent / "comm").read_text():
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError):
            continue  # a process that ended meanwhile
    return total


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far, over all its cores (/proc/stat's first line)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and waiting for I/O
    return sum(ticks) - idle, sum(ticks)


async def settled_visit(browser, url: str, marker: str = MARKER) -> float:
    """Seconds from a new visitor's request to a settled landing page, or raise with what the page showed."""
    context = await browser.new_context(viewport={"width": 1280, "height": 2400})
    page = await context.new_page()
    try:
        start = time.perf_counter()
        await page.goto(url, timeout=SETTLED_TIMEOUT_MS)
        await page.get_by_text(marker).first.wait_for(timeout=SETTLED_TIMEOUT_MS)
        await page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=SETTLED_TIMEOUT_MS)
        seconds = time.perf_counter() - start
        if await page.get_by_test_id("stException").count():
            raise RuntimeError(await page.get_by_test_id("stException").first.inner_text())
        return seconds
    finally:
        await context.close()


async def measure(url: str, server_pid: int, sessions: int, warm_runs: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        first = await settled_visit(browser, url)
        warm = [await settled_visit(browser, url) for _ in range(warm_runs)]
        before, browser_before = cpu_seconds(server_pid), browser_cpu_seconds()
        per_view_runs = [await settled_visit(browser, url) for _ in range(warm_runs)]
        cpu_per_view = (cpu_seconds(server_pid) - before) / warm_runs
        browser_per_view = (browser_cpu_seconds() - browser_before) / warm_runs
        busy_before, total_before = cpu_times()
        results = await asyncio.gather(*(settled_visit(browser, url) for _ in range(sessions)), return_exceptions=True)
        busy_after, total_after = cpu_times()
        await browser.close()
    times = sorted(r for r in results if isinstance(r, float))
    errors = [repr(r)[:300] for r in results if not isinstance(r, float)]
    return {"first_visit_s": round(first, 2), "warm_visits_s": [round(t, 2) for t in warm + per_view_runs],
            "cpu_s_per_warm_view": round(cpu_per_view, 3), "browser_cpu_s_per_warm_view": round(browser_per_view, 3),
            "visitors_per_minute_on_2_cpus": round(2 * 60 / cpu_per_view, 1) if cpu_per_view else None,
            "concurrent": {"sessions": sessions, "errors": errors, "times_s": [round(t, 2) for t in times],
                           "p50_s": round(statistics.median(times), 2) if times else None,
                           "p95_s": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2) if times else None,
                           # how busy the cores were meanwhile, and the least time the sessions' CPU work needs
                           # on them: every session's server and browser CPU of a warm view, spread over all cores
                           "cores_busy_share": round((busy_after - busy_before) / (total_after - total_before), 3),
                           "cpu_floor_s": round(sessions * (cpu_per_view + browser_per_view) / os.cpu_count(), 2)}}


EMPTY_PAGE = 'import streamlit as st\nst.title("An empty page")\n'


async def empty_page_visits(runs: int) -> dict:
    """The floor: new browser sessions on a one-line Streamlit page, with the app's settings, on this machine."""
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp())
    (folder / "app.py").write_text(EMPTY_PAGE)
    (folder / ".streamlit").mkdir()
    shutil.copy(REPO / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
    with running_app(script=folder / "app.py") as (url, _server, _home):
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            await settled_visit(browser, url, marker="An empty page")  # the server's first run
            before = browser_cpu_seconds()
            times = [await settled_visit(browser, url, marker="An empty page") for _ in range(runs)]
            browser_per_view = (browser_cpu_seconds() - before) / runs
            await browser.close()
    shutil.rmtree(folder, ignore_errors=True)
    return {"visits_s": [round(t, 2) for t in times], "browser_cpu_s_per_view": round(browser_per_view, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="browser sessions opening the page at once")
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "landing.json")
    args = parser.parse_args()
    if not chromium():
        sys.exit("needs Debian's Chromium: apt-get install chromium")
    load_before = os.getloadavg()
    with running_app() as (url, server, _home):  # fresh checkpoint, job and cache folders: a cold server
        figures = asyncio.run(measure(url, server.pid, args.sessions, args.warm_runs))
    figures["empty_streamlit_page"] = asyncio.run(empty_page_visits(args.warm_runs))
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True).stdout
    record = {"command": " ".join(["python", "benchmarks/landing.py", *sys.argv[1:]]),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit.strip(),
              "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
              "load_average_before": load_before, **figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
