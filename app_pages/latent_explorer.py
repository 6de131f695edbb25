"""Latent space by hand: sliders per dimension, a 2-D traversal grid, and a map of the test set."""
import numpy as np
import streamlit as st
import torch

from vae_lab import ui
from vae_lab.explore import dimension_pair, pca, traversal_grid
from vae_lab.figures import latent_scatter
from vae_lab.images import image_grid

chosen = ui.selection()
st.header("Latent explorer")
if not ui.require(chosen, digits=False, test_set=True):
    st.stop()
name = ui.pick_model(chosen, key="explorer_model")
vae = ui.model(name)
dims = list(range(vae.latent_dim))

left, right = st.columns([1, 2])
with left:
    start = st.radio("Start from", ["an encoded digit", "the origin"], horizontal=True, key="explorer_start")
    digits = chosen.digits
    if start == "an encoded digit" and digits is not None and len(digits):
        index = ui.pick_digit(digits, "Digit", key="explorer_digit")
        with torch.no_grad():
            z0 = vae.encode(digits.images[index:index + 1]).mu[0]
        start_key = f"{name}-{digits.captions[index]}"
        st.image(ui.enlarge(digits.images[index]), caption="the digit", width=112)
    else:
        z0, start_key = torch.zeros(vae.latent_dim), f"{name}-origin"


@st.fragment
def sliders(start_key: str, z0: torch.Tensor) -> None:
    """Only this function reruns when a slider moves: one decode, one image."""
    values = [st.slider(f"z[{i}]", -3.0, 3.0, float(np.clip(z0[i].item(), -3, 3)), 0.05,
                        key=f"z{i}-{start_key}") for i in dims]
    with torch.no_grad():
        image = vae.decode(torch.tensor([values]))
    st.image(ui.enlarge(image[0], scale=8), caption=f"decode(z) = {np.round(values, 2).tolist()}", width=224)


with right:
    st.subheader("Move through latent space")
    sliders(start_key, z0)

st.subheader("Traversal grid")
col_a, col_b, col_c = st.columns(3)
dim_row = col_a.selectbox("Rows sweep", dims, index=0, format_func=lambda i: f"z[{i}]", key="trav_row")
dim_col = col_b.selectbox("Columns sweep", dims, index=min(1, len(dims) - 1), format_func=lambda i: f"z[{i}]",
                          key="trav_col")
span = col_c.slider("Span (+/-)", 1.0, 4.0, 3.0, 0.5, key="trav_span")
if dim_row == dim_col:
    st.info("Choose two different dimensions.")
else:
    grid = traversal_grid(vae, z0, dims=(dim_row, dim_col), span=span, size=9)
    st.image(image_grid([grid[r * 9:(r + 1) * 9] for r in range(9)], pad=1, scale=3),
             caption=f"rows: z[{dim_row}] from -{span} (top) to +{span}; columns: z[{dim_col}], other dimensions "
                     f"as at the start point")

st.subheader("Latent map of the test set")
split = ui.test_set(chosen.dataset)
means = ui.latent_means(name, chosen.dataset)
how = st.radio("View", ["PCA", "two dimensions"], horizontal=True, key="map_view")
if how == "PCA":
    projection = pca(means)
else:
    a, b = st.columns(2)
    x_dim = a.selectbox("x", dims, index=0, format_func=lambda i: f"z[{i}]", key="map_x")
    y_dim = b.selectbox("y", dims, index=min(1, len(dims) - 1), format_func=lambda i: f"z[{i}]", key="map_y")
    projection = dimension_pair(vae.latent_dim, (x_dim, y_dim))
points = projection.project(means)
event = st.plotly_chart(latent_scatter(points, split.labels.numpy(), chosen.class_names, projection.labels),
                        on_select="rerun", selection_mode="points", key=f"map-{name}-{how}")
picked = [p["customdata"] for p in (event.selection.points if event else []) if "customdata" in p]
if picked:
    index = int(picked[0])
    x = split.batch(slice(index, index + 1))[0]
    a, b = st.columns(2)
    a.image(ui.enlarge(x[0], scale=6), caption=f"test image #{index} ({chosen.class_names[int(split.labels[index])]})")
    b.image(ui.enlarge(vae.decode(torch.from_numpy(means[index:index + 1]))[0], scale=6), caption="its decoding")
else:
    st.caption("Click a point to see its test image and its decoding.")
