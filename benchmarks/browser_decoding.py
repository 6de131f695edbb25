"""The Latent explorer's networks in the browser: frames per second while a slider is dragged, while the pointer
moves over the pad, and while a digit is drawn on the sketch (each such frame encodes the drawing with every
model, then decodes), with 4 models side by side and with 1; in WebAssembly SIMD and in the JavaScript fallback,
on the same page in the same minute. Also the time from opening the page to its first decoded image, from choosing
a model to its first image, and the bytes the page receives on a visit and on a rerun. Debian's headless Chromium.

Each gesture runs --runs times and the median is kept. Rates are counted in the page's own clock. A frame needs a
pointer move, and this script's moves reach the page one at a time (each a round trip to Chromium): where fewer
than the display's 60 moves a second arrived, the result says so, as the frame rate cannot be measured above
their rate; the page's own work per frame then says what it could draw. Writes
benchmarks/results/browser_decoding.json; `vae-lab docs` puts it in docs/performance.md. Run it on idle cores.

    VAE_LAB_DATA=../shared/data python benchmarks/browser_decoding.py [--seconds 3] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_server import CHROMIUM_ARGS, REPO, chromium, running_app

from vae_lab import checkpoints, datasets
from vae_lab.workspace import SHIPPED_DIR

RESULTS = REPO / "benchmarks" / "results" / "browser_decoding.json"
READY = ("() => window.vaeLab && window.vaeLab.stats.firstImageMs !== null && "
         "Array.from(document.querySelectorAll('#outputs canvas.decoding'), c => c.dataset.model)")
SNAPSHOT = "() => ({...window.vaeLab.stats, now: performance.now()})"
DISPLAY_HZ = 60  # headless Chromium's animation frames per second
PATHS = {"WebAssembly SIMD": True, "JavaScript": False}


def pad_frame(page, count: int, must_show: str = ""):
    """The pad's frame once it has drawn `count` models (one of them `must_show`)."""
    deadline = time.time() + 120
    while time.time() < deadline:
        for frame in [f for f in page.frames if "latent_pad" in f.url]:
            try:
                labels = frame.evaluate(READY)
            except Exception:  # a frame being replaced
                continue
            if labels and len(labels) == count and (not must_show or any(must_show in x for x in labels)):
                return frame
        page.wait_for_timeout(20)
    raise RuntimeError("the pad did not draw")


def measured(page, frame, gesture, seconds: float) -> dict:
    """What the page counted while `gesture` ran for `seconds`: rates per second of the page's own clock."""
    before = frame.evaluate(SNAPSHOT)
    gesture(page, frame, seconds)
    after = frame.evaluate(SNAPSHOT)
    got = {key: after[key] - before[key] for key in ("frames", "sketchFrames", "decodes", "decodeMs", "encodes",
                                                     "encodeMs", "workMs", "pointerMoves", "now")}
    elapsed = got["now"] / 1000
    drawing = got["encodes"] > 0
    frames = got["sketchFrames"] if drawing else got["frames"]  # drawing: the frames that encoded a new stroke
    return {"frames_per_s": frames / elapsed, "pointer_moves_per_s": got["pointerMoves"] / elapsed,
            "work_ms_per_frame": got["workMs"] / max(got["frames"], 1),
            "decode_ms": got["decodeMs"] / max(got["decodes"], 1),
            "encode_ms": got["encodeMs"] / max(got["encodes"], 1) if drawing else None}


def for_seconds(seconds: float, move) -> None:
    start = time.perf_counter()
    while (t := time.perf_counter() - start) < seconds:
        move(t)


def drag_slider(page, frame, seconds: float) -> None:
    frame.locator("#sliders input").first.scroll_into_view_if_needed()
    box = frame.locator("#sliders input").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 5, y)
    page.mouse.down()
    for_seconds(seconds, lambda t: page.mouse.move(box["x"] + 5 + (box["width"] - 10) * abs((t % 2) - 1), y))
    page.mouse.up()


def circle(page, frame, element: str, seconds: float, *, press: bool) -> None:
    """The pointer going round a circle on `element` (pressed: a stroke) as fast as this script sends its moves;
    then off the component."""
    frame.locator(element).scroll_into_view_if_needed()
    box = frame.locator(element).bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / 3
    page.mouse.move(cx + r, cy)
    if press:
        page.mouse.down()
    for_seconds(seconds, lambda t: page.mouse.move(cx + r * math.cos(3 * t), cy + r * math.sin(3 * t)))
    if press:
        page.mouse.up()
    page.mouse.move(0, 0)


