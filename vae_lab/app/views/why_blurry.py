"""Why blurry? The landing page: what a pixel-wise and a perceptual loss each compare, in three steps."""
import streamlit as st
import torch

from vae_lab import lesson
from vae_lab.app import links, ui
from vae_lab.checkpoints import CheckpointError
from vae_lab.figures import feature_rows, heat_map, layer_shares, loss_curves, signed_map
from vae_lab.images import image_grid
from vae_lab.metrics import laplacian_variance

chosen = ui.selection()
item = ui.noun(chosen.dataset)
st.header("Why are VAEs blurry?")
st.markdown("A plain VAE is trained with a pixel-wise loss; the DFC VAE and the VAE-GAN compare features of a "
            "network instead. Three steps show what each loss charges and what it prefers. This lab reproduces "
            "the [DFC VAE notebook](https://github.com/krasserm/bayesian-machine-learning/blob/dev/"
            "autoencoder-applications/variational_autoencoder_dfc.ipynb) "
            "([article](https://krasserm.github.io/2018/07/27/dfc-vae/)) and the VAE-GAN of the blog post whose "
            "code is at [github.com/mauicv/vaegan](https://github.com/mauicv/vaegan).")
if not ui.require(chosen):
    st.stop()
try:
    judges = ui.lesson_judges(chosen.dataset)
except CheckpointError as error:
    st.error(f"This page needs the data set's DFC VAE and hinge VAE-GAN (their classifier and critic): {error}")
    st.stop()

digits = chosen.digits
index = ui.pick_digit(digits, item.capitalize(), key="why_digit")
x = digits.images[index:index + 1]

# --- 1 -------------------------------------------------------------------------------------------
st.subheader("1. One small change, two verdicts")
st.caption(f"Change the {item} a little and ask each loss how far the result is from the original. Each curve is "
           f"divided by what the same loss charges for a 2-pixel shift to the right, so 1 means \"as bad as that "
           f"shift\" for every loss.")
controls, pictures = st.columns([1, 2])
with controls:
    links.seed("why_transform", options=lesson.TRANSFORMS, what="change")
    transform = st.selectbox("Change", list(lesson.TRANSFORMS), format_func=lambda k: lesson.TRANSFORMS[k].label,
                             index=list(lesson.TRANSFORMS).index("blur"), key="why_transform")
    t = lesson.TRANSFORMS[transform]
    amount_key = f"why_amount_{transform}"
    links.seed(amount_key, parse=float, options=set(t.amounts.tolist()), what="amount")
    amount = st.slider(f"Amount ({t.unit})", float(t.low), float(t.high), float(t.high), float(t.step), key=amount_key)
    links.seed("why_each_layer", parse=links.flag)
    each_layer = st.toggle("Show each layer's curve", value=False, key="why_each_layer")
changed = lesson.apply(x, transform, amount)
with pictures:
    shown = [("the original", ui.enlarge(x[0])), (f"{t.label}: {amount:g}", ui.enlarge(changed[0])),
             ("pixel difference (red brighter)", signed_map((changed - x)[0, 0].numpy(), limit=1.0)),
             (f"Laplacian (variance {laplacian_variance(changed)[0]:.3f})",
              signed_map(lesson.laplacian_map(changed[0])))]
    for column, (caption, picture) in zip(st.columns(4), shown):
        column.image(picture, caption=caption, width="stretch")

curves = lesson.curves(x, transform, judges)
keys = [k for k in curves.raw if each_layer or ":" not in k]
st.plotly_chart(loss_curves(curves.amounts, {k: curves.normalised[k] for k in keys},
                            {k: lesson.loss_label(k) for k in keys}, x_title=f"{t.label} ({t.unit})", at=amount,
                            reference="a 2-pixel shift"), key="why_curves")
ratios = {k: float(v[0]) for k, v in lesson.verdicts(x, judges).items()}
st.markdown(f"For this {item}, a strong blur (sigma 2) costs **{ratios['bce']:.2f}** 2-pixel shifts under BCE, "
            f"**{ratios['dfc']:.2f}** under the DFC loss and **{ratios['critic']:.2f}** under the critic's.")
if not chosen.data_error:
    summary = ui.lesson_verdicts(chosen.dataset)
    n = summary["bce"].images
    say = {k: f"{summary[k].images - summary[k].blur_cheaper} of {n} (median {summary[k].median_ratio:.2f})"
           for k in ("bce", "dfc", "critic", "dfc:conv3")}
    perceptual_agree = all(summary[k].blur_cheaper < n / 2 for k in ("dfc", "critic"))
    st.caption(f"Over the first {n} test images, the blur costs more than the shift for: BCE {say['bce']}, "
               f"the DFC loss {say['dfc']}, the critic's {say['critic']}. "
               + ("The shipped perceptual losses rank the two the other way round from BCE." if perceptual_agree else
                  f"So the shipped perceptual sums do not clearly rank the two the other way round; their deepest "
                  f"layer does (DFC conv3: {say['dfc:conv3']})."))

# --- 2 -------------------------------------------------------------------------------------------
st.subheader("2. What each loss prefers when it is unsure")
st.caption("A code that cannot tell which of these shifted copies it came from must answer with one image. "
           "Starting from mid-grey, Adam looks for the image with the lowest mean loss over all of them.")
links.seed("why_max_shift", parse=int, options=(1, 2), what="largest shift")
max_shift = st.radio("Shifted by up to", (1, 2), index=1, format_func=lambda s: f"{s} pixel{'s' * (s > 1)}",
                     horizontal=True, key="why_max_shift")
