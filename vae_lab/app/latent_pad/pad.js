// The latent pad: Streamlit's component protocol by hand (no build step, no network), a 2-D pad
// over a plane of latent space with the test set's codes drawn on it, one slider per dimension,
// and every chosen model's decoding, redrawn on each animation frame in which the point moved.
// The pad's own model decodes the point itself; every other model starts from its own code of the
// chosen digit and moves in its own plane by the same amounts, in its own standard deviations.
"use strict";

const CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const SCALE = 6;  // screen pixels per image pixel
const state = { models: [], weightsIds: [], z: null, startKey: null, plane: null, points: null, dirty: false };
// what tests and benchmarks read: frames drawn, when the first image was drawn after a model arrived
const stats = { frames: 0, decodes: 0, decodeMs: 0, firstImageMs: null, modelsArrivedAt: null };

function send(type, data) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, data), "*");
}

function setHeight() {
  send("streamlit:setFrameHeight", { height: document.documentElement.scrollHeight });
}

function report() {  // the point, for the server (shareable links); sent when a gesture ends
  const z = Array.from(state.z, (v) => Math.round(v * 1000) / 1000);
  send("streamlit:setComponentValue", { value: { z, start_key: state.startKey }, dataType: "json" });
}

function project(z) {  // latent vector -> pad coordinates in the plane
  const { mean, axes } = state.plane;
  return axes.map((axis) => axis.reduce((s, a, k) => s + a * (z[k] - mean[k]), 0));
}

function toScreen(p) {
  const [x0, x1, y0, y1] = state.plane.extent, pad = document.getElementById("pad");
  return [(p[0] - x0) / (x1 - x0) * pad.width, (1 - (p[1] - y0) / (y1 - y0)) * pad.height];
}

function fromScreen(sx, sy) {
  const [x0, x1, y0, y1] = state.plane.extent, pad = document.getElementById("pad");
  return [x0 + sx / pad.width * (x1 - x0), y0 + (1 - sy / pad.height) * (y1 - y0)];
}

function moveInPlane(point) {  // keep the point's part outside the plane, set its place in the plane
  const now = project(state.z);
  state.plane.axes.forEach((axis, a) => axis.forEach((v, k) => { state.z[k] += v * (point[a] - now[a]); }));
  state.dirty = true;
}

function offset() {  // the point's move from the pad model's start, in its standard deviations along each axis
  const now = project(state.z), start = project(state.plane.z0);
  return now.map((p, a) => (p - start[a]) / state.plane.scale[a]);
}

function latent(model, move) {  // what `model` decodes: the point itself, or its own start moved the same way
  if (!model.own) return state.z;
  const z = Float32Array.from(model.own.z0);
  model.own.axes.forEach((axis, a) => axis.forEach((v, k) => { z[k] += v * move[a] * model.own.scale[a]; }));
  return z;
}

function drawPad() {
  const pad = document.getElementById("pad"), ctx = pad.getContext("2d");
  if (!state.padBackground) {  // the test points, drawn once per plane
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    const { xy, classes } = state.points;
    for (let i = 0; i < classes.length; i++) {
      const [sx, sy] = toScreen([xy[2 * i], xy[2 * i + 1]]);
      ctx.fillStyle = CLASS_COLOURS[classes[i] % 10];
      ctx.fillRect(sx - 1, sy - 1, 2, 2);
    }
    state.padBackground = ctx.getImageData(0, 0, pad.width, pad.height);
  }
  ctx.putImageData(state.padBackground, 0, 0);
  const [sx, sy] = toScreen(project(state.z));
  ctx.strokeStyle = "#000000";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(sx, sy, 7, 0, 2 * Math.PI);
  ctx.moveTo(sx - 11, sy); ctx.lineTo(sx + 11, sy);
  ctx.moveTo(sx, sy - 11); ctx.lineTo(sx, sy + 11);
  ctx.stroke();
}

function drawImage(canvas, pixels, net) {
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(net.W, net.H), plane = net.H * net.W;
  for (let p = 0; p < plane; p++) {
    const rgb = net.C === 3 ? [0, 1, 2].map((c) => pixels[c * plane + p]) : [pixels[p], pixels[p], pixels[p]];
    for (let c = 0; c < 3; c++) image.data[4 * p + c] = Math.round(255 * rgb[c]);
    image.data[4 * p + 3] = 255;
  }
  canvas.small.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas.small, 0, 0, canvas.width, canvas.height);
}

