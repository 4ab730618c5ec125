// Vectorised single-precision math on AVX2+FMA, shared by the C kernels.
// Internal header (not under include/): Swift never sees AVX intrinsics.
#ifndef AUTOPROG_VECMATH_H
#define AUTOPROG_VECMATH_H
#include <immintrin.h>

// The core of e^x for 8 floats with x already clamped to [-87.3, 88.7]: range reduction
// x = n·ln2 + r, |r| ≤ ln2/2, and a degree-6 polynomial for e^r (relative error < 2e-7).
// Returns e^r and sets *n; the caller scales by 2^n.
static inline __m256 ck_exp8_reduced(__m256 x, __m256 *n_out) {
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    *n_out = n;
    return p;
}

// e^x for 8 floats. Inputs below -87.3 flush to 0, above 88.7 to +inf; NaN propagates.
static inline __m256 ck_exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.7f), lo = _mm256_set1_ps(-87.3f);
    __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 overflow = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    // x second: min/max return their second operand for NaN, so NaN propagates.
    x = _mm256_max_ps(lo, _mm256_min_ps(hi, x));
    __m256 n;
    __m256 p = ck_exp8_reduced(x, &n);
    // n is in [-126, 128]; 2^128 overflows the exponent field, so scale in two halves.
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i half = _mm256_srai_epi32(ni, 1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    y = _mm256_andnot_ps(underflow, y);
    return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), overflow);
}

// tanh(x) = sign(x)·(1 − e^{−2|x|}) / (1 + e^{−2|x|}); stable for every x.
static inline __m256 ck_tanh8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 e = ck_exp8(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    // Near zero 1 − e^{−2|x|} loses bits; tanh x ≈ x − x³/3 there.
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 small = _mm256_fnmadd_ps(_mm256_mul_ps(x2, ax), _mm256_set1_ps(1.0f / 3.0f), ax);
    small = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(x2, x2), ax), _mm256_set1_ps(2.0f / 15.0f), small);
    t = _mm256_blendv_ps(t, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.0625f), _CMP_LT_OQ));
    return _mm256_or_ps(t, _mm256_and_ps(sign, x));
}

// 1 / (1 + e^{−x}), stable for every x.
static inline __m256 ck_sigmoid8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, ck_exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// Horizontal sum and max of 8 lanes.
static inline float ck_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
static inline float ck_hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// Masked load/store of the last n < 8 elements of a row.
static inline __m256i ck_tailmask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif
