"""Samples from the prior and from the fitted aggregate posterior, side by side: the "prior hole"."""
import streamlit as st
import torch

from vae_lab.app import links, resources, ui
from vae_lab.figures import class_shares
from vae_lab.images import image_grid
from vae_lab.scorecard import SCORECARD_FIELDS

chosen = ui.selection()
st.header("Samples")
st.caption("A VAE generates by decoding random latent vectors. **From the prior** draws them from N(0, I), as the "
           "model was trained to expect; **from the aggregate posterior** draws them from a 10-component Gaussian "
           "mixture fitted to where the encoder actually put the training images. Where the two differ, the prior "
           "has *holes*: regions no training image was encoded to, which decode to blends or nonsense.")
if not ui.require(chosen, digits=False, test_set=True):
    st.stop()

left, right = st.columns(2)
seed = links.widget(left.number_input, "Seed", 0, 1_000_000, 0, key="samples_seed", parse=int,
                    options=range(1_000_001), what="seed", help="The same seed draws the same samples.")
side = links.widget(right.slider, "Grid side", 4, 12, 8, key="samples_side", parse=int, options=range(4, 13),
                    what="grid side", help="Samples per row and column.")
analyses = resources.analyses(chosen.models)

for name in analyses:
    model, card = resources.model(name), analyses[name].scorecard
    st.subheader(ui.model_label(name, chosen.kinds[name]))
    columns = st.columns(2)
    for column, source in zip(columns, ("prior", "posterior")):
        prefix = "" if source == "prior" else "posterior_"
        with column:
            st.markdown(f"**From the {'prior N(0, I)' if source == 'prior' else 'aggregate posterior'}**")
            if source == "posterior" and model.aggregate_posterior is None:
                st.info(f"No aggregate posterior is fitted for {name}: `vae-lab fit-posterior {name}` fits one.")
                continue
            generator = torch.Generator().manual_seed(int(seed))
            with torch.no_grad():
                images = model.sample(side * side, source=source, generator=generator)
            st.image(image_grid([images[i * side:(i + 1) * side] for i in range(side)], scale=2), width="stretch")
            fid_key = "fid_samples" if source == "prior" else "fid_posterior"
            if fid_key not in card:  # measured without a classifier: there is none for this data set
                st.caption("No classifier for this data set, so the samples are not measured.")
                continue
            count = len(analyses[name].per_image["bce"])  # as many samples as test images were measured
            st.caption(f"On {count:,} samples: **{100 * card[prefix + 'confident_samples']:.1f}%** confident, "
                       f"precision **{card[prefix + 'precision']:.3f}**, recall **{card[prefix + 'recall']:.3f}**, "
                       f"Frechet distance **{card[fid_key]:.1f}**, class entropy "
                       f"**{card[prefix + 'class_entropy']:.3f}**.")
    st.plotly_chart(class_shares(analyses[name].sample_classes, chosen.class_names), key=f"classes-{name}")

with st.expander("What the numbers mean"):
    st.markdown("\n".join(f"- **{key}**: {SCORECARD_FIELDS[key]}" for key in
                          ("confident_samples", "class_entropy", "smallest_class_share", "precision", "recall",
                           "fid_samples", "fid_posterior")) +
                "\n\nThe classifier is the data set's own (the judge of every page). Frechet distances and the "
                "k-nearest-neighbour manifolds use its 64 penultimate features; lower distance is better.")
