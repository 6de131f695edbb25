import json
import math

import pytest
import torch

from vae_lab import checkpoints, judges
from vae_lab.config import TrainConfig
from vae_lab.objectives import VAEObjective
from vae_lab.train import TrainingDiverged, make_objective, train


def run(config, out_dir):
    events = []
    result = train(config, out_dir=out_dir, progress=events.append)
    return result, events


@pytest.mark.parametrize("kind", ["classifier", "plain", "dfc"])
def test_a_few_steps_on_a_small_slice_lower_the_loss(kind, tiny_checkpoints, tiny_config, tmp_path):
    result, events = run(tiny_config(kind=kind, epochs=3, train_limit=512), tmp_path)
    steps = [e.metrics["loss"] for e in events if e.event == "step"]
    first, last = sum(steps[:4]) / 4, sum(steps[-4:]) / 4
    assert last < 0.9 * first, f"{kind}: loss went from {first:.3f} to {last:.3f}"
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert [e.event for e in events].count("epoch") == 3 and events[-1].event == "done"
    assert result.images_per_s > 0


def test_progress_events_carry_step_and_epoch_metrics(tiny_checkpoints, tiny_config, tmp_path):
    _, events = run(tiny_config(kind="plain", log_every=2), tmp_path)
    step = next(e for e in events if e.event == "step")
    assert {"loss", "reconstruction", "kl", "lr_factor"} <= set(step.metrics)
    assert step.total_steps == 8 and step.epochs == 1
    epoch = next(e for e in events if e.event == "epoch")
    assert {"val_loss", "bce", "kl", "laplacian_variance", "accuracy"} <= set(epoch.metrics)
    assert epoch.checkpoint.endswith("plain.json")


def test_epochs_before_the_last_take_a_quick_look_and_the_last_validates_on_every_test_image(
        tiny_checkpoints, tiny_config, tmp_path):
    result, events = run(tiny_config(kind="plain", epochs=3, interim_test_limit=32), tmp_path)
    assert [e.metrics["test_images"] for e in events if e.event == "epoch"] == [32, 32, 128]
    assert result.checkpoint.meta["metrics"]["test_images"] == 128


def test_validation_uses_the_training_objective(tiny_checkpoints, tiny_config):
    """val_loss is the plain VAE's loss written out here: summed BCE of a reparameterised sample plus beta * KL,
    averaged over the images (the split fits one batch, so one draw of the noise)."""
    import torch.nn.functional as F
    config = tiny_config(kind="plain", beta=2.0, precision="fp32")
    from vae_lab.data import load_split
    split = load_split("mnist", train=False).subset(64)
    objective = make_objective(config, torch.device("cpu"), split)
    vae = objective.model.eval()
    x = split.batch(slice(None))[0]
    torch.manual_seed(0)
    with torch.no_grad():
        mu, logvar = vae.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        bce = F.binary_cross_entropy_with_logits(vae.decode_logits(z), x, reduction="none").sum(dim=(1, 2, 3))
        kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1)
    expected = (bce + 2.0 * kl).mean().item()
    torch.manual_seed(0)
    measured = objective.evaluate(split)
    assert measured["val_loss"] == pytest.approx(expected, rel=1e-5)
    assert measured["val_kl"] == pytest.approx(kl.mean().item(), rel=1e-5)


def test_training_a_dfc_vae_leaves_the_classifier_bit_identical(tiny_checkpoints, tiny_config, tmp_path):
    classifier = checkpoints.find("classifier")
    before = classifier.tensors()
    config = tiny_config(kind="dfc", epochs=2, perceptual_layers={"conv1": 1.0, "conv2": 1.0})
    objective = make_objective(config, torch.device("cpu"), None)
    judge = objective.perceptual.net
    judge_state = {k: v.clone() for k, v in judge.state_dict().items()}
    objective.model.train()
    assert not judge.training, "the perceptual model must stay in eval mode when the VAE trains"
    assert all(not p.requires_grad for p in judge.parameters())
    in_optimizer = {id(p) for g in objective.optimizers["model"].param_groups for p in g["params"]}
    assert not in_optimizer & {id(p) for p in judge.parameters()}
    x = torch.rand(16, 1, 28, 28)
    for step in range(3):
        objective.train_step(x, None, step)
    assert all(torch.equal(judge_state[k], v) for k, v in judge.state_dict().items())

    result, _ = run(config, tmp_path)
    assert all(torch.equal(before[k], v) for k, v in checkpoints.find("classifier").tensors().items())
    saved = result.checkpoint
    assert not any(k.startswith(("layers.", "conv")) for k in saved.tensors()), "classifier leaked into the VAE"
    assert saved.meta["perceptual"] == {"checkpoint": "classifier", "sha256": classifier.sha256,
                                        "layers": {"conv1": 1.0, "conv2": 1.0}}


def test_nan_guard_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tiny_checkpoints, tiny_config,
                                                                                  tmp_path, monkeypatch):
    original = VAEObjective.train_step

    def poisoned(self, x, y, step):  # the loss turns NaN in the second epoch (8 steps per epoch)
        losses = original(self, x, y, step)
        return losses | {"loss": losses["loss"] * float("nan")} if step >= 10 else losses
    monkeypatch.setattr(VAEObjective, "train_step", poisoned)
    epoch_one = {}
    record = lambda e: epoch_one.setdefault("bytes", (tmp_path / "guarded.safetensors").read_bytes()) \
        if e.event == "epoch" else None  # noqa: E731
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch 2.*last good checkpoint .*guarded.json is kept"):
        train(tiny_config(kind="plain", name="guarded", epochs=2), out_dir=tmp_path, progress=record)
    assert (tmp_path / "guarded.safetensors").read_bytes() == epoch_one["bytes"]
    assert checkpoints.find(tmp_path / "guarded.json").meta["training"]["epoch"] == 1


