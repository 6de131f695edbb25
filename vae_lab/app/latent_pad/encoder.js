// The VAE encoder of vae_lab/models.py in the browser, float32 like PyTorch:
//   Conv2d(C -> 32, 3, padding 1), ReLU, Conv2d(32 -> 64, 3, stride 2, padding 1), ReLU,
//   Conv2d(64 -> 64, 3, padding 1), ReLU, Conv2d(64 -> 64, 3, padding 1), ReLU,
//   flatten, Linear(-> 32), ReLU, then Linear(32 -> d) twice: the posterior's mean and log-variance.
// It runs in WebAssembly SIMD (wasm.js, kernels.c) where the browser can, else in the JavaScript below.
// Needs scatter.js and wasm.js. `bytes`: the encoder's tensors as little-endian float32, in the order and
// PyTorch layouts that vae_lab/app/latent_pad.py's `encoder_bytes` writes them. Activations are kept position-major with
// their channels contiguous, and every layer is a scatter that skips zero inputs: a drawing is mostly
// black and most of each ReLU's outputs are zero, so about 3 of the 19 million multiply-adds remain.
"use strict";

const CONVS = [[32, 1], [64, 2], [64, 1], [64, 1]];  // (output channels, stride) of each 3x3 conv
const HIDDEN = 32;

function loadEncoder(bytes, dims) {
  const { latent_dim: d, channels: C, height: H, width: W } = dims;
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const take = (n) => { const part = all.subarray(at, at + n); at += n; return part; };
  const layers = [];
  let cin = C, h = H, w = W;
  for (const [cout, stride] of CONVS) {
    const weight = take(cout * cin * 9), bias = take(cout);
    const reordered = new Float32Array(weight.length);  // (out, in, ky, kx) -> (in, ky, kx, out)
    for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) for (let k = 0; k < 9; k++)
      reordered[(i * 9 + k) * cout + o] = weight[(o * cin + i) * 9 + k];
    const ho = Math.floor((h - 1) / stride) + 1, wo = Math.floor((w - 1) / stride) + 1;
    layers.push({ cin, cout, stride, h, w, ho, wo, weight: reordered, bias, out: new Float32Array(ho * wo * cout),
                  scratch: groups(cin) });
    [cin, h, w] = [cout, ho, wo];
  }
  const flat = cin * h * w, positions = h * w;
  const hiddenWeight = take(HIDDEN * flat), hiddenBias = take(HIDDEN);
  // PyTorch flattens (channel, y, x); here an input is (position, channel): (32, c*P + p) -> (p*cin + c, 32)
  const hiddenReordered = new Float32Array(hiddenWeight.length);
  for (let j = 0; j < HIDDEN; j++) for (let c = 0; c < cin; c++) for (let p = 0; p < positions; p++)
    hiddenReordered[(p * cin + c) * HIDDEN + j] = hiddenWeight[j * flat + c * positions + p];
  const muWeight = take(d * HIDDEN), muBias = take(d), logvarWeight = take(d * HIDDEN), logvarBias = take(d);
  if (at !== all.length) throw new Error(`encoder weights: expected ${at} floats, got ${all.length}`);
  return { d, C, H, W, layers, hiddenWeight: hiddenReordered, hiddenBias, muWeight, muBias, logvarWeight,
           logvarBias, input: new Float32Array(H * W * C), hidden: new Float32Array(HIDDEN), wasm: null };
}

// The encoder's weights and buffers in the WebAssembly module's memory (placed on its first encode there).
function placeEncoder(net) {
  const { d, layers, input, hiddenWeight, hiddenBias, muWeight, muBias, logvarWeight, logvarBias } = net;
  const transposed = (weight) => Float32Array.from({ length: weight.length }, (_, k) =>  // (d, 32) -> (32, d)
    weight[(k % d) * HIDDEN + Math.floor(k / d)]);
  const at = wasmPlace({ hiddenWeight, hiddenBias, muWeight: transposed(muWeight), muBias,
                         logvarWeight: transposed(logvarWeight), logvarBias },
                       { input: input.length, hidden: HIDDEN, mu: d, logvar: d });
  at.layers = layers.map((layer) => wasmPlace({ weight: layer.weight, bias: layer.bias }, { out: layer.out.length }));
  return at;
}

