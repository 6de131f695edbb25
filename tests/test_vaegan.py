import copy
import math

import pytest
import torch
import torch.distributed as dist

from vae_lab import checkpoints
from vae_lab.data import load_split
from vae_lab.distributed import World
from vae_lab.losses import adaptive_weight
from vae_lab.train import make_objective, train


@pytest.fixture(params=["vaegan-hinge", "vaegan-wgan"])
def objective(request, tiny_checkpoints, tiny_config):
    # float32: the replay by hand must see the same numbers, not bf16's rounding in another summation order
    config = tiny_config(kind=request.param, warmup_steps=0, prior_fakes=True, critic_steps=1,
                         kl_warmup_steps=0, gamma=1.0, precision="fp32")
    split = load_split("mnist", train=True).subset(256)
    objective = make_objective(config, torch.device("cpu"), split)
    for module in objective.modules.values():
        module.train()
    return objective


@pytest.fixture
def process_group():
    """A gloo process group of one process: DDP's wrappers and hooks are real, with no one to wait for."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield World(rank=0, size=1)
    dist.destroy_process_group()


def batch(n=16):
    return load_split("mnist", train=True).batch(slice(0, n))[0]


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def grads(params):
    return [p.grad.clone() if p.grad is not None else None for p in params]


@pytest.mark.parametrize("in_ddp", [False, True], ids=["one-process", "in-ddp"])
def test_each_optimizer_applies_exactly_the_gradient_of_its_own_loss(objective, in_ddp, request):
    """Encoder <- KL + perceptual; decoder <- perceptual + w * generator; critic <- critic loss.
    (One public VAE-GAN's decoder also receives the critic's gradient: this pins that down.)
    In DDP too, where the VAE and the critic are each wrapped and each backward goes through the wrapper."""
    x = batch()
    reference = copy.deepcopy(objective)
    if in_ddp:
        objective.distribute(request.getfixturevalue("process_group"))
        assert isinstance(objective.trained("critic"), torch.nn.parallel.DistributedDataParallel)
    torch.manual_seed(0)
    objective.train_step(x, None, step=10)

    torch.manual_seed(0)  # replay the step by hand, consuming the random numbers in the same order
    vae_pass = reference.reconstruct(x)
    reconstructions, prior = vae_pass.reconstructions, vae_pass.prior
    critic_params = list(reference.critic.parameters())
    critic_loss = reference.critic_losses(x, reconstructions.detach(), prior.detach())["critic_loss"]
    expected_critic = torch.autograd.grad(critic_loss, critic_params)
    for p, g in zip(critic_params, expected_critic):
        p.grad = g
    reference.optimizers["critic"].step()
    terms = reference.vae_terms(x, vae_pass)
    vae_loss = (terms["perceptual"] + reference.config.beta * terms["kl"]).mean()  # no KL warm-up: beta itself
    w = adaptive_weight(terms["perceptual"].mean(), terms["generator_loss"], reference.decoder_last_layer)
    encoder, decoder = list(reference.model.encoder.parameters()), list(reference.model.decoder.parameters())
    expected_encoder = torch.autograd.grad(vae_loss, encoder, retain_graph=True)
    leaked_encoder = torch.autograd.grad(vae_loss + w * terms["generator_loss"], encoder, retain_graph=True)
    expected_decoder = torch.autograd.grad(vae_loss + w * terms["generator_loss"], decoder)

    def close(got, want):  # summation order differs between one and two backward passes: compare norms
        return all((g - e).norm() <= 1e-4 * e.norm() + 1e-8 for g, e in zip(got, want))
    assert close(grads(objective.critic.parameters()), expected_critic)
    assert close(grads(objective.model.encoder.parameters()), expected_encoder)
    assert close(grads(objective.model.decoder.parameters()), expected_decoder)
    assert not close(expected_encoder, leaked_encoder), "the test must be able to see a generator-loss leak"


def test_a_critic_step_leaves_the_vae_bit_identical(objective):
    before = state(objective.model)
    x = batch()
    _, _, reconstructions, prior = objective.reconstruct(x)
    objective.critic_phase(x, reconstructions.detach(), prior.detach())
    assert same(before, state(objective.model))
    assert all(p.grad is None for p in objective.model.parameters())


def test_a_vae_step_leaves_the_critic_bit_identical_and_its_gradients_untouched(objective):
    x = batch()
    vae_pass = objective.reconstruct(x)
    objective.critic_phase(x, vae_pass.reconstructions.detach(), vae_pass.prior.detach())
    before, critic_grads = state(objective.critic), grads(objective.critic.parameters())
    objective.vae_phase(x, vae_pass, step=10)
    assert same(before, state(objective.critic))
    assert all(torch.equal(a, b) for a, b in zip(critic_grads, grads(objective.critic.parameters())))
    assert objective.critic.training and all(p.requires_grad for p in objective.critic.parameters())


def test_warmup_keeps_the_generator_loss_off(objective):
    objective.config.warmup_steps = 5
    for step, on in [(4, False), (5, True)]:
        x = batch()
        weight = objective.vae_phase(x, objective.reconstruct(x), step=step)["adaptive_weight"].item()
        assert (weight > 0) == on


@pytest.mark.parametrize("kind", ["vaegan-hinge", "vaegan-wgan"])
def test_a_few_training_steps_run_without_nan_and_log_every_term(kind, tiny_checkpoints, tiny_config, tmp_path):
    events = []
    result = train(tiny_config(kind=kind, epochs=2, warmup_steps=4), out_dir=tmp_path, progress=events.append)
    steps = [e.metrics for e in events if e.event == "step"]
    assert {"d_real", "d_rec", "critic_loss", "generator_loss", "gradient_penalty", "perceptual", "kl",
            "adaptive_weight"} <= set(steps[0])
    assert all(math.isfinite(v) for m in steps for v in m.values())
    assert all(math.isfinite(v) for v in result.metrics.values())
    if kind == "vaegan-wgan":
        assert any(m["gradient_penalty"] > 0 for m in steps)


def test_critic_is_saved_for_resuming_but_not_needed_for_inference(tiny_checkpoints, tiny_config, tmp_path):
    result = train(tiny_config(kind="vaegan-hinge", warmup_steps=0), out_dir=tmp_path)
    ckpt = result.checkpoint
    assert ckpt.has("critic") and ckpt.meta["critic_architecture"]["width"] == 32
    critic = checkpoints.load_into(checkpoints.build(ckpt, "critic"), ckpt, "critic")
    assert sum(p.numel() for p in critic.parameters()) > 0
    ckpt.file("critic").unlink()
    ckpt.file("train_state").unlink()
    vae = checkpoints.load(ckpt.json_path)
    assert vae.reconstruct(batch(2)).shape == (2, 1, 28, 28)


def test_the_pixel_term_decays_to_zero_and_then_leaves_the_step_as_it_was(tiny_checkpoints, tiny_config):
    import torch.nn.functional as F
    config = tiny_config(kind="vaegan-hinge", pixel_weight=20.0, pixel_anneal_steps=100, precision="fp32")
    objective = make_objective(config, torch.device("cpu"), load_split("mnist", train=True).subset(64))
    assert [objective.pixel_weight(s) for s in (0, 50, 100, 500)] == [20.0, 10.0, 0.0, 0.0]
    x = batch()

    def step(pixel_weight: float, at: int):
        """One VAE step of a fresh copy of the objective, with the pixel weight set: its loss and weights."""
        twin = copy.deepcopy(objective)
        twin.config.pixel_weight = pixel_weight
        torch.manual_seed(0)
        vae_pass = twin.reconstruct(x)
        bce = F.binary_cross_entropy(vae_pass.reconstructions.detach().clamp(1e-6, 1 - 1e-6), x, reduction="sum")
        loss = twin.vae_phase(x, vae_pass, step=at)["loss"].item()
        return loss, bce.item() / len(x), [p.detach().clone() for p in twin.model.parameters()]

    # half-way (step 50, weight 10): the loss is the same step's without the term, plus 10 x the batch's BCE
    with_pixel, bce, _ = step(20.0, 50)
    without, _, _ = step(0.0, 50)
    assert with_pixel == pytest.approx(without + 10.0 * bce, rel=1e-5)
    # once annealed (step 100), the update is exactly the one without a pixel term
    _, _, annealed = step(20.0, 100)
    _, _, never = step(0.0, 100)
    assert all(torch.equal(a, b) for a, b in zip(annealed, never))
