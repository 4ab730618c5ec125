// Elementwise activation kernels (forward and backward) and dropout masks, AVX2.
// All buffers are dense float arrays of n elements; outputs may alias inputs.
#ifndef AUTOPROG_CK_ACTIVATION_H
#define AUTOPROG_CK_ACTIVATION_H
#include <stddef.h>
#include <stdint.h>

/// y = erf(x), rational approximation with |error| < 5e-7 over all floats.
void ck_erf(const float *x, float *y, size_t n);

/// GELU, exact form: y = x·Φ(x) = ½x(1 + erf(x/√2)).
void ck_gelu_erf_forward(const float *x, float *y, size_t n);
/// dx = dy·(Φ(x) + x·φ(x)).
void ck_gelu_erf_backward(const float *x, const float *dy, float *dx, size_t n);
/// GELU, tanh form (torch approximate="tanh"): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
void ck_gelu_tanh_forward(const float *x, float *y, size_t n);
void ck_gelu_tanh_backward(const float *x, const float *dy, float *dx, size_t n);

/// SiLU: y = x·σ(x); backward dx = dy·σ(x)(1 + x(1 − σ(x))).
void ck_silu_forward(const float *x, float *y, size_t n);
void ck_silu_backward(const float *x, const float *dy, float *dx, size_t n);
/// y = σ(x) and y = tanh(x) as ck_sigmoid/ck_tanh, but NaN in x gives NaN in y.
void ck_sigmoid_forward(const float *x, float *y, size_t n);
void ck_tanh_forward(const float *x, float *y, size_t n);
/// dx = dy·y(1 − y) from the sigmoid's output y.
void ck_sigmoid_backward(const float *y, const float *dy, float *dx, size_t n);
/// dx = dy·(1 − y²) from the tanh's output y.
void ck_tanh_backward(const float *y, const float *dy, float *dx, size_t n);
/// y = max(x, 0); backward dx = dy where x > 0, else 0.
void ck_relu_forward(const float *x, float *y, size_t n);
void ck_relu_backward(const float *x, const float *dy, float *dx, size_t n);

/// Philox4x32-10 block `index` under `key`, bit-identical to Swift's `Philox.block`.
void ck_philox_block(uint64_t key, uint64_t index, uint32_t out[4]);
/// Inverted-dropout mask for elements [first, first + n) of a draw that starts at
/// Philox block `counter`: element i uses word i % 4 of block counter + i / 4, turned
/// into a uniform u on (0, 1) exactly as `RandomStream.unitFloat`; mask = scale where
/// u < keep, else 0. `first` must be a multiple of 4 (so threads split on block bounds).
void ck_dropout_mask(uint64_t key, uint64_t counter, size_t first, size_t n, float keep, float scale,
                     float *mask);
/// z = x ⊙ m (the dropout forward and backward).
void ck_multiply(const float *x, const float *m, float *z, size_t n);
/// y[r, :] = x[r, :]·scale[r] for a dense [rows, cols] matrix (per-sample drop path).
void ck_scale_rows(const float *x, const float *scale, float *y, size_t rows, size_t cols);
#endif
