"""`python -m vae_lab report`: the reference notebook's blur experiment for every MNIST model.

Writes, into one folder: report.html (self-contained: plotly inline, images embedded, opens
offline), PNG figures, CSV tables and report.json with every number.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

import matplotlib
import numpy as np
import plotly.offline
import torch

from . import checkpoints
from .data import SELECTED_TEST_DIGITS, ImageSplit
from .explore import PRESET_PAIRS, interpolation_images
from .figures import laplacian_boxplot, laplacian_histogram
from .images import image_grid, png_bytes
from .scorecard import SCORECARD_FIELDS, analyse, load_test_split, originals_laplacian_variance
from .stats import class_groups, per_class_table, standard_comparisons
from .train import KINDS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

INTERPOLATION_STEPS = 11  # as in the notebook's figures: both endpoints and nine images between


def mnist_models() -> list[str]:
    """Every MNIST VAE checkpoint, in the order plain, dfc, vaegan-hinge, vaegan-wgan, then by name."""
    found = [c for c in checkpoints.available(dataset="mnist") if c.kind != "classifier"]
    return [c.name for c in sorted(found, key=lambda c: (KINDS.index(c.kind), c.name))]


def selected_digits(split: ImageSplit) -> list[int]:
    """The notebook's ten digits (0 to 9) when the split holds them, else one per class."""
    chosen = [i for i in SELECTED_TEST_DIGITS if i < len(split)]
    return chosen if len(chosen) == len(SELECTED_TEST_DIGITS) else split.one_per_class()


@torch.no_grad()
def write_report(out: Path, *, names: list[str] | None = None, limit: int = 0, device: str = "cpu") -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = names or mnist_models()
    assert names, "no MNIST VAE checkpoints to report on: train one with `python -m vae_lab train --kind plain`"
    split = load_test_split("mnist", limit, device)
    labels, class_names = split.labels.cpu().numpy(), split.class_names
    analyses = {name: analyse(name, limit=limit, device=device) for name in names}
    models = {name: checkpoints.load(name, device) for name in names}
    laplacian = {"originals": originals_laplacian_variance("mnist", limit)}
    laplacian |= {name: a.per_image["laplacian_variance"] for name, a in analyses.items()}

    chosen = selected_digits(split)
    originals = split.batch(torch.tensor(chosen))[0]
    digit_rows = [originals] + [models[n].reconstruct(originals) for n in names]
    by_class = {int(labels[i]): originals[k] for k, i in enumerate(chosen)}
    interpolation_rows, interpolation_titles = [], []
    for a, b in PRESET_PAIRS:
        for name in names:
            interpolation_rows.append(interpolation_images(models[name], by_class[a], by_class[b],
                                                           steps=INTERPOLATION_STEPS))
            interpolation_titles.append(f"{a} -> {b}, {name}")

    scorecard = [{"name": n, "kind": a.kind, **a.scorecard} for n, a in analyses.items()]
    per_class = per_class_table(laplacian, labels, class_names)
    tests = standard_comparisons(laplacian)
    groups = class_groups(labels, class_names)

    figures = {
        "selected_digits.png": png_bytes(image_grid(digit_rows, scale=3)),
        "interpolations.png": png_bytes(image_grid(interpolation_rows, scale=2)),
        "laplacian_boxplot.png": _matplotlib_boxplot(laplacian["originals"], labels, class_names),
        "laplacian_histograms.png": _matplotlib_histograms(laplacian, [groups["all except 1"], groups["1"]],
                                                           ["class != 1", "class == 1"]),
    }
    for filename, data in figures.items():
        (out / filename).write_bytes(data)
    _write_csv(out / "scorecard.csv", scorecard)
    _write_csv(out / "per_class_laplacian_variance.csv", per_class)
    _write_csv(out / "paired_tests.csv", [t.as_dict() for t in tests])
    _write_csv(out / "per_image.csv", [{"index": i, "label": int(labels[i]), "originals_laplacian_variance":
                                        float(laplacian["originals"][i]),
                                        **{f"{n}_{k}": float(v[i]) for n, a in analyses.items()
                                           for k, v in a.per_image.items()}} for i in range(len(labels))])
    numbers = {"images": len(labels), "models": names, "scorecard": scorecard, "scorecard_fields": SCORECARD_FIELDS,
               "per_class_laplacian_variance": per_class, "paired_tests": [t.as_dict() for t in tests],
               "selected_digits": chosen, "interpolations": [list(p) for p in PRESET_PAIRS]}
    (out / "report.json").write_text(json.dumps(numbers, indent=2))

    interactive = [laplacian_boxplot({"originals": laplacian["originals"]}, labels, class_names),
                   laplacian_boxplot(laplacian, labels, class_names),
                   laplacian_histogram(laplacian, groups["all except 1"], "Laplacian variance, class != 1"),
                   laplacian_histogram(laplacian, groups["1"], "Laplacian variance, class == 1")]
    page = _html(names, len(labels), scorecard, per_class, tests, figures, interactive,
                 ["originals"] + names, interpolation_titles)
    (out / "report.html").write_text(page)
    return out / "report.html"


