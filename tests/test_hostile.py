"""A hostile visitor of the public demo: what one stranger sends must never change what another sees, and no
input leaves a page broken. Each test replays one attack that once worked (crafted links, uploads and names,
faults in the job and cache folders) on a small copy of the test set, so the pages' analyses take seconds."""
import json
import os
import shutil
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import streamlit.config
from streamlit.testing.v1 import AppTest

from conftest import REPO
from vae_lab import checkpoints, public, scorecard
from vae_lab.models import VAE, Classifier

TEST_IMAGES = 300
ALICE, BOB = "a1" * 16, "b2" * 16


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """The first TEST_IMAGES test images and labels of MNIST and Fashion-MNIST, in the data root's layout."""
    root = tmp_path_factory.mktemp("small-data")
    for folder in ("MNIST", "FashionMNIST"):
        source, raw = Path(os.environ["VAE_LAB_DATA"]) / folder / "raw", root / folder / "raw"
        raw.mkdir(parents=True)
        images = (source / "t10k-images-idx3-ubyte").read_bytes()
        labels = (source / "t10k-labels-idx1-ubyte").read_bytes()
        (raw / "t10k-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, TEST_IMAGES, 28, 28) +
                                                     images[16:16 + TEST_IMAGES * 784])
        (raw / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, TEST_IMAGES) +
                                                     labels[8:8 + TEST_IMAGES])
    return root


@pytest.fixture
def demo(monkeypatch, tmp_path, small_data):
    """Public mode on fresh folders (checkpoints, jobs, cache) and the small test set; errors shown in full."""
    for name, value in {"VAE_LAB_PUBLIC": "1", "VAE_LAB_CHECKPOINTS": str(tmp_path / "checkpoints"),
                        "VAE_LAB_JOBS": str(tmp_path / "jobs"), "VAE_LAB_CACHE": str(tmp_path / "cache"),
                        "VAE_LAB_DATA": str(small_data)}.items():
        monkeypatch.setenv(name, value)
    streamlit.config.set_option("client.showErrorDetails", "full")
    from vae_lab.app import ui
    ui.clear_caches()  # the server-wide caches outlive an AppTest: each test is a fresh server
    return tmp_path


def visit(visitor: str, page: str = "reconstruct", params: dict[str, str] | None = None) -> AppTest:
    """One visitor's browser session opened on `page`, with a link's query parameters."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.session_state["visitor"] = visitor
    at.query_params.update(params or {})
    at.switch_page(f"vae_lab/app/views/{page}.py")
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def visitors_model(visitor: str, name: str, module, like: str) -> None:
    """A model in the visitor's own folder, described like the shipped checkpoint `like`."""
    shipped = checkpoints.find(like)
    meta = {k: v for k, v in shipped.meta.items() if k not in ("files", "format")}
    checkpoints.save(public.visitor_dir(checkpoints.user_root(), visitor), name, meta=meta,
                     modules={"model": module})


# --- 1. one visitor's model changes every visitor's numbers -------------------------------------------------

def test_a_visitors_classifier_named_like_the_judge_changes_no_one_elses_numbers(demo):
    truth = scorecard.analyse(checkpoints.find("dfc")).scorecard  # judged by the shipped classifier
    visitors_model(ALICE, "classifier", Classifier(), like="classifier")  # untrained: reads at chance
    visitors_model(ALICE, "plain", VAE(latent_dim=5), like="plain")
    alice = ok(visit(ALICE, "samples", {"models-mnist": "dfc,plain"}))
    assert "plain VAE: plain" in alice.sidebar.multiselect(key="models-mnist").options
    bob = ok(visit(BOB, "samples", {"models-mnist": "dfc"}))
    expected = f"**{100 * truth['confident_samples']:.1f}%** confident"
    for at in (alice, bob):
        assert any(expected in c.value for c in at.caption), [c.value for c in at.caption]
    alice_models = ok(visit(ALICE, "models"))
    shipped_plain = checkpoints.find("plain").sha256
    assert checkpoints.find("plain").json_path.parent == checkpoints.SHIPPED_DIR and shipped_plain
    rows = alice_models.dataframe[0].value
    assert rows.loc[rows["name"] == "dfc", "accuracy"].item() == pytest.approx(truth["accuracy"])


def test_a_visitor_cannot_name_a_model_after_a_shipped_one(demo):
    at = ok(visit(ALICE))
    at.sidebar.selectbox(key="train_kind").set_value("plain").run()
    at.sidebar.text_input(key="train_name_plain").set_value("classifier").run()
    assert any("name of a shipped model" in e.value for e in ok(at).sidebar.error)
    assert not [b for b in at.sidebar.button if b.key == "train_start"]


# --- 2. one corrupt job status.json takes the app down for everyone -----------------------------------------

def test_a_corrupt_job_status_is_skipped_and_swept_and_every_page_keeps_working(demo):
    from vae_lab.app import ui
    jobs = demo / "jobs"
    for name in ("20260101-000000-broken", "20260101-000001-broken"):
        (jobs / name).mkdir(parents=True)
    (jobs / "20260101-000000-broken" / "status.json").write_text("{garbage")
    ui._last_sweep[0] = 0.0  # a restarted server sweeps at its first visit
    ok(visit(ALICE))
    assert not (jobs / "20260101-000000-broken").exists(), "the sweep removes a job it cannot read"
    (jobs / "20260101-000001-broken" / "status.json").write_text('["not", "a", "status"]')  # after the sweep
    at = ok(visit(BOB))
    assert at.sidebar.button(key="train_start"), "the training panel still offers a new job"


# --- 4. the disk quota counts the jobs folder -----------------------------------------------------------------

def test_the_disk_cap_counts_each_visitors_jobs(tmp_path):
    root, jobs = tmp_path / "ck", tmp_path / "jobs"
    for visitor, age_h in ((ALICE, 3), (BOB, 1)):
        folder = public.visitor_dir(root, visitor)
        folder.mkdir(parents=True)
        (folder / "m.safetensors").write_bytes(b"x" * 1000)
        job = jobs / f"job-{visitor[:2]}"
        (job / "checkpoint").mkdir(parents=True)
        (job / "checkpoint" / "m.train-state.safetensors").write_bytes(b"x" * 700_000)  # the optimiser's state
        (job / "status.json").write_text(json.dumps({"id": job.name, "state": "succeeded", "name": "m",
                                                     "kind": "plain", "owner": visitor}))
        then = time.time() - 3600 * age_h
        for path in (*folder.rglob("*"), folder, *job.rglob("*"), job):
            os.utime(path, (then, then))
    removed = public.sweep(root, jobs, public.PublicSettings(keep_hours=24, disk_mb=1.0))
    assert sorted(p.name for p in removed) == sorted([ALICE, "job-a1"]), "the older visitor's models and jobs"
    assert (jobs / "job-b2").is_dir() and public.visitor_dir(root, BOB).is_dir()


# --- 3. a reload loses the visitor's work (the browser test reloads; here, the id itself) ------------------

def test_a_visitor_id_is_random_and_a_crafted_cookie_is_not_taken(tmp_path):
    ids = {public.new_visitor_id() for _ in range(100)}
    assert len(ids) == 100 and all(public.is_visitor_id(i) for i in ids)
    for crafted in ("", "../../etc", "a" * 16, "A" * 32, "a" * 31 + "g", None, 42):
        assert not public.is_visitor_id(crafted), crafted