// A 3x3 convolution with padding 1 and ReLU, as a scatter (scatter.js): input (iy, ix) reaches output
// ((iy + 1 - ky) / stride, (ix + 1 - kx) / stride) where that is a whole number inside the output.
function conv(layer, input) {
  const { cin, cout, stride, h, w, ho, wo, weight, bias, out, scratch: { values, offsets } } = layer;
  for (let p = 0; p < ho * wo; p++) out.set(bias, p * cout);
  for (let iy = 0; iy < h; iy++) {
    for (let ix = 0; ix < w; ix++) {
      const n = nonZeroChannels(input, (iy * w + ix) * cin, cin, cout, values, offsets);
      if (n === 0) continue;
      for (let ky = 0; ky < 3; ky++) {
        const ty = iy + 1 - ky;
        if (ty < 0 || ty % stride) continue;
        const oy = (ty / stride) | 0;
        if (oy >= ho) continue;
        for (let kx = 0; kx < 3; kx++) {
          const tx = ix + 1 - kx;
          if (tx < 0 || tx % stride) continue;
          const ox = (tx / stride) | 0;
          if (ox < wo) scatterAdd(out, (oy * wo + ox) * cout, cout, weight, (ky * 3 + kx) * cout, values, offsets, n);
        }
      }
    }
  }
  for (let k = 0; k < out.length; k++) if (out[k] < 0) out[k] = 0;
  return out;
}

// One image, Float32Array(C*H*W) channel-major like PyTorch -> its posterior { mu, logvar } (Float32Arrays).
// `javascript`: run the JavaScript path even where WebAssembly runs (the tests compare both with PyTorch).
function encode(net, pixels, { javascript = false } = {}) {
  const { C, H, W, input } = net;
  for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) input[p * C + c] = pixels[c * H * W + p];
  return inWasm(net, placeEncoder, javascript) ? encodeWasm(net) : encodeJavaScript(net);
}

function encodeWasm(net) {
  const { d, layers, input, wasm: at } = net, k = kernels.exports;
  wasmFloats().set(input, at.input / 4);
  let x = at.input;
  layers.forEach((layer, i) => {
    const { cin, cout, h, w, stride } = layer, { weight, bias, out } = at.layers[i];
    k.conv3x3(out, x, weight, bias, cin, cout, h, w, stride, 0);
    x = out;
  });
  const last = layers[layers.length - 1];
  k.dense(at.hidden, x, at.hiddenWeight, at.hiddenBias, last.out.length, HIDDEN, 1);
  k.dense(at.mu, at.hidden, at.muWeight, at.muBias, HIDDEN, d, 0);
  k.dense(at.logvar, at.hidden, at.logvarWeight, at.logvarBias, HIDDEN, d, 0);
  const floats = wasmFloats();
  return { mu: floats.slice(at.mu / 4, at.mu / 4 + d), logvar: floats.slice(at.logvar / 4, at.logvar / 4 + d) };
}

function encodeJavaScript(net) {
  const { layers, hiddenWeight, hiddenBias, input, hidden, d } = net;
  let x = input;
  for (const layer of layers) x = conv(layer, x);
  hidden.set(hiddenBias);
  for (let k = 0; k < x.length; k++) {
    const v = x[k];
    if (v === 0) continue;
    const at = k * HIDDEN;
    for (let j = 0; j < HIDDEN; j++) hidden[j] += v * hiddenWeight[at + j];
  }
  for (let j = 0; j < HIDDEN; j++) if (hidden[j] < 0) hidden[j] = 0;
  const linear = (weight, bias) => Float32Array.from({ length: d }, (_, k) => {
    let s = bias[k];
    for (let j = 0; j < HIDDEN; j++) s += weight[k * HIDDEN + j] * hidden[j];
    return s;
  });
  return { mu: linear(net.muWeight, net.muBias), logvar: linear(net.logvarWeight, net.logvarBias) };
}

