import pytest
import torch

from vae_lab.models import VAE, Classifier, Critic, frozen


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (1, 32, 32), (3, 28, 28)])
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
