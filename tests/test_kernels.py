"""The browser's WebAssembly kernels are built from the source in the repository (their outputs are checked
against PyTorch in the browser tests)."""
import subprocess
import sys


def test_the_committed_kernels_are_a_fresh_build_of_their_source():
    check = subprocess.run([sys.executable, "-m", "vae_lab.app.build_kernels", "--check"], capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr

