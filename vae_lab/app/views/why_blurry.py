"""Why blurry? The landing page: the three families side by side, then why, in four steps. Every sentence
quotes what is on the screen: the chosen image, change, amount, layers and model."""
import numpy as np
import streamlit as st
import torch

from vae_lab import kinds, lesson, transforms
from vae_lab.app import links, resources, ui
from vae_lab.checkpoints import CheckpointError
from vae_lab import datasets
from vae_lab.datasets import noun
from vae_lab.figures import feature_rows, heat_map, signed_map
from vae_lab.images import enlarge, image_grid
from vae_lab.metrics import laplacian_variance

NOISE_PROBE = 0.2  # the Gaussian noise that shows what the Laplacian variance misses
POSTERIOR_SAMPLES = 6

# The two charts, drawn once per view for all visitors: matplotlib took a quarter of the server's time per warm view


def reading(judge, images: torch.Tensor, class_names: list[str]) -> list[tuple[str, float]]:
    """What the data set's classifier reads in each image, and how sure it is."""
    if judge is None:
        return [("?", float("nan"))] * len(images)
    with torch.no_grad():
        p = judge(images).softmax(dim=1)
    confidence, label = p.max(dim=1)
    return [(class_names[int(k)], float(c)) for k, c in zip(label, confidence)]


def side_by_side(chosen, x: torch.Tensor, item: str, judge) -> dict[str, torch.Tensor]:
    st.subheader(f"The same {item}, three kinds of VAE")
    with torch.no_grad():
        reconstructions = {m: resources.model(m).reconstruct(x) for m in chosen.models}
    read = dict(zip(chosen.models, reading(judge, torch.cat(list(reconstructions.values())), chosen.class_names)))
    columns = st.columns(len(chosen.models) + 1)
    columns[0].image(enlarge(x[0]), caption=f"the original (Laplacian variance "
                                               f"{float(laplacian_variance(x)[0]):.3f})", width="stretch")
    for column, (name, image) in zip(columns[1:], reconstructions.items()):
        label, confidence = read[name]
        bce = float(lesson.pixel_bce(x, image)[0])
        column.image(enlarge(image[0]), width="stretch",
                     caption=f"{ui.model_label(name, chosen.kinds[name])}. BCE {bce:.1f} nats, Laplacian variance "
                             f"{float(laplacian_variance(image)[0]):.3f}, read as {label} ({confidence:.0%})")
    st.caption("BCE: the plain VAE's pixel-wise loss, lower is closer pixel by pixel. Laplacian variance: how much "
               "the image changes from one pixel to the next, higher is sharper. The classifier's reading says "
               "whether the sharpness still draws the right class. Why the pixel-wise loss draws the blurriest "
               "one: below.")
    return reconstructions


