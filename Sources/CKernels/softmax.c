// Softmax, log-softmax, cross-entropy and MSE kernels (see ck_softmax.h).
#include "ck_softmax.h"
#include "vecmath.h"
#include <math.h>

// e^x that keeps NaN (ck_exp8 clamps NaN to a finite value), so a NaN logit makes the
// whole row, and the loss, NaN instead of silently finite.
static inline __m256 exp_nan8(__m256 x) {
    return _mm256_blendv_ps(ck_exp8(x), x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline float row_max(const float *x, size_t n) {
    __m256 acc = _mm256_set1_ps(-__builtin_inff());
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(x + i));
    float m = ck_hmax8(acc);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

// Σ e^{x − m}; also Σ x when sumx is non-NULL (for label smoothing). Masked tail lanes
// are zeroed after the exp.
static inline float row_sum_exp(const float *x, size_t n, float m, float *sumx) {
    __m256 vm = _mm256_set1_ps(m), acc = _mm256_setzero_ps(), accx = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        acc = _mm256_add_ps(acc, exp_nan8(_mm256_sub_ps(v, vm)));
        accx = _mm256_add_ps(accx, v);
    }
    if (i < n) {
        __m256i mask = ck_tailmask((int)(n - i));
        __m256 v = _mm256_maskload_ps(x + i, mask);
        acc = _mm256_add_ps(acc, _mm256_and_ps(exp_nan8(_mm256_sub_ps(v, vm)), _mm256_castsi256_ps(mask)));
        accx = _mm256_add_ps(accx, v);
    }
    if (sumx) *sumx = ck_hsum8(accx);
    return ck_hsum8(acc);
}

static inline float row_dot(const float *a, const float *b, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = ck_hsum8(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline float row_sum(const float *a, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(a + i));
    float s = ck_hsum8(acc);
    for (; i < n; i++) s += a[i];
    return s;
}

// y = (x − shift)·scale, or for exp_first y = e^{x − shift}·scale.
static inline void row_affine(const float *x, float *y, size_t n, float shift, float scale, int exp_first) {
    __m256 vs = _mm256_set1_ps(shift), vc = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i), vs);
        if (exp_first) v = exp_nan8(v);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, vc));
    }
    if (i < n) {
        __m256i mask = ck_tailmask((int)(n - i));
        __m256 v = _mm256_sub_ps(_mm256_maskload_ps(x + i, mask), vs);
        if (exp_first) v = exp_nan8(v);
        _mm256_maskstore_ps(y + i, mask, _mm256_mul_ps(v, vc));
    }
}

void ck_softmax_rows(const float *x, float *y, size_t rows, size_t cols, int log) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = row_max(xr, cols);
        float s = row_sum_exp(xr, cols, m, NULL);
        if (log) {
            row_affine(xr, yr, cols, m + logf(s), 1.0f, 0);
        } else {
            row_affine(xr, yr, cols, m, 1.0f / s, 1);
        }
    }
}

void ck_softmax_backward_rows(const float *y, const float *dy, float *dx, size_t rows, size_t cols, int log) {
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        size_t i = 0;
        if (log) {
            __m256 s = _mm256_set1_ps(row_sum(gr, cols));
            for (; i + 8 <= cols; i += 8)
                _mm256_storeu_ps(dr + i, _mm256_fnmadd_ps(ck_exp8(_mm256_loadu_ps(yr + i)), s, _mm256_loadu_ps(gr + i)));
            float ss = _mm256_cvtss_f32(s);
            for (; i < cols; i++) dr[i] = gr[i] - expf(yr[i]) * ss;
        } else {
            float dot = row_dot(gr, yr, cols);
            __m256 vd = _mm256_set1_ps(dot);
            for (; i + 8 <= cols; i += 8)
                _mm256_storeu_ps(dr + i, _mm256_mul_ps(_mm256_loadu_ps(yr + i), _mm256_sub_ps(_mm256_loadu_ps(gr + i), vd)));
            for (; i < cols; i++) dr[i] = yr[i] * (gr[i] - dot);
        }
    }
}

// MARK: Strided (non-last axis): 8 columns at a time, walking down dim.

static inline __m256 log8(__m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    for (int j = 0; j < 8; j++) t[j] = logf(t[j]);
    return _mm256_loadu_ps(t);
}

void ck_softmax_strided(const float *x, float *y, size_t dim, size_t stride, size_t width, int log) {
    for (size_t c = 0; c < width; c += 8) {
        __m256i mask = ck_tailmask(width - c >= 8 ? 8 : (int)(width - c));
        __m256 m = _mm256_set1_ps(-__builtin_inff());
        for (size_t d = 0; d < dim; d++) m = _mm256_max_ps(m, _mm256_maskload_ps(x + d * stride + c, mask));
        __m256 s = _mm256_setzero_ps();
        for (size_t d = 0; d < dim; d++) {
            __m256 e = exp_nan8(_mm256_sub_ps(_mm256_maskload_ps(x + d * stride + c, mask), m));
            s = _mm256_add_ps(s, e);
            if (!log) _mm256_maskstore_ps(y + d * stride + c, mask, e);
        }
        if (log) {
            // Masked lanes hold Σ = dim·e^0 > 0, so their log is harmless and never stored.
            __m256 lse = _mm256_add_ps(m, log8(s));
            for (size_t d = 0; d < dim; d++)
                _mm256_maskstore_ps(y + d * stride + c, mask, _mm256_sub_ps(_mm256_maskload_ps(x + d * stride + c, mask), lse));
        } else {
            __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), s);
            for (size_t d = 0; d < dim; d++)
                _mm256_maskstore_ps(y + d * stride + c, mask, _mm256_mul_ps(_mm256_maskload_ps(y + d * stride + c, mask), inv));
        }
    }
}