def _matplotlib_boxplot(values: np.ndarray, labels: np.ndarray, class_names: list[str]) -> bytes:
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.boxplot([values[labels == c] for c in range(len(class_names))], tick_labels=class_names, showfliers=False)
    axes.set(xlabel="digit class", ylabel="Laplacian variance", title="Laplacian variance of the test images per class")
    return _png(figure)


def _matplotlib_histograms(laplacian: dict[str, np.ndarray], masks: list[np.ndarray], titles: list[str]) -> bytes:
    figure, axes = plt.subplots(1, len(masks), figsize=(6 * len(masks), 4))
    for ax, mask, title in zip(np.atleast_1d(axes), masks, titles):
        top = max(float(v[mask].max()) for v in laplacian.values())
        for source, values in laplacian.items():
            ax.hist(values[mask], bins=50, range=(0, top), alpha=0.35, label=source)
        ax.set(xlabel="Laplacian variance", ylabel="images", title=f"{title} ({int(mask.sum())} images)")
        ax.legend()
    return _png(figure)


def _png(figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        writer.writeheader()
        writer.writerows(rows)


def _table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))  # noqa: E731
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _html(names, n_images, scorecard, per_class, tests, figures, interactive, digit_rows, interpolation_titles) -> str:
    plots = "".join(f.to_html(full_html=False, include_plotlyjs=False) for f in interactive)
    legend = lambda items: "<ol>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ol>"  # noqa: E731
    fields = "".join(f"<li><b>{k}</b>: {html.escape(v)}</li>" for k, v in SCORECARD_FIELDS.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>vae_lab blur report</title>
<script>{plotly.offline.get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
img{{image-rendering:pixelated;max-width:100%}}</style></head><body>
<h1>Why pixel-wise losses blur VAEs: the blur study</h1>
<p>Models: {html.escape(", ".join(names))}. MNIST test set, {n_images} images; reconstructions decode the
posterior mean. Blur is measured as the variance of the Laplacian (<code>cv2.Laplacian(img, cv2.CV_32F).var()</code>):
lower means blurrier.</p>
<h2>Scorecard</h2>{_table(scorecard)}<ul>{fields}</ul>
<h2>Ten test digits and their reconstructions</h2>{_img(figures["selected_digits.png"], "selected digits")}
<p>Rows:</p>{legend(digit_rows)}
<h2>Laplacian variance of the originals per class</h2>{_img(figures["laplacian_boxplot.png"], "boxplot")}
<h2>Laplacian variance: originals and models</h2>{_img(figures["laplacian_histograms.png"], "histograms")}
<h2>Interactive figures</h2>{plots}
<h2>Mean Laplacian variance per class</h2>{_table(per_class)}
<h2>Paired tests</h2><p>Each comparison is labelled with what it compares, A vs B, over the same test images.</p>
<ul>{"".join(f"<li>{html.escape(t.sentence())}</li>" for t in tests)}</ul>
{_table([t.as_dict() for t in tests])}
<h2>Linear interpolations</h2>{_img(figures["interpolations.png"], "interpolations")}
<p>Rows:</p>{legend(interpolation_titles)}
</body></html>
"""
