"""Latent space by hand: a pad and sliders decoded in the browser, a 2-D traversal grid, a map of the test set."""
import numpy as np
import streamlit as st
import torch

from vae_lab.app import links, resources, ui
from vae_lab.datasets import noun
from vae_lab.images import enlarge
from vae_lab.explore import Projection, dimension_pair, pca, traversal_grid
from vae_lab.figures import latent_scatter
from vae_lab.images import image_grid
from vae_lab.app.latent_pad import latent_pad, own_plane, pad_points, start_point

chosen = ui.selection()
st.header("Latent explorer")
if not ui.require(chosen, digits=False, test_set=True):
    st.stop()
name = ui.pick_model(chosen, key="explorer_model")
vae = resources.model(name)
dims = list(range(vae.latent_dim))
split = resources.test_set(chosen.dataset)
means = resources.latent_means(name, chosen.dataset)

left, right = st.columns([1, 2])
with left:
    start = links.widget(st.radio, "Start from", ["an encoded digit", "the origin"], horizontal=True,
                         key="explorer_start", options=("an encoded digit", "the origin"), what="start",
                         format_func=lambda option: option.replace("digit", noun(chosen.dataset)))
    digits = chosen.digits
    start_image = None  # the digit every model starts from (its own code of it), or None: the origin
    if start == "an encoded digit" and digits is not None and len(digits):
        index = ui.pick_digit(digits, noun(chosen.dataset).capitalize(), key="explorer_digit")
        start_image = digits.images[index:index + 1]
        start_key = f"{name}-{digits.captions[index]}"
        st.image(enlarge(digits.images[index]), caption=f"the {noun(chosen.dataset)}", width=112)
    else:
        start_key = f"{name}-origin"


def start_of(model) -> torch.Tensor:
    if start_image is None:
        return torch.zeros(model.latent_dim)
    with torch.no_grad():
        return model.encode(start_image).mu[0]


z0 = start_of(vae)


@st.fragment
def server_sliders(start_key: str, z0: torch.Tensor) -> None:
    """Only this function reruns when a slider moves: one decode on the server, one image."""
    values = [st.slider(f"z[{i}]", -3.0, 3.0, float(np.clip(z0[i].item(), -3, 3)), 0.05,
                        key=f"z{i}-{start_key}") for i in dims]
    with torch.no_grad():
        image = vae.decode(torch.tensor([values]))
    st.image(enlarge(image[0], scale=8), caption=f"decode(z) = {np.round(values, 2).tolist()}", width=224)


VIEWS = ("PCA of the test set's codes", "two dimensions")


def plane_choice(key: str) -> Projection:
    """PCA of the test set's codes, or two chosen dimensions."""
    if links.widget(st.radio, "Plane", VIEWS, horizontal=True, key=f"{key}_view", options=VIEWS,
                    what="plane") == VIEWS[0]:
        return pca(means)
    a, b = st.columns(2)
    x_dim = links.widget(a.selectbox, "across", dims, index=0, format_func=lambda i: f"z[{i}]", key=f"{key}_x",
                         parse=int, options=dims, what="dimension")
    y_dim = links.widget(b.selectbox, "up", dims, index=min(1, len(dims) - 1), format_func=lambda i: f"z[{i}]",
                         key=f"{key}_y", parse=int, options=dims, what="dimension")
    if x_dim == y_dim:
        st.info("Choose two different dimensions.")
        st.stop()
    return dimension_pair(vae.latent_dim, (x_dim, y_dim))


