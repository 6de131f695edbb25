// The VAE decoder of vae_lab/models.py in the browser, float32 like PyTorch, in either layout:
//   Linear(d -> C0*H0*W0), ReLU, then ConvTranspose2d(3, stride 2, padding 1, output_padding 1) and ReLU for
//   each entry of `dims.upsamples` (its output channels), then Conv2d(-> C, 3, padding 1), sigmoid.
// The notebook's layout has one transposed conv (64 -> 32 channels, 14 -> 28 px); the strided one four
// (128 -> 128 -> 64 -> 32 -> 32 channels, 4 -> 64 px).
// It runs in WebAssembly SIMD (wasm.js, kernels.c) where the browser can, else in the JavaScript below.
// `bytes`: the decoder's tensors as little-endian float32, in the order and PyTorch layouts that
// vae_lab/app/latent_pad.py's `decoder_bytes` writes them. The weights are reordered once here so that
// the inner loops run over contiguous channels. Needs scatter.js and wasm.js.
"use strict";

function loadDecoder(bytes, dims) {
  const { latent_dim: d, channels: C, height: H, width: W, grid: [C0, H0, W0], upsamples } = dims;
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const take = (n) => { const part = all.subarray(at, at + n); at += n; return part; };
  const positions = H0 * W0, size = C0 * positions;
  const w1 = take(size * d), b1 = take(size);
  // the hidden layer's outputs from PyTorch's (channel, y, x) to (position, channel), one row per input:
  // (C0 * P, d) -> (d, P * C0)
  const w1r = new Float32Array(w1.length), b1r = new Float32Array(b1.length);
  for (let i = 0; i < C0; i++) for (let p = 0; p < positions; p++) {
    b1r[p * C0 + i] = b1[i * positions + p];
    for (let k = 0; k < d; k++) w1r[k * size + p * C0 + i] = w1[(i * positions + p) * d + k];
  }
  const layers = [];
  let cin = C0, h = H0, w = W0;
  for (const cout of upsamples) {
    const weight = take(cin * cout * 9), bias = take(cout);
    const reordered = new Float32Array(weight.length);  // (in, out, ky, kx) -> (in, ky, kx, out)
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) for (let k = 0; k < 9; k++)
      reordered[(i * 9 + k) * cout + o] = weight[(i * cout + o) * 9 + k];
    layers.push({ cin, cout, h, w, weight: reordered, bias, out: new Float32Array(4 * h * w * cout),
                  scratch: groups(cin) });
    [cin, h, w] = [cout, 2 * h, 2 * w];
  }
  if (h !== H || w !== W) throw new Error(`decoder: its layers make ${h}x${w} images, not ${H}x${W}`);
  const w3 = take(C * cin * 9), b3 = take(C);
  if (at !== all.length) throw new Error(`decoder weights: expected ${at} floats, got ${all.length}`);
  const w3r = new Float32Array(w3.length);  // (out, in, ky, kx) -> (out, ky, kx, in)
  for (let c = 0; c < C; c++) for (let i = 0; i < cin; i++) for (let k = 0; k < 9; k++)
    w3r[(c * 9 + k) * cin + i] = w3[(c * cin + i) * 9 + k];
  return { d, C, H, W, C1: cin, w1: w1r, b1: b1r, layers, w3r, b3, hidden: new Float32Array(size), wasm: null };
}

// The decoder's weights and buffers in the WebAssembly module's memory (placed on its first decode there).
function placeDecoder(net) {
  const { d, C, H, W, w1, b1, layers, w3r, b3, hidden } = net;
  const at = wasmPlace({ w1, b1, w3: w3r, b3 }, { z: d, hidden: hidden.length, logits: C * H * W });
  at.layers = layers.map((layer) => wasmPlace({ weight: layer.weight, bias: layer.bias }, { out: layer.out.length }));
  return at;
}

// One latent vector -> Float32Array(C*H*W) of pixel values in [0, 1], channel-major like PyTorch.
// `javascript`: run the JavaScript path even where WebAssembly runs (the tests compare both with PyTorch).
function decode(net, z, { javascript = false } = {}) {
  const logits = inWasm(net, placeDecoder, javascript) ? decodeLogitsWasm(net, z) : decodeLogits(net, z);
  const out = new Float32Array(logits.length);
  for (let p = 0; p < logits.length; p++) out[p] = 1 / (1 + Math.exp(-logits[p]));
  return out;
}

function decodeLogitsWasm(net, z) {
  const { d, C, H, W, C1, layers, hidden, wasm: at } = net, k = kernels.exports;
  wasmFloats().set(z, at.z / 4);
  k.dense(at.hidden, at.z, at.w1, at.b1, d, hidden.length, 1);
  let x = at.hidden;
  layers.forEach(({ cin, cout, h, w }, i) => {
    k.conv3x3(at.layers[i].out, x, at.layers[i].weight, at.layers[i].bias, cin, cout, h, w, 2, 1);
    x = at.layers[i].out;
  });
  k.conv3x3_to_planes(at.logits, x, at.w3, at.b3, C1, C, H, W);
  return wasmFloats().subarray(at.logits / 4, at.logits / 4 + C * H * W);
}

// A transposed convolution and ReLU as a scatter (scatter.js): input (iy, ix) adds to output
// (2*iy - 1 + ky, 2*ix - 1 + kx).
function upsample(layer, input) {
  const { cin, cout, h, w, weight, bias, out, scratch: { values, offsets } } = layer;
  const H = 2 * h, W = 2 * w;
  for (let p = 0; p < H * W; p++) out.set(bias, p * cout);
  for (let iy = 0; iy < h; iy++) {
    for (let ix = 0; ix < w; ix++) {
      const n = nonZeroChannels(input, (iy * w + ix) * cin, cin, cout, values, offsets);
      if (n === 0) continue;
      for (let ky = 0; ky < 3; ky++) {
        const oy = 2 * iy - 1 + ky;
        if (oy < 0 || oy >= H) continue;
        for (let kx = 0; kx < 3; kx++) {
          const ox = 2 * ix - 1 + kx;
          if (ox >= 0 && ox < W) scatterAdd(out, (oy * W + ox) * cout, cout, weight, (ky * 3 + kx) * cout, values, offsets, n);
        }
      }
    }
  }
  for (let p = 0; p < out.length; p++) if (out[p] < 0) out[p] = 0;
  return out;
}

function decodeLogits(net, z) {
  const { d, C, H, W, C1, w1, b1, layers, w3r, b3, hidden } = net;
  hidden.set(b1);
  for (let k = 0; k < d; k++) {
    const v = z[k], row = k * hidden.length;
    for (let j = 0; j < hidden.length; j++) hidden[j] += v * w1[row + j];
  }
  for (let j = 0; j < hidden.length; j++) if (hidden[j] < 0) hidden[j] = 0;
  let x = hidden;
  for (const layer of layers) x = upsample(layer, x);
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let xo = 0; xo < W; xo++) {
        let s = b3[c];
        for (let ky = 0; ky < 3; ky++) {
          const sy = y + ky - 1;
          if (sy < 0 || sy >= H) continue;
          for (let kx = 0; kx < 3; kx++) {
            const sx = xo + kx - 1;
            if (sx < 0 || sx >= W) continue;
            const wAt = (c * 9 + ky * 3 + kx) * C1, inAt = (sy * W + sx) * C1;
            for (let i = 0; i < C1; i++) s += x[inAt + i] * w3r[wAt + i];
          }
        }
        out[(c * H + y) * W + xo] = s;
      }
    }
  }
  return out;
}
