"""Statistics over per-image numbers: per-class tables and paired comparisons of two image sets.

Pure numpy/scipy on arrays of shape (N,), where index i of every array is the same test image.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


SMALLEST_P = 1e-300  # below this, float64 p-values underflow to 0: say "p < 1e-300", never "p = 0"


def p_text(p: float) -> str:
    """A p-value as text after "p": "= 0.032", "= 4.1e-12", or "< 1e-300" where it underflows."""
    return f"< {SMALLEST_P:.0e}" if p < SMALLEST_P else f"= {p:.2g}"


def class_groups(labels: np.ndarray, class_names: list[str], *, singled_out: int = 1) -> dict[str, np.ndarray]:
    """Boolean masks: each class, then all classes except `singled_out` (the notebook's class 1,
    whose thin strokes have the fewest edges), then all images."""
    groups = {name: labels == index for index, name in enumerate(class_names)}
    groups[f"all except {class_names[singled_out]}"] = labels != singled_out
    groups["all"] = np.ones_like(labels, dtype=bool)
    return groups


def per_class_table(values: dict[str, np.ndarray], labels: np.ndarray, class_names: list[str]) -> list[dict]:
    """One row per group (see `class_groups`): its size and the mean of every named value array."""
    rows = []
    for group, mask in class_groups(np.asarray(labels), class_names).items():
        rows.append({"group": group, "images": int(mask.sum()),
                     **{name: float(np.asarray(v)[mask].mean()) for name, v in values.items()}})
    return rows


@dataclass(frozen=True)
class PairedComparison:
    """A paired comparison of per-image values of set A and set B over the same images."""

    label: str  # what is compared, in words: "DFC VAE vs plain VAE"
    a: str
    b: str
    images: int
    mean_a: float
    mean_b: float
    mean_difference: float  # mean(A - B)
    ci95_low: float  # 95% t-interval of the mean difference
    ci95_high: float
    t_statistic: float  # paired t-test (scipy.stats.ttest_rel), two-sided
    t_p_value: float
    wilcoxon_statistic: float  # Wilcoxon signed-rank test, two-sided
    wilcoxon_p_value: float
    cohens_dz: float  # mean(A - B) / sd(A - B)
    fraction_a_greater: float  # share of images where A's value is the larger

    def sentence(self, quantity: str = "Laplacian variance", greater: str = "sharper") -> str:
        """The comparison in one plain sentence."""
        direction = greater if self.mean_difference > 0 else f"not {greater}"
        return (f"{self.a} vs {self.b}: {self.a} is {direction} on average (mean {quantity} {self.mean_a:.4f} vs "
                f"{self.mean_b:.4f}, difference {self.mean_difference:+.4f}, 95% CI [{self.ci95_low:+.4f}, "
                f"{self.ci95_high:+.4f}]; paired t = {self.t_statistic:.1f}, p {p_text(self.t_p_value)}; "
                f"Wilcoxon p {p_text(self.wilcoxon_p_value)}; d_z = {self.cohens_dz:.2f}); "
                f"{self.a} is {greater} in {100 * self.fraction_a_greater:.1f}% of {self.images} images.")

    def as_dict(self) -> dict:
        return asdict(self)


def paired_comparison(a: np.ndarray, b: np.ndarray, *, name_a: str, name_b: str) -> PairedComparison:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not (a.shape == b.shape and a.ndim == 1 and len(a) >= 2):
        raise ValueError(f"a paired comparison needs two equally long 1-D arrays of 2+ values, "
                         f"got {a.shape} and {b.shape}")
    diff = a - b
    n, mean, sd = len(diff), diff.mean(), diff.std(ddof=1)
    half_width = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    t = stats.ttest_rel(a, b)
    w = stats.wilcoxon(a, b) if np.any(diff != 0) else None
    return PairedComparison(
        label=f"{name_a} vs {name_b}", a=name_a, b=name_b, images=n,
        mean_a=float(a.mean()), mean_b=float(b.mean()), mean_difference=float(mean),
        ci95_low=float(mean - half_width), ci95_high=float(mean + half_width),
        t_statistic=float(t.statistic), t_p_value=float(t.pvalue),
        wilcoxon_statistic=float(w.statistic) if w else 0.0, wilcoxon_p_value=float(w.pvalue) if w else 1.0,
        cohens_dz=float(mean / sd) if sd > 0 else 0.0, fraction_a_greater=float((diff > 0).mean()),
    )


def standard_comparisons(values: dict[str, np.ndarray]) -> list[PairedComparison]:
    """Originals vs each model, then each later model vs each earlier one, each under its true name.
    `values` maps "originals" and then model names (in a meaningful order) to per-image values."""
    models = [name for name in values if name != "originals"]
    tests = [paired_comparison(values["originals"], values[m], name_a="originals", name_b=m) for m in models]
    tests += [paired_comparison(values[b], values[a], name_a=b, name_b=a) for a, b in itertools.combinations(models, 2)]
    return tests
