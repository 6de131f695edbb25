"""Decoding in the browser (the Latent explorer's pad): frames per second while a slider is dragged,
while the pointer moves over the pad, and while a digit is drawn on the sketch (each frame then encodes
the drawing with every model, then decodes), with 1 and with 4 models side by side; and the time from
choosing a model to its first decoded image. Debian's headless Chromium on this machine's cores.

    VAE_LAB_DATA=../shared/data python benchmarks/browser_decoding.py [--seconds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_server import CHROMIUM_ARGS, chromium, running_app

READY = ("() => window.vaeLab && window.vaeLab.stats.firstImageMs !== null && "
         "Array.from(document.querySelectorAll('#outputs canvas.decoding'), c => c.dataset.model)")


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


def frames_per_second(page, frame, gesture, seconds: float) -> tuple[float, float]:
    """Frames drawn per second while `gesture(t)` runs for `seconds`; and ms per decode per model."""
    before = frame.evaluate("() => ({...window.vaeLab.stats})")
    start = time.perf_counter()
    while (t := time.perf_counter() - start) < seconds:
        gesture(t)
    page.wait_for_timeout(50)
    after = frame.evaluate("() => ({...window.vaeLab.stats})")
    elapsed = time.perf_counter() - start
    decodes = after["decodes"] - before["decodes"]
    return (after["frames"] - before["frames"]) / elapsed, (after["decodeMs"] - before["decodeMs"]) / max(decodes, 1)


def drag_slider(page, frame, seconds: float):
    frame.locator("#sliders input").first.scroll_into_view_if_needed()
    box = frame.locator("#sliders input").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 5, y)
    page.mouse.down()
    result = frames_per_second(page, frame, lambda t: page.mouse.move(
        box["x"] + 5 + (box["width"] - 10) * abs((t % 2) - 1), y), seconds)
    page.mouse.up()
    return result


def hover_pad(page, frame, seconds: float):
    import math
    frame.locator("#pad").scroll_into_view_if_needed()
    box = frame.locator("#pad").bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / 3
    return frames_per_second(page, frame, lambda t: page.mouse.move(cx + r * math.cos(3 * t), cy + r * math.sin(3 * t)),
                             seconds)


def draw_sketch(page, frame, seconds: float, *, pointer_hz: float = 0) -> tuple[float, float, float, float]:
    """Frames per second in which a new stroke was encoded by every model and every decoding redrawn, while
    the pointer draws a circle (a 0) over and over on the sketch; ms per encode and per decode per model;
    and ms of the page's own work per such frame (encoding, decoding, drawing: what bounds its frame rate
    where the pointer's events cost nothing, as a person's do, unlike this script's busy loop).
    `pointer_hz`: pointer moves per second, as a mouse reports them (0: as fast as the script can send them)."""
    import math
    frame.locator("#sketch").scroll_into_view_if_needed()
    box = frame.locator("#sketch").bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / 3
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    before = frame.evaluate("() => ({...window.vaeLab.stats})")
    start = time.perf_counter()
    while (t := time.perf_counter() - start) < seconds:
        page.mouse.move(cx + r * math.cos(3 * t), cy + r * math.sin(3 * t))
        if pointer_hz:
            page.wait_for_timeout(1000 / pointer_hz)
    page.wait_for_timeout(50)
    after = frame.evaluate("() => ({...window.vaeLab.stats})")
    elapsed = time.perf_counter() - start
    page.mouse.up()
    per = {k: (after[k] - before[k]) for k in ("frames", "sketchFrames", "encodes", "encodeMs", "decodes",
                                               "decodeMs", "workMs")}
    return (per["sketchFrames"] / elapsed, per["encodeMs"] / max(per["encodes"], 1),
            per["decodeMs"] / max(per["decodes"], 1), per["workMs"] / max(per["frames"], 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each gesture")
    parser.add_argument("--choices", type=int, default=5, help="model choices timed")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    with running_app() as (url, *_), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        print(f"Chromium {browser.version}, headless; 4 MNIST models side by side, then 1")
        for count in (4, 1):  # a link chooses the models (the page's state lives in its URL)
            page.goto(f"{url}/latent_explorer" + ("?pad_models-mnist=plain" if count == 1 else ""))
            frame = pad_frame(page, count)
            page.locator(".js-plotly-plot").first.wait_for()  # the page below the pad, fully drawn
            page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
            page.wait_for_timeout(1000)
            fps, ms = drag_slider(page, frame, args.seconds)
            print(f"{count} model(s), dragging a slider:   {fps:5.1f} frames/s drawn, {ms:.2f} ms per decode per model")
            fps, ms = hover_pad(page, frame, args.seconds)
            print(f"{count} model(s), moving over the pad: {fps:5.1f} frames/s drawn, {ms:.2f} ms per decode per model")
        for count in (4, 1):  # drawing on: the encoders too
            page.goto(f"{url}/latent_explorer?explorer_draw=True" + ("&pad_models-mnist=plain" if count == 1 else ""))
            frame = pad_frame(page, count)
            page.locator(".js-plotly-plot").first.wait_for()
            page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
            page.wait_for_timeout(1000)
            for hz in (0, 125):  # as fast as the script can move the pointer; as a 125 Hz mouse reports it
                fps, encode_ms, decode_ms, work_ms = draw_sketch(page, frame, args.seconds, pointer_hz=hz)
                print(f"{count} model(s), drawing on the sketch ({f'{hz} pointer moves/s' if hz else 'busy loop'}): "
                      f"{fps:5.1f} frames/s encoded and drawn, {encode_ms:.2f} ms per encode and {decode_ms:.2f} ms "
                      f"per decode per model, {work_ms:.1f} ms of work per frame")
        times = []
        for _ in range(args.choices):  # from the plain VAE alone, add the DFC VAE beside it
            page.goto(f"{url}/latent_explorer?pad_models-mnist=plain")
            pad_frame(page, 1)
            page.locator("[data-testid=stMultiSelect]").filter(has_text="Decode side by side").click()
            start = time.perf_counter()
            page.get_by_role("option", name="DFC VAE: dfc").click()
            pad_frame(page, 2, must_show="dfc")
            times.append(time.perf_counter() - start)
        print(f"model chosen -> its first image decoded in the browser: median {statistics.median(times):.2f} s "
              f"({', '.join(f'{t:.2f}' for t in times)})")
        browser.close()


if __name__ == "__main__":
    main()
