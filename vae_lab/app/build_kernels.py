"""Build the latent pad's WebAssembly kernels, latent_pad/kernels.c -> latent_pad/kernels.wasm, with the C
compiler of the `ziglang` wheel (pinned in the dev extra, so every build gives the same bytes):

    python -m vae_lab.app.build_kernels          # writes kernels.wasm
    python -m vae_lab.app.build_kernels --check  # exits 1 where the committed kernels.wasm is not its source's

The binary is committed (under 6 KB), so neither the app nor its users need a compiler.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("latent_pad") / "kernels.c"
BINARY = SOURCE.with_suffix(".wasm")
EXPORTS = ("reserve", "release_all", "dense", "conv3x3", "conv3x3_to_planes")
FLAGS = ["-target", "wasm32-freestanding", "-O3", "-msimd128", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all",
         *(f"-Wl,--export={name}" for name in EXPORTS)]


def build(output: Path) -> None:
    """Compile SOURCE into `output`; the compiler's own messages where it fails."""
    try:
        import ziglang  # noqa: F401 (only to say what is missing)
    except ImportError:
        sys.exit("building the kernels needs the `ziglang` package: pip install -e '.[dev]'")
    with tempfile.TemporaryDirectory() as cache:  # a fresh cache: nothing from an earlier build is reused
        subprocess.run([sys.executable, "-m", "ziglang", "cc", *FLAGS, str(SOURCE), "-o", str(output)], check=True,
                       env={"ZIG_GLOBAL_CACHE_DIR": cache, "ZIG_LOCAL_CACHE_DIR": cache, "PATH": "/usr/bin:/bin"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare a fresh build with the committed binary")
    args = parser.parse_args()
    if not args.check:
        build(BINARY)
        print(f"wrote {BINARY} ({BINARY.stat().st_size} bytes)")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "kernels.wasm"
        build(fresh)
        same = fresh.read_bytes() == BINARY.read_bytes()
    print("kernels.wasm matches kernels.c" if same else
          "kernels.wasm is stale: run python -m vae_lab.app.build_kernels")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