def one_change(x: torch.Tensor, judges: lesson.Judges, item: str, chosen) -> None:
    st.subheader("1. One small change: what each loss charges")
    st.caption(f"Change the {item} a little and ask each loss how far the result is from the original. Each curve is "
               f"divided by what the same loss charges for a 2-pixel shift to the right, so 1 means \"as bad as that "
               f"shift\" for every loss.")
    controls, pictures = st.columns([1, 2])
    with controls:
        offered = list(transforms.TRANSFORMS)
        transform = links.widget(st.selectbox, "Change", offered, format_func=lambda k: transforms.TRANSFORMS[k].label,
                                 index=offered.index("blur"), key="why_transform", options=offered, what="change")
        t = transforms.TRANSFORMS[transform]
        amount_key = f"why_amount_{transform}"
        amount = links.widget(st.slider, f"Amount ({t.unit})", float(t.low), float(t.high), float(t.high),
                              float(t.step), key=amount_key, parse=float, options=set(t.amounts.tolist()),
                              what="amount")
        each_layer = links.widget(st.toggle, "Show each layer's curve", value=False, key="why_each_layer",
                                  parse=links.flag)
    changed = transforms.apply(x, transform, amount, background=datasets.get(chosen.dataset).background)
    with pictures:
        shown = [("the original", enlarge(x[0])), (f"{t.label}: {amount:g}", enlarge(changed[0])),
                 ("pixel difference (red brighter)", signed_map((changed - x)[0, 0].numpy(), limit=1.0)),
                 (f"Laplacian (variance {laplacian_variance(changed)[0]:.3f})",
                  signed_map(lesson.laplacian_map(changed[0])))]
        for column, (caption, picture) in zip(st.columns(4), shown):
            column.image(picture, caption=caption, width="stretch")
    curves = lesson.curves(x, transform, judges)
    keys = [k for k in curves.raw if each_layer or ":" not in k]
    st.image(resources.loss_curves(curves.amounts, {k: curves.normalised[k] for k in keys},
                         {k: lesson.loss_label(k) for k in keys}, x_title=f"{t.label} ({t.unit})", at=amount,
                         reference="a 2-pixel shift"), width="stretch",
             caption=f"Each loss over {t.label} ({t.unit}), in 2-pixel shifts: "
                     + ", ".join(lesson.loss_label(k) for k in keys) + f"; the line marks {amount:g}.")
    at = int(np.argmin(np.abs(curves.amounts - amount)))
    cost = {k: float(curves.normalised[k][at]) for k in ("bce", "dfc", "critic")}
    st.markdown(f"For this {item}, **{t.label} by {amount:g}** ({t.unit}) costs **{cost['bce']:.2f}** 2-pixel shifts "
                f"under BCE, **{cost['dfc']:.2f}** under the DFC loss and **{cost['critic']:.2f}** under the "
                f"critic's. " + _compare(cost))
    if 0 in curves.amounts:
        unchanged = float(curves.normalised["bce"][int(np.argmin(np.abs(curves.amounts)))])
        st.caption(f"BCE is not 0 even for the unchanged {item} ({unchanged:.2f} of a shift here): the original's "
                   f"grey pixels keep their entropy, since BCE compares each pixel with a coin of that brightness.")
    if not chosen.data_error:
        _over_many(resources.lesson_verdicts(chosen.dataset))


def _compare(cost: dict[str, float]) -> str:
    cheaper = [name for key, name in (("dfc", "the DFC loss"), ("critic", "the critic's")) if cost[key] < cost["bce"]]
    if not cheaper:
        return "Both perceptual losses charge this change more than BCE does, measured in shifts."
    return f"Here {' and '.join(cheaper)} charge{'s' * (len(cheaper) == 1)} it less than BCE does, measured in shifts."


def _over_many(summary: dict[str, lesson.Verdict]) -> None:
    n = summary["bce"].images
    say = {k: f"{summary[k].images - summary[k].blur_cheaper:,} of {n:,} (median {summary[k].median_ratio:.2f} of a "
              f"shift)" for k in ("bce", "dfc", "critic")}
    pixel_prefers_blur = summary["bce"].blur_cheaper > n / 2
    perceptual_prefer_shift = all(summary[k].blur_cheaper < n / 2 for k in ("dfc", "critic"))
    verdict = ("The pixel-wise loss prefers the blur; the shipped perceptual losses prefer the shift."
               if pixel_prefers_blur and perceptual_prefer_shift else
               "On these images the losses do not split into pixel-wise against perceptual.")
    st.markdown(f"Over the first {n:,} test images, a strong blur (sigma 2) costs more than the 2-pixel shift under "
                f"BCE for {say['bce']}, under the DFC loss for {say['dfc']}, and under the critic's for "
                f"{say['critic']}. {verdict}")


