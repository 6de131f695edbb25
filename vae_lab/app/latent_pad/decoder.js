// The VAE decoder of vae_lab/models.py in the browser, float32 like PyTorch:
//   Linear(d -> 64*H/2*W/2), ReLU, ConvTranspose2d(64 -> 32, 3, stride 2, padding 1, output_padding 1),
//   ReLU, Conv2d(32 -> C, 3, padding 1), sigmoid.
// It runs in WebAssembly SIMD (wasm.js, kernels.c) where the browser can, else in the JavaScript below.
// `bytes`: the decoder's tensors as little-endian float32, in the order and PyTorch layouts that
// vae_lab/app/latent_pad.py's `decoder_bytes` writes them. The weights are reordered once here so that
// the inner loops run over contiguous channels. Needs scatter.js and wasm.js.
"use strict";

function loadDecoder(bytes, dims) {
  const { latent_dim: d, channels: C, height: H, width: W } = dims;
  const C0 = 64, C1 = 32, H2 = H / 2, W2 = W / 2;
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const take = (n) => { const part = all.subarray(at, at + n); at += n; return part; };
  const w1 = take(C0 * H2 * W2 * d), b1 = take(C0 * H2 * W2);
  const w2 = take(C0 * C1 * 9), b2 = take(C1);
  const w3 = take(C * C1 * 9), b3 = take(C);
  if (at !== all.length) throw new Error(`decoder weights: expected ${at} floats, got ${all.length}`);
  // the hidden layer's outputs from PyTorch's (channel, y, x) to (position, channel), one row per input:
  // (C0 * P, d) -> (d, P * C0)
  const positions = H2 * W2, hidden = C0 * positions, w1r = new Float32Array(w1.length), b1r = new Float32Array(b1.length);
  for (let i = 0; i < C0; i++) for (let p = 0; p < positions; p++) {
    b1r[p * C0 + i] = b1[i * positions + p];
    for (let k = 0; k < d; k++) w1r[k * hidden + p * C0 + i] = w1[(i * positions + p) * d + k];
  }
  const w2r = new Float32Array(w2.length);  // (in, out, ky, kx) -> (in, ky, kx, out)
  for (let i = 0; i < C0; i++) for (let o = 0; o < C1; o++) for (let k = 0; k < 9; k++)
    w2r[(i * 9 + k) * C1 + o] = w2[(i * C1 + o) * 9 + k];
  const w3r = new Float32Array(w3.length);  // (out, in, ky, kx) -> (out, ky, kx, in)
  for (let c = 0; c < C; c++) for (let i = 0; i < C1; i++) for (let k = 0; k < 9; k++)
    w3r[(c * 9 + k) * C1 + i] = w3[(c * C1 + i) * 9 + k];
  return { d, C, H, W, C0, C1, H2, W2, w1: w1r, b1: b1r, w2r, b2, w3r, b3, scratch: groups(C0),
           hidden: new Float32Array(hidden), upsampled: new Float32Array(H * W * C1), wasm: null };
}

// The decoder's weights and buffers in the WebAssembly module's memory (placed on its first decode there).
function placeDecoder(net) {
  const { d, C, H, W, w1, b1, w2r, b2, w3r, b3, hidden, upsampled } = net;
  return wasmPlace({ w1, b1, w2: w2r, b2, w3: w3r, b3 },
                   { z: d, hidden: hidden.length, upsampled: upsampled.length, logits: C * H * W });
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
  const { d, C, H, W, C0, C1, H2, W2, wasm: at } = net, k = kernels.exports;
  wasmFloats().set(z, at.z / 4);
  k.dense(at.hidden, at.z, at.w1, at.b1, d, C0 * H2 * W2, 1);
  k.conv3x3(at.upsampled, at.hidden, at.w2, at.b2, C0, C1, H2, W2, 2, 1);
  k.conv3x3_to_planes(at.logits, at.upsampled, at.w3, at.b3, C1, C, H, W);
  return wasmFloats().subarray(at.logits / 4, at.logits / 4 + C * H * W);
}

function decodeLogits(net, z) {
  const { d, C, H, W, C0, C1, H2, W2, w1, b1, w2r, b2, w3r, b3, hidden, upsampled } = net;
  const { values, offsets } = net.scratch;
  hidden.set(b1);
  for (let k = 0; k < d; k++) {
    const v = z[k], row = k * hidden.length;
    for (let j = 0; j < hidden.length; j++) hidden[j] += v * w1[row + j];
  }
  for (let j = 0; j < hidden.length; j++) if (hidden[j] < 0) hidden[j] = 0;
  // transposed convolution as a scatter (scatter.js): input (iy, ix) adds to output (2*iy - 1 + ky, 2*ix - 1 + kx)
  for (let p = 0; p < H * W; p++) upsampled.set(b2, p * C1);
  for (let iy = 0; iy < H2; iy++) {
    for (let ix = 0; ix < W2; ix++) {
      const n = nonZeroChannels(hidden, (iy * W2 + ix) * C0, C0, C1, values, offsets);
      if (n === 0) continue;
      for (let ky = 0; ky < 3; ky++) {
        const oy = 2 * iy - 1 + ky;
        if (oy < 0 || oy >= H) continue;
        for (let kx = 0; kx < 3; kx++) {
          const ox = 2 * ix - 1 + kx;
          if (ox >= 0 && ox < W) scatterAdd(upsampled, (oy * W + ox) * C1, C1, w2r, (ky * 3 + kx) * C1, values, offsets, n);
        }
      }
    }
  }
  for (let p = 0; p < upsampled.length; p++) if (upsampled[p] < 0) upsampled[p] = 0;
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = b3[c];
        for (let ky = 0; ky < 3; ky++) {
          const sy = y + ky - 1;
          if (sy < 0 || sy >= H) continue;
          for (let kx = 0; kx < 3; kx++) {
            const sx = x + kx - 1;
            if (sx < 0 || sx >= W) continue;
            const wAt = (c * 9 + ky * 3 + kx) * C1, inAt = (sy * W + sx) * C1;
            for (let i = 0; i < C1; i++) s += upsampled[inAt + i] * w3r[wAt + i];
          }
        }
        out[(c * H + y) * W + x] = s;
      }
    }
  }
  return out;
}
