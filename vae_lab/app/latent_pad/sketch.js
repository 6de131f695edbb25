// The sketch: a black canvas to draw a digit on with a white stroke, as the sidebar's drawing canvas
// (224 pixels wide, a 16-pixel stroke: vae_lab/app/ui.py), and the drawing as a network's input.
"use strict";

const SKETCH_STROKE = 16;

// Drawing on the sketch: `onStroke()` after each piece of a stroke, `onClear()` on its Clear button.
function startSketch(onStroke, onClear) {
  const sketch = document.getElementById("sketch");
  let last = null;  // the stroke's previous point
  const stroke = (point) => {  // a white line from the stroke's previous point
    const ctx = sketch.getContext("2d");
    Object.assign(ctx, { strokeStyle: "#ffffff", lineWidth: SKETCH_STROKE, lineCap: "round", lineJoin: "round" });
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...point);
    ctx.stroke();
    last = point;
    onStroke();
  };
  sketch.addEventListener("pointerdown", (event) => {
    sketch.setPointerCapture(event.pointerId);
    last = [event.offsetX, event.offsetY];
    stroke(last);
  });
  sketch.addEventListener("pointermove", (event) => { if (last) stroke([event.offsetX, event.offsetY]); });
  sketch.addEventListener("pointerup", () => { last = null; });
  document.getElementById("clear").addEventListener("click", onClear);
}

function blankSketch() {
  const sketch = document.getElementById("sketch"), ctx = sketch.getContext("2d");
  ctx.fillStyle = "#000000";
  ctx.fillRect(0, 0, sketch.width, sketch.height);
}

// The sketch as an MNIST-style 28x28 digit, as vae_lab/images.py's to_mnist_digit makes one of the sidebar's
// drawing: the ink's bounding box scaled to fit 20x20 (here by area averaging, there by Lanczos), placed with
// its centre of mass at the middle. null for a blank sketch.
function sketchDigit(canvas, size = 28, box = 20) {
  const { width: w, height: h } = canvas, rgba = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  const ink = new Float32Array(w * h);
  let top = 0;
  for (let p = 0; p < w * h; p++) {
    ink[p] = (0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]) / 255;
    top = Math.max(top, ink[p]);
  }
  if (top < 0.05) return null;
  let [y0, y1, x0, x1] = [h, -1, w, -1];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    ink[y * w + x] /= top;
    if (ink[y * w + x] > 0.1) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
  }
  const [ch, cw] = [y1 - y0 + 1, x1 - x0 + 1], scale = box / Math.max(ch, cw);
  const [nh, nw] = [Math.max(1, Math.round(ch * scale)), Math.max(1, Math.round(cw * scale))];
  const rows = areaWeights(ch, nh), cols = areaWeights(cw, nw), patch = new Float32Array(nh * nw);
  for (let i = 0; i < nh; i++) for (let j = 0; j < nw; j++) {
    let s = 0;
    for (const [sy, wy] of rows[i]) for (const [sx, wx] of cols[j]) s += wy * wx * ink[(y0 + sy) * w + x0 + sx];
    patch[i * nw + j] = Math.min(1, s);
  }
  let [total, my, mx] = [0, 0, 0];
  for (let i = 0; i < nh; i++) for (let j = 0; j < nw; j++) {
    const v = patch[i * nw + j];
    total += v; my += i * v; mx += j * v;
  }
  const clip = (v, hi) => Math.min(Math.max(v, 0), hi);
  const topRow = clip(Math.round(size / 2 - my / total), size - nh), left = clip(Math.round(size / 2 - mx / total), size - nw);
  const digit = new Float32Array(size * size);
  for (let i = 0; i < nh; i++) digit.set(patch.subarray(i * nw, (i + 1) * nw), (topRow + i) * size + left);
  return digit;
}

function areaWeights(from, to) {  // for each of `to` cells: the [source index, weight] pairs it averages
  const ratio = from / to;
  return Array.from({ length: to }, (_, i) => {
    const [a, b] = [i * ratio, (i + 1) * ratio], taps = [];
    for (let s = Math.floor(a); s < Math.min(from, Math.ceil(b)); s++) {
      taps.push([s, (Math.min(b, s + 1) - Math.max(a, s)) / ratio]);
    }
    return taps;
  });
}

