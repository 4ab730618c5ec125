// Layer and group normalisation kernels (forward saves mean and 1/std; backward gives
// dx and accumulates dweight/dbias). AVX2.
#ifndef AUTOPROG_CK_NORMALIZATION_H
#define AUTOPROG_CK_NORMALIZATION_H
#include <stddef.h>

/// Normalises each row of a dense [rows, cols] matrix: y = (x − μ)·rstd·w + b, with
/// rstd = 1/√(var + eps) (biased variance). w and b may be NULL (no affine).
/// Writes μ and rstd per row.
void ck_layer_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                           size_t rows, size_t cols, float eps);
/// dx = rstd·(g − mean(g) − x̂·mean(g⊙x̂)) with g = dy⊙w and x̂ = (x − μ)·rstd.
/// dx may be NULL; dw and db (may be NULL) are accumulated into (+=).
void ck_layer_norm_backward(const float *x, const float *dy, const float *mean, const float *rstd,
                            const float *w, size_t rows, size_t cols, float *dx, float *dw, float *db);

/// Group norm for x [B, C, S] (S = product of spatial axes): groups of C/G channels,
/// each (sample, group) block of (C/G)·S elements normalised together, then per-channel
/// affine. Processes blocks [first, first + count) where block i is sample i / G,
/// group i % G; x, y point at the start of the whole tensor; mean/rstd are indexed by i.
void ck_group_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                           size_t first, size_t count, size_t channels, size_t spatial, size_t groups, float eps);
/// Backward for blocks [first, first + count): writes dx (may be NULL) and accumulates
/// dw, db [C] (may be NULL).
void ck_group_norm_backward(const float *x, const float *dy, const float *mean, const float *rstd,
                            const float *w, size_t first, size_t count, size_t channels, size_t spatial,
                            size_t groups, float *dx, float *dw, float *db);
#endif
