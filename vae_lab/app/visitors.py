"""Whose page run this is: the workspace it reads and writes (in public mode the visitor's, known by a cookie), their
job manager, and public mode's sweep."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import streamlit as st

from .. import checkpoints, public
from ..jobs import JobManager
from ..workspace import Workspace


log = logging.getLogger(__name__)
_last_sweep = [0.0]  # per server: when visitors' old models and jobs were last removed
SWEEP_EVERY_S = 600


VISITOR_COOKIE = "vae_lab_visitor"


def visitor() -> str:
    """This browser's id in public mode: its models and jobs are its own. A random id kept in a cookie of this
    site, so that a reload, another tab or a restarted server finds the same visitor (and the same limits)."""
    if "visitor" not in st.session_state:
        sent = st.context.cookies.get(VISITOR_COOKIE, "")
        st.session_state["visitor"] = sent if public.is_visitor_id(sent) else public.new_visitor_id()
    return st.session_state["visitor"]


def _remember_visitor(settings: public.PublicSettings) -> None:
    """Once per session: (re)set the visitor's cookie in this browser, for as long as their models are kept.
    Only this session's page carries the id; in the Space's cross-site iframe the cookie must be SameSite=None,
    Secure and Partitioned (a third-party cookie otherwise), which needs https."""
    # a slot in every run, so that the sidebar's later elements keep their places: without it the first run had one
    # element more, and the training panel, opened by the visitor, closed again at their next click
    slot = st.sidebar.empty()
    if st.session_state.get("visitor_remembered") == visitor():
        return
    st.session_state["visitor_remembered"] = visitor()
    attributes = f"Max-Age={round(3600 * settings.keep_hours)}; Path=/; "
    slot.html(f"""<script>
        document.cookie = "{VISITOR_COOKIE}={visitor()}; {attributes}" +
            (location.protocol === "https:" ? "SameSite=None; Secure; Partitioned" : "SameSite=Lax");
        </script>""", unsafe_allow_javascript=True)


def workspace() -> Workspace:
    """The folders this page run reads and writes: the server's (its environment's, workspace.py), as this visitor
    sees them in public mode (their own model folder, and no other visitor's)."""
    server = Workspace.from_env()
    return server.for_visitor(visitor()) if public.enabled() else server


@st.cache_resource(show_spinner=False)
def _tidy_after_restart(folders: tuple[str, ...]) -> None:
    """Once per server: the half-written files of processes that a restart or a kill cut short are removed."""
    for folder in folders:
        for path in checkpoints.remove_stale_temporaries(Path(folder)):
            log.info("removed %s, left half-written by an earlier process", path)


def enter_session() -> None:
    """At the start of every run: once per server, the tidy-up; in public mode, the visitor's cookie and, now and
    then, the sweep."""
    server = Workspace.from_env()
    _tidy_after_restart(tuple(map(str, server.folders())))
    if not public.enabled():
        return
    _remember_visitor(public.PublicSettings.from_env())
    if time.time() - _last_sweep[0] > SWEEP_EVERY_S:
        _last_sweep[0] = time.time()
        public.sweep(server.checkpoints, server.jobs, public.PublicSettings.from_env())


def job_manager() -> JobManager:
    """Everyone's jobs on a private lab; the visitor's own, with the demo's limits, in public mode."""
    if not public.enabled():
        return JobManager(workspace())
    return JobManager(workspace(), owner=visitor(), limits=public.PublicSettings.from_env().job_limits())
