"""Interactive latency: one decode, the whole test set through each model, and app cold start.

    VAE_LAB_DATA=../shared/data python benchmarks/latency.py [--no-app]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from vae_lab import checkpoints  # noqa: E402
from vae_lab.data import INFERENCE_BATCH  # noqa: E402
from vae_lab.blur import vae_names  # noqa: E402
from vae_lab.scorecard import load_test_split  # noqa: E402
from app_server import CHROMIUM_ARGS, chromium, running_app  # noqa: E402


@torch.inference_mode()
def decode_latency_ms(vae, repeats: int = 2000) -> tuple[float, float]:
    z = torch.randn(1, vae.latent_dim)
    for _ in range(50):
        vae.decode(z)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        vae.decode(z)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * len(times))]


@torch.inference_mode()
def test_set_seconds(vae, batch_size: int = INFERENCE_BATCH) -> float:
    split = load_test_split("mnist")
    vae.reconstruct(split.batch(slice(0, batch_size))[0])  # warm-up
    start = time.perf_counter()
    for x, _ in split.batches(batch_size):
        vae.reconstruct(x)
    return time.perf_counter() - start


def app_cold_start() -> tuple[float, float | None]:
    """Seconds from `streamlit run` to a healthy server, and to the whole first page (originals and every
    default model's row) in a browser that is already open (as a visitor's is: its own start-up is not
    the app's)."""
    with ExitStack() as stack:
        page = None
        if chromium():
            from playwright.sync_api import sync_playwright
            browser = stack.enter_context(sync_playwright()).chromium.launch(executable_path=chromium(),
                                                                              args=CHROMIUM_ARGS)
            page = browser.new_page()
        start = time.perf_counter()
        url, *_ = stack.enter_context(running_app())
        healthy = time.perf_counter() - start
        if page is None:
            return healthy, None
        page.goto(f"{url}/reconstruct")  # the first page before the lesson became the landing page: comparable
        # The Reconstruct page's last element, drawn after every model's row of reconstructions.
        page.get_by_text("Download the grid as PNG").wait_for(timeout=120_000)
        return healthy, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-app", action="store_true", help="skip the app cold-start measurement")
    parser.add_argument("--app-starts", type=int, default=5, help="server starts to time (they vary by ~1 s)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, CPU inference")
    print(f"{'model':14} {'decode 1: median ms':>20} {'p99 ms':>8} {'10,000 test images: s':>23}")
    for name in vae_names("mnist"):
        vae = checkpoints.load(name)
        median, p99 = decode_latency_ms(vae)
        print(f"{name:14} {median:20.3f} {p99:8.3f} {test_set_seconds(vae):23.2f}", flush=True)
    if not args.no_app:
        starts = [app_cold_start() for _ in range(args.app_starts)]
        healthy = sorted(h for h, _ in starts)
        print(f"app cold start, {len(starts)} server starts: healthy after {statistics.median(healthy):.1f} s "
              f"(median)")
        if starts[0][1] is None:
            print("first page: not measured (no Chromium)")
        else:
            pages = sorted(page for _, page in starts)
            print(f"first page complete (every model's row): median {statistics.median(pages):.1f} s, "
                  f"range {pages[0]:.1f}-{pages[-1]:.1f} s ({', '.join(f'{p:.1f}' for p in pages)})")


if __name__ == "__main__":
    main()
