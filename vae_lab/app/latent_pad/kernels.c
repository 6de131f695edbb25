// The latent pad's layers in WebAssembly SIMD: one thread, 128-bit vectors of four float32s.
// Built into kernels.wasm by `python -m vae_lab.app.build_kernels` (Zig's clang, pinned); wasm.js calls them.
//
// Activations are position-major with their channels contiguous, as in encoder.js and decoder.js, so that
// each step below adds one weight row to one output row: four multiply-adds per instruction. The
// convolutions are scatters that skip zero inputs: a ReLU zeroes most of them and a drawing is mostly
// black. Weights are laid out as the JavaScript loaders reorder them. Memory is a bump allocator that
// wasm.js resets when the page's models change: a handful of models' weights, nothing else, live here.
#include <wasm_simd128.h>

extern unsigned char __heap_base;
static unsigned long top = 0;

// Room for `count` floats (16-byte aligned), growing the memory as needed; 0 where it cannot grow.
float *reserve(int count) {
    if (top == 0) top = (unsigned long)&__heap_base;
    unsigned long start = (top + 15) & ~15UL, end = start + 4UL * (unsigned long)count;
    unsigned long have = __builtin_wasm_memory_size(0) * 65536UL;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (unsigned long)-1) return 0;
    top = end;
    return (float *)start;
}

// Forget every reserved float: the page's models changed and their weights are placed again.
void release_all(void) { top = (unsigned long)&__heap_base; }

// y[0..n) += a * x[0..n)
static void axpy(float *restrict y, const float *restrict x, float a, int n) {
    v128_t va = wasm_f32x4_splat(a);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

// sum of a[i] * b[i], i < n
static float dot(const float *a, const float *b, int n) {
    v128_t sum = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) sum = wasm_f32x4_add(sum, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    float s = wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1) +
              wasm_f32x4_extract_lane(sum, 2) + wasm_f32x4_extract_lane(sum, 3);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void relu(float *x, int n) {
    v128_t zero = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_pmax(zero, wasm_v128_load(x + i)));
    for (; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

// y = b + x W, then a ReLU if `rectify`: W is (n_in, n_out), one row per input; zero inputs are skipped.
void dense(float *y, const float *x, const float *w, const float *b, int n_in, int n_out, int rectify) {
    for (int j = 0; j < n_out; j++) y[j] = b[j];
    for (int k = 0; k < n_in; k++)
        if (x[k] != 0) axpy(y, w + k * n_out, x[k], n_out);
    if (rectify) relu(y, n_out);
}

// Every output row an input position reaches, with the weights' tap (ky * 3 + kx) for each: at most 9.
// A 3x3 convolution with padding 1 sends input (iy, ix) to ((iy + 1 - ky) / stride, (ix + 1 - kx) / stride)
// where that is a whole number inside the output; the transposed one (stride 2, padding 1, output padding 1)
// sends it to (2 iy - 1 + ky, 2 ix - 1 + kx).
static int reach(int transposed, int iy, int ix, int stride, int ho, int wo, int rows[9], int taps[9]) {
    int n = 0;
    for (int ky = 0; ky < 3; ky++) {
        int ty = transposed ? 2 * iy - 1 + ky : iy + 1 - ky;
        if (ty < 0 || (!transposed && ty % stride)) continue;
        int oy = transposed ? ty : ty / stride;
        if (oy >= ho) continue;
        for (int kx = 0; kx < 3; kx++) {
            int tx = transposed ? 2 * ix - 1 + kx : ix + 1 - kx;
            if (tx < 0 || (!transposed && tx % stride)) continue;
            int ox = transposed ? tx : tx / stride;
            if (ox >= wo) continue;
            rows[n] = oy * wo + ox;
            taps[n] = ky * 3 + kx;
            n++;
        }
    }
    return n;
}

// A 3x3 convolution (padding 1, stride 1 or 2; `transposed`: stride 2 up, (h, w) -> (2h, 2w)) and a ReLU,
// as a scatter. Input (h * w, cin), output (ho * wo, cout); weights (cin, ky, kx, cout); bias (cout).
void conv3x3(float *out, const float *in, const float *w, const float *b, int cin, int cout, int h, int wd,
             int stride, int transposed) {
    int ho = transposed ? 2 * h : (h - 1) / stride + 1, wo = transposed ? 2 * wd : (wd - 1) / stride + 1;
    for (int p = 0; p < ho * wo; p++)
        for (int o = 0; o < cout; o++) out[p * cout + o] = b[o];
    int rows[9], taps[9];
    for (int iy = 0; iy < h; iy++) {
        for (int ix = 0; ix < wd; ix++) {
            const float *x = in + (iy * wd + ix) * cin;
            int n = reach(transposed, iy, ix, stride, ho, wo, rows, taps);
            for (int i = 0; i < cin; i++) {
                if (x[i] == 0) continue;
                const float *wi = w + i * 9 * cout;
                for (int t = 0; t < n; t++) axpy(out + rows[t] * cout, wi + taps[t] * cout, x[i], cout);
            }
        }
    }
    relu(out, ho * wo * cout);
}

// The decoder's last layer: a 3x3 convolution (padding 1) with no activation, as dot products over the input's
// channels, written channel-major as PyTorch's images are: input (h * w, cin), output (cout, h, w);
// weights (cout, ky, kx, cin); bias (cout).
void conv3x3_to_planes(float *out, const float *in, const float *w, const float *b, int cin, int cout, int h,
                       int wd) {
    for (int c = 0; c < cout; c++) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < wd; x++) {
                float s = b[c];
                for (int ky = 0; ky < 3; ky++) {
                    int sy = y + ky - 1;
                    if (sy < 0 || sy >= h) continue;
                    for (int kx = 0; kx < 3; kx++) {
                        int sx = x + kx - 1;
                        if (sx < 0 || sx >= wd) continue;
                        s += dot(in + (sy * wd + sx) * cin, w + (c * 9 + ky * 3 + kx) * cin, cin);
                    }
                }
                out[(c * h + y) * wd + x] = s;
            }
        }
    }
}
