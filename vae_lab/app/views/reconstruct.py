"""Originals in the first row, one row of reconstructions per chosen model, with per-image numbers."""
import streamlit as st

from vae_lab.app import resources, ui
from vae_lab.datasets import noun
from vae_lab.images import image_grid, png_bytes
from vae_lab.metrics import laplacian_variance, measure_reconstructions

chosen = ui.selection()
st.header("Reconstruct")
st.caption(f"Each model encodes the {noun(chosen.dataset, plural=True)} and decodes the posterior mean. "
           "**LV** is the Laplacian variance (higher = sharper edges), **BCE** the pixel-wise reconstruction loss "
           "in nats, **pred** what the classifier reads in the image.")
if not ui.require(chosen):
    st.stop()

digits, judge = chosen.digits, resources.current_judge(chosen.dataset)
names = chosen.class_names


def show_row(title: str, images, captions: list[str]) -> None:
    # One picture per row with its captions in gapless columns of the same width beneath (a picture per
    # digit costs the first page ~0.5 s), each digit at most 120 px wide so that one upload stays small.
    st.markdown(f"**{title}**")
    with st.container(width=120 * len(images)):
        st.image(image_grid([images], pad=1, scale=4), width="stretch")
        for column, caption in zip(st.columns(len(images), gap=None), captions):
            column.caption(caption)


predicted = judge.predict(digits.images) if judge is not None else None
doubtful = [bool(d) for d in digits.doubts] or [False] * len(digits)  # uploads unlike a handwritten digit
show_row("Originals", digits.images, [
    f"{caption}  \nLV {lv:.3f}" + (f"  \npred **{names[int(p)]}**{'?' if unsure else ''}" if p is not None else "")
    for caption, lv, p, unsure in zip(digits.captions, laplacian_variance(digits.images).tolist(),
                                      predicted if predicted is not None else [None] * len(digits), doubtful)])
rows = [digits.images]
for name in chosen.models:
    reconstructions, measured = measure_reconstructions(resources.model(name), digits.images, judge=judge,
                                                        with_ssim=False)
    rows.append(reconstructions)
    preds = measured.predictions.tolist() if measured.predictions is not None else [None] * len(digits)
    known = [(p, y) for p, y in zip(preds, digits.labels) if p is not None and y is not None]
    agrees = f", classifier agrees with the label {sum(p == y for p, y in known)}/{len(known)}" if known else ""
    # The row's means in its title, not in a table: st.dataframe would import pandas, ~0.4 s of the first page.
    show_row(f"{name}: mean BCE {measured.bce.mean():.1f}, mean LV {measured.laplacian_variance.mean():.3f}{agrees}",
             reconstructions, [
                 f"BCE {bce:.0f}  \nLV {lv:.3f}" + (f"  \npred **{names[p]}**" if p is not None else "")
                 for bce, lv, p in zip(measured.bce.tolist(), measured.laplacian_variance.tolist(), preds)])

st.download_button("Download the grid as PNG", png_bytes(image_grid(rows, scale=3)), file_name="reconstructions.png",
                   mime="image/png", icon=":material/download:")
