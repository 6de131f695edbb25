"""A hostile visitor of the public demo: what one stranger sends must never change what another sees, and no
input leaves a page broken. Each test replays one attack that once worked (crafted links, uploads and names,
faults in the job and cache folders) on a small copy of the test set, so the pages' analyses take seconds."""
import io
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
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import REPO
from vae_lab import checkpoints, public, scorecard, workspace
from conftest import workspace_at
from vae_lab.models import VAE, Classifier

TEST_IMAGES = 300
ALICE, BOB = "a1" * 16, "b2" * 16


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """The first TEST_IMAGES test images and labels of MNIST and Fashion-MNIST (from the data root, else the
    embedded sample), as a data root of their own."""
    from vae_lab.data import test_split
    from vae_lab.datasets import SHIPPED
    root = tmp_path_factory.mktemp("small-data")
    for dataset, folder in ((d.name, d.folder) for d in SHIPPED):
        split = test_split(dataset).subset(TEST_IMAGES)
        raw = root / folder / "raw"
        raw.mkdir(parents=True)
        for prefix in ("t10k", "train"):  # the same images as a training split: the training form then shows
            (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, TEST_IMAGES, 28, 28) +
                                                              split.images.numpy().tobytes())
            (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, TEST_IMAGES) +
                                                              split.labels.numpy().astype(np.uint8).tobytes())
    return root


