"""The package as a user installs it: `pip install .` gives a `vae-lab` command and the shipped models,
and requirements.txt says what pyproject.toml says."""
import ast
import graphlib
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

from conftest import REPO


def normalised(requirement: str) -> str:
    name, spec = re.match(r"([A-Za-z0-9._-]+)(.*)", requirement.strip()).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_requirements_txt_agrees_with_pyproject():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    listed = [line.split("#")[0] for line in (REPO / "requirements.txt").read_text().splitlines()]
    assert sorted(normalised(r) for r in listed if r.strip()) == sorted(normalised(r) for r in declared)


def test_pip_install_in_a_fresh_venv_gives_a_working_vae_lab_command(tmp_path):
    """A fresh venv that borrows this one's libraries (no network here), the package installed into it
    by pip, then used from another folder so that the repository is not on the path."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python, command = venv / "bin" / "python", venv / "bin" / "vae-lab"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-build-isolation", "--quiet", str(REPO)],
                             capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    help_text = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    for sub_command in ("app", "train", "evaluate", "report"):
        assert sub_command in help_text.stdout
    where = subprocess.run([str(python), "-c", "import vae_lab; print(vae_lab.__file__); "
                            "print(sorted(c.name for c in vae_lab.available())); "
                            "from vae_lab.data import test_split; print(len(test_split('fashion-mnist'))); "
                            "from vae_lab import lesson_record; print(lesson_record.load('mnist') is not None)"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env=os.environ | {"VAE_LAB_DATA": str(tmp_path / "no-data")})
    path, names, sample_size, lesson_figures = where.stdout.splitlines()
    assert sample_size == "1000", "the embedded sample travels with the package"
    assert lesson_figures == "True", "the landing page's figures travel with the package, and match its models"
    assert str(venv) in path, "the installed copy, not the repository's"
    assert "'dfc'" in names and "'classifier'" in names, "the shipped models travel with the package"
    served = Path(path).parent / "app" / "latent_pad"
    assert {p.name for p in served.iterdir()} >= {"index.html", "decoder.js", "pad.js", "wasm.js", "kernels.wasm"}, \
        "the browser networks too"
    assert (Path(path).parent / "app" / ".streamlit" / "config.toml").is_file(), "the app's settings too"
    serve_the_installed_app(command, tmp_path)


def serve_the_installed_app(command: Path, folder: Path) -> None:
    """`vae-lab app` from the installed package, in a folder without the repository: health, then the page."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(command), "app", f"--server.port={port}", "--server.headless=true"],
                              cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    assert answer.read() == b"ok"
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.communicate()[0][-3000:]
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert b"<title>" in answer.read(), "the app's page"
    finally:
        server.terminate()
        server.wait(timeout=30)


def import_graph() -> dict[str, set[str]]:
    """Every module of the package (the app's page scripts aside: nothing imports them) and the package's modules
    it imports anywhere in its source: at the top, inside a function, or for types only."""
    paths = {".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): path
             for path in (REPO / "vae_lab").rglob("*.py") if "views" not in path.parts}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
                module = ".".join(part for part in (base, node.module) if part)
                submodules = {f"{module}.{alias.name}" for alias in node.names} & set(paths)
                found |= submodules or {module}
        graph[name] = found & set(paths) - {name}
    return graph


def test_the_package_has_no_import_cycle_and_the_core_never_imports_the_ui_jobs_or_cli():
    """The package's shape: modules import downwards only (type-only and in-function imports included), and the
    core never imports Streamlit (all that does lives in vae_lab/app/)."""
    graph = import_graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise AssertionError(f"an import cycle: {' -> '.join(error.args[1])}") from None
    assert "vae_lab.jobs" in order and "vae_lab.app.ui" in order
    # estimate reads the jobs' records, public sweeps them: both sit above the core
    above_the_core = {name for name in graph if name.startswith("vae_lab.jobs")} | {
        f"vae_lab.{name}" for name in ("estimate", "public", "cli", "__main__")}
    for name in {n for n in graph if not n.startswith("vae_lab.app")} - {"vae_lab"}:
        if name not in above_the_core:
            assert not graph[name] & above_the_core, f"{name} imports {graph[name] & above_the_core}"
        source = REPO / (name.replace(".", "/") + ".py")
        source = source if source.is_file() else REPO / name.replace(".", "/") / "__init__.py"
        assert "import streamlit" not in source.read_text(), f"{name} imports Streamlit"
    assert not any(name.startswith("vae_lab.public") for name in set().union(
        *(graph[n] for n in graph if n.startswith("vae_lab.jobs")))), "public mode imports the jobs, not the reverse"


def test_lab_py_says_which_pytorch_build_it_installs_why_and_how_to_choose_the_other(monkeypatch, capsys):
    """A fresh clone on a machine without a GPU got the 6 GB CUDA build without a word when PyTorch's CPU index
    did not answer: now it says so, and VAE_LAB_TORCH chooses."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("lab_script", REPO / "lab.py")
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)
    calls = []
    monkeypatch.setattr(lab, "run", lambda command: calls.append(command) or 0)
    monkeypatch.setattr(lab.shutil, "which", lambda name: None)  # no nvidia-smi
    monkeypatch.delenv("VAE_LAB_TORCH", raising=False)
    monkeypatch.setattr(lab, "reachable", lambda url: False)
    lab.install_torch(["pip"], test=False)
    said = capsys.readouterr().err
    assert calls == [["pip", "torch"]] and "CPU index" in said and "did not answer" in said
    assert "VAE_LAB_TORCH=cpu" in said and "carries CUDA" in said
    calls.clear()
    monkeypatch.setattr(lab, "reachable", lambda url: True)
    lab.install_torch(["pip"], test=True)
    said = capsys.readouterr().err
    assert calls == [["pip", "--index-url", lab.CPU_INDEX, "torch", "torchvision"]]
    assert "no NVIDIA GPU was found" in said and "VAE_LAB_TORCH=cuda" in said
    calls.clear()
    monkeypatch.setenv("VAE_LAB_TORCH", "cuda")
    lab.install_torch(["pip"], test=False)
    assert calls == [["pip", "torch"]] and "as VAE_LAB_TORCH=cuda asks" in capsys.readouterr().err
