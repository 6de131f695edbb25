"""Samples: precision and recall on cases with known answers, the classifier's reading of samples, and the
aggregate-posterior mixture (fitted after training, saved with the checkpoint, sampled from)."""
import pytest
import torch

from vae_lab import checkpoints
from vae_lab.metrics import SampleScores, precision_recall, score_samples
from vae_lab.models import VAE, AggregatePosterior
from vae_lab.posterior import fit_posterior
from vae_lab.scorecard import analyse


def cloud(n=2000, dim=8, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_a_set_against_itself_has_full_precision_and_recall():
    points = cloud()
    assert precision_recall(points, points) == (1.0, 1.0)


def test_a_subset_from_one_of_two_modes_is_all_quality_and_half_the_diversity():
    points = torch.cat([cloud(1000, seed=0), cloud(1000, seed=1) + 20.0])  # two far-apart modes
    precision, recall = precision_recall(points, points[:500])  # half of the first mode only
    assert precision == 1.0, "every fake is a real point"
    assert 0.4 < recall <= 0.5, f"the second mode is missed entirely (recall {recall:.3f})"


def test_a_shifted_set_has_neither():
    points = cloud()
    precision, recall = precision_recall(points, points + 10.0)
    assert precision == 0.0 and recall == 0.0


def test_a_set_with_half_its_points_moved_away_keeps_half_its_precision():
    points, other = cloud(seed=0), cloud(seed=1)
    fake = torch.cat([other[:1000], other[1000:] + 10.0])
    precision, _ = precision_recall(points, fake)
    assert 0.4 < precision < 0.55


def test_class_readings_show_a_model_that_draws_only_two_classes():
    probabilities = torch.zeros(1000, 10)
    probabilities[:700, 1] = 0.95  # 70% read as "1" with confidence, 30% as "7" without
    probabilities[:700, 0] = 0.05
    probabilities[700:, 7] = 0.6
    probabilities[700:, 3] = 0.4
    features = cloud(1000)
    scores = score_samples(probabilities, features, features, torch.ones(1000))
    assert scores.confident == pytest.approx(0.7)
    assert scores.class_shares[1] == pytest.approx(0.7) and scores.class_shares[7] == pytest.approx(0.3)
    assert scores.smallest_class_share == 0.0
    assert 0 < scores.class_entropy < 0.3
    even = SampleScores(confident=1.0, class_shares=[0.1] * 10, precision=1.0, recall=1.0)
    assert even.class_entropy == pytest.approx(1.0)


def test_the_mixture_samples_where_it_was_fitted():
    codes = torch.cat([torch.randn(500, 2) * 0.1 + 3.0, torch.randn(500, 2) * 0.1 - 3.0])
    mixture = AggregatePosterior.fit(codes, components=2)
    samples = mixture.sample(4000, generator=torch.Generator().manual_seed(0))
    assert ((samples - 3.0).norm(dim=1) < 1).float().mean() == pytest.approx(0.5, abs=0.05)
    assert ((samples + 3.0).norm(dim=1) < 1).float().mean() == pytest.approx(0.5, abs=0.05)
    again = mixture.sample(10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, mixture.sample(10, generator=torch.Generator().manual_seed(1)))


def test_sampling_the_posterior_needs_a_fitted_mixture():
    vae = VAE()
    assert vae.sample(3).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="no fitted aggregate posterior: fit one with `vae-lab fit-posterior"):
        vae.sample(3, source="posterior")
    with pytest.raises(ValueError, match="source must be 'prior' or 'posterior'"):
        vae.sample(3, source="data")


@pytest.fixture(scope="module")
def tiny_vae(tiny_checkpoints, tmp_path_factory):
    from vae_lab.config import TrainConfig
    from vae_lab.train import train

    config = TrainConfig(kind="plain", name="tiny-sampler", epochs=1, train_limit=512, test_limit=128, device="cpu")
    return train(config, out_dir=tmp_path_factory.mktemp("sampler")).checkpoint


def test_training_fits_the_mixture_and_it_survives_save_and_load(tiny_vae):
    assert tiny_vae.has("posterior") and tiny_vae.meta["aggregate_posterior"]["components"] == 10
    model = checkpoints.load(tiny_vae)
    fitted = checkpoints.read(tiny_vae.json_path)  # what a new process reads from disk
    stored = fitted.tensors("posterior")
    assert all(torch.equal(stored[k], v) for k, v in model.aggregate_posterior.tensors().items())
    assert model.sample(5, source="posterior").shape == (5, 1, 28, 28)


def test_a_quick_job_fits_the_mixture_to_its_last_batches_codes_where_its_final_encoder_puts_them(tmp_path, full_data):
    from vae_lab.config import TrainConfig
    from vae_lab.data import load_split
    from vae_lab.explore import latent_means
    from vae_lab.train import train

    # a quick DFC conversion (from the shipped plain VAE), shortened: the codes of its last quarter of batches
    config = TrainConfig(kind="dfc", name="tiny-quick", quick=True, train_limit=1024, posterior_codes=256,
                         test_limit=128, device="cpu")
    done = train(config, out_dir=tmp_path).checkpoint
    assert done.meta["aggregate_posterior"]["fitted_on"].endswith("256 posterior means (its last training batches')")
    model = checkpoints.load(done)
    final = torch.from_numpy(latent_means(model, load_split("mnist", train=True).subset(1024)))
    mixture = model.aggregate_posterior
    mean = (mixture.weights[:, None] * mixture.means).sum(0)
    assert torch.allclose(mean, final.mean(0), atol=0.15 * final.std(0).mean().item()), (mean, final.mean(0))


def test_refitting_replaces_the_mixture_and_keeps_the_weights(tiny_vae):
    weights_before = tiny_vae.meta["files"]["model"]["sha256"]
    refitted = fit_posterior(tiny_vae, components=3)
    assert refitted.meta["files"]["model"]["sha256"] == weights_before
    assert checkpoints.load(refitted.json_path).aggregate_posterior.weights.shape == (3,)
    assert checkpoints.read(refitted.json_path).meta["aggregate_posterior"]["components"] == 3


def test_the_scorecard_measures_prior_and_posterior_samples(tiny_vae, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path))
    analysis = analyse(tiny_vae.json_path, limit=300)
    card = analysis.scorecard
    for key in ("confident_samples", "class_entropy", "smallest_class_share", "precision", "recall",
                "fid_posterior", "posterior_confident_samples", "posterior_precision", "posterior_recall"):
        assert 0 <= card[key] < float("inf"), key
    assert set(analysis.sample_classes) == {"prior", "posterior"}
    assert sum(analysis.sample_classes["prior"]) == pytest.approx(1.0)
