// The latent pad: Streamlit's component protocol by hand (no build step, no network), a 2-D pad
// over a plane of latent space with the test set's codes drawn on it, one slider per dimension,
// and every chosen model's decoding, redrawn on each animation frame in which the point moved.
// The pad's own model decodes the point itself; every other model starts from its own code of the
// chosen digit and moves in its own plane by the same amounts, in its own standard deviations.
// With drawing on, every stroke on the sketch is encoded by every model here too (encoder.js): each
// model's posterior is drawn on its own plane, and its own code of the drawing becomes its start.
// The networks run in WebAssembly SIMD where the browser can (wasm.js), else in JavaScript; the page says which.
"use strict";

const CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const SCALE = 6;  // screen pixels per image pixel
const state = { models: [], weightsIds: [], z: null, startKey: null, plane: null, points: null, dirty: false,
                sketchDirty: false, drawnStart: null, pathFrom: { decodes: 0, decodeMs: 0, encodes: 0, encodeMs: 0 } };
// what tests and benchmarks read: frames drawn (and those that encoded a new drawing), the pointer's moves
// that reached the page (a frame needs one), when the first image was drawn after a model arrived
const stats = { frames: 0, decodes: 0, decodeMs: 0, sketchFrames: 0, encodes: 0, encodeMs: 0, workMs: 0,
                pointerMoves: 0, firstImageMs: null, modelsArrivedAt: null };

function send(type, data) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, data), "*");
}

function setHeight() {
  send("streamlit:setFrameHeight", { height: document.documentElement.scrollHeight });
}

// The weights the server sent, kept for the rest of the page's life: "decoder:ID" or "encoder:ID" -> bytes.
// The server sends each once; where some are missing (this frame is new, or forgot them), the page asks again.
const held = new Map();
const HELD_MOST = 16;

// The point, for the server (shareable links), sent when a gesture ends, and the page's last request for missing
// weights (the server answers each request once); with `moved` false the request alone (the point stays where
// the last gesture left it).
function report(moved = true) {
  const z = moved ? Array.from(state.z, (v) => Math.round(v * 1000) / 1000) : null;
  send("streamlit:setComponentValue", { value: { z, start_key: state.startKey, asked: state.asked },
                                        dataType: "json" });
}

// Keep the weights and the dots this render carried.
function keepWeights(args) {
  const keep = (id, bytes) => {
    if (!bytes) return;
    held.delete(id);  // the most recently sent last: the first forgotten is the oldest
    held.set(id, bytes);
  };
  args.models.forEach((m, i) => ["decoder", "encoder"].forEach((part) => keep(`${part}:${m.weights_id}`,
                                                                               args[`${part}${i}`])));
  keep(`points:${args.points_id}`, args.points);
  while (held.size > HELD_MOST) held.delete(held.keys().next().value);
}

function project(z) {  // latent vector -> pad coordinates in the plane
  const { mean, axes } = state.plane;
  return axes.map((axis) => axis.reduce((s, a, k) => s + a * (z[k] - mean[k]), 0));
}

function toScreen(p, [x0, x1, y0, y1], canvas) {
  return [(p[0] - x0) / (x1 - x0) * canvas.width, (1 - (p[1] - y0) / (y1 - y0)) * canvas.height];
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
  const now = project(state.z), start = project(state.drawnStart || state.plane.z0);
  return now.map((p, a) => (p - start[a]) / state.plane.scale[a]);
}

function latent(model, move) {  // what `model` decodes: the point itself, or its own start moved the same way
  if (model.isPad) return state.z;
  const z = Float32Array.from(model.drawn ? model.drawn.mu : model.own.z0);
  model.own.axes.forEach((axis, a) => axis.forEach((v, k) => { z[k] += v * move[a] * model.own.scale[a]; }));
  return z;
}

function drawPlane(canvas, view, marks) {  // a plane's test codes by class (drawn once), then `marks(ctx)`
  const ctx = canvas.getContext("2d");
  if (!canvas.background) {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const { xy, classes } = view;
    for (let i = 0; i < classes.length; i++) {
      const [sx, sy] = toScreen([xy[2 * i], xy[2 * i + 1]], view.extent, canvas);
      ctx.fillStyle = CLASS_COLOURS[classes[i] % 10];
      ctx.fillRect(sx - 1, sy - 1, 2, 2);
    }
    canvas.background = ctx.getImageData(0, 0, canvas.width, canvas.height);
  }
  ctx.putImageData(canvas.background, 0, 0);
  ctx.strokeStyle = "#000000";
  ctx.lineWidth = 2;
  marks(ctx);
}

function crosshair(ctx, [sx, sy]) {
  ctx.beginPath();
  ctx.arc(sx, sy, 7, 0, 2 * Math.PI);
  ctx.moveTo(sx - 11, sy); ctx.lineTo(sx + 11, sy);
  ctx.moveTo(sx, sy - 11); ctx.lineTo(sx, sy + 11);
  ctx.stroke();
}

