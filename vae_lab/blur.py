"""The blur study: the reference notebook's experiment, assembled once for the page, the report and the CLI.

Per-image Laplacian variance of the test images and of each model's reconstructions (from the
cached analyses, see scorecard.py), the class groups, the paired tests, the per-class table and
the per-image rows. Whoever shows it only renders these.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cached_property
from collections.abc import Callable

import numpy as np

from . import checkpoints
from .scorecard import Analysis, analyse, load_test_split, originals_laplacian_variance
from .stats import PairedComparison, class_groups, p_text, per_class_table, standard_comparisons


@dataclass(frozen=True)
class BlurStudy:
    dataset: str
    labels: np.ndarray  # (N,) class of each test image
    class_names: list[str]
    analyses: dict[str, Analysis]  # model name -> its analysis, in the order shown

    @property
    def models(self) -> list[str]:
        return list(self.analyses)

    @cached_property
    def laplacian(self) -> dict[str, np.ndarray]:
        """Per-image Laplacian variance: "originals" first, then each model's reconstructions."""
        values = {"originals": originals_laplacian_variance(self.dataset, len(self.labels))}
        return values | {name: a.per_image["laplacian_variance"] for name, a in self.analyses.items()}

    @cached_property
    def groups(self) -> dict[str, np.ndarray]:
        return class_groups(self.labels, self.class_names)

    @property
    def singled_out(self) -> str:
        """The group "all except <class 1>": the notebook sets class 1's thin strokes apart."""
        return f"all except {self.class_names[1]}"

    @cached_property
    def comparisons(self) -> list[PairedComparison]:
        return standard_comparisons(self.laplacian)

    def comparison_table(self) -> list[dict]:
        return [{"comparison": t.label, "mean A": t.mean_a, "mean B": t.mean_b, "mean A - B": t.mean_difference,
                 "95% CI low": t.ci95_low, "95% CI high": t.ci95_high, "t": t.t_statistic,
                 "t-test p": p_text(t.t_p_value).removeprefix("= "),
                 "Wilcoxon p": p_text(t.wilcoxon_p_value).removeprefix("= "), "d_z": t.cohens_dz,
                 "A sharper": t.fraction_a_greater}
                for t in self.comparisons]

    def per_class(self) -> list[dict]:
        return per_class_table(self.laplacian, self.labels, self.class_names)

    def scorecard(self) -> list[dict]:
        return [{"name": name, "kind": a.kind, **a.scorecard} for name, a in self.analyses.items()]

    def per_image(self) -> list[dict]:
        """One row per test image: its class, the originals' Laplacian variance, every model's per-image values."""
        columns = {"originals_laplacian_variance": self.laplacian["originals"]}
        columns |= {f"{name}_{key}": values for name, a in self.analyses.items() for key, values in a.per_image.items()}
        return [{"index": i, "label": int(label), **{key: float(v[i]) for key, v in columns.items()}}
                for i, label in enumerate(self.labels)]


def blur_study(names: list[str], *, dataset: str = "mnist", limit: int = 0, device: str = "cpu",
               on_model: Callable[[int, int, str], None] | None = None) -> BlurStudy:
    """The study of models `names` on the first `limit` test images (all when 0). `on_model(k, n, name)`
    is told before each model's analysis (computed once, then read from the cache)."""
    if not names:
        raise ValueError(f"no {dataset} VAE checkpoints to study: train one with "
                         f"`vae-lab train --kind plain --dataset {dataset}`")
    split = load_test_split(dataset, limit, device)
    analyses = {}
    for k, name in enumerate(names):
        if on_model is not None:
            on_model(k, len(names), name)
        analyses[name] = analyse(name, limit=limit, device=device)
    wrong = [name for name, a in analyses.items() if a.dataset != dataset]
    if wrong:
        raise ValueError(f"{wrong} were trained on another data set than {dataset}: study them with their own")
    return BlurStudy(dataset, split.labels.cpu().numpy(), split.class_names, analyses)


def vae_names(dataset: str = "mnist") -> list[str]:
    """The VAE checkpoints of `dataset`, kind by kind (plain, dfc, vaegan-hinge, vaegan-wgan), then by name."""
    return [c.name for c in checkpoints.vaes(dataset=dataset)]


def to_csv(rows: list[dict]) -> str:
    """Rows of dicts as CSV text, the columns in order of first appearance."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
