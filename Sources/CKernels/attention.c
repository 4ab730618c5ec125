#include "ck_attention.h"
#include "vecmath.h"

// e^x for x ≤ 0 (scores minus their row maximum): ck_exp8 without the overflow path, and
// with 2^n applied in one step since n ≥ −126 after the clamp. Same polynomial and
// accuracy; −inf (a masked score) gives exactly 0.
static inline __m256 exp_nonpositive8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 n;
    __m256 p = ck_exp8_reduced(x, &n);
    __m256 scale = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, scale));
}

// The last cols mod 8 elements are read with masked loads (padding lanes set to −inf) and
// written through an 8-float buffer: masked stores (vmaskmovps) are slow on AMD Zen, and a
// 50-token row has a 2-element tail.
void ck_attn_softmax_rows(float *s, long rows, long cols, const float *mask, long maskLd) {
    const __m256 neginf = _mm256_set1_ps(-__builtin_inff());
    const long full = cols & ~7L, tail = cols - full;
    const __m256i tm = ck_tailmask((int)tail);
    float pad[8];
    for (long r = 0; r < rows; r++) {
        float *row = s + r * cols;
        const float *m = mask ? mask + r * maskLd : 0;
        // Pass 1: add the mask, find the row maximum.
        __m256 vmax = neginf, vtail = neginf;
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
            vtail = _mm256_maskload_ps(row + full, tm);
            if (m) vtail = _mm256_add_ps(vtail, _mm256_maskload_ps(m + full, tm));
            vtail = _mm256_blendv_ps(neginf, vtail, _mm256_castsi256_ps(tm));
            vmax = _mm256_max_ps(vmax, vtail);
        }
        const float mx = ck_hmax8(vmax);
        if (mx == -__builtin_inff()) {
            // Fully masked row: define its probabilities as 0 rather than 0/0.
            for (long j = 0; j < cols; j++) row[j] = 0;
            continue;
        }
        // Pass 2: e = exp(x − max), accumulate the sum.
        const __m256 vm = _mm256_set1_ps(mx);
        __m256 vsum = _mm256_setzero_ps();
        for (i = 0; i < full; i += 8) {
            __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vm));
            _mm256_storeu_ps(row + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        if (tail) {
            vtail = exp_nonpositive8(_mm256_sub_ps(vtail, vm));   // padding lanes: exp(−inf) = 0
            vsum = _mm256_add_ps(vsum, vtail);
        }
        // Pass 3: normalise.
        const __m256 inv = _mm256_set1_ps(1.0f / ck_hsum8(vsum));
        for (i = 0; i < full; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
        if (tail) {
            _mm256_storeu_ps(pad, _mm256_mul_ps(vtail, inv));
            for (long j = 0; j < tail; j++) row[full + j] = pad[j];
        }
    }
}

void ck_attn_softmax_backward_rows(const float *p, const float *dp, float *ds, long rows, long cols) {
    const long full = cols & ~7L;
    for (long r = 0; r < rows; r++) {
        const float *pr = p + r * cols, *gr = dp + r * cols;
        float *out = ds + r * cols;
        __m256 acc = _mm256_setzero_ps();
        long i = 0;
        for (; i < full; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(pr + i), _mm256_loadu_ps(gr + i), acc);
        float dot = ck_hsum8(acc);
        for (long j = full; j < cols; j++) dot += pr[j] * gr[j];
        const __m256 vdot = _mm256_set1_ps(dot);
        for (i = 0; i < full; i += 8) {
            __m256 pv = _mm256_loadu_ps(pr + i);
            _mm256_storeu_ps(out + i, _mm256_mul_ps(pv, _mm256_sub_ps(_mm256_loadu_ps(gr + i), vdot)));
        }
        for (long j = full; j < cols; j++) out[j] = pr[j] * (gr[j] - dot);
    }
}
