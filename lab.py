#!/usr/bin/env python3
"""From a fresh checkout to the running lab, with nothing but Python 3.10 or newer:

    python3 lab.py app     # sets up .venv with what the app needs, then starts it on http://localhost:8501
    python3 lab.py test    # sets up .venv with the app and the test tools, then runs the tests

Further arguments go to `vae-lab app` (Streamlit's options, e.g. --server.port 8502) or to pytest.
The first run installs PyTorch: the CPU-only wheels (about 1 GB) where no NVIDIA GPU is found and
PyTorch's CPU index answers, else PyPI's default build (with CUDA: about 6 GB). Later runs install
nothing unless pyproject.toml changed. VAE_LAB_VENV chooses another folder than .venv.
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
EXTRAS = {"app": "", "test": "[dev]"}  # what each command installs, as pip extras of this project


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if sys.version_info < (3, 10):  # noqa: UP036 (lab.py runs on whatever python3 the machine has)
        sys.exit(f"vae_lab needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    python = set_up(command)
    if command == "app":
        return run([str(python.with_name("vae-lab")), "app", *rest])
    if not shutil.which("chromium") and not shutil.which("chromium-browser"):
        print("lab.py: no Chromium found, so the browser tests will skip (Debian/Ubuntu: apt-get install chromium)",
              file=sys.stderr)
    return run([str(python), "-m", "pytest", *rest])


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
    """CPU-only wheels where they can be had and no NVIDIA GPU is found; PyPI's default build otherwise."""
    packages = ["torch", "torchvision"] if test else ["torch"]  # torchvision: the tests read data through it too
    if not shutil.which("nvidia-smi") and reachable(CPU_INDEX):
        print("lab.py: installing PyTorch's CPU-only wheels (no NVIDIA GPU found)", file=sys.stderr)
        if run([*pip, "--index-url", CPU_INDEX, *packages]) == 0:
            return
    print("lab.py: installing PyTorch from PyPI (the default build carries CUDA: about 6 GB)", file=sys.stderr)
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
