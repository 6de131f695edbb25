"""Every checkpoint: its scorecard on the test set and the recipe it was trained with."""
import json

import streamlit as st

from vae_lab import checkpoints
from vae_lab.app import ui
from vae_lab.scorecard import SCORECARD_FIELDS

st.header("Models")
found = checkpoints.available()
if not found:
    st.info(ui.NO_CHECKPOINTS.format(dirs=", ".join(str(d) for d in checkpoints.checkpoint_dirs())))
    st.stop()

if not ui.require(ui.selection(), digits=False, test_set=True):
    st.stop()
analyses = ui.analyses([c.name for c in found if c.kind != "classifier"])
rows = []
for ckpt in found:
    row = {"name": ckpt.name, "kind": ui.KIND_LABELS.get(ckpt.kind, ckpt.kind), "dataset": ckpt.dataset,
           "epochs": ckpt.meta.get("training", {}).get("epoch")}
    if ckpt.kind == "classifier":
        row["accuracy"] = ckpt.metrics.get("accuracy")
    else:
        row |= analyses[ckpt.name].scorecard
    rows.append(row)
st.dataframe(rows, hide_index=True)
with st.expander("What the columns mean"):
    st.markdown("\n".join(f"- **{key}**: {text}" for key, text in SCORECARD_FIELDS.items()) +
                "\n- a classifier's **accuracy** is its own, on the test images")

for ckpt in found:
    with st.expander(f"{ckpt.name}: {ui.KIND_LABELS.get(ckpt.kind, ckpt.kind)} on {ckpt.dataset}"):
        training = ckpt.meta.get("training", {})
        st.markdown(f"Trained {training.get('epoch')} epochs, {training.get('step')} steps in "
                    f"{training.get('elapsed_s')} s on `{training.get('device')}` "
                    f"({training.get('images_per_s')} images/s); saved {ckpt.meta.get('created')}; "
                    f"versions {ckpt.meta.get('versions')}.")
        if "perceptual" in ckpt.meta:
            st.markdown(f"Perceptual loss: `{json.dumps(ckpt.meta['perceptual'])}`")
        st.markdown("**Recipe**")
        st.json(ckpt.meta.get("recipe", {}), expanded=False)
        st.markdown("**Test metrics at save time**")
        st.json(ckpt.metrics, expanded=False)
