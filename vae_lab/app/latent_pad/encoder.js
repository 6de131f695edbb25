// The VAE encoder of vae_lab/models.py in the browser, float32 like PyTorch, in either layout:
//   3x3 convs with padding 1 and ReLU, one for each entry of `dims.convs` ([output channels, stride]), flatten,
//   then (the notebook's layout) Linear(-> dims.hidden) and ReLU, then Linear(-> d) twice: the posterior's mean and
//   log-variance. The notebook's layout: convs 32, 64 (stride 2), 64, 64 and a hidden layer of 32; the strided
//   one: convs 32, 64, 128, 128, all of stride 2, and no hidden layer.
// It runs in WebAssembly SIMD (wasm.js, kernels.c) where the browser can, else in the JavaScript below.
// Needs scatter.js and wasm.js. `bytes`: the encoder's tensors as little-endian float32, in the order and
// PyTorch layouts that vae_lab/app/latent_pad.py's `encoder_bytes` writes them. Activations are kept
// position-major with their channels contiguous, and every layer is a scatter that skips zero inputs: a drawing is
// mostly black and most of each ReLU's outputs are zero, so about 3 of the notebook encoder's 19 million
// multiply-adds remain.
"use strict";

function loadEncoder(bytes, dims) {
  const { latent_dim: d, channels: C, height: H, width: W, convs, hidden: width } = dims;
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const take = (n) => { const part = all.subarray(at, at + n); at += n; return part; };
  const layers = [];
  let cin = C, h = H, w = W;
  for (const [cout, stride] of convs) {
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
  // PyTorch flattens (channel, y, x); here the features are (position, channel): (n, c*P + p) -> (p*cin + c, n)
  const fromFlat = (weight, n) => {
    const reordered = new Float32Array(weight.length);
    for (let j = 0; j < n; j++) for (let c = 0; c < cin; c++) for (let p = 0; p < positions; p++)
      reordered[(p * cin + c) * n + j] = weight[j * flat + c * positions + p];
    return reordered;
  };
  // (n, m) -> (m, n): one row per input, as dense() reads them
  const rows = (weight, n, m) => Float32Array.from({ length: weight.length }, (_, k) => weight[(k % n) * m + Math.floor(k / n)]);
  const hidden = width ? { weight: fromFlat(take(width * flat), width), bias: take(width), out: new Float32Array(width) }
    : null;
  const inputs = width || flat;
  const head = () => {
    const weight = take(d * inputs), bias = take(d);
    return { weight: width ? rows(weight, d, width) : fromFlat(weight, d), bias };
  };
  const mu = head(), logvar = head();
  if (at !== all.length) throw new Error(`encoder weights: expected ${at} floats, got ${all.length}`);
  return { d, C, H, W, layers, hidden, mu, logvar, inputs, input: new Float32Array(H * W * C), wasm: null };
}

// The encoder's weights and buffers in the WebAssembly module's memory (placed on its first encode there).
function placeEncoder(net) {
  const { d, layers, input, hidden, mu, logvar } = net;
  const at = wasmPlace({ muWeight: mu.weight, muBias: mu.bias, logvarWeight: logvar.weight, logvarBias: logvar.bias,
                         ...(hidden ? { hiddenWeight: hidden.weight, hiddenBias: hidden.bias } : {}) },
                       { input: input.length, hidden: hidden ? hidden.out.length : 0, mu: d, logvar: d });
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
  const { d, layers, hidden, inputs, input, wasm: at } = net, k = kernels.exports;
  wasmFloats().set(input, at.input / 4);
  let x = at.input;
  layers.forEach((layer, i) => {
    const { cin, cout, h, w, stride } = layer, { weight, bias, out } = at.layers[i];
    k.conv3x3(out, x, weight, bias, cin, cout, h, w, stride, 0);
    x = out;
  });
  if (hidden) {
    k.dense(at.hidden, x, at.hiddenWeight, at.hiddenBias, layers[layers.length - 1].out.length, inputs, 1);
    x = at.hidden;
  }
  k.dense(at.mu, x, at.muWeight, at.muBias, inputs, d, 0);
  k.dense(at.logvar, x, at.logvarWeight, at.logvarBias, inputs, d, 0);
  const floats = wasmFloats();
  return { mu: floats.slice(at.mu / 4, at.mu / 4 + d), logvar: floats.slice(at.logvar / 4, at.logvar / 4 + d) };
}

// y = bias + x W for W of one row per input (skipping zero inputs), then a ReLU if `rectify`.
function dense(x, weight, bias, out, rectify) {
  const n = bias.length;
  out.set(bias);
  for (let k = 0; k < x.length; k++) {
    const v = x[k];
    if (v === 0) continue;
    const at = k * n;
    for (let j = 0; j < n; j++) out[j] += v * weight[at + j];
  }
  if (rectify) for (let j = 0; j < n; j++) if (out[j] < 0) out[j] = 0;
  return out;
}

function encodeJavaScript(net) {
  const { layers, hidden, mu, logvar, input, d } = net;
  let x = input;
  for (const layer of layers) x = conv(layer, x);
  if (hidden) x = dense(x, hidden.weight, hidden.bias, hidden.out, true);
  return { mu: dense(x, mu.weight, mu.bias, new Float32Array(d), false),
           logvar: dense(x, logvar.weight, logvar.bias, new Float32Array(d), false) };
}