// A posterior N(mu, diag(exp(logvar))) seen in a plane: its mean and its 1-sigma ellipse, the covariance
// A diag(sigma^2) A^T of the projection along the plane's axes A, drawn through its eigenvectors.
function posteriorMarks(ctx, view, posterior, canvas) {
  const { mean, axes } = view, variance = Array.from(posterior.logvar, Math.exp);
  const centre = axes.map((axis) => axis.reduce((s, a, k) => s + a * (posterior.mu[k] - mean[k]), 0));
  const cov = (a, b) => axes[a].reduce((s, v, k) => s + v * axes[b][k] * variance[k], 0);
  const [sxx, sxy, syy] = [cov(0, 0), cov(0, 1), cov(1, 1)];
  const half = (sxx + syy) / 2, root = Math.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2);
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy), r1 = Math.sqrt(half + root), r2 = Math.sqrt(Math.max(half - root, 0));
  ctx.beginPath();
  for (let t = 0; t <= 64; t++) {
    const u = r1 * Math.cos(t / 32 * Math.PI), v = r2 * Math.sin(t / 32 * Math.PI);
    const point = [centre[0] + u * Math.cos(angle) - v * Math.sin(angle), centre[1] + u * Math.sin(angle) + v * Math.cos(angle)];
    const [sx, sy] = toScreen(point, view.extent, canvas);
    if (t === 0) ctx.moveTo(sx, sy); else ctx.lineTo(sx, sy);
  }
  ctx.stroke();
  const [sx, sy] = toScreen(centre, view.extent, canvas);
  ctx.fillStyle = "#000000";
  ctx.fillRect(sx - 2, sy - 2, 4, 4);
}

