"""Walk between two digits in latent space, one row per model; presets from the notebook."""
import streamlit as st
import torch

from vae_lab.app import digits, links, resources, ui
from vae_lab import datasets
from vae_lab.datasets import noun
from vae_lab.explore import PRESET_PAIRS, interpolation_images
from vae_lab.images import gif_bytes, image_grid, png_bytes

chosen = ui.selection()
st.header("Interpolation")
st.caption(f"Decode evenly spaced points on the path between two {noun(chosen.dataset, plural=True)}' "
           "posterior means. Blurry models cross-fade; sharper ones morph stroke by stroke.")
if not ui.require(chosen, digits=False):
    st.stop()

notebook = datasets.get(chosen.dataset).notebook_images  # the presets are pairs of them
presets = [f"{a} -> {b}" for a, b in PRESET_PAIRS] if notebook and not chosen.data_error else []
modes = ["from the sidebar's digits", *[f"preset {p}" for p in presets]]  # (link values: never reworded)
mode = links.widget(st.radio, "Endpoints", modes, horizontal=True, options=modes, what="end points",
                    format_func=lambda m: m.replace("digits", noun(chosen.dataset, plural=True)),
                    key="interp_mode", help="The presets use the notebook's selected test digits, as in its figures.")
if mode.startswith("preset"):
    a, b = PRESET_PAIRS[presets.index(mode.removeprefix("preset "))]
    endpoints = digits.digits_at(resources.test_set(chosen.dataset), [notebook[a], notebook[b]])
    start, end = endpoints.images[0], endpoints.images[1]
    labels = endpoints.captions
else:
    digits = chosen.digits
    if digits is None or len(digits) == 0:
        st.info(f"No {noun(chosen.dataset, plural=True)} yet: choose a source in the sidebar, or pick a preset.")
        st.stop()
    left, right = st.columns(2)
    i = ui.pick_digit(digits, "From", key="interp_from")
    j = ui.pick_digit(digits, "To", key="interp_to", default=1)
    start, end, labels = digits.images[i], digits.images[j], [digits.captions[i], digits.captions[j]]

left, right = st.columns(2)
steps = links.widget(left.slider, "Steps", 3, 21, 11, key="interp_steps", parse=int, options=range(3, 22),
                     what="steps")
method = links.widget(right.radio, "Path", ["linear", "spherical"], horizontal=True, key="interp_method",
                      options=("linear", "spherical"), what="path",
                      help="Spherical (slerp) keeps the path at the typical distance from the origin of the prior.")

rows = []
for name in chosen.models:
    with torch.no_grad():
        rows.append(interpolation_images(resources.model(name), start, end, steps=steps, method=method))
    st.markdown(f"**{name}**")
    st.image(image_grid([rows[-1]], pad=1, scale=3), width="stretch")
st.caption(f"From {labels[0]} to {labels[1]}, {steps} steps, {method}.")

frames = [image_grid([[row[t] for row in rows]], pad=2, scale=4) for t in range(steps)]
left, right = st.columns(2)
left.download_button("Download as animated GIF", gif_bytes(frames), file_name="interpolation.gif",
                     mime="image/gif", icon=":material/animation:")
right.download_button("Download as PNG", png_bytes(image_grid(rows, scale=3)), file_name="interpolation.png",
                      mime="image/png", icon=":material/download:")
