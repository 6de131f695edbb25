"""What the browser decoder and encoder receive, and the link codec (the browser tests check the networks' outputs)."""
import numpy as np
import pytest
import torch

from vae_lab.app import links
from vae_lab.explore import pca
from vae_lab.app.latent_pad import PLANE_POINTS, decoder_bytes, encoder_bytes, network_dims, own_plane, pad_points
from vae_lab.models import VAE


def test_decoder_bytes_are_every_decoder_tensor_in_order_as_little_endian_float32():
    vae = VAE(latent_dim=3)
    floats = np.frombuffer(decoder_bytes(vae), dtype="<f4")
    tensors = [vae.decoder.hidden.weight, vae.decoder.hidden.bias, vae.decoder.upsample.weight,
               vae.decoder.upsample.bias, vae.decoder.out.weight, vae.decoder.out.bias]
    assert len(floats) == sum(t.numel() for t in tensors)
    assert np.array_equal(floats, torch.cat([t.detach().flatten() for t in tensors]).numpy())
    assert network_dims(vae) == {"latent_dim": 3, "channels": 1, "height": 28, "width": 28, "grid": [64, 14, 14],
                                 "upsamples": [32], "convs": [[32, 1], [64, 2], [64, 1], [64, 1]], "hidden": 32}


def test_a_strided_decoders_bytes_are_its_dense_layer_each_transposed_conv_and_the_last_conv():
    vae = VAE(latent_dim=64, image_shape=(3, 64, 64))
    d = vae.decoder
    tensors = [t for layer in (d.hidden, *d.upsamples, d.out) for t in (layer.weight, layer.bias)]
    assert np.array_equal(np.frombuffer(decoder_bytes(vae), dtype="<f4"),
                          torch.cat([t.detach().flatten() for t in tensors]).numpy())
    assert len(np.frombuffer(encoder_bytes(vae), dtype="<f4")) == sum(p.numel() for p in vae.encoder.parameters())
    dims = network_dims(vae)
    assert dims["grid"] == [128, 4, 4] and dims["upsamples"] == [128, 64, 32, 32] and dims["hidden"] == 0


def test_encoder_bytes_are_every_encoder_tensor_in_order_as_little_endian_float32():
    vae = VAE(latent_dim=3)
    e = vae.encoder
    tensors = [t for layer in (e.convs[0], e.convs[2], e.convs[4], e.convs[6], e.hidden, e.mu, e.logvar)
               for t in (layer.weight, layer.bias)]
    floats = np.frombuffer(encoder_bytes(vae), dtype="<f4")
    assert len(floats) == sum(p.numel() for p in e.parameters()) == sum(t.numel() for t in tensors)
    assert np.array_equal(floats, torch.cat([t.detach().flatten() for t in tensors]).numpy())


def test_pad_points_project_the_codes_and_frame_nearly_all_of_them():
    codes = np.random.default_rng(0).normal(size=(5000, 5)) * [3, 2, 1, 1, 1]
    labels = np.arange(5000) % 10
    points = pad_points(pca(codes), codes, labels, limit=100)
    assert len(points["xy"]) == 200 and points["classes"] == labels[:100].tolist()
    x0, x1, y0, y1 = points["extent"]
    xy = pca(codes).project(codes)
    inside = (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
    assert inside.mean() > 0.96


@pytest.mark.parametrize("value", [["dfc", "plain"], [0.5, -1.25], 7, 2.5, "5, 6", True])
def test_link_values_survive_the_url(value):
    text = links.encode(value)
    parse = {list: links.names if isinstance(value, list) and isinstance(value[0], str) else links.floats,
             int: int, float: float, str: str, bool: links.flag}[type(value)]
    assert parse(text) == value


def test_a_broken_link_value_is_refused():
    for parse, text in ((links.floats, "1,x"), (links.flag, "yes"), (int, "1.5")):
        with pytest.raises(ValueError):
            parse(text)


def test_own_plane_starts_at_the_models_own_code_and_counts_moves_in_its_standard_deviations():
    codes = np.random.default_rng(0).normal(size=(5000, 5)) * [3, 2, 1, 1, 1]
    plane = own_plane(pca(codes), codes, torch.full((5,), 0.5))
    assert plane["z0"] == [0.5] * 5
    assert np.allclose(plane["scale"], [3, 2], rtol=0.05)  # one unit on the pad = one standard deviation here
    assert np.allclose(np.linalg.norm(plane["axes"], axis=1), 1)


def test_with_labels_a_models_own_plane_carries_its_codes_for_the_drawings_posterior():
    codes = np.random.default_rng(0).normal(size=(5000, 5))
    labels = np.arange(5000) % 10
    plane = own_plane(pca(codes), codes, torch.zeros(5), labels=labels)
    assert len(plane["xy"]) == 2 * PLANE_POINTS and plane["classes"] == labels[:PLANE_POINTS].tolist()
    assert np.allclose(plane["mean"], codes.mean(axis=0), atol=1e-4) and len(plane["extent"]) == 4
    assert "xy" not in own_plane(pca(codes), codes, torch.zeros(5))
