"""The notebook's blur study over the whole test set: per-class boxplots, histograms, paired tests."""
import streamlit as st

from vae_lab.app import links, resources, ui
from vae_lab.datasets import noun
from vae_lab.blur import to_csv
from vae_lab.figures import laplacian_boxplot, laplacian_histogram

chosen = ui.selection()
st.header("Blur analysis")
st.caption("Laplacian variance (as `cv2.Laplacian(img, cv2.CV_32F).var()`) of every test image and of each model's "
           "reconstruction of it. Lower means blurrier. Computed once per model, then cached.")
if not ui.require(chosen, digits=False, test_set=True):
    st.stop()

study = resources.blur_study(chosen.models, chosen.dataset)
names = study.class_names
item = noun(chosen.dataset)
read = {name: study.analyses[name].scorecard.get("accuracy") for name in study.models}
st.markdown(f"**Sharper, and still the {item}?** Noise raises the Laplacian variance too, so each model's share of "
            f"reconstructions the classifier reads as the right class stands beside its sharpness: " + "; ".join(
                f"{name} {study.laplacian[name].mean():.3f}"
                + (f", read correctly {100 * read[name]:.1f}%" if read[name] is not None else "")
                for name in study.models)
            + f" (the test images themselves: {study.laplacian['originals'].mean():.3f}).")

st.subheader("Per class")
st.plotly_chart(laplacian_boxplot(study.laplacian, study.labels, names), key="boxplot")

st.subheader("Distributions")
left, right = st.columns(2)
left.plotly_chart(laplacian_histogram(study.laplacian, study.groups[study.singled_out], f"class != {names[1]}"),
                  key="hist_not_1")
right.plotly_chart(laplacian_histogram(study.laplacian, study.groups[names[1]], f"class == {names[1]}"), key="hist_1")
picked = links.widget(st.selectbox, "Any class", names, index=7 if len(names) > 7 else 0, key="hist_class",
                      options=names, what="class")
st.plotly_chart(laplacian_histogram(study.laplacian, study.groups[picked], f"class == {picked}"), key="hist_any")

st.subheader("Paired comparisons")
st.caption("Over the same test images: A vs B, mean difference A - B with its 95% confidence interval, paired "
           "t-test, Wilcoxon signed-rank test, effect size d_z, and how often A is the sharper one.")
for test in study.comparisons:
    st.markdown(f"- {test.sentence()}")
table = study.comparison_table()
st.dataframe(table, hide_index=True)
st.dataframe(study.per_class(), hide_index=True)

left, right = st.columns(2)
left.download_button("Paired comparisons (CSV)", to_csv(table), file_name="paired_comparisons.csv", mime="text/csv")
right.download_button("Per-image values (CSV)", to_csv(study.per_image()), file_name="per_image.csv", mime="text/csv")