@pytest.fixture
def demo(monkeypatch, tmp_path, small_data):
    """Public mode on fresh folders (checkpoints, jobs, cache) and the small test set; errors shown in full."""
    for name, value in {"VAE_LAB_PUBLIC": "1", "VAE_LAB_CHECKPOINTS": str(tmp_path / "checkpoints"),
                        "VAE_LAB_JOBS": str(tmp_path / "jobs"), "VAE_LAB_CACHE": str(tmp_path / "cache"),
                        "VAE_LAB_DATA": str(small_data)}.items():
        monkeypatch.setenv(name, value)
    streamlit.config.set_option("client.showErrorDetails", "full")
    from vae_lab.app import resources
    resources.clear_caches()  # the server-wide caches outlive an AppTest: each test is a fresh server
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
    checkpoints.save(workspace.Workspace.from_env().for_visitor(visitor).own_models, name, meta=meta,
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
    rows = alice_models.dataframe[0].value
    assert rows.loc[rows["Model"] == "dfc", "Read correctly (%)"].item() == pytest.approx(100 * truth["accuracy"])


def test_a_visitor_cannot_name_a_model_after_a_shipped_one(demo):
    at = ok(visit(ALICE))
    at.sidebar.selectbox(key="train_kind").set_value("plain").run()
    at.sidebar.text_input(key="train_name_plain").set_value("classifier").run()
    assert any("name of a shipped model" in e.value for e in ok(at).sidebar.error)
    assert not [b for b in at.sidebar.button if b.key == "train_start"]


# --- 2. one corrupt job status.json takes the app down for everyone -----------------------------------------

def test_a_corrupt_job_status_is_skipped_and_swept_and_every_page_keeps_working(demo):
    from vae_lab.app import visitors
    jobs = demo / "jobs"
    for name in ("20260101-000000-broken", "20260101-000001-broken"):
        (jobs / name).mkdir(parents=True)
    (jobs / "20260101-000000-broken" / "status.json").write_text("{garbage")
    visitors._last_sweep[0] = 0.0  # a restarted server sweeps at its first visit
    ok(visit(ALICE))
    assert not (jobs / "20260101-000000-broken").exists(), "the sweep removes a job it cannot read"
    (jobs / "20260101-000001-broken" / "status.json").write_text('["not", "a", "status"]')  # after the sweep
    at = ok(visit(BOB))
    assert at.sidebar.button(key="train_start"), "the training panel still offers a new job"


# --- 4. the disk quota counts the jobs folder -----------------------------------------------------------------

def test_the_disk_cap_counts_each_visitors_jobs(tmp_path):
    root, jobs = tmp_path / "ck", tmp_path / "jobs"
    for visitor, age_h in ((ALICE, 3), (BOB, 1)):
        folder = workspace_at(tmp_path, visitor=visitor).own_models
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
    assert (jobs / "job-b2").is_dir() and workspace_at(tmp_path, visitor=BOB).own_models.is_dir()


# --- 3. a reload loses the visitor's work (the browser test reloads; here, the id itself) ------------------

def test_a_visitor_id_is_random_and_a_crafted_cookie_is_not_taken(tmp_path):
    ids = {public.new_visitor_id() for _ in range(100)}
    assert len(ids) == 100 and all(public.is_visitor_id(i) for i in ids)
    for crafted in ("", "../../etc", "a" * 16, "A" * 32, "a" * 31 + "g", None, 42):
        assert not public.is_visitor_id(crafted), crafted


# --- 5, 6. uploads: a text-chunk bomb, many pixels in a small file, many files ------------------------------

def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def stroke(side: int = 40) -> np.ndarray:
    """A white "1" on black."""
    image = np.zeros((side, side), dtype=np.uint8)
    image[side // 8:side - side // 8, side * 9 // 20:side * 11 // 20] = 255
    return image


def with_chunk(data: bytes, kind: bytes, body: bytes, *, before: bytes) -> bytes:
    """A PNG with one more chunk, inserted before the first chunk of type `before`."""
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    at = data.index(before) - 4  # the chunk's length comes before its type
    return data[:at] + chunk + data[at:]


def text_bomb(*, before: bytes) -> bytes:
    """204 KB of compressed text that would expand to 200 MB."""
    return with_chunk(png(stroke()), b"zTXt", b"Comment\0\0" + zlib.compress(b" " * 200 * 2**20, 9), before=before)


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.sidebar.file_uploader(key="uploads").set_value([(name, data, "image/png") for name, data in files])
    return at.run()


@pytest.mark.parametrize("where", [b"IDAT", b"IEND"])  # read when the file is opened, or after its pixels
def test_a_png_text_bomb_is_refused_with_one_line_and_the_next_upload_works(demo, where):
    at = ok(visit(ALICE, params={"source": "upload"}))
    upload(ok(at), ("bomb.png", text_bomb(before=where)), ("good.png", png(stroke())))
    warnings = [w.value for w in ok(at).sidebar.warning]
    assert len(warnings) == 1 and "bomb.png" in warnings[0] and "\n" not in warnings[0], warnings
    assert "**Originals**" in [m.value for m in at.markdown], "the good file beside it is read"


def test_a_small_file_of_many_pixels_is_refused_before_it_is_decoded(demo):
    big = np.zeros((5000, 5000), dtype=np.uint8)  # 25 megapixels in a PNG of about 25 KB
    big[600:4400, 2300:2700] = 255
    at = upload(ok(visit(ALICE, params={"source": "upload"})), ("big.png", png(big)))
    warnings = [w.value for w in ok(at).sidebar.warning]
    assert len(warnings) == 1 and "5000x5000 pixels" in warnings[0], warnings


def test_each_upload_is_decoded_once_per_session_and_the_number_of_files_is_capped(demo, monkeypatch):
    from vae_lab import images
    decoded = []
    real_open = images.open_upload
    monkeypatch.setattr(images, "open_upload", lambda data, **kw: decoded.append(1) or real_open(data, **kw))
    at = upload(ok(visit(ALICE, params={"source": "upload"})),
                *[(f"digit-{i}.png", png(np.roll(stroke(), i, axis=1))) for i in range(20)])
    assert len(decoded) == images.MAX_UPLOADS
    assert [w.value for w in ok(at).sidebar.warning] == [f"20 files: only the first {images.MAX_UPLOADS} are read."]
    for page in ("latent_explorer", "interpolation", "reconstruct"):  # reruns, as a visitor moves around
        ok(at.switch_page(f"vae_lab/app/views/{page}.py").run())
    assert len(decoded) == images.MAX_UPLOADS, "a rerun reads no file again"


def test_an_upload_of_exactly_5_mib_is_accepted_and_a_larger_one_refused_in_mib(demo):
    from vae_lab.images import MAX_UPLOAD_BYTES, ImageRejected, read_upload
    good = png(stroke())
    exactly = with_chunk(good, b"tEXt", b"Comment\0" + b" " * (MAX_UPLOAD_BYTES - len(good) - 20), before=b"IEND")
    assert len(exactly) == MAX_UPLOAD_BYTES
    read_upload(exactly)
    with pytest.raises(ImageRejected, match=r"5\.0 MiB; the limit is 5 MiB"):
        read_upload(exactly + b"\0")
    at = ok(visit(ALICE, params={"source": "upload"}))
    limit_mb = at.sidebar.file_uploader(key="uploads").proto.max_upload_size_mb
    assert limit_mb * 10**6 >= MAX_UPLOAD_BYTES, "the browser counts megabytes of 10^6 bytes"


# --- 7, 8. crafted links and inputs ----------------------------------------------------------------------------

@pytest.mark.parametrize("page, params", [
    ("reconstruct", {"source": "index", "indices": "²"}),
    ("reconstruct", {"source": "index", "indices": "9" * 5000}),
    ("reconstruct", {"source": "index", "indices": ",".join(map(str, range(600)))}),
    ("samples", {"models-mnist": "dfc,dfc"}),
    ("samples", {"models-mnist": ",".join(["dfc"] * 300)}),
    ("latent_explorer", {"pad_z": "nan,0,0,0,0"}),
    ("latent_explorer", {"pad_z": "inf,0,0,0,0"}),
    ("latent_explorer", {"pad_z": "1e309,0,0,0,0"}),
])
def test_a_crafted_link_leaves_the_page_working(demo, page, params):
    at = ok(visit(ALICE, page, params))
    assert not at.error, [e.value for e in at.error]
    if "indices" in params:
        digits = [c.value for c in at.caption if c.value.startswith("#")]
        assert len(digits) <= 16, "at most a row of 16 digits, however many the link asks for"
    if "pad_z" in params:
        assert "pad_z" not in at.session_state, "the pad starts from its default point"
        assert any("latent point" in t.value for t in at.toast)
    if "models-mnist" in params:
        assert len(at.sidebar.multiselect(key="models-mnist").value) == len(set(
            at.sidebar.multiselect(key="models-mnist").value))


def test_typed_indices_are_bounded_like_a_links(demo):
    at = ok(visit(ALICE, params={"source": "index"}))
    at.sidebar.text_input(key="indices").set_value(", ".join(["3"] * 40 + ["١٢", "7"])).run()
    assert [c.value.split(" ")[0] for c in ok(at).caption if c.value.startswith("#")] == ["#3", "#7"]


@pytest.mark.parametrize("value", ["![t](http://example.invalid/t.png)", "[Click to log in](http://example.invalid)",
                                   ":red[The demo is closed]"])
def test_a_links_value_is_shown_as_code_never_rendered(demo, value):
    at = ok(visit(ALICE, params={"dataset": value, "source": "index", "indices": f"{value}, 0"}))
    assert [t.value for t in at.toast] == [f"The link's data set (`{value}`) is not available here, so the default "
                                           f"is shown."]
    warnings = [w.value for w in at.sidebar.warning]
    assert any(w.startswith(f"Ignored `{value}`") for w in warnings), warnings


def test_an_uploads_name_is_shown_as_code(demo):
    at = upload(ok(visit(ALICE, params={"source": "upload"})), ("![x](http://example.invalid/x.png).png", b"junk"))
    assert [w.value for w in ok(at).sidebar.warning] == ["`![x](http://example.invalid/x.png).png` is not an image "
                                                         "(PNG or JPEG expected)."]


# --- 9. Resume while another visitor trains -----------------------------------------------------------------

def job_folder(jobs: Path, name: str, **status) -> Path:
    folder = jobs / name
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"id": name, "name": "mine", "kind": "plain"} | status))
    return folder


