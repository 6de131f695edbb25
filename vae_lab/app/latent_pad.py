"""The latent pad: decoding (and, with drawing on, encoding) in the browser, as a Streamlit component.

MNIST's decoder is small (about 94,000 weights, 3.9 million multiply-adds per image; the 64-pixel colour
decoder of the emoji data set about 383,000 and 25 million): the browser decodes one latent vector in
WebAssembly SIMD (`latent_pad/kernels.c`, built into the committed `kernels.wasm`), or in plain JavaScript where
that cannot run (`latent_pad/decoder.js`); docs/performance.md has the times.
Nothing is fetched from elsewhere at run time. The page sends each chosen model's decoder weights as
float32 bytes (376 KB; float16 would halve that but misses the 1e-4 agreement with `vae.decode`), once
per browser session: the browser keeps them, and asks again (the component's value, `asked`) where it
lacks some, as after a page change. The browser redraws every model's decoding on each animation frame
in which the latent point moved. The server only hears where the point ended, when a gesture ends.

The encoder is larger (494,000 weights, 1.98 MB as float32, 19 million multiply-adds of which a
drawing's zeros leave about 3), so its weights are sent only when the page turns drawing on:
`latent_pad/encoder.js` then encodes every stroke of the sketch with every chosen model. The
drawing itself never reaches the server.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components
import torch

from . import links
from ..explore import Projection
from ..models import VAE

_component = components.declare_component("latent_pad", path=str(Path(__file__).with_name("latent_pad")))
MAX_POINTS = 3000  # test codes drawn on the pad: enough to see the classes' regions, light to send
PLANE_POINTS = 1000  # on each model's own small plane, with drawing on
SLIDER_RANGE = 3.0


def decoder_bytes(vae: VAE) -> bytes:
    """The decoder's tensors as little-endian float32, in the order and PyTorch layouts decoder.js reads."""
    d = vae.decoder
    return _float32_bytes([t for layer in (d.hidden, *d.upsamples, d.out) for t in (layer.weight, layer.bias)])


def encoder_bytes(vae: VAE) -> bytes:
    """The encoder's tensors as little-endian float32, in the order and PyTorch layouts encoder.js reads."""
    e = vae.encoder
    layers = (*_convs(vae), *_hidden(vae), e.mu, e.logvar)
    return _float32_bytes([t for layer in layers for t in (layer.weight, layer.bias)])


def _convs(vae: VAE) -> list[torch.nn.Conv2d]:
    return [layer for layer in vae.encoder.convs if isinstance(layer, torch.nn.Conv2d)]


def _hidden(vae: VAE) -> list[torch.nn.Linear]:
    """The encoder's hidden dense layer: the notebook's layout has one, the strided none."""
    return [vae.encoder.hidden] if hasattr(vae.encoder, "hidden") else []


def _float32_bytes(tensors) -> bytes:
    return b"".join(t.detach().float().cpu().contiguous().numpy().astype("<f4").tobytes() for t in tensors)


def network_dims(vae: VAE) -> dict:
    """The shapes decoder.js and encoder.js build the networks from: the notebook's layout or the strided one."""
    channels, height, width = vae.image_shape
    hidden = _hidden(vae)
    return {"latent_dim": vae.latent_dim, "channels": channels, "height": height, "width": width,
            "grid": list(vae.decoder.grid), "upsamples": [layer.out_channels for layer in vae.decoder.upsamples],
            "convs": [[layer.out_channels, layer.stride[0]] for layer in _convs(vae)],
            "hidden": hidden[0].out_features if hidden else 0}


def pad_points(projection: Projection, means: np.ndarray, labels: np.ndarray, *, limit: int = MAX_POINTS) -> dict:
    """The first `limit` test codes in the pad's plane, and the plane's extent (2nd-98th percentile, padded)."""
    xy = projection.project(means[:limit]).astype(np.float32)
    low, high = np.percentile(projection.project(means), [2, 98], axis=0)
    margin = 0.15 * (high - low)
    extent = [low[0] - margin[0], high[0] + margin[0], low[1] - margin[1], high[1] + margin[1]]
    return {"xy": np.round(xy.ravel(), 3).tolist(), "classes": labels[:limit].astype(int).tolist(),
            "extent": [round(float(v), 3) for v in extent]}


def own_plane(projection: Projection, means: np.ndarray, start: torch.Tensor, *,
              labels: np.ndarray | None = None) -> dict:
    """A model's own view of a move on the pad: where it starts (its own code of the chosen digit), its plane's
    axes and mean, and its codes' standard deviation along each axis (the unit a move on the pad is counted in).
    With the test set's `labels`: also its first PLANE_POINTS codes in the plane, where drawing shows a posterior."""
    scale = projection.project(means).std(axis=0)
    plane = {"z0": [round(float(v), 4) for v in start], "axes": np.round(projection.axes, 6).tolist(),
             "mean": np.round(projection.mean, 4).tolist(), "scale": np.round(np.maximum(scale, 1e-6), 6).tolist()}
    return plane if labels is None else plane | pad_points(projection, means, labels, limit=PLANE_POINTS)


