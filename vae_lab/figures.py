"""Figures shared by the app's pages and the report (no Streamlit here): plotly for the app's interactive charts
and the report's interactive part, matplotlib for the report's PNGs (plotly's static export needs a browser) and
for the landing page's two charts, which must be light for the browser (see LOSS_STYLES).
"""
from __future__ import annotations

import io
import math

import numpy as np
import plotly.graph_objects as go

from .images import image_grid

PALETTE = ["#636363", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def laplacian_boxplot(values: dict[str, np.ndarray], labels: np.ndarray, class_names: list[str]) -> go.Figure:
    """Laplacian variance per class, one box per image set (originals first) in each class."""
    figure = go.Figure()
    names = np.asarray(class_names)[np.asarray(labels)]
    for color, (source, v) in zip(PALETTE, values.items()):
        figure.add_trace(go.Box(x=names, y=np.asarray(v), name=source, marker_color=color, boxpoints=False))
    figure.update_layout(boxmode="group", xaxis_title="class", yaxis_title="Laplacian variance",
                         xaxis={"categoryorder": "array", "categoryarray": class_names},
                         legend_title="images", margin={"t": 40})
    return figure


def laplacian_histogram(values: dict[str, np.ndarray], mask: np.ndarray, title: str, *, bins: int = 50) -> go.Figure:
    """Overlaid histograms of Laplacian variance over the images selected by `mask`."""
    mask = np.asarray(mask, dtype=bool)
    top = max(float(np.asarray(v)[mask].max()) for v in values.values()) if mask.any() else 1.0
    figure = go.Figure()
    for color, (source, v) in zip(PALETTE, values.items()):
        figure.add_trace(go.Histogram(x=np.asarray(v)[mask], name=source, marker_color=color, opacity=0.45,
                                      xbins={"start": 0.0, "end": top, "size": top / bins}))
    figure.update_layout(barmode="overlay", title=f"{title} ({int(mask.sum())} images)",
                         xaxis_title="Laplacian variance", yaxis_title="images", margin={"t": 50})
    return figure


def latent_scatter(points: np.ndarray, labels: np.ndarray, class_names: list[str], axis_titles: tuple[str, str],
                   *, max_points: int = 5000) -> go.Figure:
    """A 2-D map of encoded images coloured by class. `customdata` holds each point's image index."""
    index = np.arange(len(points))
    if len(points) > max_points:
        index = np.random.default_rng(0).choice(len(points), max_points, replace=False)
    figure = go.Figure()
    for c, name in enumerate(class_names):
        chosen = index[np.asarray(labels)[index] == c]
        figure.add_trace(go.Scattergl(x=points[chosen, 0], y=points[chosen, 1], mode="markers", name=name,
                                      customdata=chosen, marker={"size": 4, "opacity": 0.7},
                                      hovertemplate="test image %{customdata}<extra>" + name + "</extra>"))
    figure.update_layout(xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], legend_title="class",
                         margin={"t": 30}, height=520)
    return figure


def training_curves(steps: list[dict], epochs: list[dict], keys: list[str]) -> go.Figure:
    """Loss curves of a training run: per-step values as lines, per-epoch validation as markers."""
    figure = go.Figure()
    for color, key in zip(PALETTE[1:], keys):
        figure.add_trace(go.Scatter(x=[s["step"] for s in steps], y=[s["metrics"].get(key) for s in steps],
                                    mode="lines", name=key, line={"color": color}))
        val = f"val_{key}"
        if any(val in e["metrics"] for e in epochs):
            figure.add_trace(go.Scatter(x=[e["step"] for e in epochs], y=[e["metrics"].get(val) for e in epochs],
                                        mode="markers", name=val, marker={"color": color, "size": 9}))
    # The legend under the plot, not beside it, and the y-axis over the run
    # after its first tenth of steps, whose start (thousands, for a perceptual loss) would flatten the rest.
    later = [value for s in steps[len(steps) // 10:] for key in keys
             if isinstance(value := s["metrics"].get(key), (int, float)) and math.isfinite(value)]
    later += [value for e in epochs for key in keys
              if isinstance(value := e["metrics"].get(f"val_{key}"), (int, float)) and math.isfinite(value)]
    if later:
        low, high = min(later), max(later)
        pad = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
        figure.update_yaxes(range=[low - pad, high + pad])
    figure.update_layout(xaxis_title="step", yaxis_title="loss", margin={"t": 10, "l": 10, "r": 10}, height=360,
                         legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0})
    return figure


def film_measures_chart(frames: list[dict[str, float]]) -> go.Figure:
    """Each film frame's blur measure and the judge's share read correctly, on two axes over the steps."""
    steps = [frame["step"] for frame in frames]
    figure = go.Figure(go.Scatter(x=steps, y=[f["laplacian_variance"] for f in frames], mode="lines+markers",
                                  name="Laplacian variance", line={"color": PALETTE[1]}))
    if all("read_correctly" in frame for frame in frames):
        figure.add_trace(go.Scatter(x=steps, y=[100 * f["read_correctly"] for f in frames], mode="lines+markers",
                                    name="read correctly (%)", yaxis="y2", line={"color": PALETTE[2]}))
    figure.update_layout(xaxis_title="step", yaxis={"title": "Laplacian variance", "tickformat": ".3f"},
                         yaxis2={"title": "read correctly (%)", "overlaying": "y", "side": "right",
                                 "tickformat": ".1f"},
                         margin={"t": 10}, height=320, legend={"orientation": "h", "y": -0.3})
    return figure


# --- static PNGs for the report, from the same data as the plotly figures above ---------------------

