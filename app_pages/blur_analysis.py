"""The notebook's blur study over the whole test set: per-class boxplots, histograms, paired tests."""
import csv
import io

import numpy as np
import streamlit as st

from vae_lab import ui
from vae_lab.figures import laplacian_boxplot, laplacian_histogram
from vae_lab.scorecard import originals_laplacian_variance
from vae_lab.stats import class_groups, per_class_table, standard_comparisons

chosen = ui.selection()
st.header("Blur analysis")
st.caption("Laplacian variance (as `cv2.Laplacian(img, cv2.CV_32F).var()`) of every test image and of each model's "
           "reconstruction of it. Lower means blurrier. Computed once per model, then cached.")
if not ui.require(chosen, digits=False, test_set=True):
    st.stop()

with st.spinner("Analysing the whole test set (once per model)..."):
    analyses = {name: ui.analysis(name) for name in chosen.models}
labels = ui.test_set(chosen.dataset).labels.numpy()
names = chosen.class_names
values = {"originals": originals_laplacian_variance(chosen.dataset)}
values |= {name: a.per_image["laplacian_variance"] for name, a in analyses.items()}

st.subheader("Per class")
st.plotly_chart(laplacian_boxplot(values, labels, names), key="boxplot")

st.subheader("Distributions")
groups = class_groups(labels, names)
singled_out = f"all except {names[1]}"
left, right = st.columns(2)
left.plotly_chart(laplacian_histogram(values, groups[singled_out], f"class != {names[1]}"), key="hist_not_1")
right.plotly_chart(laplacian_histogram(values, groups[names[1]], f"class == {names[1]}"), key="hist_1")
picked = st.selectbox("Any class", names, index=7 if len(names) > 7 else 0, key="hist_class")
st.plotly_chart(laplacian_histogram(values, groups[picked], f"class == {picked}"), key="hist_any")

st.subheader("Paired comparisons")
st.caption("Over the same test images: A vs B, mean difference A - B with its 95% confidence interval, paired "
           "t-test, Wilcoxon signed-rank test, effect size d_z, and how often A is the sharper one.")
tests = standard_comparisons(values)
for test in tests:
    st.markdown(f"- {test.sentence()}")
table = [{"comparison": t.label, "mean A": t.mean_a, "mean B": t.mean_b, "mean A - B": t.mean_difference,
          "95% CI low": t.ci95_low, "95% CI high": t.ci95_high, "t": t.t_statistic, "t-test p": t.t_p_value,
          "Wilcoxon p": t.wilcoxon_p_value, "d_z": t.cohens_dz, "A sharper": t.fraction_a_greater} for t in tests]
st.dataframe(table, hide_index=True)
st.dataframe(per_class_table(values, labels, names), hide_index=True)


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


per_image = [{"index": i, "label": int(labels[i]), **{k: float(v[i]) for k, v in values.items()}}
             for i in range(len(labels))]
left, right = st.columns(2)
left.download_button("Paired comparisons (CSV)", to_csv(table), file_name="paired_comparisons.csv", mime="text/csv")
right.download_button("Per-image Laplacian variance (CSV)", to_csv(per_image), file_name="laplacian_variance.csv",
                      mime="text/csv")
