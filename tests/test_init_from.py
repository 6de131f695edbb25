"""Starting a VAE from a trained one (TrainConfig.init_from): the weights, the optimiser, the errors."""
import pytest
import torch

from vae_lab import checkpoints
from vae_lab.config import TrainConfig
from vae_lab.train import train


@pytest.fixture(scope="module")
def start(tiny_checkpoints, tmp_path_factory):
    """A small plain VAE trained for two epochs, in the session's checkpoint folder as `start`
    (seed 1: its weights are not those a seed-0 run starts from)."""
    config = TrainConfig(kind="plain", name="start", epochs=2, batch_size=32, train_limit=256, test_limit=128, seed=1,
                         device="cpu")
    return train(config, out_dir=tiny_checkpoints).checkpoint


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.mark.parametrize("kind", ["dfc", "vaegan-hinge"])
def test_a_run_starts_from_the_given_models_weights(kind, start, tiny_config, tmp_path):
    # with a vanishing learning rate the trained weights stay where they started
    still = dict(kind=kind, lr=1e-12, critic_lr=1e-12, warmup_steps=0)
    warm = train(tiny_config(init_from="start", name="warm", **still), out_dir=tmp_path).checkpoint
    cold = train(tiny_config(name="cold", **still), out_dir=tmp_path).checkpoint
    assert max_difference(warm.tensors(), start.tensors()) < 1e-6
    assert max_difference(cold.tensors(), start.tensors()) > 1e-2, "a run from scratch starts elsewhere"
    if kind == "vaegan-hinge":  # the critic is new: the same as a run from scratch has
        assert max_difference(warm.tensors("critic"), cold.tensors("critic")) < 1e-6
    assert warm.meta["recipe"]["init_from"] == "start"
    assert warm.meta["init_from"] == {"checkpoint": "start", "kind": "plain", "sha256": start.sha256}
    assert "init_from" not in cold.meta


def test_the_optimiser_starts_afresh(start, tiny_config, tmp_path):
    assert start.tensors("train_state")["model.0.step"].item() == 16  # two epochs of 8 steps
    warm = train(tiny_config(kind="dfc", init_from="start", lr=3e-4), out_dir=tmp_path).checkpoint
    state = warm.tensors("train_state")
    assert state["model.0.step"].item() == 8, "Adam's step count carried over from the starting model"
    assert warm.meta["training"]["optimizers"]["model"][0]["initial_lr"] == 3e-4


def test_resuming_a_warm_started_run_keeps_where_it_started(start, tiny_config, tmp_path):
    first = train(tiny_config(kind="plain", init_from="start", name="warm"), out_dir=tmp_path).checkpoint
    resumed = train(tiny_config(kind="plain", init_from="start", name="warm", epochs=2), out_dir=tmp_path,
                    resume=first).checkpoint
    assert resumed.meta["init_from"]["checkpoint"] == "start"
    assert resumed.meta["training"]["epoch"] == 2


def test_a_classifier_cannot_be_a_starting_point(start, tiny_config, tmp_path):
    with pytest.raises(ValueError, match="'classifier': it is a classifier.*start"):
        train(tiny_config(kind="dfc", init_from="classifier"), out_dir=tmp_path)


def test_a_classifier_cannot_start_from_a_model(tiny_config):
    with pytest.raises(ValueError, match="a classifier always starts from scratch"):
        tiny_config(kind="classifier", init_from="start")


def test_a_model_of_another_data_set_is_refused(start, tiny_checkpoints, tiny_config, tmp_path):
    train(tiny_config(kind="plain", dataset="fashion-mnist", name="fashion-start"), out_dir=tiny_checkpoints)
    with pytest.raises(ValueError, match="cannot start a mnist VAE from 'fashion-start': it was trained on "
                                         "fashion-mnist"):
        train(tiny_config(kind="dfc", init_from="fashion-start"), out_dir=tmp_path)


def test_a_model_of_another_latent_size_is_refused(start, tiny_config, tmp_path):
    with pytest.raises(ValueError, match="latent_dim 3 from 'start': its latent size is 5. Set latent_dim to 5"):
        train(tiny_config(kind="plain", latent_dim=3, init_from="start"), out_dir=tmp_path)


def test_an_unknown_starting_model_names_the_ones_there_are(start, tiny_config, tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="no checkpoint named 'nowhere'.*start"):
        train(tiny_config(kind="plain", init_from="nowhere"), out_dir=tmp_path)


def test_the_film_of_a_warm_started_run_opens_with_the_starting_models_reconstructions(start, tiny_config, tmp_path):
    from vae_lab.film import TrainingFilm

    film = TrainingFilm(tmp_path / "film.gif", "mnist", every=4)
    train(tiny_config(kind="dfc", init_from="start"), out_dir=tmp_path, film=film)
    opening = TrainingFilm(tmp_path / "start.gif", "mnist")
    opening.capture(checkpoints.load("start"), step=0)
    assert len(film.frames) == 1 + 3, "the starting model, then steps 1, 4 and 8"
    assert (film.frames[0] == opening.frames[0]).all()
    assert not (film.frames[1] == opening.frames[0]).all()