def test_resume_while_another_visitor_trains_says_the_server_is_busy(demo):
    failed = job_folder(demo / "jobs", "20260101-000000-mine", state="failed", owner=ALICE, message="it broke")
    (failed / "checkpoint").mkdir()
    shutil.copyfile(checkpoints.find("plain").json_path, failed / "checkpoint" / "mine.json")  # its last good epoch
    job_folder(demo / "jobs", "20260101-000001-theirs", state="running", owner=BOB, pid=os.getpid())  # alive
    at = ok(visit(ALICE))
    at.sidebar.button(key="train_resume").click().run()
    assert any("busy training another visitor's model" in e.value for e in ok(at).error), [e.value for e in at.error]


# --- 10. checkpoint errors reach the visitor, one line per unusable model --------------------------------------

def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_visitors_broken_checkpoints_are_named_in_one_line_each_and_the_others_work(demo):
    visitors_model(ALICE, "broken", checkpoints.load("plain"), like="plain")
    folder = workspace.Workspace.from_env().for_visitor(ALICE).own_models
    truncate(folder / "broken.safetensors")
    (folder / "garbled.json").write_text("{not json")
    for page in ("reconstruct", "latent_explorer"):
        at = ok(visit(ALICE, page, {"models-mnist": "broken,dfc"}))
        errors = [e.value for e in at.sidebar.error]
        assert len(errors) == 2 and "`broken`" in errors[0] + errors[1] and "`garbled`" in errors[0] + errors[1]
        assert not any(ALICE in e or str(folder) in e for e in errors), "no server folder, no visitor id"
        assert not at.main.error, [e.value for e in at.main.error]
    assert any(m.value.startswith("**dfc: mean BCE") for m in visit(ALICE, params={"models-mnist": "broken,dfc"}
                                                                    ).markdown)


