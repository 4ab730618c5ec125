#include "ck_attention.h"
#include "vecmath.h"

void ck_attn_softmax_rows(float *s, long rows, long cols, const float *mask, long maskLd) {
    const __m256 neginf = _mm256_set1_ps(-__builtin_inff());
    const long full = cols & ~7L, tail = cols - full;
    const __m256i tm = ck_tailmask((int)tail);
    for (long r = 0; r < rows; r++) {
        float *row = s + r * cols;
        const float *m = mask ? mask + r * maskLd : 0;
        // Pass 1: add the mask, find the row maximum.
        __m256 vmax = neginf;
        long i = 0;
        for (; i < full; i += 8) {
            __m256 v = _mm256_loadu_ps(row + i);
            if (m) {
                v = _mm256_add_ps(v, _mm256_loadu_ps(m + i));
                _mm256_storeu_ps(row + i, v);
            }
            vmax = _mm256_max_ps(vmax, v);
        }
        if (tail) {
            __m256 v = _mm256_maskload_ps(row + i, tm);
            if (m) {
                v = _mm256_add_ps(v, _mm256_maskload_ps(m + i, tm));
                _mm256_maskstore_ps(row + i, tm, v);
            }
            vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neginf, v, _mm256_castsi256_ps(tm)));
        }
        float mx = ck_hmax8(vmax);
        if (mx == -__builtin_inff()) {
            // Fully masked row: define its probabilities as 0 rather than 0/0.
            for (long j = 0; j < cols; j++) row[j] = 0;
            continue;
        }
        // Pass 2: e = exp(x − max), accumulate the sum.
        const __m256 vm = _mm256_set1_ps(mx);
        __m256 vsum = _mm256_setzero_ps();
        for (i = 0; i < full; i += 8) {
            __m256 e = ck_exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vm));
            _mm256_storeu_ps(row + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        if (tail) {
            __m256 e = ck_exp8(_mm256_sub_ps(_mm256_maskload_ps(row + i, tm), vm));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(tm));
            _mm256_maskstore_ps(row + i, tm, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        // Pass 3: normalise.
        const __m256 inv = _mm256_set1_ps(1.0f / ck_hsum8(vsum));
        for (i = 0; i < full; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
        if (tail) _mm256_maskstore_ps(row + i, tm, _mm256_mul_ps(_mm256_maskload_ps(row + i, tm), inv));
    }
}

void ck_attn_softmax_backward_rows(const float *p, const float *dp, float *ds, long rows, long cols) {
    const long full = cols & ~7L, tail = cols - full;
    const __m256i tm = ck_tailmask((int)tail);
    for (long r = 0; r < rows; r++) {
        const float *pr = p + r * cols, *gr = dp + r * cols;
        float *out = ds + r * cols;
        __m256 acc = _mm256_setzero_ps();
        long i = 0;
        for (; i < full; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(pr + i), _mm256_loadu_ps(gr + i), acc);
        if (tail) acc = _mm256_fmadd_ps(_mm256_maskload_ps(pr + i, tm), _mm256_maskload_ps(gr + i, tm), acc);
        const __m256 dot = _mm256_set1_ps(ck_hsum8(acc));
        for (i = 0; i < full; i += 8) {
            __m256 pv = _mm256_loadu_ps(pr + i);
            _mm256_storeu_ps(out + i, _mm256_mul_ps(pv, _mm256_sub_ps(_mm256_loadu_ps(gr + i), dot)));
        }
        if (tail) {
            __m256 pv = _mm256_maskload_ps(pr + i, tm);
            _mm256_maskstore_ps(out + i, tm, _mm256_mul_ps(pv, _mm256_sub_ps(_mm256_maskload_ps(gr + i, tm), dot)));
        }
    }
}