with right:
    st.subheader("Move through latent space")
    in_browser = links.widget(st.toggle, "Decode in the browser", value=True, key="explorer_in_browser",
                              parse=links.flag,
                              help="Your browser decodes every frame itself, with no round trip to the server. "
                                   "Switch off where the pad stays empty (a browser that blocks the component): "
                                   "the server then decodes each slider step.")
    if in_browser:
        same_size = [m for m in chosen.models if resources.model(m).latent_dim == vae.latent_dim]
        pad_key = f"pad_models-{chosen.dataset}"
        shown = links.widget(st.multiselect, "Decode side by side", same_size,
                             default=[name] + [m for m in same_size if m != name], parse=links.names,
                             options=same_size, what="models",
                             format_func=lambda m: ui.model_label(m, chosen.kinds[m]), key=pad_key,
                             help="Models with the same latent size, each moving from its own code of the digit.")
        if not shown:
            st.info("Choose at least one model to decode.")
            st.stop()
        draw = links.widget(st.toggle, f"Draw {noun(chosen.dataset, article=True)} and encode it in the browser",
                            value=False, key="explorer_draw", parse=links.flag,
                            help="Each stroke is encoded by every model in your browser: its posterior shows on its "
                                 "own plane and its decoding beside it. Sends each model's encoder (2 MB) once.")
        projection = plane_choice("pad")
        decoders = {ui.model_label(m, chosen.kinds[m]): (resources.model(m), resources.fingerprint(m)) for m in shown}
        in_pca = st.session_state.get("pad_view", VIEWS[0]) == VIEWS[0]
        with st.spinner("Encoding the test set with each model (once per model)..."):
            others = {m: resources.latent_means(m, chosen.dataset) for m in shown if m != name}
        # each other model: its own start, its own plane (the PCA of its own codes, or the same two dimensions)
        labels = split.labels.numpy() if draw else None
        own = {ui.model_label(m, chosen.kinds[m]): own_plane(pca(m_means) if in_pca else projection, m_means,
                                                             start_of(resources.model(m)), labels=labels)
               for m, m_means in others.items()}
        latent_pad(decoders, z=start_point(z0, start_key), start_key=start_key, projection=projection,
                   points=pad_points(projection, means, split.labels.numpy()), own=own,
                   start=own_plane(projection, means, z0), class_names=chosen.class_names, key="latent_pad",
                   draw=draw)
        start_text = f"its own code of the chosen {noun(chosen.dataset)}" if start_image is not None else "the origin"
        st.caption(f"The pad is {name}'s plane and its sliders move {name}'s code. Every other model starts from "
                   f"{start_text} and moves in its own {'PCA ' if in_pca else ''}plane by the same amounts, counted "
                   f"in its own codes' standard deviations along each axis: each latent space is its own, so one "
                   f"vector would mean different things to different models. The sliders' moves out of the plane "
                   f"are {name}'s alone. The dots are test images' codes, coloured by class (the legend)."
                   + (f" A drawing becomes every model's start: each model's posterior of it, q(z | drawing), is "
                      f"its mean (the square) and its 1-σ ellipse, on its own plane under its decoding (and for "
                      f"{name} on the pad); the decoding of that mean is the model's reconstruction. The drawing "
                      f"stays in your browser." if draw else ""))
    else:
        server_sliders(start_key, z0)

st.subheader("Traversal grid")
col_a, col_b, col_c = st.columns(3)
dim_row = links.widget(col_a.selectbox, "Rows sweep", dims, index=0, format_func=lambda i: f"z[{i}]", key="trav_row",
                       parse=int, options=dims, what="dimension")
dim_col = links.widget(col_b.selectbox, "Columns sweep", dims, index=min(1, len(dims) - 1),
                       format_func=lambda i: f"z[{i}]", key="trav_col", parse=int, options=dims, what="dimension")
span = links.widget(col_c.slider, "Span (+/-)", 1.0, 4.0, 3.0, 0.5, key="trav_span", parse=float,
                    options=np.arange(1.0, 4.01, 0.5).tolist(), what="span")
if dim_row == dim_col:
    st.info("Choose two different dimensions.")
else:
    grid = traversal_grid(vae, z0, dims=(dim_row, dim_col), span=span, size=9)
    st.image(image_grid([grid[r * 9:(r + 1) * 9] for r in range(9)], pad=1, scale=3),
             caption=f"rows: z[{dim_row}] from -{span} (top) to +{span}; columns: z[{dim_col}], other dimensions "
                     f"as at the start point")

st.subheader("Latent map of the test set")
projection = plane_choice("map")
points = projection.project(means)
event = st.plotly_chart(latent_scatter(points, split.labels.numpy(), chosen.class_names, projection.labels),
                        on_select="rerun", selection_mode="points", key=f"map-{name}-{projection.labels}")
picked = [p["customdata"] for p in (event.selection.points if event else []) if "customdata" in p]
if picked:
    index = int(picked[0])
    x = split.batch(slice(index, index + 1))[0]
    a, b = st.columns(2)
    a.image(enlarge(x[0], scale=6), caption=f"test image #{index} ({chosen.class_names[int(split.labels[index])]})")
    b.image(enlarge(vae.decode(torch.from_numpy(means[index:index + 1]))[0], scale=6), caption="its decoding")
else:
    st.caption("Click a point to see its test image and its decoding.")
