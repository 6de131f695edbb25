"""The app under measurement: `vae-lab app` (what `lab.py app` and the Space start) on a free port with fresh
folders, and Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium() -> str | None:
    return shutil.which("chromium") or (None if not Path("/usr/bin/chromium").exists() else "/usr/bin/chromium")


@contextmanager
def running_app(env: dict[str, str] | None = None, *, script: Path | None = None
                ) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """A started server, healthy: yields its URL, its process and its home folder, which holds fresh
    checkpoint (ck), job (jobs) and cache folders (`env` may point these elsewhere). `script`: another
    Streamlit script to serve (`streamlit run` in its folder) instead of the lab."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = Path(tempfile.mkdtemp())
    env = os.environ | {"VAE_LAB_CHECKPOINTS": str(home / "ck"), "VAE_LAB_JOBS": str(home / "jobs"),
                        "VAE_LAB_CACHE": str(home / "cache")} | (env or {})
    command = ["-m", "vae_lab", "app"] if script is None else ["-m", "streamlit", "run", script.name]
    server = subprocess.Popen([sys.executable, *command, "--server.headless=true", f"--server.port={port}",
                               "--server.address=127.0.0.1"], cwd=REPO if script is None else script.parent,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError("the server exited before it became healthy") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", server, home
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
