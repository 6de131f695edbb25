"""`vae-lab report`: the reference notebook's blur experiment for every model of a data set.

Writes, into one folder: report.html (self-contained: plotly inline, images embedded, opens
offline), PNG figures, CSV tables and report.json with every number.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import plotly.offline
import torch

from . import checkpoints, datasets
from .blur import BlurStudy, blur_study, to_csv, vae_names
from .data import ImageSplit
from .explore import PRESET_PAIRS, interpolation_images
from .figures import (laplacian_boxplot, laplacian_histogram, static_laplacian_boxplot,
                      static_laplacian_histograms)
from .images import image_grid, png_bytes
from .scorecard import SCORECARD_FIELDS, load_test_split

INTERPOLATION_STEPS = 11  # as in the notebook's figures: both endpoints and nine images between
SAMPLES_PER_ROW = 10  # samples.png: a row from the prior, then one from the aggregate posterior, per model
SOURCE_LABELS = {"prior": "prior", "posterior": "aggregate posterior"}


def selected_digits(split: ImageSplit) -> list[int]:
    """The notebook's ten MNIST digits (0 to 9) when the split holds them, else one per class."""
    notebook = datasets.get(split.dataset).notebook_images
    chosen = [i for i in notebook if i < len(split)]
    return chosen if notebook and len(chosen) == len(notebook) else split.one_per_class()


@torch.no_grad()
def write_report(out: Path, *, dataset: str = "mnist", names: list[str] | None = None, limit: int = 0,
                 device: str = "cpu") -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = blur_study(names or vae_names(dataset), dataset=dataset, limit=limit, device=device)
    split = load_test_split(dataset, limit, device)
    models = {name: checkpoints.load(name, device) for name in study.models}

    chosen = selected_digits(split)
    originals = split.batch(torch.tensor(chosen))[0]
    digit_rows = [originals] + [model.reconstruct(originals) for model in models.values()]
    by_class = {int(study.labels[i]): originals[k] for k, i in enumerate(chosen)}
    interpolation_rows, interpolation_titles = [], []
    for a, b in PRESET_PAIRS:
        for name, model in models.items():
            interpolation_rows.append(interpolation_images(model, by_class[a], by_class[b], steps=INTERPOLATION_STEPS))
            interpolation_titles.append(f"{a} -> {b}, {name}")

    sources = [(name, source) for name, model in models.items() for source in ("prior", "posterior")
               if source == "prior" or model.aggregate_posterior is not None]
    sample_rows = [models[name].sample(SAMPLES_PER_ROW, source=source, generator=torch.Generator().manual_seed(0))
                   for name, source in sources]
    one = study.class_names[1]
    figures = {
        "samples.png": png_bytes(image_grid(sample_rows, scale=2)),
        "selected_digits.png": png_bytes(image_grid(digit_rows, scale=3)),
        "interpolations.png": png_bytes(image_grid(interpolation_rows, scale=2)),
        "laplacian_boxplot.png": static_laplacian_boxplot(study.laplacian["originals"], study.labels,
                                                          study.class_names),
        "laplacian_histograms.png": static_laplacian_histograms(
            study.laplacian,
            {f"class != {one}": study.groups[study.singled_out], f"class == {one}": study.groups[one]}),
    }
    for filename, data in figures.items():
        (out / filename).write_bytes(data)
    tables = {"scorecard.csv": study.scorecard(), "per_class_laplacian_variance.csv": study.per_class(),
              "paired_tests.csv": study.comparison_table(), "per_image.csv": study.per_image()}
    for filename, rows in tables.items():
        (out / filename).write_text(to_csv(rows))
    numbers = {"images": len(study.labels), "models": study.models, "scorecard": study.scorecard(),
               "scorecard_fields": SCORECARD_FIELDS, "per_class_laplacian_variance": study.per_class(),
               "paired_tests": [t.as_dict() for t in study.comparisons],
               "selected_digits": chosen, "interpolations": [list(p) for p in PRESET_PAIRS]}
    (out / "report.json").write_text(json.dumps(numbers, indent=2))
    (out / "report.html").write_text(_html(study, figures, ["originals"] + study.models, interpolation_titles,
                                           [f"{name}, from the {SOURCE_LABELS[source]}" for name, source in sources]))
    return out / "report.html"


def interactive_figures(study: BlurStudy) -> list:
    one = study.class_names[1]
    return [laplacian_boxplot({"originals": study.laplacian["originals"]}, study.labels, study.class_names),
            laplacian_boxplot(study.laplacian, study.labels, study.class_names),
            laplacian_histogram(study.laplacian, study.groups[study.singled_out],
                                f"Laplacian variance, class != {one}"),
            laplacian_histogram(study.laplacian, study.groups[one], f"Laplacian variance, class == {one}")]


def _table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))  # noqa: E731
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _html(study: BlurStudy, figures: dict[str, bytes], digit_rows: list[str], interpolation_titles: list[str],
          sample_titles: list[str]) -> str:
    plots = "".join(f.to_html(full_html=False, include_plotlyjs=False) for f in interactive_figures(study))
    legend = lambda items: "<ol>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ol>"  # noqa: E731
    fields = "".join(f"<li><b>{k}</b>: {html.escape(v)}</li>" for k, v in SCORECARD_FIELDS.items())
    names, n_images, tests = study.models, len(study.labels), study.comparisons
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>vae_lab blur report</title>
<script>{plotly.offline.get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
img{{image-rendering:pixelated;max-width:100%}}</style></head><body>
<h1>Why pixel-wise losses blur VAEs: the blur study</h1>
<p>Models: {html.escape(", ".join(names))}. {datasets.label(study.dataset)} test set, {n_images} images;
reconstructions decode the posterior mean. Blur is measured as the variance of the Laplacian
(<code>cv2.Laplacian(img, cv2.CV_32F).var()</code>): lower means blurrier.</p>
<h2>Scorecard</h2>{_table(study.scorecard())}<ul>{fields}</ul>
<h2>Ten test images and their reconstructions</h2>{_img(figures["selected_digits.png"], "selected digits")}
<p>Rows:</p>{legend(digit_rows)}
<h2>Laplacian variance of the originals per class</h2>{_img(figures["laplacian_boxplot.png"], "boxplot")}
<h2>Laplacian variance: originals and models</h2>{_img(figures["laplacian_histograms.png"], "histograms")}
<h2>Interactive figures</h2>{plots}
<h2>Mean Laplacian variance per class</h2>{_table(study.per_class())}
<h2>Paired tests</h2><p>Each comparison is labelled with what it compares, A vs B, over the same test images.</p>
<ul>{"".join(f"<li>{html.escape(t.sentence())}</li>" for t in tests)}</ul>
{_table(study.comparison_table())}
<h2>Linear interpolations</h2>{_img(figures["interpolations.png"], "interpolations")}
<p>Rows:</p>{legend(interpolation_titles)}
<h2>Samples</h2>{_img(figures["samples.png"], "samples")}
<p>Rows (the same seed for every row):</p>{legend(sample_titles)}
</body></html>
"""
