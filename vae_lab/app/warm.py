"""At a server's start, the shipped models' analyses (the Models, Samples and Blur analysis pages) are computed
in the background, in one low-priority process on one thread, so that a visitor finds them ready instead of
waiting a minute and a half. The landing page needs nothing of the sort: its figures ship as records
(`vae_lab.lesson_record`)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import streamlit as st

from .. import checkpoints, scorecard
from ..workspace import Workspace

log = logging.getLogger(__name__)
NICE = 10  # below the server's own work: a visitor's page runs first


def missing() -> list[str]:
    """The shipped VAEs whose analysis the disk cache lacks, for the data root as it is."""
    found = [checkpoints.shipped(name) for name in sorted(checkpoints.shipped_names())]
    return [c.name for c in found if c.is_vae and not scorecard.is_cached(c, workspace=Workspace.from_env())]


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread | None:
    """Once per server: `vae-lab evaluate` of what is missing, waited for (and so reaped) by a daemon thread.
    VAE_LAB_WARM_ANALYSES=0 turns it off (the tests do, so as not to compete with themselves)."""
    names = missing() if os.environ.get("VAE_LAB_WARM_ANALYSES", "1") != "0" else []
    if not names:
        return None
    thread = threading.Thread(target=_evaluate, args=(names,), daemon=True, name="vae_lab-warm-analyses")
    thread.start()
    return thread


def _evaluate(names: list[str]) -> None:
    paths = [str(checkpoints.shipped(name).json_path) for name in names]  # never a same-named model of the user's
    command = [sys.executable, "-m", "vae_lab", "evaluate", "--json", *paths]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: os.nice(NICE), check=False)
    if done.returncode:
        log.warning("the background analyses failed (%s): %s", done.returncode, done.stderr[-2000:])
