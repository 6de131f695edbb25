"""vae_lab's Streamlit app: everything that imports Streamlit lives in this package; the core never does.

`vae-lab app` (or `streamlit run app.py` in a checkout) runs `main.py`; the pages in `views/` only lay
things out. (Not "pages/": Streamlit treats a folder of that name beside the main script as its legacy
multipage app and would then run a page file without the sidebar on a server's first request.)
"""
from __future__ import annotations

import sys
from pathlib import Path

MAIN = Path(__file__).with_name("main.py")


def launch(streamlit_args: list[str]) -> int:
    """`vae-lab app ARGS`: `streamlit run` on the packaged app, ARGS passed on (e.g. --server.port 8502).
    Its settings come from `.streamlit/config.toml` beside main.py, which Streamlit reads as the script's own."""
    from streamlit.web import cli

    preload()
    sys.argv = ["streamlit", "run", str(MAIN), *streamlit_args]
    return cli.main()


def preload() -> None:
    """Import the app and its libraries (torch, pandas, scipy, matplotlib) before the server answers, instead of
    in the first visitor's script run: on 2 cores that was most of a cold landing page's 8 s. The script's own
    imports then find them in sys.modules."""
    import matplotlib.figure  # noqa: F401  (the landing page's charts)

    from . import main  # noqa: F401  (streamlit, torch, pandas, plotly, pyarrow, every module of the lab)