void ck_softmax_strided_backward(const float *y, const float *dy, float *dx, size_t dim, size_t stride,
                                 size_t width, int log) {
    for (size_t c = 0; c < width; c += 8) {
        __m256i mask = ck_tailmask(width - c >= 8 ? 8 : (int)(width - c));
        __m256 s = _mm256_setzero_ps();
        for (size_t d = 0; d < dim; d++) {
            __m256 g = _mm256_maskload_ps(dy + d * stride + c, mask);
            s = log ? _mm256_add_ps(s, g) : _mm256_fmadd_ps(g, _mm256_maskload_ps(y + d * stride + c, mask), s);
        }
        for (size_t d = 0; d < dim; d++) {
            size_t o = d * stride + c;
            __m256 g = _mm256_maskload_ps(dy + o, mask), v = _mm256_maskload_ps(y + o, mask);
            __m256 r = log ? _mm256_fnmadd_ps(ck_exp8(v), s, g) : _mm256_mul_ps(v, _mm256_sub_ps(g, s));
            _mm256_maskstore_ps(dx + o, mask, r);
        }
    }
}

// MARK: Cross-entropy, fused with log-softmax: one max pass and one exp pass per row.

void ck_cross_entropy_forward(const float *x, const long *targets, size_t rows, size_t cols, float smoothing,
                              float *lse, float *loss) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float m = row_max(xr, cols), sumx = 0;
        float s = row_sum_exp(xr, cols, m, &sumx);
        float l = m + logf(s);
        lse[r] = l;
        // −Σ_k q_k (x_k − lse) with q = (1 − ε)·onehot + ε/K.
        loss[r] = l - (1.0f - smoothing) * xr[targets[r]] - (smoothing / (float)cols) * sumx;
    }
}

void ck_cross_entropy_backward(const float *x, const long *targets, const float *lse, size_t rows, size_t cols,
                               float smoothing, float scale, float *dx) {
    float off = smoothing / (float)cols;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *dr = dx + r * cols;
        __m256 vl = _mm256_set1_ps(lse[r]), vo = _mm256_set1_ps(off), vs = _mm256_set1_ps(scale);
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256 p = exp_nan8(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vl));
            _mm256_storeu_ps(dr + i, _mm256_mul_ps(_mm256_sub_ps(p, vo), vs));
        }
        for (; i < cols; i++) dr[i] = (expf(xr[i] - lse[r]) - off) * scale;
        dr[targets[r]] -= (1.0f - smoothing) * scale;
    }
}

void ck_soft_cross_entropy_forward(const float *x, const float *p, size_t rows, size_t cols, float *lse,
                                   float *loss) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *pr = p + r * cols;
        float m = row_max(xr, cols);
        float l = m + logf(row_sum_exp(xr, cols, m, NULL));
        lse[r] = l;
        loss[r] = l * row_sum(pr, cols) - row_dot(pr, xr, cols);
    }
}

void ck_soft_cross_entropy_backward(const float *x, const float *p, const float *lse, size_t rows, size_t cols,
                                    float scale, float *dx) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *pr = p + r * cols;
        float *dr = dx + r * cols;
        float mass = row_sum(pr, cols);
        __m256 vl = _mm256_set1_ps(lse[r]), vm = _mm256_set1_ps(mass), vs = _mm256_set1_ps(scale);
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256 q = exp_nan8(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vl));
            _mm256_storeu_ps(dr + i, _mm256_mul_ps(_mm256_fmsub_ps(q, vm, _mm256_loadu_ps(pr + i)), vs));
        }
        for (; i < cols; i++) dr[i] = (expf(xr[i] - lse[r]) * mass - pr[i]) * scale;
    }
}

// MARK: Mean squared error (the forward sum is ck_sum_squared_difference).

void ck_mse_backward(const float *a, const float *b, size_t n, float scale, float *da, float *db) {
    __m256 vs = _mm256_set1_ps(scale), vn = _mm256_set1_ps(-scale);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        if (da) _mm256_storeu_ps(da + i, _mm256_mul_ps(d, vs));
        if (db) _mm256_storeu_ps(db + i, _mm256_mul_ps(d, vn));
    }
    for (; i < n; i++) {
        float d = a[i] - b[i];
        if (da) da[i] = d * scale;
        if (db) db[i] = -d * scale;
    }
}
