"""The stored figures: the landing page's and the model card's, computed with the shipped checkpoints, true to a
live computation, and quoted unchanged by the README, docs/lesson.md and docs/model-card.md."""
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO
from vae_lab import data, doc_blocks, lesson, lesson_record, model_record
from vae_lab.datasets import SHIPPED

DATASETS = [d.name for d in SHIPPED]



@pytest.fixture(scope="module")
def records():
    return {dataset: lesson_record.read(dataset, lesson_record.RECORD_DIR) for dataset in DATASETS}


def test_each_record_names_the_shipped_checkpoints_it_was_computed_with(records):
    for dataset, record in records.items():
        assert record is not None, f"no lesson record for {dataset}: run `vae-lab lesson --write --dataset {dataset}`"
        assert record.meta["inputs"] == lesson_record.inputs(dataset), (
            f"a shipped checkpoint of {dataset} changed since its lesson record was written: run `vae-lab lesson "
            f"--write --dataset {dataset}`, then `vae-lab docs`")
        models = model_record.read(dataset, lesson_record.RECORD_DIR)
        assert models is not None and not model_record.stale(models), (
            f"the model card's record of {dataset} names other checkpoints: run `vae-lab evaluate --record "
            f"{dataset}`, then `vae-lab docs`")


def test_the_docs_quote_the_records_unchanged(records):
    rendered = doc_blocks.all_blocks()
    for name in doc_blocks.DOCS:
        text = (REPO / name).read_text()
        assert "<!-- figures:" in text, name
        assert doc_blocks.render_docs(text, rendered) == text, f"{name} differs from the records: run `vae-lab docs`"
    for name, picture in doc_blocks.pictures().items():
        assert np.array_equal(np.asarray(Image.open(REPO / name)), picture), f"{name}: run `vae-lab docs`"


def test_a_recorded_optimum_is_what_the_search_finds_now(records):
    record = records["mnist"]
    split, judges = data.test_split("mnist"), lesson.Judges.of("mnist")
    x = split.batch(slice(0, 1))[0]
    stored = record.optima(x, 1)
    assert stored is not None and set(stored) == set(lesson.OPTIMA)
    live = lesson.optimum(lesson.shifted_targets(x, max_shift=1), "dfc", judges)
    # the same search; its last digits depend on the CPU's kernels and threads, and over 300 Adam steps a few pixels
    # drift (one by 0.16 on an AVX-512 CPU against the record's), so the image is compared on average
    assert (live.image - stored["dfc"].image).abs().mean() < 0.005
    assert live.laplacian_variance == pytest.approx(stored["dfc"].laplacian_variance, rel=0.02)
    assert live.losses[-1] == pytest.approx(stored["dfc"].losses[-1], rel=1e-3)
    assert record.optima(torch.zeros_like(x), 1) is None  # an image it has no entry for: computed live


def test_the_recorded_optima_meet_the_lessons_bars(records):
    """Every class's first test image on both data sets (the page's 300 steps, 25 targets): BCE's decoder draws the
    pixel mean; the DFC loss's and the critic's one image each, about as sharp as the targets; the DFC loss's read
    as their class."""
    for dataset, record in records.items():
        rows = [r for r in record.meta["optima"] if r["max_shift"] == 2 and r["first_of_class"]]
        assert len(rows) == 10
        assert all(r["bce_largest_gap_to_mean"] < 0.01 for r in rows), dataset
        if dataset == "mnist":
            assert sum(r["read_as_class"]["dfc"] >= 0.9 for r in rows) >= 9
        for r in rows:  # as sure as the classifier is of the targets themselves (Fashion-MNIST's coat and shirt)
            assert r["read_as_class"]["dfc"] >= min(0.9, r["targets_read_as_class"]), (dataset, r["index"])
        for r in rows:
            lv = r["laplacian_variance"]
            sharpness = {loss: lv[loss] / r["targets_laplacian_variance"] for loss in lesson.OPTIMA}
            assert all(0.5 <= sharpness[loss] <= 2.0 for loss in ("dfc", "critic")), (dataset, r["index"], sharpness)
            assert sharpness["bce"] < 0.1, (dataset, r["index"], sharpness)