def why_ambiguous(x: torch.Tensor, chosen, item: str) -> None:
    st.subheader("2. Why a VAE's code is unsure")
    plain = next((m for m in chosen.models if chosen.kinds[m] == kinds.PLAIN.name), None)
    if plain is None:
        st.info("Choose a plain VAE in the sidebar to see its code of this image.")
        return
    vae = resources.model(plain)
    with torch.no_grad():
        posterior = vae.encode(x)
        sigma = (0.5 * posterior.logvar).exp()[0]
        generator = torch.Generator().manual_seed(0)
        codes = posterior.mu + sigma * torch.randn(POSTERIOR_SAMPLES, sigma.numel(), generator=generator)
        decoded = vae.decode(codes)
        kl = float(0.5 * (posterior.mu.square() + sigma.square() - 2 * sigma.log() - 1).sum())
    split = resources.test_set(chosen.dataset)
    among = min(lesson.VERDICT_IMAGES, len(split))
    codes_of_test = resources.first_codes(plain, chosen.dataset, among)
    spread = codes_of_test.std(axis=0)
    distance = ((codes_of_test - posterior.mu.numpy()) ** 2).sum(axis=1)
    nearest = [i for i in np.argsort(distance) if distance[i] > 1e-10][:POSTERIOR_SAMPLES]  # not the image itself
    neighbours = split.batch(torch.as_tensor(nearest))[0]
    left, right = st.columns(2)
    left.image(image_grid([decoded], pad=1, scale=3), width="stretch",
               caption=f"{POSTERIOR_SAMPLES} codes drawn from {plain}'s posterior of this {item}, decoded")
    right.image(image_grid([neighbours], pad=1, scale=3), width="stretch",
                caption=f"the {POSTERIOR_SAMPLES} of the first {among:,} test images whose codes lie nearest to "
                        f"this one's")
    st.markdown(f"The encoder does not give one point: it gives a cloud, of width **{float(sigma.mean()):.2f}** on "
                f"average over its {sigma.numel()} dimensions, where those {among:,} test images' codes spread "
                f"**{float(spread.mean()):.2f}**. The KL term (**{kl:.1f}** nats for this {item}) pays for every "
                f"narrowing of that cloud, so the clouds of different {noun(chosen.dataset, plural=True)} overlap. "
                f"A code near this one stands for all of the images on the right, so the decoder has to answer "
                f"one image for several. Step 3 asks what each loss makes it answer.")


def unsure(x: torch.Tensor, judges: lesson.Judges, item: str, chosen, judge) -> None:
    st.subheader("3. What each loss prefers when it is unsure")
    st.caption("A code that cannot tell which of these shifted copies it came from must answer with one image. A copy "
               "of the plain VAE's decoder is trained, from that code, to draw all of them at once, under each loss: "
               f"{lesson.OPTIMUM_STEPS} Adam steps. What it ends up drawing is what a VAE trained with that loss "
               "draws where it is unsure.")
    max_shift = links.widget(st.radio, "Shifted by up to", (1, 2), index=1,
                             format_func=lambda s: f"{s} pixel{'s' * (s > 1)}", horizontal=True, key="why_max_shift",
                             parse=int, options=(1, 2), what="largest shift")
    targets = lesson.shifted_targets(x, max_shift=max_shift, background=datasets.get(chosen.dataset).background)
    columns = st.columns(4)
    targets_lv = float(laplacian_variance(targets).mean())
    columns[0].image(image_grid([targets[r::2 * max_shift + 1] for r in range(2 * max_shift + 1)], pad=1, scale=2),
                     caption=f"{len(targets)} targets (Laplacian variance {targets_lv:.3f} on average)",
                     width="stretch")
    titles = {"bce": "BCE's decoder", "dfc": "the DFC loss's decoder", "critic": "the critic's decoder"}
    placeholders = {loss: slot.empty() for loss, slot in zip(lesson.OPTIMA, columns[1:])}
    progress = {}

    def watch(loss: str, step: int, image: torch.Tensor) -> None:
        progress.setdefault("bar", st.progress(0.0))
        done = (lesson.OPTIMA.index(loss) + step / lesson.OPTIMUM_STEPS) / len(lesson.OPTIMA)
        progress["bar"].progress(done, text=f"{titles[loss]}: Adam step {step} of {lesson.OPTIMUM_STEPS}")
        placeholders[loss].image(enlarge(image), caption=f"{titles[loss]}, step {step}", width="stretch")

    found = resources.loss_optima(chosen.dataset, x, targets, watch)
    if "bar" in progress:
        progress["bar"].empty()
    read = dict(zip(found, reading(judge, torch.stack([o.image for o in found.values()]), chosen.class_names)))
    for loss, optimum in found.items():
        label, confidence = read[loss]
        placeholders[loss].image(enlarge(optimum.image), width="stretch",
                                 caption=f"{titles[loss]}: Laplacian variance {optimum.laplacian_variance:.3f}, "
                                         f"read as {label} ({confidence:.0%})")
    gap = float((found["bce"].image - targets.mean(dim=0)).abs().max())
    bce = lesson.test_bce(chosen.dataset)
    paradox = f" (plain {bce['plain']:.0f}, DFC {bce['dfc']:.0f} nats on the test set)" if len(bce) == 2 else ""
    st.markdown(f"BCE's decoder draws the targets' pixel mean (at most {gap:.3f} from it in any pixel): a grey smear "
                f"over every place the {item} might be, Laplacian variance {found['bce'].laplacian_variance:.3f} "
                f"against the targets' {targets_lv:.3f}. The DFC loss's decoder commits to one {item} "
                f"({_sharpness(found['dfc'].laplacian_variance, targets_lv)}), and so does the critic's "
                f"({_sharpness(found['critic'].laplacian_variance, targets_lv)}). That is why the DFC VAE has the "
                f"worse BCE{paradox} and yet looks sharper: BCE rewards hedging between the possible images, and a "
                f"sharp guess pays for every pixel it misses.")
    noisy = transforms.noise(x, NOISE_PROBE)
    probe, text = st.columns([1, 3])
    probe.image(enlarge(noisy[0]), width="stretch", caption=f"noise of sigma {NOISE_PROBE:g} added")
    noisy_label, noisy_confidence = reading(judge, noisy, chosen.class_names)[0]
    text.markdown(f"**What the Laplacian variance misses.** Noise is \"sharp\" too: adding Gaussian noise of sigma "
                  f"{NOISE_PROBE:g} takes this {item}'s Laplacian variance from {float(laplacian_variance(x)[0]):.3f} "
                  f"to **{float(laplacian_variance(noisy)[0]):.3f}** (read as {noisy_label}, "
                  f"{noisy_confidence:.0%}). So sharper is better only when the image is still the {item}: every "
                  f"page of the lab shows the share read correctly beside the sharpness.")


