// Layer norm and group norm kernels (see ck_normalization.h).
#include "ck_normalization.h"
#include "ck_vector.h"
#include "vecmath.h"
#include <math.h>

static void stats(const float *x, size_t n, float eps, float *mean, float *rstd) {
    float mu = (float)(ck_sum(x, n) / (double)n);
    // Σ(x − μ)²: the two-pass variance, exact where E[x²] − μ² would cancel.
    double var = ck_sum_squared_difference(x, 0, mu, n) / (double)n;
    *mean = mu;
    *rstd = (float)(1.0 / sqrt(var + (double)eps));
}

// y = (x·a + c)·w + b over n elements (w, b may be NULL).
static void affine(const float *x, float *y, size_t n, float a, float c, const float *w, const float *b) {
    __m256 va = _mm256_set1_ps(a), vc = _mm256_set1_ps(c);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, vc);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
        _mm256_storeu_ps(y + i, v);
    }
    for (; i < n; i++) {
        float v = x[i] * a + c;
        if (w) v *= w[i];
        if (b) v += b[i];
        y[i] = v;
    }
}

void ck_layer_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                           size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        stats(xr, cols, eps, mean + r, rstd + r);
        affine(xr, y + r * cols, cols, rstd[r], -mean[r] * rstd[r], w, b);
    }
}

void ck_layer_norm_backward(const float *x, const float *dy, const float *mean, const float *rstd,
                            const float *w, size_t rows, size_t cols, float *dx, float *dw, float *db) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *gr = dy + r * cols;
        const float mu = mean[r], rs = rstd[r];
        const __m256 vmu = _mm256_set1_ps(mu), vrs = _mm256_set1_ps(rs);
        __m256 sg = _mm256_setzero_ps(), sgx = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmu), vrs);
            __m256 d = _mm256_loadu_ps(gr + i);
            __m256 g = w ? _mm256_mul_ps(d, _mm256_loadu_ps(w + i)) : d;
            sg = _mm256_add_ps(sg, g);
            sgx = _mm256_fmadd_ps(g, xh, sgx);
            if (dw) _mm256_storeu_ps(dw + i, _mm256_fmadd_ps(d, xh, _mm256_loadu_ps(dw + i)));
            if (db) _mm256_storeu_ps(db + i, _mm256_add_ps(d, _mm256_loadu_ps(db + i)));
        }
        float sumg = ck_hsum8(sg), sumgx = ck_hsum8(sgx);
        for (; i < cols; i++) {
            float xh = (xr[i] - mu) * rs, d = gr[i], g = w ? d * w[i] : d;
            sumg += g;
            sumgx += g * xh;
            if (dw) dw[i] += d * xh;
            if (db) db[i] += d;
        }
        if (!dx) continue;
        float *dr = dx + r * cols;
        const float mg = sumg / (float)cols, mgx = sumgx / (float)cols;
        const __m256 vmg = _mm256_set1_ps(mg), vmgx = _mm256_set1_ps(mgx);
        i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmu), vrs);
            __m256 d = _mm256_loadu_ps(gr + i);
            __m256 g = w ? _mm256_mul_ps(d, _mm256_loadu_ps(w + i)) : d;
            __m256 t = _mm256_fnmadd_ps(xh, vmgx, _mm256_sub_ps(g, vmg));
            _mm256_storeu_ps(dr + i, _mm256_mul_ps(t, vrs));
        }
        for (; i < cols; i++) {
            float xh = (xr[i] - mu) * rs, g = w ? gr[i] * w[i] : gr[i];
            dr[i] = rs * (g - mg - xh * mgx);
        }
    }
}

void ck_group_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                           size_t first, size_t count, size_t channels, size_t spatial, size_t groups, float eps) {
    const size_t cpg = channels / groups, block = cpg * spatial;
    for (size_t i = first; i < first + count; i++) {
        const float *xb = x + i * block;
        float *yb = y + i * block;
        stats(xb, block, eps, mean + i, rstd + i);
        const float mu = mean[i], rs = rstd[i];
        const size_t c0 = (i % groups) * cpg;
        for (size_t c = 0; c < cpg; c++) {
            // Fold normalisation and the channel's affine into one scale and shift.
            float a = w ? rs * w[c0 + c] : rs;
            float shift = (b ? b[c0 + c] : 0.0f) - mu * a;
            affine(xb + c * spatial, yb + c * spatial, spatial, a, shift, NULL, NULL);
        }
    }
}

static inline void sums(const float *dy, const float *x, size_t n, float *sdy, float *sdyx) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_loadu_ps(dy + i);
        a = _mm256_add_ps(a, d);
        b = _mm256_fmadd_ps(d, _mm256_loadu_ps(x + i), b);
    }
    float s = ck_hsum8(a), t = ck_hsum8(b);
    for (; i < n; i++) {
        s += dy[i];
        t += dy[i] * x[i];
    }
    *sdy = s;
    *sdyx = t;
}

void ck_group_norm_backward(const float *x, const float *dy, const float *mean, const float *rstd,
                            const float *w, size_t first, size_t count, size_t channels, size_t spatial,
                            size_t groups, float *dx, float *dw, float *db) {
    const size_t cpg = channels / groups, block = cpg * spatial;
    const float n = (float)block;
    for (size_t i = first; i < first + count; i++) {
        const float *xb = x + i * block, *gb = dy + i * block;
        const float mu = mean[i], rs = rstd[i];
        const size_t c0 = (i % groups) * cpg;
        // Per channel: Σdy and Σdy·x; then Σg = Σ_c w_c Σdy and Σg·x̂ = rs Σ_c w_c (Σdy·x − μ Σdy).
        float sg = 0, sgx = 0;
        for (size_t c = 0; c < cpg; c++) {
            float sdy, sdyx;
            sums(gb + c * spatial, xb + c * spatial, spatial, &sdy, &sdyx);
            float wc = w ? w[c0 + c] : 1.0f;
            float centered = sdyx - mu * sdy;
            sg += wc * sdy;
            sgx += wc * centered * rs;
            if (dw) dw[c0 + c] += centered * rs;
            if (db) db[c0 + c] += sdy;
        }
        if (!dx) continue;
        // dx = rs·(w_c·dy − mean(g) − x̂·mean(g·x̂)) = a_c·dy + bx·x + cx.
        const float mg = sg / n, mgx = sgx / n;
        const float bx = -rs * rs * mgx, cx = rs * rs * mgx * mu - rs * mg;
        for (size_t c = 0; c < cpg; c++) {
            const float ac = rs * (w ? w[c0 + c] : 1.0f);
            const float *xc = xb + c * spatial, *gc = gb + c * spatial;
            float *dc = dx + i * block + c * spatial;
            __m256 va = _mm256_set1_ps(ac), vb = _mm256_set1_ps(bx), vc = _mm256_set1_ps(cx);
            size_t j = 0;
            for (; j + 8 <= spatial; j += 8)
                _mm256_storeu_ps(dc + j, _mm256_fmadd_ps(va, _mm256_loadu_ps(gc + j),
                                                         _mm256_fmadd_ps(vb, _mm256_loadu_ps(xc + j), vc)));
            for (; j < spatial; j++) dc[j] = ac * gc[j] + bx * xc[j] + cx;
        }
    }
}