def latent_pad(models: dict[str, tuple[VAE, str]], *, z: torch.Tensor, start_key: str, projection: Projection,
               points: dict, own: dict[str, dict], start: dict, class_names: list[str], key: str,
               draw: bool = False) -> dict | None:
    """Draw the pad and every model's decoding; `models`: label -> (VAE, an id that changes with its weights).

    The pad moves one model's point `z` in its plane `projection`; `start` is that model's `own_plane`.
    Every model in `own` (label -> its `own_plane`) decodes its own start moved by the same amounts in its own
    plane, counted in its own standard deviations; a model not in `own` decodes `z` itself.
    `draw`: also a sketch, encoded by every model in the browser (its encoder's weights are sent; give each
    model in `own` its plane's points, `own_plane(..., labels=...)`, for its posterior to show on).
    Each model's weights are sent once per browser session (`weights_sent`).
    Returns where the user left the point ({"z": [...]}), or None before the first gesture."""
    plane = start | {"labels": list(projection.labels), "extent": points["extent"]}
    sent, weights = weights_sent(key), {}
    for i, (vae, weights_id) in enumerate(models.values()):
        for part in ("decoder", "encoder") if draw else ("decoder",):
            name = f"{part}:{weights_id}"
            if name not in sent:
                weights[f"{part}{i}"] = cached_bytes(weights_id, part, vae)
                sent.add(name)
    # the test codes' dots travel as the weights do, once: a rerun that keeps them sends their id alone
    dots = json.dumps({"xy": points["xy"], "classes": points["classes"]}, separators=(",", ":")).encode()
    points_id = hashlib.sha256(dots).hexdigest()[:16]
    if f"points:{points_id}" not in sent:
        weights["points"] = dots
        sent.add(f"points:{points_id}")
    # `sent` names the bytes: the page posts a new render to the component only where its JSON arguments changed,
    # and bytes are not among them, so a rerun that brings the missing weights must differ in its JSON too
    return _component(models=[{"label": label, "weights_id": weights_id, "dims": network_dims(vae),
                               "own": own.get(label), "pad": label not in own}
                              for label, (vae, weights_id) in models.items()],
                      z=[round(float(v), 4) for v in z], start_key=start_key, plane=plane,
                      points_id=points_id, slider_range=SLIDER_RANGE,
                      class_names=class_names, draw=draw, key=key, default=None,
                      sent=sorted(weights), **weights)


def weights_sent(key: str) -> set[str]:
    """The weights this session's browser was sent ("decoder:ID", "encoder:ID"; "points:ID", the pad's dots), kept
    in the session's state, less those its latest request says it lacks (the component's value `asked`: each request
    is answered once)."""
    sent = st.session_state.setdefault(f"{key}_sent", set())
    value = st.session_state.get(key)
    asked = value.get("asked") if isinstance(value, dict) else None
    if isinstance(asked, dict) and asked.get("id") != st.session_state.get(f"{key}_answered"):
        st.session_state[f"{key}_answered"] = asked.get("id")
        missing = asked.get("missing")
        sent -= {entry for entry in missing if isinstance(entry, str)} if isinstance(missing, list) else set()
    return sent


def start_point(z0: torch.Tensor, start_key: str) -> torch.Tensor:
    """Where the pad's point starts: where the user last left it from this start (a digit's code, or the
    origin), or the point of the link this session was opened with; else `z0`. Kept in the URL as pad_z."""
    links.seed("pad_z", parse=links.floats, what="latent point")
    left = st.session_state.get("latent_pad")  # the component's value: where a gesture ended (the browser's word)
    if isinstance(left, dict) and left.get("start_key") == start_key and is_point(left.get("z"), len(z0)):
        st.session_state["pad_z"], st.session_state["pad_z_start"] = left["z"], start_key
    owner = st.session_state.setdefault("pad_z_start", start_key)  # a link's point: the start the link restores
    saved = st.session_state.get("pad_z")
    if owner != start_key or saved is None or len(saved) != len(z0):
        st.session_state.pop("pad_z", None)
        return z0
    return torch.tensor(saved, dtype=z0.dtype)


def is_point(z, size: int) -> bool:
    """Whether a value from the browser is a latent point of `size` finite numbers."""
    return (isinstance(z, list) and len(z) == size
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in z))


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_bytes(weights_id: str, part: str, _vae: VAE) -> bytes:
    """The model's decoder or encoder bytes, made once per weights."""
    return decoder_bytes(_vae) if part == "decoder" else encoder_bytes(_vae)