function frame() {
  if (state.dirty && state.models.length) {
    state.dirty = false;
    const move = offset();
    for (const model of state.models) {
      const start = performance.now();
      const pixels = decode(model.net, latent(model, move));
      stats.decodeMs += performance.now() - start;
      stats.decodes += 1;
      drawImage(model.canvas, pixels, model.net);
    }
    drawPad();
    state.sliders.forEach((slider, k) => {  // not the one being dragged: the browser moves it already
      if (slider.input !== document.activeElement) slider.input.value = state.z[k];
      slider.value.textContent = state.z[k].toFixed(2);
    });
    stats.frames += 1;
    if (stats.firstImageMs === null && stats.modelsArrivedAt !== null) {
      stats.firstImageMs = performance.now() - stats.modelsArrivedAt;
    }
    const perDecode = stats.decodeMs / stats.decodes;
    document.getElementById("speed").textContent =
      `Decoded in your browser: ${perDecode.toFixed(1)} ms per image per model.`;
  }
  requestAnimationFrame(frame);
}

function buildOutputs(args) {
  const outputs = document.getElementById("outputs");
  outputs.replaceChildren();
  for (const model of state.models) {
    const box = document.createElement("div"), canvas = document.createElement("canvas"),
      label = document.createElement("div");
    box.className = "decoded";
    canvas.width = model.net.W * SCALE / Math.max(1, Math.ceil(state.models.length / 2));
    canvas.height = canvas.width * model.net.H / model.net.W;
    canvas.small = document.createElement("canvas");
    canvas.small.width = model.net.W;
    canvas.small.height = model.net.H;
    canvas.dataset.model = model.label;
    label.className = "caption";
    label.textContent = model.label;
    box.append(canvas, label);
    outputs.append(box);
    model.canvas = canvas;
  }
  const sliders = document.getElementById("sliders");
  sliders.replaceChildren();
  state.sliders = Array.from(state.z, (_, k) => {
    const row = document.createElement("label"), name = document.createElement("span"),
      input = document.createElement("input"), value = document.createElement("span");
    row.className = "slider";
    name.textContent = `z[${k}]`;
    Object.assign(input, { type: "range", min: -args.slider_range, max: args.slider_range, step: 0.01 });
    input.setAttribute("aria-label", `z[${k}]`);
    input.addEventListener("input", () => { state.z[k] = Number(input.value); state.dirty = true; });
    input.addEventListener("change", report);
    row.append(name, input, value);
    sliders.append(row);
    return { input, value };
  });
}

function onRender(args) {
  try {
    const ids = args.models.map((m) => m.weights_id);
    if (ids.join() !== state.weightsIds.join()) {
      state.models = args.models.map((m, i) => ({ label: m.label, net: loadDecoder(args[`weights${i}`], m.dims) }));
      state.weightsIds = ids;
      stats.modelsArrivedAt = performance.now();
      stats.firstImageMs = null;
    }
    state.models.forEach((model, i) => { model.own = args.models[i].own; });
    if (args.start_key !== state.startKey || !state.z || state.z.length !== args.z.length) {
      state.z = Float32Array.from(args.z);
      state.startKey = args.start_key;
    }
    const planeKey = JSON.stringify([args.plane, args.points.classes.length]);
    if (planeKey !== state.planeKey) {
      state.plane = args.plane;
      state.points = args.points;
      state.planeKey = planeKey;
      state.padBackground = null;
      document.getElementById("pad-caption").textContent =
        `${args.plane.labels[0]} (across) and ${args.plane.labels[1]} (up); dots: ${args.points.classes.length} ` +
        `test images' codes by class. Move the pointer over the pad to decode.`;
    }
    const legend = document.getElementById("legend");
    legend.replaceChildren(...args.class_names.map((name, c) => {
      const entry = document.createElement("span"), swatch = document.createElement("i");
      swatch.style.background = CLASS_COLOURS[c % 10];
      entry.append(swatch, name);
      return entry;
    }));
    buildOutputs(args);
    document.getElementById("error").textContent = "";
    state.dirty = true;
  } catch (error) {
    document.getElementById("error").textContent = `The browser decoder failed: ${error.message}`;
  }
  setHeight();
}

const pad = document.getElementById("pad");
pad.addEventListener("pointermove", (event) => {
  if (state.plane) moveInPlane(fromScreen(event.offsetX, event.offsetY));
});
pad.addEventListener("pointerleave", () => { if (state.z) report(); });
pad.addEventListener("pointerup", () => { if (state.z) report(); });

window.addEventListener("message", (event) => {
  if (event.data && event.data.type === "streamlit:render") onRender(event.data.args);
});
// for the browser tests and the benchmark: decode a vector with model i, read the counters
window.vaeLab = { decode: (i, z) => Array.from(decode(state.models[i].net, Float32Array.from(z))),
                  point: () => Array.from(state.z),
                  latents: () => state.models.map((m) => Array.from(latent(m, offset()))), stats };
requestAnimationFrame(frame);
send("streamlit:componentReady", { apiVersion: 1 });
setHeight();