def test_a_truncated_shipped_checkpoint_is_one_line_for_everyone_and_the_others_work(demo, monkeypatch):
    shipped = demo / "shipped"
    shipped.mkdir()
    for path in workspace.SHIPPED_DIR.glob("*"):
        if path.name.startswith(("classifier.", "plain.", "dfc.")):
            shutil.copyfile(path, shipped / path.name)
    truncate(shipped / "dfc.safetensors")
    monkeypatch.setattr(workspace, "SHIPPED_DIR", shipped)
    for page in ("reconstruct", "latent_explorer", "samples", "models"):
        at = ok(visit(BOB, page))
        assert [e.value for e in at.sidebar.error] == ["Model `dfc` cannot be used."], page
        assert len(at.main.error) == (page == "models"), (page, [e.value for e in at.main.error])
    assert any(m.value.startswith("**plain: mean BCE") for m in visit(BOB).markdown)


# --- 11. cache faults -----------------------------------------------------------------------------------------

def test_a_garbage_cache_entry_is_recomputed_and_repaired_and_every_page_works(demo):
    plain = checkpoints.find("plain")
    truth = scorecard.analyse(plain).scorecard
    entry = scorecard.cache_stem(plain, 0, workspace.Workspace.from_env()).with_suffix(".json")
    entry.write_text("{garbage")
    for page in ("samples", "blur_analysis", "models"):
        ok(visit(BOB, page, {"models-mnist": "plain"}))
        assert not visit(BOB, page, {"models-mnist": "plain"}).main.error
    assert json.loads(entry.read_text())["scorecard"] == pytest.approx(truth), "the entry is written again"


def test_an_unwritable_cache_is_memory_only_with_one_log_line(demo, monkeypatch, caplog):
    (demo / "a-file").write_text("")
    monkeypatch.setenv("VAE_LAB_CACHE", str(demo / "a-file" / "cache"))  # cannot be created, even by root
    plain = checkpoints.find("plain")
    first = scorecard.analyse(plain, limit=64)
    second = scorecard.analyse(plain, limit=64)
    assert first.scorecard == pytest.approx(second.scorecard)
    assert len([r for r in caplog.records if "cannot be written" in r.getMessage()]) == 1
    at = ok(visit(BOB, "samples", {"models-mnist": "plain"}))
    assert not at.main.error and any("confident" in c.value for c in at.caption)


# --- 12. jobs that end on their own are reaped ------------------------------------------------------------------