function drawPad() {
  const pad = document.getElementById("pad"), view = Object.assign({}, state.plane, state.points);
  const padModel = state.models.find((m) => m.isPad && m.drawn);
  drawPlane(pad, view, (ctx) => {
    if (padModel) posteriorMarks(ctx, view, padModel.drawn, pad);
    crosshair(ctx, toScreen(project(state.z), view.extent, pad));
  });
  for (const model of state.models) {  // with drawing on: each model's posterior of the drawing, in its own plane
    if (!model.planeCanvas) continue;
    const own = model.isPad ? view : model.own;
    drawPlane(model.planeCanvas, own, (ctx) => { if (model.drawn) posteriorMarks(ctx, own, model.drawn, model.planeCanvas); });
    const sigma = model.drawn && model.drawn.logvar.reduce((s, v) => s + Math.exp(v / 2), 0) / model.drawn.logvar.length;
    model.planeCaption.textContent = sigma ? `posterior σ: ${sigma.toPrecision(2)}, the mean over z` : "draw to see its posterior";
  }
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

function encodeSketch() {  // every model's posterior of the drawing; its mean becomes the model's start
  const digit = sketchDigit(document.getElementById("sketch"));
  if (!digit) return;
  for (const model of state.models) {
    if (!model.encoder) continue;
    const start = performance.now();
    model.drawn = encode(model.encoder, digit);
    stats.encodeMs += performance.now() - start;
    stats.encodes += 1;
    if (model.isPad) {
      state.z = Float32Array.from(model.drawn.mu);
      state.drawnStart = model.drawn.mu;
    }
  }
  state.digit = digit;
  state.dirty = true;
  stats.sketchFrames += 1;
}

function frame() {
  const started = performance.now();
  if (state.sketchDirty) {
    state.sketchDirty = false;
    encodeSketch();
  }
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
    stats.workMs += performance.now() - started;  // the whole frame's work: encoding, decoding, drawing
    if (stats.firstImageMs === null && stats.modelsArrivedAt !== null) {
      stats.firstImageMs = performance.now() - stats.modelsArrivedAt;
    }
    const from = state.pathFrom, encodes = stats.encodes - from.encodes;  // the path running now: its own times
    document.getElementById("speed").textContent = `Decoded in your browser (${kernels.path}): ` +
      `${((stats.decodeMs - from.decodeMs) / (stats.decodes - from.decodes)).toFixed(2)} ms per image per model` +
      (encodes ? `; encoded in ${((stats.encodeMs - from.encodeMs) / encodes).toFixed(2)} ms.` : ".");
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
    canvas.className = "decoding";
    canvas.width = model.net.W * SCALE / Math.max(1, Math.ceil(state.models.length / 2));
    canvas.height = canvas.width * model.net.H / model.net.W;
    canvas.small = document.createElement("canvas");
    canvas.small.width = model.net.W;
    canvas.small.height = model.net.H;
    canvas.dataset.model = model.label;
    label.className = "caption";
    label.textContent = model.label;
    box.append(canvas, label);
    model.planeCanvas = null;
    if (model.encoder) {  // drawing on: the model's own plane, where its posterior of the drawing shows
      model.planeCanvas = Object.assign(document.createElement("canvas"), { width: canvas.width, height: canvas.width });
      model.planeCanvas.className = "plane";
      model.planeCanvas.setAttribute("aria-label", `${model.label}: its posterior of the drawing in its own plane`);
      model.planeCaption = Object.assign(document.createElement("div"), { className: "caption" });
      box.append(model.planeCanvas, model.planeCaption);
    }
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
    keepWeights(args);
    const parts = args.draw ? ["decoder", "encoder"] : ["decoder"];
    const missing = args.models.flatMap((m) => parts.map((part) => `${part}:${m.weights_id}`))
      .concat([`points:${args.points_id}`]).filter((id) => !held.has(id));
    if (missing.length) {  // ask for them: a request of its own, answered once
      state.asked = { id: `${Date.now()}-${Math.random()}`, missing };
      report(false);
      return;
    }
    const ids = args.models.map((m) => m.weights_id).concat(args.draw ? ["with encoders"] : []);
    if (ids.join() !== state.weightsIds.join()) {
      wasmReleaseAll();
      state.models = args.models.map((m) => ({
        label: m.label, net: loadDecoder(held.get(`decoder:${m.weights_id}`), m.dims),
        encoder: args.draw ? loadEncoder(held.get(`encoder:${m.weights_id}`), m.dims) : null }));
      state.weightsIds = ids;
      stats.modelsArrivedAt = performance.now();
      stats.firstImageMs = null;
      state.drawnStart = null;
    }
    state.models.forEach((model, i) => {
      model.own = args.models[i].own;
      model.isPad = args.models[i].pad;
      if (model.planeCanvas) model.planeCanvas.background = null;  // its plane's codes drawn again
    });
    if (args.start_key !== state.startKey || !state.z || state.z.length !== args.z.length) {
      state.z = Float32Array.from(args.z);
      state.startKey = args.start_key;
      clearDrawing();
    }
    document.getElementById("sketch-box").hidden = !args.draw;
    const planeKey = JSON.stringify([args.plane, args.points_id]);
    if (planeKey !== state.planeKey) {
      state.plane = args.plane;
      state.points = JSON.parse(new TextDecoder().decode(held.get(`points:${args.points_id}`)));
      state.planeKey = planeKey;
      document.getElementById("pad").background = null;
      document.getElementById("pad-caption").textContent =
        `${args.plane.labels[0]} (across) and ${args.plane.labels[1]} (up); dots: ${state.points.classes.length} ` +
        `test images' codes by class. Move the pointer over the pad to decode.`;
    }
    const legend = document.getElementById("legend");
    legend.replaceChildren(...args.class_names.map((name, c) => {
      const entry = document.createElement("span"), swatch = document.createElement("i");
      swatch.style.background = CLASS_COLOURS[c % 10];
      entry.append(swatch, name);
      return entry;
    }));
    const layout = JSON.stringify([ids, state.z.length, args.slider_range]);
    if (layout !== state.layout) {  // not on every rerun: a slider being dragged would be replaced under the pointer
      buildOutputs(args);
      state.layout = layout;
    }
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

function clearDrawing() {  // a blank sketch, and every model back to its own code of the chosen digit
  blankSketch();
  for (const model of state.models) model.drawn = null;
  state.digit = null;
  if (state.drawnStart) {
    state.z = Float32Array.from(state.plane.z0);
    state.drawnStart = null;
  }
  state.dirty = true;
}

window.addEventListener("message", (event) => {
  if (event.data && event.data.type === "streamlit:render") onRender(event.data.args);
});
// for the browser tests and the benchmark: decode and encode with model i, the drawing and its posteriors
// (`javascript`: the JavaScript path, also where WebAssembly runs), which path runs, the counters; `useWasm(false)`
// runs the JavaScript path from then on (the benchmark times both on one page)
window.vaeLab = { decode: (i, z, javascript = false) => Array.from(decode(state.models[i].net, Float32Array.from(z),
                                                                           { javascript })),
                  encode: (i, pixels, javascript = false) => {
                    const { mu, logvar } = encode(state.models[i].encoder, Float32Array.from(pixels), { javascript });
                    return { mu: Array.from(mu), logvar: Array.from(logvar) };
                  },
                  posteriors: () => state.models.map((m) => m.drawn && { mu: Array.from(m.drawn.mu),
                                                                         logvar: Array.from(m.drawn.logvar) }),
                  digit: () => state.digit && Array.from(state.digit),
                  busy: () => state.sketchDirty || state.dirty,  // a frame still to draw
                  point: () => Array.from(state.z),
                  startKey: () => state.startKey,
                  latents: () => state.models.map((m) => Array.from(latent(m, offset()))),
                  path: () => kernels.path, stats,
                  useWasm: (on) => { kernels.on = on; } };
document.addEventListener("pointermove", () => { stats.pointerMoves += 1; }, { capture: true });
startSketch(() => { state.sketchDirty = true; }, clearDrawing);
requestAnimationFrame(frame);
send("streamlit:componentReady", { apiVersion: 1 });
new ResizeObserver(setHeight).observe(document.body);  // the drawing's planes and captions change the height
loadKernels().then(() => {  // the next frame runs there, and says so
  for (const model of state.models) decode(model.net, new Float32Array(model.net.d));  // its weights placed there
  state.pathFrom = { ...stats };
  state.dirty = true;
});