def test_a_record_of_other_checkpoints_is_not_used(records, tmp_path):
    record = records["mnist"]
    record.meta = record.meta | {"inputs": {"dfc": {"model": {"file": "dfc.safetensors", "sha256": "0" * 64}}}}
    lesson_record.write(record, tmp_path)
    assert lesson_record.read("mnist", tmp_path) is not None and lesson_record.load("mnist", tmp_path) is None


def test_an_unknown_docs_block_is_named():
    with pytest.raises(ValueError, match="unknown figures block 'nonsense'"):
        doc_blocks.render_docs("<!-- figures:nonsense -->\nold\n<!-- /figures -->", {"lesson:verdicts": ""})
    inside_a_list = "1. Item:\n   <!-- figures:summary -->\n   old\n   <!-- /figures -->\n   more\n"
    assert doc_blocks.render_docs(inside_a_list, {"summary": "new\ntwo"}) == (
        "1. Item:\n   <!-- figures:summary -->\n   new\n   two\n   <!-- /figures -->\n   more\n")


def test_every_shipped_vae_ships_its_analysis_and_it_is_what_the_analysis_computes_now(full_data, monkeypatch,
                                                                                      tmp_path):
    """A new server reads the shipped VAEs' analyses instead of computing them for minutes: each one must be there
    under its model's current key, agree with the model card's record, and (checked on one model) be what the
    analysis computes today."""
    from vae_lab import checkpoints, scorecard
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "empty-cache"))
    for dataset in DATASETS:
        rows = {row["name"]: row for row in model_record.read(dataset, lesson_record.RECORD_DIR)["rows"]}
        for ckpt in model_record.shipped_vaes(dataset):
            assert scorecard.is_cached(ckpt), (f"{ckpt.name}'s analysis does not ship: run `vae-lab evaluate "
                                               f"--record {dataset}`")
            shipped = scorecard.analyse(ckpt)
            assert shipped.scorecard == {key: rows[ckpt.name][key] for key in shipped.scorecard}
    assert not (tmp_path / "empty-cache").exists(), "read from the package, nothing computed"
    plain = checkpoints.shipped("plain")
    shipped, now = scorecard.analyse(plain), scorecard.analyse(plain, use_cache=False)
    for key, value in shipped.scorecard.items():
        assert now.scorecard[key] == pytest.approx(value, rel=1e-3, abs=1e-6), key
    for key, values in shipped.per_image.items():
        assert np.allclose(now.per_image[key], values, rtol=1e-3, atol=1e-4), key


def test_a_server_without_the_data_sets_reads_every_shipped_vaes_analysis_on_the_sample(monkeypatch, tmp_path):
    """A Space or a laptop without `vae-lab fetch-data` shows each data set's embedded sample: the shipped VAEs'
    analyses of it ship too, so Models, Samples and Blur analysis open at once there, and they are what the
    analysis computes now (checked on one model)."""
    from vae_lab import checkpoints, scorecard
    from vae_lab.datasets import WITH_MODELS
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "empty-cache"))
    for dataset in (d.name for d in WITH_MODELS):
        for ckpt in model_record.shipped_vaes(dataset):
            assert scorecard.is_cached(ckpt), (f"{ckpt.name}'s analysis of the sample does not ship: run `vae-lab "
                                               f"evaluate --record {dataset}`")
            assert len(scorecard.analyse(ckpt).per_image["bce"]) == len(data.load_sample(dataset))
    assert not (tmp_path / "empty-cache").exists(), "read from the package, nothing computed"
    plain = checkpoints.shipped("emoji-plain")
    shipped, now = scorecard.analyse(plain), scorecard.analyse(plain, use_cache=False)
    for key, value in shipped.scorecard.items():
        assert now.scorecard[key] == pytest.approx(value, rel=1e-3, abs=1e-6), key


def test_a_record_stores_its_optima_as_the_8_bit_pixels_its_figures_were_computed_from(tmp_path):
    image = torch.rand(3, 64, 64)
    record = lesson_record.Record({"dataset": "emoji"}, {"key:dfc": lesson_record.eight_bit(image)})
    lesson_record.write(record, tmp_path)
    _, images_path = lesson_record.paths("emoji", tmp_path)
    assert images_path.stat().st_size < 3 * 64 * 64 + 1000, "one byte a pixel"
    assert torch.equal(lesson_record.read("emoji", tmp_path).images["key:dfc"], lesson_record.eight_bit(image))
