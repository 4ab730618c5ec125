#include <math.h>
#include "ck_elementwise.h"
#include "vecmath.h"

// MARK: Binary operations with broadcasting strides

static inline __m256 vop(int op, __m256 a, __m256 b) {
    switch (op) {
    case CK_ADD: return _mm256_add_ps(a, b);
    case CK_SUB: return _mm256_sub_ps(a, b);
    case CK_MUL: return _mm256_mul_ps(a, b);
    case CK_DIV: return _mm256_div_ps(a, b);
    default: return a;
    }
}

static inline float sop(int op, float a, float b) {
    switch (op) {
    case CK_ADD: return a + b;
    case CK_SUB: return a - b;
    case CK_MUL: return a * b;
    case CK_DIV: return a / b;
    default: return a;
    }
}

// One loop body per (op, stride pattern); `op` is a compile-time constant in each
// instantiation so the switch folds away and the loop vectorises cleanly.
#define LOAD_1(p, i) _mm256_loadu_ps((p) + (i))
#define LOAD_0(p, i) _mm256_set1_ps(*(p))
#define MLOAD_1(p, i, m) _mm256_maskload_ps((p) + (i), m)
#define MLOAD_0(p, i, m) _mm256_set1_ps(*(p))

#define BINARY_LOOP(OP, SA, SB)                                                              \
    static void binary_##OP##_##SA##SB(const float *a, const float *b, float *out, size_t n) { \
        size_t i = 0;                                                                        \
        for (; i + 32 <= n; i += 32) {                                                       \
            _mm256_storeu_ps(out + i, vop(OP, LOAD_##SA(a, i * SA), LOAD_##SB(b, i * SB)));   \
            _mm256_storeu_ps(out + i + 8, vop(OP, LOAD_##SA(a, (i + 8) * SA), LOAD_##SB(b, (i + 8) * SB))); \
            _mm256_storeu_ps(out + i + 16, vop(OP, LOAD_##SA(a, (i + 16) * SA), LOAD_##SB(b, (i + 16) * SB))); \
            _mm256_storeu_ps(out + i + 24, vop(OP, LOAD_##SA(a, (i + 24) * SA), LOAD_##SB(b, (i + 24) * SB))); \
        }                                                                                    \
        for (; i + 8 <= n; i += 8)                                                           \
            _mm256_storeu_ps(out + i, vop(OP, LOAD_##SA(a, i * SA), LOAD_##SB(b, i * SB)));   \
        if (i < n) {                                                                         \
            __m256i m = ck_tailmask((int)(n - i));                                           \
            _mm256_maskstore_ps(out + i, m, vop(OP, MLOAD_##SA(a, i * SA, m), MLOAD_##SB(b, i * SB, m))); \
        }                                                                                    \
    }

#define BINARY_OP(OP)        \
    BINARY_LOOP(OP, 1, 1)    \
    BINARY_LOOP(OP, 1, 0)    \
    BINARY_LOOP(OP, 0, 1)

BINARY_OP(CK_ADD)
BINARY_OP(CK_SUB)
BINARY_OP(CK_MUL)
BINARY_OP(CK_DIV)

typedef void (*binary_fn)(const float *, const float *, float *, size_t);
static const binary_fn binary_table[4][3] = {
    {binary_CK_ADD_11, binary_CK_ADD_10, binary_CK_ADD_01},
    {binary_CK_SUB_11, binary_CK_SUB_10, binary_CK_SUB_01},
    {binary_CK_MUL_11, binary_CK_MUL_10, binary_CK_MUL_01},
    {binary_CK_DIV_11, binary_CK_DIV_10, binary_CK_DIV_01},
};

void ck_binary(int op, const float *a, ptrdiff_t as, const float *b, ptrdiff_t bs, float *out, size_t n) {
    if (n == 0) return;
    if (op == CK_COPY) {
        if (as == 1) {
            for (size_t i = 0; i < n; i++) out[i] = a[i];
        } else if (as == 0) {
            float v = *a;
            for (size_t i = 0; i < n; i++) out[i] = v;
        } else {
            for (size_t i = 0; i < n; i++) out[i] = a[(ptrdiff_t)i * as];
        }
        return;
    }
    if (as == 0 && bs == 0) {
        float v = sop(op, *a, *b);
        for (size_t i = 0; i < n; i++) out[i] = v;
        return;
    }
    int pattern = as == 1 && bs == 1 ? 0 : as == 1 && bs == 0 ? 1 : as == 0 && bs == 1 ? 2 : -1;
    if (pattern >= 0 && op >= CK_ADD && op <= CK_DIV) {
        binary_table[op][pattern](a, b, out, n);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = sop(op, a[(ptrdiff_t)i * as], b[(ptrdiff_t)i * bs]);
}

void ck_mul_scaled(const float *a, const float *b, float s, float *out, size_t n) {
    __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(vs, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
    for (; i < n; i++) out[i] = s * (a[i] * b[i]);
}

void ck_div_scaled(const float *a, const float *b, float s, float *out, size_t n) {
    __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(vs, _mm256_div_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
    for (; i < n; i++) out[i] = s * (a[i] / b[i]);
}

// MARK: Unary operations

// ln x for 8 floats (Cephes logf): x = m·2^e with m in [√½, √2), then
// ln x = e·ln2 + ln(1+f), f = m − 1, by a degree-9 polynomial; relative error ~1 ulp.
static inline __m256 ck_log8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    // Scale subnormals into the normal range first (2^23), remembering the shift.
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), tiny);
    __m256i bits = _mm256_castps_si256(xs);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
    e = _mm256_sub_ps(e, _mm256_and_ps(tiny, _mm256_set1_ps(23.0f)));
    __m256 m = _mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
    __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
    e = _mm256_add_ps(e, _mm256_and_ps(big, one));
    __m256 f = _mm256_sub_ps(m, one);
    __m256 z = _mm256_mul_ps(f, f);
    __m256 y = _mm256_set1_ps(7.0376836292e-2f);
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.1514610310e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.1676998740e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.2420140846e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.4249322787e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.6668057665e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(2.0000714765e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-2.4999993993e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(3.3333331174e-1f));
    y = _mm256_mul_ps(_mm256_mul_ps(y, f), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    __m256 r = _mm256_add_ps(f, y);
    r = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
    // Special cases: ln 0 = -inf, ln(+inf) = +inf, ln(negative or NaN) = NaN.
    r = _mm256_blendv_ps(r, _mm256_set1_ps(-__builtin_inff()), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, _mm256_set1_ps(__builtin_inff()), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, _mm256_set1_ps(__builtin_nanf("")), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NGE_UQ));
    return r;
}

static inline __m256 ck_square8(__m256 x) { return _mm256_mul_ps(x, x); }
static inline __m256 ck_abs8(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

#define UNARY(name, vecop)                                                                   \
    void name(const float *x, float *y, size_t n) {                                          \
        size_t i = 0;                                                                        \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, vecop(_mm256_loadu_ps(x + i)));   \
        if (i < n) {                                                                         \
            __m256i m = ck_tailmask((int)(n - i));                                           \
            _mm256_maskstore_ps(y + i, m, vecop(_mm256_maskload_ps(x + i, m)));              \
        }                                                                                    \
    }

UNARY(ck_log, ck_log8)
UNARY(ck_sqrt, _mm256_sqrt_ps)
UNARY(ck_square, ck_square8)
UNARY(ck_abs, ck_abs8)

void ck_pow(const float *x, float *y, size_t n, float p) {
    if (p == 1.0f) {
        for (size_t i = 0; i < n; i++) y[i] = x[i];
    } else if (p == 2.0f) {
        ck_square(x, y, n);
    } else if (p == 0.5f) {
        ck_sqrt(x, y, n);
    } else if (p == -1.0f) {
        for (size_t i = 0; i < n; i++) y[i] = 1.0f / x[i];
    } else if (p == -0.5f) {
        for (size_t i = 0; i < n; i++) y[i] = 1.0f / sqrtf(x[i]);
    } else {
        for (size_t i = 0; i < n; i++) y[i] = powf(x[i], p);
    }
}

void ck_clamp(const float *x, float *y, size_t n, float lo, float hi) {
    __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    size_t i = 0;
    // max/min return the second operand when the first is NaN: keep x first so NaN survives.
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 c = _mm256_min_ps(_mm256_max_ps(vlo, v), vhi);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(c, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
    }
    for (; i < n; i++) {
        float v = x[i];
        y[i] = v != v ? v : v < lo ? lo : v > hi ? hi : v;
    }
}

void ck_abs_backward(const float *x, const float *g, float *dx, size_t n) {
    const __m256 zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i), gv = _mm256_loadu_ps(g + i);
        // g with x's sign folded in, zeroed where x == 0.
        __m256 r = _mm256_xor_ps(gv, _mm256_and_ps(v, sign));
        _mm256_storeu_ps(dx + i, _mm256_andnot_ps(_mm256_cmp_ps(v, zero, _CMP_EQ_OQ), r));
    }
    for (; i < n; i++) dx[i] = x[i] > 0 ? g[i] : x[i] < 0 ? -g[i] : 0.0f;
}

void ck_clamp_backward(const float *x, const float *g, float *dx, size_t n, float lo, float hi) {
    __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 inside = _mm256_and_ps(_mm256_cmp_ps(v, vlo, _CMP_GE_OQ), _mm256_cmp_ps(v, vhi, _CMP_LE_OQ));
        _mm256_storeu_ps(dx + i, _mm256_and_ps(inside, _mm256_loadu_ps(g + i)));
    }
    for (; i < n; i++) dx[i] = x[i] >= lo && x[i] <= hi ? g[i] : 0.0f;
}

// MARK: Reductions

double ck_sum(const float *x, size_t n);

void ck_sum_rows(const float *x, size_t rows, size_t k, float scale, float *out) {
    for (size_t r = 0; r < rows; r++) out[r] = (float)(ck_sum(x + r * k, k) * scale);
}

// Columns are processed in tiles whose double accumulators stay in L1; each row of a
// tile is one contiguous read.
#define COLUMN_TILE 256
void ck_sum_columns(const float *x, size_t rows, size_t cols, size_t ld, float scale, float *out) {
    double acc[COLUMN_TILE] __attribute__((aligned(32)));
    for (size_t c0 = 0; c0 < cols; c0 += COLUMN_TILE) {
        size_t w = cols - c0 < COLUMN_TILE ? cols - c0 : COLUMN_TILE;
        for (size_t j = 0; j < w; j++) acc[j] = 0;
        for (size_t r = 0; r < rows; r++) {
            const float *row = x + r * ld + c0;
            size_t j = 0;
            for (; j + 8 <= w; j += 8) {
                __m256 v = _mm256_loadu_ps(row + j);
                __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
                __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
                _mm256_store_pd(acc + j, _mm256_add_pd(_mm256_load_pd(acc + j), lo));
                _mm256_store_pd(acc + j + 4, _mm256_add_pd(_mm256_load_pd(acc + j + 4), hi));
            }
            for (; j < w; j++) acc[j] += row[j];
        }
        for (size_t j = 0; j < w; j++) out[c0 + j] = (float)(acc[j] * scale);
    }
}

void ck_max_axis(const float *x, size_t outer, size_t k, size_t inner, float *values, int32_t *indices) {
    for (size_t o = 0; o < outer; o++) {
        const float *block = x + o * k * inner;
        float *v = values + o * inner;
        int32_t *ix = indices + o * inner;
        for (size_t i = 0; i < inner; i++) {
            v[i] = block[i];
            ix[i] = 0;
        }
        for (size_t j = 1; j < k; j++) {
            const float *row = block + j * inner;
            for (size_t i = 0; i < inner; i++) {
                float c = row[i], best = v[i];
                // Strictly greater keeps the first maximum; the first NaN wins and stays.
                if (c > best || (c != c && best == best)) {
                    v[i] = c;
                    ix[i] = (int32_t)j;
                }
            }
        }
    }
}