def _sharpness(value: float, targets: float) -> str:
    """An optimum's Laplacian variance in words, against the targets' mean."""
    ratio = value / targets
    words = ("about as sharp as the targets" if 0.5 <= ratio <= 2 else
             "sharper than the targets: edges the data does not have" if ratio > 2 else "blurrier than the targets")
    return f"{value:.3f}, {ratio:.1f} times the targets', {words}"


def what_features_see(x: torch.Tensor, judges: lesson.Judges, chosen, reconstructions) -> None:
    st.subheader("4. What the perceptual model sees")
    st.caption("Each layer turns an image into feature maps; the loss adds up, layer by layer, the squared "
               "differences between the original's maps and the reconstruction's. Toggle layers to see the loss "
               "change.")
    networks = {"dfc": "the DFC VAE's classifier", "critic": "the hinge VAE-GAN's critic"}
    left, right = st.columns(2)
    with left:
        network = links.widget(st.radio, "Features of", list(networks), format_func=networks.get, horizontal=True,
                               key="why_network", options=networks, what="network")
        trained = judges.perceptual(network).weights
        net = judges.perceptual(network).net
        layers_key = f"why_layers_{network}"
        layers = links.widget(st.multiselect, "Layers", net.layer_names, default=list(trained), key=layers_key,
                              parse=links.names, options=net.layer_names, what="layers",
                                help="The same layers the training panel offers; the default is what the shipped "
                                     "model was trained with.")
    with right:
        name = ui.pick_model(chosen, key="why_model")
        weights = {}
        for column, layer in zip(st.columns(max(len(layers), 1)), layers):
            key = f"why_weight_{network}_{layer}"
            weights[layer] = links.widget(column.number_input, f"{layer} weight", 0.0, 1000.0,
                                          float(trained.get(layer, 1.0)), key=key, parse=float, what="layer weight")
    if not layers or not any(weights.values()):
        st.info("Choose at least one layer with a weight above 0.")
        return
    loss = judges.perceptual(network, weights)
    views = lesson.layer_views(loss, x, reconstructions[name])
    share = lesson.shares(views)
    feature_maps(x, reconstructions[name], name, views, share)
    per_model = {m: {v.layer: v.loss for v in lesson.layer_views(loss, x, r)} for m, r in reconstructions.items()}
    totals = {m: sum(values.values()) for m, values in per_model.items()}
    bces = {m: float(lesson.pixel_bce(x, r)[0]) for m, r in reconstructions.items()}
    title = f"each model's reconstruction under {networks[network]}'s loss, by layer"
    st.image(resources.layer_losses(per_model, title=title),
             width="stretch", caption="The bars' lengths: " + "; ".join(
                 f"{m} " + ", ".join(f"{layer} {value:,.1f}" for layer, value in values.items())
                 for m, values in per_model.items()) + ".")
    lowest, lowest_bce = min(totals, key=totals.get), min(bces, key=bces.get)
    listed = ", ".join(f"{m} {totals[m]:,.1f}" for m in totals)
    agreement = (f", while BCE ranks **{lowest_bce}**'s closest ({bces[lowest_bce]:.1f} nats)." if lowest_bce != lowest
                 else f", which BCE ranks closest too ({bces[lowest_bce]:.1f} nats).")
    st.markdown(f"Under these layers and weights the reconstructions cost: {listed}. The lowest is **{lowest}**'s"
                + agreement
                + f" The layers' shares for {name}: "
                + ", ".join(f"{layer} {value:.0%}" for layer, value in share.items()) + ".")