class Interrupt(Exception):
    pass


def interrupt_after_first_epoch(event):
    if event.event == "epoch":
        raise Interrupt


def test_resume_after_an_interruption_matches_an_uninterrupted_run(tiny_checkpoints, tiny_config, tmp_path):
    config = tiny_config(kind="plain", epochs=2)
    with pytest.raises(Interrupt):
        train(config, out_dir=tmp_path / "resumed", progress=interrupt_after_first_epoch)
    first = checkpoints.find(tmp_path / "resumed" / "plain.json")
    assert first.meta["training"]["epoch"] == 1 and first.has("train_state")
    resumed = train(config, out_dir=tmp_path / "resumed", resume=first)
    assert (resumed.checkpoint.meta["training"]["epoch"], resumed.checkpoint.meta["training"]["step"]) == (2, 16)
    straight = train(config, out_dir=tmp_path / "straight")
    a, b = resumed.checkpoint.tensors(), straight.checkpoint.tensors()
    assert all(torch.equal(a[k], b[k]) for k in a), "resuming must reproduce the uninterrupted run"


def test_checkpoint_json_records_recipe_metrics_and_versions(tiny_checkpoints, tiny_config, tmp_path):
    result, _ = run(tiny_config(kind="plain", lr=3e-3), tmp_path)
    meta = json.loads(result.checkpoint.json_path.read_text())
    assert meta["recipe"]["lr"] == 3e-3 and TrainConfig.from_dict(meta["recipe"]).kind == "plain"
    assert meta["latent_dim"] == 5 and meta["architecture"]["image_shape"] == [1, 28, 28]
    assert {"bce", "kl", "accuracy", "laplacian_variance"} <= set(meta["metrics"])
    assert meta["versions"]["torch"] == torch.__version__


def test_a_film_of_the_training_shows_the_reconstructions_change(tiny_checkpoints, tiny_config, tmp_path):
    import numpy as np
    from PIL import Image, ImageSequence

    from vae_lab.film import TrainingFilm

    film = TrainingFilm(tmp_path / "film.gif", "mnist", every=2)
    train(tiny_config(kind="plain", epochs=2, batch_size=32, train_limit=256), out_dir=tmp_path, film=film)
    gif = Image.open(tmp_path / "film.gif")
    frames = [np.asarray(frame.convert("L")).copy() for frame in ImageSequence.Iterator(gif)]
    assert len(frames) == len(film.frames) == 9, "a frame at step 1 and every 2 steps of 16"
    assert frames[0].shape == film.frames[0].shape  # originals, reconstructions, samples: three rows of ten
    assert not np.array_equal(frames[0], frames[-1]), "the reconstructions change as the model learns"


def test_every_frame_of_the_film_records_its_blur_and_the_share_read_correctly(tiny_checkpoints, tiny_config,
                                                                                tmp_path):
    """The job monitor plots these: the last frame's numbers are the finished model's own on the same images."""
    from vae_lab.data import load_split
    from vae_lab.film import MEASURED_IMAGES, TrainingFilm
    from vae_lab.metrics import measure_reconstructions

    film = TrainingFilm(tmp_path / "film.gif", "mnist", every=4)
    done = train(tiny_config(kind="plain", train_limit=256), out_dir=tmp_path, film=film).checkpoint
    saved = json.loads((tmp_path / "film.json").read_text())
    assert saved["images"] == MEASURED_IMAGES
    assert [frame["step"] for frame in saved["frames"]] == [1, 4, 8]
    images, labels = load_split("mnist", train=False).batch(slice(0, MEASURED_IMAGES))
    judge = judges.load_judge("mnist").classifier
    _, measured = measure_reconstructions(checkpoints.load(done), images, judge=judge, with_ssim=False)
    expected = measured.summary(labels)
    assert saved["frames"][-1]["laplacian_variance"] == pytest.approx(expected["laplacian_variance"], rel=1e-5)
    assert saved["frames"][-1]["read_correctly"] == pytest.approx(expected["accuracy"])
    assert saved["frames"][0] != saved["frames"][-1], "the measures follow the model as it learns"


@pytest.mark.parametrize("kind", ["plain", "dfc"])
def test_bf16_training_follows_the_float32_run_on_a_small_slice(kind, tiny_checkpoints, tiny_config, tmp_path):
    """bf16 autocast (what --precision auto picks on this CPU) must not change what is learnt: the same seed,
    the same 16 steps, the test loss within 0.5% of float32's (measured: 0.01-0.02%; bf16 keeps 8 bits of mantissa; the
    perceptual features and the losses stay in float32)."""
    losses = {}
    for precision in ("fp32", "bf16"):
        config = tiny_config(kind=kind, name=f"{kind}-{precision}", train_limit=512, precision=precision)
        result = train(config, out_dir=tmp_path)
        assert result.precision == precision
        losses[precision] = result.metrics["val_loss"]
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.005), losses


def test_the_learning_rate_warms_up_then_decays():
    from vae_lab.train import lr_factor

    config = TrainConfig(kind="plain", lr_warmup_steps=10, device="cpu")
    factors = [lr_factor(config, step, 100) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == 1.0  # linear to the peak
    assert all(a >= b for a, b in zip(factors[10:], factors[11:])) and factors[-1] < 0.01  # then cosine to 0
