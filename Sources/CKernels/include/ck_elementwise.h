// Elementwise, reduction and gather kernels (AVX2, see vecmath.h).
#ifndef AUTOPROG_CK_ELEMENTWISE_H
#define AUTOPROG_CK_ELEMENTWISE_H
#include <stddef.h>
#include <stdint.h>

/// Binary operations understood by ck_binary.
enum {
    CK_ADD = 0,
    CK_SUB = 1,
    CK_MUL = 2,
    CK_DIV = 3,
    /// out = a (b is ignored): a broadcasting copy.
    CK_COPY = 4,
};

/// out[i] = a[i·as] op b[i·bs] for i < n; out is dense. Strides of 0 broadcast one
/// value; strides of 0 and 1 take vectorised paths, others a scalar loop.
void ck_binary(int op, const float *a, ptrdiff_t as, const float *b, ptrdiff_t bs, float *out, size_t n);

/// out = s·a·b (dense, same length).
void ck_mul_scaled(const float *a, const float *b, float s, float *out, size_t n);
/// out = s·a/b (dense, same length).
void ck_div_scaled(const float *a, const float *b, float s, float *out, size_t n);

/// y = ln x (IEEE special cases: ln 0 = -inf, ln of a negative or NaN = NaN).
void ck_log(const float *x, float *y, size_t n);
void ck_sqrt(const float *x, float *y, size_t n);
void ck_square(const float *x, float *y, size_t n);
void ck_abs(const float *x, float *y, size_t n);
/// y = x^p with powf semantics (a negative base needs an integral p); p in {1, 2, 0.5, -1, -0.5} is exact-fast.
void ck_pow(const float *x, float *y, size_t n, float p);
/// y = min(max(x, lo), hi); NaN stays NaN.
void ck_clamp(const float *x, float *y, size_t n, float lo, float hi);
/// dx = g·sign(x), sign(0) = 0.
void ck_abs_backward(const float *x, const float *g, float *dx, size_t n);
/// dx = g where lo ≤ x ≤ hi, else 0.
void ck_clamp_backward(const float *x, const float *g, float *dx, size_t n, float lo, float hi);

/// out[r] = scale · Σ_k x[r·k + j] over j < k, for r < rows (blocked float, folded in double).
void ck_sum_rows(const float *x, size_t rows, size_t k, float scale, float *out);
/// out[c] = scale · Σ_r x[r·ld + c] over r < rows, for c < cols (double accumulators).
void ck_sum_columns(const float *x, size_t rows, size_t cols, size_t ld, float scale, float *out);

/// Max along the middle axis of a dense [outer, k, inner] block: values and the first
/// index of the maximum (NaN counts as the maximum, as in torch.max).
void ck_max_axis(const float *x, size_t outer, size_t k, size_t inner, float *values, int32_t *indices);
#endif
