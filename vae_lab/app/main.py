"""The app's entry: what every page shares (the sidebar: models, data set, digit source, training panel) and
the page registry. `vae-lab app` runs this file; the checkout's `app.py` calls `run()`."""
from pathlib import Path

# Imported here, once, by whichever script run imports this module first (Python holds this module's
# import lock meanwhile, so the other visitors' runs wait): the first visitors' scripts run in parallel
# threads, and a lazy first import of pandas (by plotly's validators, st.dataframe) racing in two
# threads gave one of them a partially initialised module (AttributeError: module 'pandas' has no
# attribute 'Series') on a cold server with four visitors at once.
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import pyarrow  # noqa: F401
import streamlit as st
import torch

from vae_lab.app import links, training_panel, ui, warm

# A page's networks see one image, or a few, at a time: a second thread only waits for the first, and on a
# small box the visitors' sessions and the browser need the other core (benchmarks/landing.py measured it).
torch.set_num_threads(1)

VIEWS = Path(__file__).with_name("views")


def run() -> None:
    st.set_page_config(page_title="vae_lab: blurry VAEs and perceptual losses", page_icon="🌫️",
                       layout="wide")
    pages = st.navigation([
        st.Page(VIEWS / "why_blurry.py", title="Why blurry?", icon=":material/help:", default=True),
        st.Page(VIEWS / "reconstruct.py", title="Reconstruct", icon=":material/compare:"),
        st.Page(VIEWS / "latent_explorer.py", title="Latent explorer", icon=":material/tune:"),
        st.Page(VIEWS / "interpolation.py", title="Interpolation", icon=":material/linear_scale:"),
        st.Page(VIEWS / "samples.py", title="Samples", icon=":material/grid_view:"),
        st.Page(VIEWS / "blur_analysis.py", title="Blur analysis", icon=":material/bar_chart:"),
        st.Page(VIEWS / "models.py", title="Models", icon=":material/table_chart:"),
    ])
    warm.start()
    links.begin()
    ui.sidebar()
    training_panel.render()
    try:
        pages.run()
    finally:  # also after a page's st.stop(): the URL and the link always show what is on the screen
        links.publish()
        links.link_control()


if __name__ == "__main__":  # `streamlit run` executes the main script as __main__ on every rerun
    run()
