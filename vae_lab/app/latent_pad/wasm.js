// kernels.wasm (built from kernels.c): the networks' layers in WebAssembly SIMD, on one thread. Where the
// browser cannot run it (no WebAssembly, or no SIMD: the module then fails to validate), `kernels.exports`
// stays null and decoder.js and encoder.js run their JavaScript loops instead; `kernels.path` says which runs.
// `kernels.on`: whether the WebAssembly runs where it loaded (the benchmark turns it off to time the JavaScript).
"use strict";

const kernels = { exports: null, on: true, get path() { return this.exports && this.on ? "WebAssembly SIMD" : "JavaScript"; } };

// Fetch and instantiate the kernels once, beside the page's first render: the JavaScript decodes until they run.
async function loadKernels() {
  try {
    const bytes = await (await fetch("kernels.wasm")).arrayBuffer();
    if (!WebAssembly.validate(bytes)) return;
    const { instance } = await WebAssembly.instantiate(bytes);
    kernels.exports = instance.exports;
  } catch (error) {
    console.warn(`vae_lab: the WebAssembly kernels did not load (${error.message}); JavaScript runs instead`);
  }
}

// The module's memory as floats; made again on each use, as growing the memory detaches older views.
function wasmFloats() {
  return new Float32Array(kernels.exports.memory.buffer);
}

// Room for `count` floats in the module's memory: its byte address.
function wasmRoom(count) {
  const at = kernels.exports.reserve(count);
  if (!at) throw new Error("the browser gave WebAssembly no more memory");
  return at;
}

// `arrays` (name -> Float32Array) copied into the module's memory, and room for `rooms` (name -> float count):
// name -> byte address, for the kernels' arguments.
function wasmPlace(arrays, rooms) {
  const at = {};
  for (const [name, array] of Object.entries(arrays)) {
    at[name] = wasmRoom(array.length);
    wasmFloats().set(array, at[name] / 4);
  }
  for (const [name, count] of Object.entries(rooms)) at[name] = wasmRoom(count);
  return at;
}

// Whether `net` runs in WebAssembly now (not where `javascript` asks for the JavaScript path); its weights are
// placed there on its first run (`place(net)`: their addresses).
function inWasm(net, place, javascript) {
  if (!kernels.exports || !kernels.on || javascript) return false;
  net.wasm ||= place(net);
  return true;
}

// Every model's weights leave the module's memory: the page's models changed.
function wasmReleaseAll() {
  if (kernels.exports) kernels.exports.release_all();
}