targets = lesson.shifted_targets(x, max_shift=max_shift)
columns = st.columns(4)
columns[0].image(image_grid([targets[r::2 * max_shift + 1] for r in range(2 * max_shift + 1)], pad=1, scale=2),
                 caption=f"{len(targets)} targets (Laplacian variance {laplacian_variance(targets).mean():.3f} "
                         f"on average)", width="stretch")
slots = dict(zip(lesson.OPTIMA, columns[1:]))
titles = {"bce": "BCE optimum", "dfc": "DFC optimum", "critic": "critic optimum"}
placeholders = {loss: slot.empty() for loss, slot in slots.items()}
bar = None


def watch(loss: str, step: int, image: torch.Tensor) -> None:
    global bar
    bar = bar or st.progress(0.0)
    done = (lesson.OPTIMA.index(loss) + step / lesson.OPTIMUM_STEPS) / len(lesson.OPTIMA)
    bar.progress(done, text=f"{titles[loss]}: Adam step {step} of {lesson.OPTIMUM_STEPS}")
    placeholders[loss].image(ui.enlarge(image), caption=f"{titles[loss]}, step {step}", width="stretch")


found = ui.loss_optima(chosen.dataset, targets, watch)
if bar is not None:
    bar.empty()
for loss, optimum in found.items():
    placeholders[loss].image(ui.enlarge(optimum.image), width="stretch",
                             caption=f"{titles[loss]}: Laplacian variance {optimum.laplacian_variance:.3f}")
mean_lv = float(laplacian_variance(targets.mean(dim=0, keepdim=True))[0])
bce = lesson.test_bce(chosen.dataset)
paradox = f" (plain {bce['plain']:.0f}, DFC {bce['dfc']:.0f} nats on the test set)" if len(bce) == 2 else ""
st.markdown(f"The BCE optimum is the targets' pixel mean (its Laplacian variance: {mean_lv:.3f}), a grey smear "
            f"over every place the stroke might be. That is why the DFC VAE has the worse BCE{paradox} and yet looks "
            f"sharper: BCE rewards hedging between the possible images; a sharp guess pays for every pixel it misses.")

# --- 3 -------------------------------------------------------------------------------------------
st.subheader("3. What the perceptual model sees")
st.caption("Each layer turns an image into feature maps; the loss adds up, layer by layer, the squared "
           "differences between the original's maps and the reconstruction's. Toggle layers to see the loss change.")
networks = {"dfc": "the DFC VAE's classifier", "critic": "the hinge VAE-GAN's critic"}
left, right = st.columns(2)
with left:
    links.seed("why_network", options=networks, what="network")
    network = st.radio("Features of", list(networks), format_func=networks.get, horizontal=True, key="why_network")
    trained = judges.perceptual(network).weights
    net = judges.perceptual(network).net
    layers_key = f"why_layers_{network}"
    links.seed(layers_key, parse=links.names, options=net.layer_names, what="layers")
    layers = st.multiselect("Layers", net.layer_names, default=list(trained), key=layers_key,
                            help="The same layers the training panel offers; the default is what the shipped "
                                 "model was trained with.")
with right:
    name = ui.pick_model(chosen, key="why_model")
    weights = {}
    for column, layer in zip(st.columns(max(len(layers), 1)), layers):
        key = f"why_weight_{network}_{layer}"
        links.seed(key, parse=float, what="layer weight")
        weights[layer] = column.number_input(f"{layer} weight", 0.0, 1000.0, float(trained.get(layer, 1.0)), key=key)
if not layers or not any(weights.values()):
    st.info("Choose at least one layer with a weight above 0.")
    st.stop()
loss = judges.perceptual(network, weights)
with torch.no_grad():
    reconstructions = {m: ui.model(m).reconstruct(x) for m in chosen.models}
views = lesson.layer_views(loss, x, reconstructions[name])
total, share = sum(v.loss for v in views), lesson.shares(views)
st.markdown(f"**{name}**'s reconstruction: the {networks[network].split(' ', 1)[1]}'s loss is **{total:,.1f}**, "
            f"BCE **{lesson.pixel_bce(x, reconstructions[name])[0]:.1f}** nats.")
pixel_left, pixel_right, pixel_diff, _ = st.columns(4)
pixel_left.image(ui.enlarge(x[0]), caption="the original", width="stretch")
pixel_right.image(ui.enlarge(reconstructions[name][0]), caption="the reconstruction", width="stretch")
pixel_diff.image(signed_map((reconstructions[name] - x)[0, 0].numpy(), limit=1.0), width="stretch",
                 caption="pixel difference (red: brighter)")
for view in views:
    maps, difference = st.columns([4, 1])
    channels = view.strongest(8)
    maps.image(feature_rows(view.original, view.reconstruction, channels, scale=2 if view.original.shape[-1] > 12
                            else 6), width="stretch",
               caption=f"{view.layer} (weight {view.weight:g}, {share[view.layer]:.0%} of the loss): the "
                       f"{len(channels)} channels that differ most, original above, reconstruction below")
    difference.image(heat_map(view.difference, scale=max(1, 56 // view.difference.shape[-1])), width="stretch",
                     caption=f"{view.layer}: squared difference")
st.plotly_chart(layer_shares({m: lesson.shares(lesson.layer_views(loss, x, r)) for m, r in reconstructions.items()},
                             title="each layer's share of the loss, per model's reconstruction"),
                key="why_shares")
