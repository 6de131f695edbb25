"""Every checkpoint: its scorecard on the test set and the recipe it was trained with."""
import json

import streamlit as st

from vae_lab import checkpoints, datasets, kinds, model_files, public
from vae_lab.app import resources, ui
from vae_lab.scorecard import SCORECARD_FIELDS

st.header("Models")
found = checkpoints.available(workspace=ui.workspace())
if not found:
    st.info(ui.NO_CHECKPOINTS.format(dirs=", ".join(str(d) for d in ui.workspace().checkpoint_dirs)))
    st.stop()

if not ui.require(ui.selection(), digits=False, test_set=True):
    st.stop()
analyses = resources.analyses([c.name for c in found if c.is_vae])
# The table's columns: scorecard key -> (label with its unit, number format); the rest under "All measures".
COLUMNS = {"bce": ("BCE (nats)", "%.1f"), "kl": ("KL (nats)", "%.1f"), "laplacian_variance": ("Laplacian var.", "%.4f"),
           "accuracy": ("Read correctly (%)", "%.1f"), "fid_reconstructions": ("FD, reconstr.", "%.1f"),
           "fid_samples": ("FD, prior samples", "%.1f"), "confident_samples": ("Confident samples (%)", "%.1f")}
PERCENT = {"accuracy", "confident_samples"}


def epochs(ckpt) -> str:
    return str(ckpt.meta.get("training", {}).get("epoch", ""))


def scaled(key: str, value: float) -> float:
    return 100 * value if key in PERCENT else value


vaes = [c for c in found if c.name in analyses]  # the others cannot be used, as the line above the table says
st.dataframe([{"Model": c.name, "Kind": kinds.label(c.kind), "Data set": datasets.label(c.dataset),
               "Epochs": epochs(c), "Started from": c.meta.get("init_from", {}).get("checkpoint", "scratch"),
               **{label: scaled(key, analyses[c.name].scorecard.get(key, float("nan")))
                  for key, (label, _) in COLUMNS.items()}}
              for c in vaes], hide_index=True, width="stretch",
             column_config={label: st.column_config.NumberColumn(label, format=fmt, help=SCORECARD_FIELDS[key])
                            for key, (label, fmt) in COLUMNS.items()})
classifiers = [c for c in found if not c.is_vae]
if classifiers:
    st.dataframe([{"Classifier": c.name, "Data set": datasets.label(c.dataset), "Epochs": epochs(c),
                   "Test accuracy (%)": 100 * c.metrics.get("accuracy", float("nan"))} for c in classifiers],
                 hide_index=True, column_config={"Test accuracy (%)": st.column_config.NumberColumn(format="%.2f")})
with st.expander("What the columns mean, and all measures"):
    st.markdown("FD is the Frechet distance in the classifier's features. **Started from**: the model whose "
                "weights the training began with, or scratch.\n" +
                "\n".join(f"- **{key}**: {text}" for key, text in SCORECARD_FIELDS.items()))
    st.dataframe([{"name": c.name, **analyses[c.name].scorecard} for c in vaes], hide_index=True)

for ckpt in found:
    with st.expander(f"{ckpt.name}: {kinds.label(ckpt.kind)} on {ckpt.dataset}"):
        training = ckpt.meta.get("training", {})
        st.markdown(f"Trained {training.get('epoch')} epochs, {training.get('step')} steps in "
                    f"{training.get('elapsed_s')} s on `{training.get('device')}` "
                    f"({training.get('images_per_s')} images/s); saved {ckpt.meta.get('created')}; "
                    f"versions {ckpt.meta.get('versions')}.")
        if "init_from" in ckpt.meta:
            start = ckpt.meta["init_from"]
            st.markdown(f"Started from the weights of **{start['checkpoint']}** "
                        f"({kinds.label(start['kind'])}, SHA-256 `{start['sha256'][:12]}`), "
                        f"with a fresh optimiser{' and a new critic' if ckpt.has('critic') else ''}.")
        if "perceptual" in ckpt.meta:
            st.markdown(f"Perceptual loss: `{json.dumps(ckpt.meta['perceptual'])}`")
        st.markdown("**Recipe**")
        st.json(ckpt.meta.get("recipe", {}), expanded=False)
        validated = ckpt.metrics.get("test_images")
        st.markdown("**Test metrics at save time**" + (f" (its last validation, on the first {validated:,.0f} test "
                                                        "images; the table above uses them all)" if validated else ""))
        st.json(ckpt.metrics, expanded=False)


def your_models() -> None:
    """Your own models as zips to keep, and a zip brought back; where the demo's disk is not kept, says so."""
    st.subheader("Your models")
    if "model_upload_message" in st.session_state:  # said after the rerun that put the model in the picker
        st.success(st.session_state.pop("model_upload_message"))
    if not ui.workspace().kept:
        st.caption(public.NOT_KEPT)
    own = [c for c in found if c.json_path.parent == ui.workspace().own_models]
    for ckpt in own:
        st.download_button(f"Download {ckpt.name}", resources.model_zip(ckpt), file_name=f"{ckpt.name}.zip",
                           mime="application/zip", icon=":material/download:", key=f"download-{ckpt.name}")
    upload = st.file_uploader("Bring back a model you downloaded (.zip)", type="zip", key="model_upload")
    if upload is not None and st.session_state.get("model_upload_done") != upload.file_id:
        refused = checkpoints.shipped_names() if public.enabled() else set()
        try:
            added = model_files.from_zip(upload.getvalue(), ui.workspace().own_models, refused_names=refused)
        except model_files.ModelFileError as error:
            st.error(str(error))
            return
        st.session_state["model_upload_done"] = upload.file_id
        st.session_state["model_upload_message"] = (f"{added.name} ({kinds.label(added.kind)} on "
                                                    f"{datasets.label(added.dataset)}) is back in the model picker.")
        resources.clear_caches()
        st.rerun()


your_models()
