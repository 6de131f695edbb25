"""vae_lab's Streamlit app: `streamlit run app.py`.

The entry point owns what every page shares: the sidebar (models, data set, digit source,
training panel) and the page registry. Pages in app_pages/ only lay things out. (Not "pages/":
Streamlit treats a folder of that name as its legacy multipage app and would then run a page
file without this script, and so without the sidebar, on a server's first request.)
"""
import streamlit as st

from vae_lab import links, training_panel, ui

st.set_page_config(page_title="vae_lab: blurry VAEs and perceptual losses", page_icon=":material/blur_on:",
                   layout="wide")
pages = st.navigation([
    st.Page("app_pages/reconstruct.py", title="Reconstruct", icon=":material/compare:", default=True),
    st.Page("app_pages/latent_explorer.py", title="Latent explorer", icon=":material/tune:"),
    st.Page("app_pages/interpolation.py", title="Interpolation", icon=":material/linear_scale:"),
    st.Page("app_pages/samples.py", title="Samples", icon=":material/grid_view:"),
    st.Page("app_pages/blur_analysis.py", title="Blur analysis", icon=":material/bar_chart:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/table_chart:"),
])
links.begin()
ui.sidebar()
training_panel.render()
try:
    pages.run()
finally:  # also after a page's st.stop(): the URL and the link always show what is on the screen
    links.publish()
    links.link_control()
