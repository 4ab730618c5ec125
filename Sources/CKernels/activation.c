// Elementwise activations and dropout masks (see ck_activation.h).
#include "ck_activation.h"
#include "vecmath.h"

// NaN in x stays NaN in y (ck_exp8 clamps its input, which would turn NaN into a number).
static inline __m256 keep_nan(__m256 y, __m256 x) {
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// erf(x) = x·P(x²)/Q(x²) on [-4, 4] (the rational form used by Eigen and XLA), ±1
// beyond: |error| < 5e-7 everywhere, no exp and one division. The clamp keeps NaN
// (min/max return their second operand when either is NaN).
static inline __m256 ck_erf8(__m256 x) {
    __m256 v = _mm256_max_ps(_mm256_set1_ps(-4.0f), _mm256_min_ps(_mm256_set1_ps(4.0f), x));
    __m256 x2 = _mm256_mul_ps(v, v);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    __m256 y = _mm256_div_ps(_mm256_mul_ps(v, p), q);
    // The approximation may overshoot ±1 by an ulp near the clamp; 1 + erf must stay ≥ 0.
    return _mm256_max_ps(_mm256_set1_ps(-1.0f), _mm256_min_ps(_mm256_set1_ps(1.0f), y));
}

#define SQRT1_2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f
#define GELU_K 0.79788456080286536f  // √(2/π)
#define GELU_C 0.044715f

static inline __m256 gelu_erf8(__m256 x) {
    __m256 half = _mm256_set1_ps(0.5f);
    __m256 e = ck_erf8(_mm256_mul_ps(x, _mm256_set1_ps(SQRT1_2)));
    return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline __m256 gelu_erf_grad8(__m256 x, __m256 dy) {
    __m256 half = _mm256_set1_ps(0.5f);
    __m256 cdf = _mm256_fmadd_ps(half, ck_erf8(_mm256_mul_ps(x, _mm256_set1_ps(SQRT1_2))), half);
    __m256 pdf = _mm256_mul_ps(ck_exp8(_mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(-0.5f))),
                               _mm256_set1_ps(INV_SQRT_2PI));
    return _mm256_mul_ps(dy, _mm256_fmadd_ps(x, pdf, cdf));
}

// ½x(1 + tanh u) = x·σ(2u) with u = √(2/π)(x + 0.044715x³): one exp and one division,
// and no cancellation in 1 + tanh u for negative x.
static inline __m256 gelu_tanh_sig8(__m256 x) {
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(GELU_C), x2, _mm256_set1_ps(1.0f));
    __m256 m2u = _mm256_mul_ps(_mm256_mul_ps(x, inner), _mm256_set1_ps(-2.0f * GELU_K));
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, ck_exp8(m2u)));
}

static inline __m256 gelu_tanh8(__m256 x) { return _mm256_mul_ps(x, gelu_tanh_sig8(x)); }

// d/dx x·σ(2u) = s + 2x·s(1 − s)·u′, u′ = √(2/π)(1 + 3·0.044715x²).
static inline __m256 gelu_tanh_grad8(__m256 x, __m256 dy) {
    __m256 s = gelu_tanh_sig8(x);
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 du = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_set1_ps(3.0f * GELU_C), _mm256_mul_ps(x, x), one),
                              _mm256_set1_ps(2.0f * GELU_K));
    __m256 ds = _mm256_mul_ps(s, _mm256_sub_ps(one, s));
    return _mm256_mul_ps(dy, _mm256_fmadd_ps(_mm256_mul_ps(x, ds), du, s));
}

static inline __m256 silu8(__m256 x) { return _mm256_mul_ps(x, ck_sigmoid8(x)); }

static inline __m256 silu_grad8(__m256 x, __m256 dy) {
    __m256 s = ck_sigmoid8(x);
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_mul_ps(dy, _mm256_mul_ps(s, _mm256_fmadd_ps(x, _mm256_sub_ps(one, s), one)));
}

static inline __m256 sigmoid_grad8(__m256 y, __m256 dy) {
    return _mm256_mul_ps(dy, _mm256_mul_ps(y, _mm256_sub_ps(_mm256_set1_ps(1.0f), y)));
}

static inline __m256 tanh_grad8(__m256 y, __m256 dy) {
    return _mm256_mul_ps(dy, _mm256_fnmadd_ps(y, y, _mm256_set1_ps(1.0f)));
}

static inline __m256 relu8(__m256 x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }

static inline __m256 relu_grad8(__m256 x, __m256 dy) {
    return _mm256_and_ps(dy, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

static inline __m256 sigmoid_nan8(__m256 x) { return keep_nan(ck_sigmoid8(x), x); }
static inline __m256 tanh_nan8(__m256 x) { return keep_nan(ck_tanh8(x), x); }

#define UNARY(name, op)                                                                  \
    void name(const float *x, float *y, size_t n) {                                      \
        size_t i = 0;                                                                    \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, op(_mm256_loadu_ps(x + i)));  \
        if (i < n) {                                                                     \
            __m256i m = ck_tailmask((int)(n - i));                                       \
            _mm256_maskstore_ps(y + i, m, op(_mm256_maskload_ps(x + i, m)));             \
        }                                                                                \
    }

#define BINARY(name, op)                                                                 \
    void name(const float *a, const float *dy, float *dx, size_t n) {                    \
        size_t i = 0;                                                                    \
        for (; i + 8 <= n; i += 8)                                                       \
            _mm256_storeu_ps(dx + i, op(_mm256_loadu_ps(a + i), _mm256_loadu_ps(dy + i))); \
        if (i < n) {                                                                     \
            __m256i m = ck_tailmask((int)(n - i));                                       \
            _mm256_maskstore_ps(dx + i, m, op(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(dy + i, m))); \
        }                                                                                \
    }

UNARY(ck_erf, ck_erf8)
UNARY(ck_gelu_erf_forward, gelu_erf8)
BINARY(ck_gelu_erf_backward, gelu_erf_grad8)
UNARY(ck_gelu_tanh_forward, gelu_tanh8)
BINARY(ck_gelu_tanh_backward, gelu_tanh_grad8)
UNARY(ck_silu_forward, silu8)
BINARY(ck_silu_backward, silu_grad8)
UNARY(ck_sigmoid_forward, sigmoid_nan8)
BINARY(ck_sigmoid_backward, sigmoid_grad8)
UNARY(ck_tanh_forward, tanh_nan8)
BINARY(ck_tanh_backward, tanh_grad8)
UNARY(ck_relu_forward, relu8)
BINARY(ck_relu_backward, relu_grad8)

static inline __m256 mul8(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
BINARY(ck_multiply, mul8)

void ck_scale_rows(const float *x, const float *scale, float *y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        __m256 s = _mm256_set1_ps(scale[r]);
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(yr + i, _mm256_mul_ps(s, _mm256_loadu_ps(xr + i)));
        for (; i < cols; i++) yr[i] = scale[r] * xr[i];
    }
}

// MARK: Philox4x32-10 (Salmon et al. 2011), matching Swift's Philox.block word for word.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void ck_philox_block(uint64_t key, uint64_t index, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

// 32-bit a·m for 8 lanes, split into high and low words.
static inline void mulhilo8(__m256i a, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(a, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Mask values for 8 words: scale where unitFloat(u) = ((u >> 8) + 0.5)·2⁻²⁴ < keep, else 0.
static inline __m256 mask8(__m256i u, __m256 keep, __m256 scale) {
    __m256 f = _mm256_cvtepi32_ps(_mm256_srli_epi32(u, 8));
    f = _mm256_mul_ps(_mm256_add_ps(f, _mm256_set1_ps(0.5f)), _mm256_set1_ps(1.0f / 16777216.0f));
    return _mm256_and_ps(scale, _mm256_cmp_ps(f, keep, _CMP_LT_OQ));
}

static inline float mask1(uint32_t u, float keep, float scale) {
    float f = ((float)(u >> 8) + 0.5f) * (1.0f / 16777216.0f);
    return f < keep ? scale : 0.0f;
}

void ck_dropout_mask(uint64_t key, uint64_t counter, size_t first, size_t n, float keep, float scale,
                     float *mask) {
    uint64_t block = counter + first / 4;
    const __m256 vkeep = _mm256_set1_ps(keep), vscale = _mm256_set1_ps(scale);
    const uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    size_t i = 0;
    // Eight blocks (32 words) at a time, one block per lane.
    for (; i + 32 <= n; i += 32, block += 8) {
        uint32_t lo[8], hi[8];
        for (int j = 0; j < 8; j++) {
            lo[j] = (uint32_t)(block + j);
            hi[j] = (uint32_t)((block + j) >> 32);
        }
        __m256i c0 = _mm256_loadu_si256((const __m256i *)lo), c1 = _mm256_loadu_si256((const __m256i *)hi);
        __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
        const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
        uint32_t r0 = k0, r1 = k1;
        for (int r = 0; r < 10; r++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo8(c0, m0, &hi0, &lo0);
            mulhilo8(c2, m1, &hi1, &lo1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)r0));
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)r1));
            c1 = lo1;
            c3 = lo0;
            r0 += PHILOX_W0;
            r1 += PHILOX_W1;
        }
        // Transpose 4 words × 8 blocks into element order (block-major).
        __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
        __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
        __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
        __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
        _mm256_storeu_ps(mask + i, mask8(_mm256_permute2x128_si256(u0, u1, 0x20), vkeep, vscale));
        _mm256_storeu_ps(mask + i + 8, mask8(_mm256_permute2x128_si256(u2, u3, 0x20), vkeep, vscale));
        _mm256_storeu_ps(mask + i + 16, mask8(_mm256_permute2x128_si256(u0, u1, 0x31), vkeep, vscale));
        _mm256_storeu_ps(mask + i + 24, mask8(_mm256_permute2x128_si256(u2, u3, 0x31), vkeep, vscale));
    }
    for (; i < n; i += 4, block++) {
        uint32_t w[4];
        ck_philox_block(key, block, w);
        for (size_t j = 0; j < 4 && i + j < n; j++) mask[i + j] = mask1(w[j], keep, scale);
    }
}
