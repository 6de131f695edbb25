import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats as scipy_stats

from vae_lab import checkpoints
from vae_lab.data import load_sample
from vae_lab.metrics import frechet_distance, laplacian_variance
from vae_lab.stats import class_groups, paired_comparison, per_class_table


def test_laplacian_variance_equals_opencv_on_real_digits():
    x = load_sample("mnist").float_images()[:300]
    ours = laplacian_variance(x).numpy()
    theirs = np.array([cv2.Laplacian(img, cv2.CV_32F).var() for img in x[:, 0].numpy()])
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)  # float32 rounding of the variance only


def test_laplacian_variance_equals_opencv_on_random_images_of_other_sizes():
    x = torch.rand(5, 1, 17, 40)
    theirs = np.array([cv2.Laplacian(img, cv2.CV_32F).var() for img in x[:, 0].numpy()])
    np.testing.assert_allclose(laplacian_variance(x).numpy(), theirs, rtol=1e-6)


def test_a_colour_images_laplacian_variance_is_its_luminances_as_opencv_computes_it():
    x = torch.rand(4, 3, 32, 24)
    greys = [cv2.cvtColor(np.ascontiguousarray(img.transpose(1, 2, 0)), cv2.COLOR_RGB2GRAY) for img in x.numpy()]
    theirs = np.array([cv2.Laplacian(grey, cv2.CV_32F).var() for grey in greys])
    np.testing.assert_allclose(laplacian_variance(x).numpy(), theirs, rtol=1e-5)


def test_blurring_lowers_laplacian_variance_and_flat_images_have_none():
    x = load_sample("mnist").float_images()[:100]
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    assert (laplacian_variance(blurred) < laplacian_variance(x)).all()
    assert laplacian_variance(torch.full((2, 1, 28, 28), 0.3)).abs().max() < 1e-12


def test_paired_comparison_against_hand_computed_values_and_scipy():
    a = np.array([3.0, 5.0, 4.0, 6.0])
    b = np.array([1.0, 2.0, 3.0, 3.0])  # differences 2, 3, 1, 3: mean 2.25, sd 0.9574
    result = paired_comparison(a, b, name_a="A", name_b="B")
    assert result.label == "A vs B" and result.images == 4
    assert result.mean_difference == pytest.approx(2.25)
    sd = np.std([2, 3, 1, 3], ddof=1)
    assert result.cohens_dz == pytest.approx(2.25 / sd)
    assert result.t_statistic == pytest.approx(2.25 / (sd / 2))  # t = mean / (sd / sqrt(n))
    half = scipy_stats.t.ppf(0.975, 3) * sd / 2
    assert (result.ci95_low, result.ci95_high) == pytest.approx((2.25 - half, 2.25 + half))
    assert result.t_p_value == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    assert result.wilcoxon_p_value == pytest.approx(scipy_stats.wilcoxon(a, b).pvalue)
    assert result.fraction_a_greater == 1.0
    assert "A is sharper" in result.sentence() and "100.0% of 4 images" in result.sentence()


def test_paired_comparison_of_identical_sets_finds_nothing():
    a = np.linspace(0, 1, 20)
    result = paired_comparison(a, a.copy(), name_a="A", name_b="A again")
    assert result.mean_difference == 0 and result.wilcoxon_p_value == 1.0 and result.fraction_a_greater == 0.0


def test_paired_comparison_refuses_unpaired_inputs():
    with pytest.raises(ValueError, match="equally long"):
        paired_comparison(np.ones(3), np.ones(4), name_a="A", name_b="B")


def test_per_class_table_groups_each_class_then_all_but_one_then_all():
    labels = np.array([0, 1, 1, 2])
    values = {"originals": np.array([1.0, 2.0, 4.0, 3.0])}
    rows = per_class_table(values, labels, ["0", "1", "2"])
    assert [r["group"] for r in rows] == ["0", "1", "2", "all except 1", "all"]
    by_group = {r["group"]: r for r in rows}
    assert by_group["1"] == {"group": "1", "images": 2, "originals": 3.0}
    assert by_group["all except 1"]["originals"] == 2.0 and by_group["all"]["images"] == 4
    assert class_groups(labels, ["0", "1", "2"])["all except 1"].tolist() == [True, False, False, True]


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_blur(tiny_checkpoints):
    judge = checkpoints.load("classifier")
    x = load_sample("mnist").float_images()[:1000]
    fid = frechet_distance(judge)
    fid.update(x, real=True)
    fid.update(x, real=False)
    assert abs(fid.compute().item()) < 1e-3
    distances = []
    for size in (3, 5):
        fid.reset()
        fid.update(F.avg_pool2d(F.pad(x, (size // 2,) * 4, mode="replicate"), size, stride=1), real=False)
        distances.append(fid.compute().item())
    assert 1e-2 < distances[0] < distances[1]
