// Basic vector kernels over contiguous float buffers (AVX2, see vecmath.h).
#ifndef AUTOPROG_CK_VECTOR_H
#define AUTOPROG_CK_VECTOR_H
#include <stddef.h>

/// y[i] = e^{x[i]}; x and y may alias.
void ck_exp(const float *x, float *y, size_t n);
/// y[i] = tanh(x[i]); x and y may alias.
void ck_tanh(const float *x, float *y, size_t n);
/// y[i] = 1/(1+e^{-x[i]}); x and y may alias.
void ck_sigmoid(const float *x, float *y, size_t n);
/// y[i] += alpha * x[i].
void ck_axpy(size_t n, float alpha, const float *x, float *y);
/// Sum of x in double precision accumulators (8 lanes of float partial sums per block).
double ck_sum(const float *x, size_t n);
/// Σ(a[i] − b[i])², or Σ(a[i] − c)² when b is NULL, accumulated blockwise into a double
/// (float rounding of a 256-term sum however long the buffer): sums of squares, centred
/// sums for variances, squared errors.
double ck_sum_squared_difference(const float *a, const float *b, float c, size_t n);
/// Sum of squares of x in double precision.
double ck_sumsq(const float *x, size_t n);
#endif