# The same circle drawn by the page itself: a pointer move every 4 ms (the browser's shortest timer), as a mouse
# reporting 250 times a second would send them, none waiting for a round trip to this script.
CIRCLE_IN_PAGE = """(seconds) => new Promise((done) => {
  const sketch = document.getElementById("sketch"), box = sketch.getBoundingClientRect();
  const cx = box.left + box.width / 2, cy = box.top + box.height / 2, r = box.width / 3, start = performance.now();
  const at = (t) => ({ clientX: cx + r * Math.cos(3 * t), clientY: cy + r * Math.sin(3 * t), bubbles: true,
                       pointerId: 1, isPrimary: true, pointerType: "mouse" });
  sketch.dispatchEvent(new PointerEvent("pointerdown", at(0)));
  const timer = setInterval(() => {
    const t = (performance.now() - start) / 1000;
    if (t < seconds) return sketch.dispatchEvent(new PointerEvent("pointermove", at(t)));
    clearInterval(timer);
    sketch.dispatchEvent(new PointerEvent("pointerup", at(t)));
    done();
  }, 4);
})"""


GESTURES = {False: {"dragging a slider": drag_slider,
                    "moving over the pad": lambda page, frame, seconds: circle(page, frame, "#pad", seconds,
                                                                               press=False)},
            True: {"drawing, moves sent by this script": lambda page, frame, seconds: circle(
                       page, frame, "#sketch", seconds, press=True),
                   "drawing, moves made in the page every 4 ms": lambda page, frame, seconds: frame.evaluate(
                       CIRCLE_IN_PAGE, seconds)}}


def median_of(runs: list[dict]) -> dict:
    result = {key: (statistics.median(r[key] for r in runs) if runs[0][key] is not None else None)
              for key in runs[0]}
    result["frames_per_s_runs"] = [round(r["frames_per_s"], 1) for r in runs]
    # a frame needs a move: where the moves came slower than the display and nearly each made a frame, they set it
    result["pointer_bound"] = (result["pointer_moves_per_s"] < 0.95 * DISPLAY_HZ
                               and result["frames_per_s"] >= 0.85 * result["pointer_moves_per_s"])
    return result


