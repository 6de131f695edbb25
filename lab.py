#!/usr/bin/env python3
"""From a fresh checkout to the running lab, with nothing but Python 3.10 or newer:

    python3 lab.py app          # sets up .venv with what the app needs, then starts it on http://localhost:8501
    python3 lab.py test         # sets up .venv with the app and the test tools, then runs the tests
    python3 lab.py fetch-data   # the app's .venv, then the full data sets into the data root (./data)

Further arguments go to `vae-lab app` (Streamlit's options, e.g. --server.port 8502), to pytest, or to
`vae-lab fetch-data`. The first run installs PyTorch: the CPU-only wheels (about 1 GB) where no NVIDIA GPU
is found and PyTorch's CPU index answers, else PyPI's default build (with CUDA: about 6 GB); it says which
and why. VAE_LAB_TORCH=cpu or VAE_LAB_TORCH=cuda chooses instead. Later runs install nothing unless
pyproject.toml changed. VAE_LAB_VENV chooses another folder than .venv.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# The suite on two processes, a test file each at a time: the browser tests mostly wait (for a server, a page, a job),
# and the other process keeps the second core busy meanwhile. `-n 0` runs it on one.
TEST_PROCESSES = ["-n", "2", "--dist", "loadfile"]
EXTRAS = {"app": "", "test": "[dev]", "fetch-data": ""}  # what each command installs, as pip extras of this project


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if sys.version_info < (3, 10):  # noqa: UP036 (lab.py runs on whatever python3 the machine has)
        sys.exit(f"vae_lab needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    python = set_up("app" if command == "fetch-data" else command)
    if command in ("app", "fetch-data"):
        return run([str(python.with_name("vae-lab")), command, *rest])
    if not shutil.which("chromium") and not shutil.which("chromium-browser"):
        print("lab.py: no Chromium found, so the browser tests will skip (Debian/Ubuntu: apt-get install chromium)",
              file=sys.stderr)
    return run([str(python), "-m", "pytest", *TEST_PROCESSES, *rest])


def set_up(command: str) -> Path:
    """The virtual environment's python, with this project installed (editable) and its extras for `command`."""
    folder = Path(os.environ.get("VAE_LAB_VENV", HERE / ".venv"))
    python = folder / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        print(f"lab.py: creating a virtual environment in {folder}", file=sys.stderr)
        venv.create(folder, with_pip=True)
    stamp = folder / f".vae_lab-{command}"
    wanted = hashlib.sha256((HERE / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    if not has_torch(python):
        install_torch(pip, test=command == "test")
    print(f"lab.py: installing vae_lab{EXTRAS[command]} and what it needs", file=sys.stderr)
    check(run([*pip, "--editable", f"{HERE}{EXTRAS[command]}"]))
    stamp.write_text(wanted)
    return python


def has_torch(python: Path) -> bool:
    return subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode == 0


def install_torch(pip: list[str], *, test: bool) -> None:
    """CPU-only wheels where they can be had and no NVIDIA GPU is found; PyPI's default build otherwise; saying
    which, why, and how to choose the other."""
    packages = ["torch", "torchvision"] if test else ["torch"]  # torchvision: the tests read data through it too
    chosen = os.environ.get("VAE_LAB_TORCH", "")
    if chosen not in ("", "cpu", "cuda"):
        sys.exit(f"lab.py: VAE_LAB_TORCH is cpu or cuda, got {chosen!r}")
    gpu = shutil.which("nvidia-smi") is not None
    if chosen == "cpu" or (not chosen and not gpu):
        why = "as VAE_LAB_TORCH=cpu asks" if chosen else "no NVIDIA GPU was found (no nvidia-smi)"
        if reachable(CPU_INDEX):
            print(f"lab.py: installing PyTorch's CPU-only wheels (about 1 GB): {why}. VAE_LAB_TORCH=cuda installs "
                  f"the CUDA build instead.", file=sys.stderr)
            if run([*pip, "--index-url", CPU_INDEX, *packages]) == 0:
                return
            why = "the CPU-only wheels failed to install"
        else:
            why = f"PyTorch's CPU index ({CPU_INDEX}) did not answer"
        if chosen == "cpu":
            sys.exit(f"lab.py: {why}; try again later, or unset VAE_LAB_TORCH for PyPI's default build")
    else:
        why = "as VAE_LAB_TORCH=cuda asks" if chosen else "an NVIDIA GPU was found (nvidia-smi)"
    print(f"lab.py: installing PyTorch from PyPI, whose default build carries CUDA (about 6 GB): {why}. "
          f"VAE_LAB_TORCH=cpu insists on the CPU-only wheels.", file=sys.stderr)
    check(run([*pip, *packages]))


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except OSError:
        return False


def run(command: list[str]) -> int:
    try:
        return subprocess.run(command, cwd=HERE).returncode
    except KeyboardInterrupt:
        return 130


def check(returncode: int) -> None:
    if returncode:
        sys.exit(f"lab.py: the installation failed (exit code {returncode}); see pip's message above.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
