// The inner loop of decoder.js's transposed convolution and encoder.js's convolutions: a scatter.
// Each input position's non-zero channels (a ReLU zeroes most of them, and a digit is mostly black)
// are gathered, then added to each output position they reach eight at a time, so that an output is
// read and written once per eight multiply-adds. Weights are laid out (in, ky, kx, out).
"use strict";

const GROUP = 8;

// The non-zero channels of input[at .. at + cin) into `values`, with their weights' offsets
// (channel * 9 * cout) into `offsets`; padded with zeros to whole groups. Returns how many.
function nonZeroChannels(input, at, cin, cout, values, offsets) {
  let n = 0;
  for (let i = 0; i < cin; i++) {
    const v = input[at + i];
    if (v !== 0) { values[n] = v; offsets[n] = i * 9 * cout; n++; }
  }
  while (n % GROUP) { values[n] = 0; offsets[n] = 0; n++; }
  return n;
}

// out[outAt + o] += sum_j values[j] * weight[offsets[j] + tap + o], for o < cout; tap = (ky * 3 + kx) * cout.
function scatterAdd(out, outAt, cout, weight, tap, values, offsets, n) {
  for (let j = 0; j < n; j += GROUP) {
    const v0 = values[j], v1 = values[j + 1], v2 = values[j + 2], v3 = values[j + 3],
      v4 = values[j + 4], v5 = values[j + 5], v6 = values[j + 6], v7 = values[j + 7];
    const a0 = offsets[j] + tap, a1 = offsets[j + 1] + tap, a2 = offsets[j + 2] + tap, a3 = offsets[j + 3] + tap,
      a4 = offsets[j + 4] + tap, a5 = offsets[j + 5] + tap, a6 = offsets[j + 6] + tap, a7 = offsets[j + 7] + tap;
    for (let o = 0; o < cout; o++) {
      out[outAt + o] += v0 * weight[a0 + o] + v1 * weight[a1 + o] + v2 * weight[a2 + o] + v3 * weight[a3 + o] +
        v4 * weight[a4 + o] + v5 * weight[a5 + o] + v6 * weight[a6 + o] + v7 * weight[a7 + o];
    }
  }
}

// Scratch space for nonZeroChannels, for an input of `cin` channels.
function groups(cin) {
  const size = Math.ceil(cin / GROUP) * GROUP;
  return { values: new Float32Array(size), offsets: new Int32Array(size) };
}