def settle(page):
    """Wait out the run a gesture's end may start (the pad reports its point; a rerun redraws the page)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    page.wait_for_timeout(300)


def open_pad(page, url: str, count: int, draw: bool, dataset: str = "mnist"):
    plain = datasets.default_name("plain", dataset)
    query = "&".join([f"dataset={dataset}"] + (["explorer_draw=True"] if draw else []) +
                     ([f"pad_models-{dataset}={plain}"] if count == 1 else []))
    page.goto(f"{url}/latent_explorer?{query}")
    frame = pad_frame(page, count)
    page.locator(".js-plotly-plot").first.wait_for()  # the page below the pad, fully drawn
    settle(page)
    page.wait_for_timeout(700)
    return frame


def gestures(page, url: str, seconds: float, runs: int, dataset: str = "mnist") -> list[dict]:
    """Every gesture with all the page's models side by side (the data set's shipped VAEs, at most 4) and with 1."""
    shipped = [c for c in checkpoints.available(dataset=dataset) if c.is_vae and c.json_path.parent == SHIPPED_DIR]
    results = []
    for draw in (False, True):
        for count in (min(len(shipped), 4), 1):
            frame = open_pad(page, url, count, draw, dataset)
            for path, on in PATHS.items():
                frame.evaluate("(on) => window.vaeLab.useWasm(on)", on)
                if frame.evaluate("() => window.vaeLab.path()") != path:
                    raise RuntimeError(f"the page cannot run {path}")
                for name, gesture in GESTURES[draw].items():
                    samples = []
                    for _ in range(runs):
                        samples.append(measured(page, frame, gesture, seconds))
                        settle(page)
                    results.append({"path": path, "models": count, "gesture": name} | median_of(samples))
                    row = results[-1]
                    print(f"{path:16} {count} model(s), {name:40} {row['frames_per_s']:5.1f} frames/s "
                          f"({', '.join(map(str, row['frames_per_s_runs']))}); {row['pointer_moves_per_s']:5.1f} "
                          f"pointer moves/s{' (they set the rate)' if row['pointer_bound'] else ''}; "
                          f"{row['work_ms_per_frame']:.2f} ms of work a frame; decode {row['decode_ms']:.2f} ms"
                          + (f", encode {row['encode_ms']:.2f} ms" if row["encode_ms"] is not None else ""))
    return results


def first_images(page, url: str, visits: int) -> tuple[list[float], list[float]]:
    """Seconds from opening the page (a new session, 4 models) to its first decoded image; from choosing a model
    (beside the plain VAE) to its first image."""
    opened, chosen = [], []
    for _ in range(visits):
        start = time.perf_counter()
        page.goto(f"{url}/latent_explorer")
        pad_frame(page, 4)
        opened.append(time.perf_counter() - start)
    for _ in range(visits):
        page.goto(f"{url}/latent_explorer?pad_models-mnist=plain")
        pad_frame(page, 1)
        page.locator("[data-testid=stMultiSelect]").filter(has_text="Decode side by side").click()
        start = time.perf_counter()
        page.get_by_role("option", name="DFC VAE: dfc").click()
        pad_frame(page, 2, must_show="dfc")
        chosen.append(time.perf_counter() - start)
    return opened, chosen


def bytes_received(page, url: str) -> dict:
    """The bytes the page's websocket brought: a visit with drawing on (one model: its decoder and encoder), and
    a rerun of the whole page that keeps that model."""
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
    open_pad(page, url, 1, True)
    visit = sum(received)
    received.clear()
    span = page.get_by_test_id("stSlider").filter(has_text="Span").get_by_role("slider")
    span.focus()
    page.keyboard.press("ArrowLeft")
    settle(page)
    return {"visit": visit, "rerun": sum(received)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each gesture")
    parser.add_argument("--runs", type=int, default=3, help="runs of each gesture (the median is kept)")
    parser.add_argument("--visits", type=int, default=5, help="page openings and model choices timed")
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "emoji"),
                        help="whose models: MNIST's (28 px, grey) or the emoji data set's (64 px, colour: only the "
                             "gestures are timed, into browser_decoding-emoji.json)")
    args = parser.parse_args()
    if args.dataset != "mnist":
        return emoji_gestures(args)
    from playwright.sync_api import sync_playwright
    load_before = os.getloadavg()
    with running_app() as (url, *_), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        print(f"Chromium {browser.version}, headless; MNIST's models")
        rows = gestures(page, url, args.seconds, args.runs)
        opened, chosen = first_images(page, url, args.visits)
        print(f"page opened -> first image: median {statistics.median(opened):.2f} s; model chosen -> its first "
              f"image: median {statistics.median(chosen):.2f} s")
        traffic = bytes_received(browser.new_page(viewport={"width": 1400, "height": 1100}), url)
        print(f"bytes received: a visit with drawing on, 1 model {traffic['visit']:,}; a rerun {traffic['rerun']:,}")
        version = browser.version
        browser.close()
    write_result(RESULTS, args, load_before, version, {
        "command": "python benchmarks/browser_decoding.py", "gestures": rows,
        "page_opened_to_first_image_s": [round(t, 3) for t in opened],
        "model_chosen_to_first_image_s": [round(t, 3) for t in chosen], "bytes_received": traffic})
    print(f"wrote {RESULTS}")


def write_result(path: Path, args: argparse.Namespace, load_before, version: str, figures: dict) -> None:
    """`figures` with what set them (the date, the commit, the machine, the browser, the load before) as JSON."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
        "machine": f"{platform.node()}, {os.cpu_count()} cores", "browser": f"Chromium {version}, headless",
        "load_average_before": [round(v, 2) for v in load_before], "seconds": args.seconds, "runs": args.runs,
        **figures}, indent=1) + "\n")


def emoji_gestures(args: argparse.Namespace) -> None:
    """The gestures alone on the emoji data set's models: the 64-pixel colour networks."""
    from playwright.sync_api import sync_playwright
    load_before = os.getloadavg()
    with running_app() as (url, *_), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        print(f"Chromium {browser.version}, headless; the emoji data set's models")
        rows = gestures(page, url, args.seconds, args.runs, args.dataset)
        version = browser.version
        browser.close()
    target = RESULTS.with_name(f"browser_decoding-{args.dataset}.json")
    write_result(target, args, load_before, version, {
        "command": f"python benchmarks/browser_decoding.py --dataset {args.dataset}", "gestures": rows})
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
