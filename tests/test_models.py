import pytest
import torch

from vae_lab.layouts import scale_for
from vae_lab.models import VAE, Classifier, Critic, frozen


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (1, 32, 32), (3, 28, 28), (3, 64, 64)])
def test_vae_interface_shapes_and_ranges(image_shape):
    vae = VAE(latent_dim=7, image_shape=image_shape).eval()
    x = torch.rand(4, *image_shape)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (4, 7)
    assert vae.latent_dim == 7
    assert vae.decode_logits(mu).shape == (4, *image_shape)
    images = vae.decode(mu)
    assert images.shape == (4, *image_shape) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(vae.reconstruct(x), vae.decode(mu))
    out = vae(x)
    assert out.logits.shape == x.shape and out.z.shape == (4, 7)


def test_sample_is_reproducible_with_a_generator():
    vae = VAE().eval()
    a = vae.sample(5, generator=torch.Generator().manual_seed(3))
    b = vae.sample(5, generator=torch.Generator().manual_seed(3))
    assert a.shape == (5, 1, 28, 28) and torch.equal(a, b)


def test_encode_returns_named_posterior():
    posterior = VAE().encode(torch.rand(2, 1, 28, 28))
    assert posterior.mu is posterior[0] and posterior.logvar is posterior[1]


def test_the_networks_take_their_scale_from_the_images():
    """MNIST keeps the reference notebook's networks; 64-pixel colour images get strided convs down to 4 x 4, a
    latent of 64 and a critic as deep as the encoder, as in the VAE-GAN blog post and the DFC paper."""
    assert scale_for((1, 28, 28)) == ("notebook", 5, 3)
    assert scale_for((3, 64, 64)) == ("strided", 64, 5)
    vae = VAE(latent_dim=64, image_shape=(3, 64, 64))
    assert vae.architecture == {"latent_dim": 64, "image_shape": [3, 64, 64], "layout": "strided"}
    strides = [layer.stride[0] for layer in vae.encoder.convs if isinstance(layer, torch.nn.Conv2d)]
    assert strides == [2, 2, 2, 2] and vae.decoder.grid == (128, 4, 4) and len(vae.decoder.upsamples) == 4
    assert VAE(image_shape=(3, 64, 64), layout="notebook").decoder.grid == (64, 32, 32)
    critic = Critic(image_shape=(3, 64, 64), depth=5)
    _, features = critic.forward_with_features(torch.rand(1, 3, 64, 64), critic.layer_names)
    assert features["conv5"].shape[1:] == (128, 4, 4)
    with pytest.raises(ValueError, match="layout must be one of"):
        VAE(layout="resnet")


def test_odd_image_sides_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="even"):
        VAE(image_shape=(1, 27, 27))


@pytest.mark.parametrize("net", [Classifier(), Critic(), Classifier(image_shape=(1, 32, 32))])
def test_named_features_match_a_full_pass(net):
    x = torch.rand(3, *net.image_shape)
    output, features = net.forward_with_features(x, net.layer_names)
    assert torch.equal(output, net(x))
    early = net.features(x, [net.layer_names[0], net.layer_names[2]])
    assert set(early) == {net.layer_names[0], net.layer_names[2]}
    for name, value in early.items():
        assert torch.equal(value, features[name])


def test_classifier_layers_follow_the_notebook():
    net = Classifier()
    _, features = net.forward_with_features(torch.rand(1, 1, 28, 28), net.layer_names)
    shapes = {k: tuple(v.shape[1:]) for k, v in features.items()}
    assert shapes == {"conv1": (32, 26, 26), "pool1": (32, 13, 13), "conv2": (64, 11, 11), "pool2": (64, 5, 5),
                      "conv3": (64, 3, 3), "fc1": (64,), "logits": (10,)}


def test_unknown_layer_names_the_choices():
    with pytest.raises(ValueError, match="choose from"):
        Classifier().features(torch.rand(1, 1, 28, 28), ["conv9"])


def test_frozen_blocks_weight_gradients_keeps_input_gradients_and_restores_state():
    critic = Critic().train()
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    with frozen(critic):
        assert not critic.training
        critic(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in critic.parameters())
    assert critic.training and all(p.requires_grad for p in critic.parameters())
