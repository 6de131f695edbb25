"""A training job as the app shows it: its state, progress and outcome in the sidebar (redrawn every second while
it runs), and its loss curves and film at the page's width. The training panel (training_panel.py) draws these
for the visitor's latest job."""
from __future__ import annotations

import streamlit as st

from .. import checkpoints, kinds
from ..config import TrainConfig
from ..figures import film_measures_chart, training_curves
from ..jobs import JobError, JobManager, JobStatus
from ..jobs.status import seconds_left
from .resources import clear_caches

_published_jobs: set[str] = set()  # jobs whose model this server has picked up (caches are per server)


def job_status(manager: JobManager, job_id: str, *, live: bool) -> None:
    """The job's state, progress and outcome in the sidebar; while it runs, redrawn every second without
    rerunning the page."""

    @st.fragment(run_every=1.0 if live else None)
    def status_now() -> None:
        status = manager.status(job_id)
        st.markdown(f"**{kinds.label(status.kind)} '{status.name}'**: {status.state}")
        if status.active:
            events = manager.events(job_id)
            steps = [e for e in events if e["event"] == "step"]
            doing = events[-1]["doing"] if events and events[-1]["event"] == "phase" else ""
            progress_bar(steps[-1] if steps else None, doing=doing)
            if st.button("Cancel", icon=":material/stop:", key="train_cancel"):
                manager.cancel(job_id)
                st.rerun(scope="app")
        elif status.state == "succeeded":
            succeeded(status, job_id)
        else:  # failed, cancelled or interrupted
            (st.error if status.state == "failed" else st.warning)(status.message)
            st.code(manager.log_tail(job_id), language=None)
            resume_button(manager, job_id)

    status_now()


def progress_bar(last: dict | None, *, doing: str = "") -> None:
    """Where the job is: its epoch and step, its speed and the time left, from its last step event; or what it
    does between its steps (`doing`)."""
    if last is None:
        st.progress(0.0, text="starting: loading the data and the networks...")
        return
    if doing:
        st.progress(last["step"] / last["total_steps"], text=f"epoch {last['epoch']}/{last['epochs']}: {doing}...")
        return
    eta = seconds_left(last)
    st.progress(last["step"] / last["total_steps"],
                text=f"epoch {last['epoch']}/{last['epochs']}, step {last['step']}/{last['total_steps']}, "
                     f"{last['images_per_s']:,.0f} img/s" + (f", about {duration(eta)} left" if eta else ""))


def succeeded(status: JobStatus, job_id: str) -> None:
    """The finished job's model joins the picker: the server's caches learn of it once, and this session
    chooses it once."""
    st.success(f"Done: {status.message}. It is in the model picker.")
    if status.warning:
        st.warning(status.warning)
    if job_id not in _published_jobs:  # once per job and server: caches are shared by all sessions
        _published_jobs.add(job_id)
        clear_caches()
    if st.session_state.get("job_seen") != job_id:  # once per session: choose it in the model picker
        st.session_state["job_seen"] = job_id
        st.session_state["select_model"] = checkpoints.read(status.checkpoint).dataset, status.name
        st.rerun(scope="app")


def resume_button(manager: JobManager, job_id: str) -> None:
    """A failed or cancelled job that saved an epoch goes on from it, with the recipe it was started with."""
    resumable = manager.resumable(job_id)
    if resumable is None or not st.button("Resume from the last good epoch", key="train_resume"):
        return
    try:
        recipe_values = checkpoints.read(resumable).meta["recipe"]
        manager.start(TrainConfig.from_dict(recipe_values), resume=resumable)
    except (JobError, OSError, checkpoints.CheckpointError, ValueError) as error:  # busy, as for a start
        st.error(str(error))
        return
    st.rerun(scope="app")


def job_details(manager: JobManager, job_id: str, name: str, *, live: bool) -> None:
    """The job's loss curves and film, at the page's width; while it runs, redrawn every 2 seconds."""

    @st.fragment(run_every=2.0 if live else None)
    def details_now() -> None:
        events = manager.events(job_id)
        steps = [e for e in events if e["event"] == "step"]
        epochs = [e for e in events if e["event"] == "epoch"]
        if not steps:
            st.caption("The curves start with the first training steps.")
        else:
            shown = ("loss", "reconstruction", "perceptual", "kl", "critic_loss")
            keys = [k for k in shown if k in steps[-1]["metrics"]]
            st.plotly_chart(training_curves(steps, epochs, keys), key=f"curves-{job_id}-{len(steps)}")
        film = manager.film(job_id)
        if film:
            film_view(manager, job_id, name, film)
            return
        preview = manager.preview(job_id)
        if preview:
            st.image(preview, caption=f"after epoch {len(epochs)}: originals, then reconstructions", width="stretch")

    details_now()


def film_view(manager: JobManager, job_id: str, name: str, film: bytes) -> None:
    """The film so far beside its frames' blur and meaning."""
    left, right = st.columns(2)
    left.image(film, caption="The training so far: test images, their reconstructions, and fixed prior points "
                             "decoded, a frame every 50 steps", width="stretch")
    left.download_button("Download the training as GIF", film, file_name=f"{name}-training.gif",
                         mime="image/gif", icon=":material/movie:", key=f"film-{job_id}")
    measures = manager.film_measures(job_id)
    if measures and measures["frames"]:
        right.plotly_chart(film_measures_chart(measures["frames"]),
                           key=f"film-measures-{job_id}-{len(measures['frames'])}")
        right.caption(f"Blur and meaning, frame by frame, on the first {measures['images']:,} test images: "
                      "a perceptual loss should raise the Laplacian variance (sharper reconstructions) "
                      "while the classifier still reads them as the digits they came from.")


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