def feature_maps(x: torch.Tensor, reconstruction: torch.Tensor, name: str, views, share: dict[str, float]) -> None:
    """The pixels, then each layer's most different channels and its squared difference."""
    pixel_left, pixel_right, pixel_diff, _ = st.columns(4)
    pixel_left.image(enlarge(x[0]), caption="the original", width="stretch")
    pixel_right.image(enlarge(reconstruction[0]), caption=f"{name}'s reconstruction", width="stretch")
    pixel_diff.image(signed_map((reconstruction - x)[0, 0].numpy(), limit=1.0), width="stretch",
                     caption="pixel difference (red: brighter)")
    for view in views:
        maps, difference = st.columns([4, 1])
        channels = view.strongest(8)
        maps.image(feature_rows(view.original, view.reconstruction, channels,
                                scale=2 if view.original.shape[-1] > 12 else 6), width="stretch",
                   caption=f"{view.layer} (weight {view.weight:g}, {share[view.layer]:.0%} of the loss): the "
                           f"{len(channels)} channels that differ most, original above, reconstruction below")
        difference.image(heat_map(view.difference, scale=max(1, 56 // view.difference.shape[-1])), width="stretch",
                         caption=f"{view.layer}: squared difference")


def takeaway(item: str) -> None:
    st.subheader("In plain words")
    st.markdown(f"A VAE squeezes each {item} into a few numbers and cannot squeeze it exactly, so its decoder is "
                f"always a little unsure which {item} it is drawing. Asked to pay pixel by pixel, the safest answer "
                f"to \"one of these\" is their average, a blur. A perceptual loss pays by what a trained network "
                f"sees instead, and there a blur costs more than a small shift, so the decoder commits to one sharp "
                f"{item}. Sharpness alone proves nothing, since noise is sharp too: what counts is sharp *and* still "
                f"read as the right {item}.")


chosen = ui.selection()
item = noun(chosen.dataset)
st.header("Why are VAEs blurry?")
st.markdown("A plain VAE is trained with a pixel-wise loss; the DFC VAE and the VAE-GAN compare features of a "
            "network instead. This lab reproduces the [DFC VAE notebook](https://github.com/krasserm/"
            "bayesian-machine-learning/blob/dev/autoencoder-applications/variational_autoencoder_dfc.ipynb) "
            "([article](https://krasserm.github.io/2018/07/27/dfc-vae/)) and the VAE-GAN of the blog post whose "
            "code is at [github.com/mauicv/vaegan](https://github.com/mauicv/vaegan).")
if not ui.require(chosen):
    st.stop()
if not lesson.has_lesson(chosen.dataset):
    shipped = ", ".join(datasets.label(name) for name in datasets.names() if lesson.has_lesson(name))
    st.info(f"This page compares the plain VAE, DFC VAE and hinge VAE-GAN that ship with vae_lab, for "
            f"{' and '.join(shipped.rsplit(', ', 1))}: choose one of those data sets in the sidebar. Your models "
            f"of {datasets.label(chosen.dataset)} are on the other pages.")
    st.stop()
try:
    judges = resources.lesson_judges(chosen.dataset)
except CheckpointError as error:
    st.error(f"This page needs the data set's plain VAE, DFC VAE and hinge VAE-GAN (their classifier and critic): "
             f"{error}")
    st.stop()
digits = chosen.digits
index = ui.pick_digit(digits, item.capitalize(), key=f"why_digit_{chosen.dataset}")
x = digits.images[index:index + 1]
judge = resources.current_judge(chosen.dataset)
reconstructions = side_by_side(chosen, x, item, judge)
one_change(x, judges, item, chosen)
why_ambiguous(x, chosen, item)
unsure(x, judges, item, chosen, judge)
what_features_see(x, judges, chosen, reconstructions)
takeaway(item)