def static_laplacian_boxplot(values: np.ndarray, labels: np.ndarray, class_names: list[str]) -> bytes:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.boxplot([values[labels == c] for c in range(len(class_names))], tick_labels=class_names, showfliers=False)
    axes.set(xlabel="class", ylabel="Laplacian variance", title="Laplacian variance of the test images per class")
    return _png(figure)


def static_laplacian_histograms(values: dict[str, np.ndarray], masks: dict[str, np.ndarray], *,
                                bins: int = 50) -> bytes:
    """One panel per (title -> mask), overlaid histograms of every image set in `values`."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(masks), figsize=(6 * len(masks), 4))
    for ax, (title, mask) in zip(np.atleast_1d(axes), masks.items()):
        top = max(float(v[mask].max()) for v in values.values())
        for source, v in values.items():
            ax.hist(v[mask], bins=bins, range=(0, top), alpha=0.35, label=source)
        ax.set(xlabel="Laplacian variance", ylabel="images", title=f"{title} ({int(mask.sum())} images)")
        ax.legend()
    return _png(figure)


def _pyplot():
    import matplotlib  # imported here: only the report uses pyplot, and the app should not pay for it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(figure) -> bytes:
    plt = _pyplot()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def class_shares(shares: dict[str, list[float]], class_names: list[str]) -> go.Figure:
    """Grouped bars: the share of samples the classifier reads as each class, one bar per source."""
    figure = go.Figure()
    for color, (source, values) in zip(PALETTE[1:], shares.items()):
        figure.add_trace(go.Bar(x=class_names, y=values, name=source, marker_color=color))
    figure.add_hline(y=1 / len(class_names), line_dash="dot", annotation_text="even spread")
    figure.update_layout(barmode="group", xaxis_title="class read by the classifier", yaxis_title="share of samples",
                         xaxis={"type": "category"}, margin={"t": 30}, height=280, legend_title="samples from")
    return figure


# --- the "Why blurry?" lesson ------------------------------------------------------------------------

# The landing page's two charts are PNGs, drawn on the server: plotly's charts cost a browser about 2 s more to
# settle the page on a 2-core box (benchmarks/landing.py), and these two need no hover to be read.
LOSS_STYLES = {"bce": ("#d62728", "-"), "mse": ("#ff7f0e", "-"), "dfc": ("#1f77b4", "--"), "critic": ("#2ca02c", ":")}


def loss_curves(amounts: np.ndarray, curves: dict[str, np.ndarray], labels: dict[str, str], *, x_title: str,
                at: float, reference: str) -> bytes:
    """Normalised losses over a transform's range as a PNG: sums thick, single layers thin; a line at the slider."""
    figure = _figure((8, 3.4))
    axes = figure.subplots()
    for key, values in curves.items():
        network, _, layer = key.partition(":")
        color, dash = LOSS_STYLES[network]
        axes.plot(amounts, values, label=labels[key], color=color, linestyle=dash, linewidth=1.0 if layer else 2.4,
                  marker="o", markersize=2.5 if layer else 4, alpha=0.55 if layer else 1.0)
    axes.axhline(1.0, color="#888", linestyle=":", linewidth=1)
    axes.annotate(reference, (amounts[0], 1.0), textcoords="offset points", xytext=(2, 3), fontsize=8, color="#666")
    axes.axvline(at, color="#444", linewidth=1)
    axes.set(xlabel=x_title, ylabel=f"loss / loss of {reference}")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _figure_png(figure)


def layer_losses(losses: dict[str, dict[str, float]], *, title: str) -> bytes:
    """Stacked horizontal bars as a PNG: each layer's term of the loss, one bar per image compared."""
    layers = list(next(iter(losses.values()))) if losses else []
    figure = _figure((8, 0.9 + 0.4 * len(losses)))
    axes = figure.subplots()
    left = np.zeros(len(losses))
    for color, layer in zip(PALETTE[1:], layers):
        widths = np.array([s.get(layer, 0.0) for s in losses.values()])
        axes.barh(list(losses), widths, left=left, color=color, label=layer)
        left += widths
    axes.invert_yaxis()
    axes.set(xlabel="loss", title=title)
    axes.title.set_fontsize(9)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="layer", title_fontsize=7)
    return _figure_png(figure)


def _figure(size: tuple[float, float]):
    """A matplotlib figure without pyplot's global state, so that visitors' sessions can draw at once."""
    from matplotlib.figure import Figure  # imported here: only the static figures need matplotlib
    return Figure(figsize=size)


def _figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def signed_map(values: np.ndarray, *, scale: int = 4, limit: float | None = None) -> np.ndarray:
    """A signed (H, W) map as an RGB picture: red where positive, blue where negative, white at 0."""
    top = limit if limit else float(np.abs(values).max()) or 1.0
    v = np.clip(values / top, -1, 1)[..., None]
    white = np.ones(values.shape + (3,))
    rgb = np.where(v > 0, white - v * np.array([0, 1, 1]), white + v * np.array([1, 1, 0]))
    return np.kron((255 * rgb).astype(np.uint8), np.ones((scale, scale, 1), dtype=np.uint8))


def heat_map(values: np.ndarray, *, scale: int = 4) -> np.ndarray:
    """A non-negative (H, W) map as a grey picture, black at 0 and white at its largest value."""
    top = float(values.max()) or 1.0
    return np.kron((255 * values / top).astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))


def feature_rows(original: np.ndarray, reconstruction: np.ndarray, channels: list[int], *,
                 scale: int) -> np.ndarray:
    """Chosen channels of two (C, H, W) feature stacks in two rows, on one shared grey scale (min to max)."""
    a, b = original[channels], reconstruction[channels]
    low, high = min(float(a.min()), float(b.min())), max(float(a.max()), float(b.max()))
    span = high - low or 1.0
    return image_grid([(a - low) / span, (b - low) / span], pad=1, scale=scale)
