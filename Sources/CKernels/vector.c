#include "ck_vector.h"
#include "vecmath.h"

#define UNARY_KERNEL(name, vecop)                                    \
    void name(const float *x, float *y, size_t n) {                            \
        size_t i = 0;                                                          \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, vecop(_mm256_loadu_ps(x + i))); \
        if (i < n) {                                                           \
            __m256i m = ck_tailmask((int)(n - i));                             \
            _mm256_maskstore_ps(y + i, m, vecop(_mm256_maskload_ps(x + i, m)));\
        }                                                                      \
    }

UNARY_KERNEL(ck_exp, ck_exp8)
UNARY_KERNEL(ck_tanh, ck_tanh8)
UNARY_KERNEL(ck_sigmoid, ck_sigmoid8)

void ck_axpy(size_t n, float alpha, const float *x, float *y) {
    __m256 a = _mm256_set1_ps(alpha);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}

// Blocks of 256 floats are summed in float lanes, then folded into doubles, so the
// error stays at float rounding of a 256-term sum however long the buffer is.
double ck_sum(const float *x, size_t n) {
    double total = 0;
    size_t i = 0;
    while (i + 8 <= n) {
        __m256 acc = _mm256_setzero_ps();
        size_t end = i + 256 <= n ? i + 256 : n - (n - i) % 8;
        for (; i < end; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
        total += ck_hsum8(acc);
    }
    for (; i < n; i++) total += x[i];
    return total;
}

double ck_sum_squared_difference(const float *a, const float *b, float c, size_t n) {
    const __m256 vc = _mm256_set1_ps(c);
    double total = 0;
    size_t i = 0;
    while (i + 8 <= n) {
        __m256 acc = _mm256_setzero_ps();
        size_t end = i + 256 <= n ? i + 256 : n - (n - i) % 8;
        for (; i < end; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), b ? _mm256_loadu_ps(b + i) : vc);
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        total += ck_hsum8(acc);
    }
    for (; i < n; i++) {
        double d = (double)(a[i] - (b ? b[i] : c));
        total += d * d;
    }
    return total;
}

double ck_sumsq(const float *x, size_t n) { return ck_sum_squared_difference(x, 0, 0, n); }
