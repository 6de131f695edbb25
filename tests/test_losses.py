import torch
import torch.nn.functional as F

from vae_lab.losses import (PerceptualLoss, bce_per_image, gradient_penalty, hinge_critic_loss,
                            kl_divergence, wasserstein_critic_loss)
from vae_lab.models import Classifier, LayeredNet


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    assert torch.allclose(kl_divergence(torch.zeros(3, 5), torch.zeros(3, 5)), torch.zeros(3))
    kl = kl_divergence(torch.ones(1, 2), torch.zeros(1, 2))
    assert torch.allclose(kl, torch.tensor([1.0]))  # 0.5 * sum(mu^2) = 0.5 * 2


def test_bce_is_summed_per_image():
    logits, x = torch.randn(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    expected = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / 4
    assert bce_per_image(logits, x).shape == (4,)
    assert torch.allclose(bce_per_image(logits, x).mean(), expected, rtol=1e-4)


def test_perceptual_loss_of_an_image_with_itself_is_zero_and_positive_otherwise():
    loss = PerceptualLoss(Classifier(), {"conv1": 1.0, "conv2": 1.0})
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(loss(x, x), torch.zeros(3))
    assert (loss(x, x.flip(-1)) > 0).all()


def test_perceptual_loss_is_the_weighted_sum_of_squared_feature_differences():
    net = Classifier()
    x, y = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    fx, fy = net.features(x, ["conv1", "fc1"]), net.features(y, ["conv1", "fc1"])
    expected = 0.5 * (fx["conv1"] - fy["conv1"]).square().sum((1, 2, 3)) + 2.0 * (fx["fc1"] - fy["fc1"]).square().sum(1)
    assert torch.allclose(PerceptualLoss(net, {"conv1": 0.5, "fc1": 2.0})(x, y), expected, rtol=1e-5)


class LinearCritic(LayeredNet):
    def __init__(self, weight: torch.Tensor):
        super().__init__()
        linear = torch.nn.Linear(weight.numel(), 1)
        linear.weight.data = weight.view(1, -1)
        self.layers = torch.nn.ModuleDict({"score": torch.nn.Sequential(torch.nn.Flatten(), linear)})


def test_gradient_penalty_is_zero_for_a_1_lipschitz_linear_critic_and_not_otherwise():
    real, fake = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)
    w = torch.randn(784)
    assert gradient_penalty(LinearCritic(w / w.norm()), real, fake).item() < 1e-10
    assert torch.allclose(gradient_penalty(LinearCritic(3 * w / w.norm()), real, fake), torch.tensor(4.0))


def test_hinge_and_wasserstein_critic_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert torch.allclose(hinge_critic_loss(real, fake), torch.tensor(0.25 + 0.5))
    assert torch.allclose(wasserstein_critic_loss(real, fake), torch.tensor(-1.0 - 1.25))
