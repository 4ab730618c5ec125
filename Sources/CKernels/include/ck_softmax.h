// Row kernels built on a max-subtracted log-sum-exp: softmax, log-softmax and the
// cross-entropy losses fused with them; plus the mean-squared-error loss. AVX2.
#ifndef AUTOPROG_CK_SOFTMAX_H
#define AUTOPROG_CK_SOFTMAX_H
#include <stddef.h>

/// Softmax (log = 0) or log-softmax (log = 1) of each row of a dense [rows, cols] matrix.
/// y may alias x.
void ck_softmax_rows(const float *x, float *y, size_t rows, size_t cols, int log);
/// Backward from the forward output y: softmax dx = y ⊙ (dy − Σ dy⊙y);
/// log-softmax dx = dy − e^y · Σ dy. dx may alias dy.
void ck_softmax_backward_rows(const float *y, const float *dy, float *dx, size_t rows, size_t cols, int log);

/// The same along a non-contiguous axis: columns [0, width) of a [dim, stride] matrix,
/// normalised down each column (dim elements `stride` apart). Vectorised across columns.
void ck_softmax_strided(const float *x, float *y, size_t dim, size_t stride, size_t width, int log);
void ck_softmax_strided_backward(const float *y, const float *dy, float *dx, size_t dim, size_t stride,
                                 size_t width, int log);

/// Cross-entropy of each row of logits x [rows, cols] against class `targets[r]` with
/// label smoothing ε (target distribution (1 − ε)·onehot + ε/cols): writes the row's
/// log-sum-exp to lse[r] and its loss to loss[r].
void ck_cross_entropy_forward(const float *x, const long *targets, size_t rows, size_t cols, float smoothing,
                              float *lse, float *loss);
/// dx = (softmax(x) − target distribution) · scale, from the saved log-sum-exp.
void ck_cross_entropy_backward(const float *x, const long *targets, const float *lse, size_t rows, size_t cols,
                               float smoothing, float scale, float *dx);
/// Cross-entropy against soft targets p [rows, cols]: loss[r] = −Σ_k p_k log softmax(x)_k.
void ck_soft_cross_entropy_forward(const float *x, const float *p, size_t rows, size_t cols, float *lse,
                                   float *loss);
/// dx = (softmax(x)·Σ_k p_k − p) · scale.
void ck_soft_cross_entropy_backward(const float *x, const float *p, const float *lse, size_t rows, size_t cols,
                                    float scale, float *dx);

/// da = scale·(a − b) and db = −da; either output may be NULL.
void ck_mse_backward(const float *a, const float *b, size_t n, float scale, float *da, float *db);
#endif