def process_state(pid: int) -> str:
    """The process's state letter (Z: a zombie), or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_a_job_that_ends_on_its_own_leaves_no_zombie(tmp_path, tiny_config, tiny_checkpoints):
    from vae_lab.jobs import JobManager
    from test_jobs import wait
    manager = JobManager(workspace_at(tmp_path, visitor=ALICE), owner=ALICE,
                         limits=public.PublicSettings().job_limits())
    status = manager.start(tiny_config(kind="classifier", name="reaped", epochs=1))
    assert wait(manager, status.id).state == "succeeded"
    deadline = time.time() + 30
    while process_state(status.pid) and time.time() < deadline:
        manager.jobs()  # what the training panel reads on every run
        time.sleep(0.2)
    assert process_state(status.pid) == "", f"the job's process is still there ({process_state(status.pid)})"


# --- 13. small leaks and wording ------------------------------------------------------------------------------

def test_a_capped_jobs_message_names_the_step_it_stopped_at_and_no_server_folder(tmp_path, tiny_config,
                                                                                  tiny_checkpoints):
    from vae_lab.jobs import JobManager
    from test_jobs import wait
    manager = JobManager(workspace_at(tmp_path, visitor=ALICE), owner=ALICE,
                         limits=public.PublicSettings().job_limits())
    publish_to = manager.publish_to
    # batches of 2: 10,000 steps an epoch, far more than any machine takes in the cap's 3 s
    config = tiny_config(kind="plain", name="capped", epochs=2, train_limit=20_000, batch_size=2, max_minutes=0.05)
    done = wait(manager, manager.start(config).id)
    step = checkpoints.read(done.checkpoint).meta["training"]["step"]
    assert done.state == "succeeded" and step < 10_000, "the cap cut the first epoch short"
    assert (publish_to / "capped.json").is_file(), "and the model as it was then is published"
    assert done.message == (f"saved as 'capped' (stopped at the 0.05-minute cap in epoch 1 of 2, at step {step:,} "
                            f"of 20,000; the model as it was then is saved)")
    assert str(tmp_path) not in done.message and ALICE not in done.message


# --- 14. foreign files in the state folders (a volume that outlives the container holds anything) -------------

def test_foreign_files_in_the_state_folders_are_skipped_and_every_page_keeps_working(demo, caplog):
    """Whatever else a persistent volume holds (an operator's notes, a half-copied folder, another program's
    files) is skipped, never fatal: the sweep, the job list, the model picker and the analyses all go on."""
    from vae_lab.app import visitors
    jobs, models, cache = demo / "jobs", demo / "checkpoints", demo / "cache"
    for folder in (jobs / "stray-folder", models / "visitors" / "not-a-visitor", cache):
        folder.mkdir(parents=True, exist_ok=True)
    (jobs / "notes.txt").write_text("backup on Monday")
    (jobs / "20260101-000000-job" / "status.json").parent.mkdir()
    (jobs / "20260101-000000-job" / "status.json").write_bytes(b"\x00\xff" * 10)
    (models / "visitors" / "README").write_text("not a folder")
    (models / "visitors" / ALICE).mkdir(parents=True)
    (models / "visitors" / ALICE / "foreign.json").write_text('{"something": "else"}')
    (models / "visitors" / ALICE / "empty.safetensors").write_bytes(b"")
    (cache / "foreign.json").write_text("[]")
    (cache / "plain-000000000000000000000000.safetensors").write_bytes(b"garbage")
    visitors._last_sweep[0] = 0.0  # a restarted server sweeps at its first visit
    for page in ("reconstruct", "models", "blur_analysis"):
        at = ok(visit(ALICE, page))
        assert not at.error or all("cannot be used" in e.value for e in at.error), [e.value for e in at.error]
    assert (jobs / "notes.txt").exists() and (models / "visitors" / "README").exists(), "not ours to remove"


# --- 11. a visitor's own images -------------------------------------------------------------------------------

def test_a_visitors_zip_is_their_own_data_set_to_train_on_and_no_other_visitor_sees_it(demo):
    from test_jobs import wait
    from test_zip_data import colours_zip
    from vae_lab import datasets
    from vae_lab.jobs import JobError, JobManager
    from vae_lab.config import TrainConfig
    mine = f"colours-{ALICE[:8]}"
    try:
        at = ok(visit(ALICE))
        at.sidebar.toggle(key="own_images").set_value(True).run()
        at.sidebar.file_uploader(key="own_images_zip").set_value([("my photos.zip", colours_zip(), "application/zip")])
        at.sidebar.text_input(key="own_images_name").set_value("colours")
        at.sidebar.radio(key="own_images_size").set_value(32).run()
        ok(at.sidebar.button(key="own_images_add").click().run())
        assert at.sidebar.selectbox(key="train_dataset").value == mine, "the panel trains on it next"
        assert any("Added **colours**" in s.value for s in at.sidebar.success), [s.value for s in at.sidebar.success]
        assert (workspace.Workspace.from_env().for_visitor(ALICE).own_data / mine / "dataset.json").is_file()
        at.sidebar.selectbox(key="train_kind").set_value("plain").run()
        at.sidebar.text_input(key="train_name_plain").set_value("on-my-photos").run()
        ok(at.sidebar.button(key="train_start").click().run())
        alice_jobs = JobManager(workspace.Workspace.from_env().for_visitor(ALICE), owner=ALICE)
        job = alice_jobs.latest().id
        assert wait(alice_jobs, job).state == "succeeded", alice_jobs.log_tail(job)
        trained = checkpoints.find("on-my-photos", workspace=workspace.Workspace.from_env().for_visitor(ALICE))
        assert trained.dataset == mine and checkpoints.load(trained).image_shape == (3, 32, 32)
        at.run()
        assert at.sidebar.radio(key="dataset").value == mine, "her model is on her data set, chosen in her picker"
        # the lesson's models ship for the shipped data sets only: the landing page says so, naming no folder
        ok(at.switch_page("vae_lab/app/views/why_blurry.py").run())
        assert not at.main.error, [e.value for e in at.main.error]
        assert any("choose one of those data sets" in i.value and "MNIST" in i.value for i in at.main.info)

        bob = ok(visit(BOB, params={"dataset": mine}))
        assert "colours" not in bob.sidebar.selectbox(key="train_dataset").options  # (the options as labelled)
        picker = bob.sidebar.radio(key="dataset")
        assert "colours" not in picker.options and picker.value == "mnist"
        with pytest.raises(JobError, match="not yours to train on"):
            JobManager(workspace.Workspace.from_env().for_visitor(BOB), owner=BOB).start(
                TrainConfig(kind="plain", dataset=mine, name="theirs", device="cpu", epochs=1))
        assert datasets.get(mine).owner == ALICE
    finally:
        datasets.unregister(mine)  # the registry is the process's: the next test's server starts without it
