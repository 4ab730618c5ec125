#include "ck_optim.h"
#include "vecmath.h"
#include <math.h>

// Each kernel reproduces the rounding of torch's CPU kernels operation by operation,
// so results match torch.optim to the last bit wherever torch's own primitives are
// correctly rounded (its vectorised sqrt is not always, so AdamW can differ by an ulp):
// `add(x, alpha=a)` is one FMA, `lerp` is torch's two-branch FMA form, `addcmul` is an
// FMA of (value·t1)·t2, `addcdiv` is self + (value·t1)/t2. Scalar tails use fmaf and
// one rounding per statement so a tail element rounds exactly like a vector lane: where
// a thread's chunk ends depends on the thread count, and a resumed run must be
// bit-identical whatever machine it continues on.

// torch's lerp(start, end, w): w < 0.5 ? start + w·(end − start) : end − (1 − w)·(end − start),
// each as one FMA.
static inline __m256 lerp8(__m256 start, __m256 end, float w) {
    __m256 diff = _mm256_sub_ps(end, start);
    return w < 0.5f ? _mm256_fmadd_ps(_mm256_set1_ps(w), diff, start)
                    : _mm256_fmadd_ps(_mm256_set1_ps(w - 1.0f), diff, end);
}
static inline float lerp1(float start, float end, float w) {
    float diff = end - start;
    return w < 0.5f ? fmaf(w, diff, start) : fmaf(w - 1.0f, diff, end);
}

void ck_adamw_step(size_t n, float *p, const float *g, float *m, float *v, float w1, float beta2, float w2,
                   float eps, float decay_factor, float step_size, float bc2_sqrt) {
    const __m256 vb2 = _mm256_set1_ps(beta2), vw2 = _mm256_set1_ps(w2);
    const __m256 veps = _mm256_set1_ps(eps), vdecay = _mm256_set1_ps(decay_factor);
    const __m256 vstep = _mm256_set1_ps(-step_size), vbc2 = _mm256_set1_ps(bc2_sqrt);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), vdecay);
        __m256 mi = lerp8(_mm256_loadu_ps(m + i), gi, w1);
        __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(vw2, gi), gi, _mm256_mul_ps(_mm256_loadu_ps(v + i), vb2));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vbc2), veps);
        pi = _mm256_add_ps(pi, _mm256_div_ps(_mm256_mul_ps(vstep, mi), denom));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    for (; i < n; i++) {
        float gi = g[i], pi = p[i] * decay_factor;
        float mi = lerp1(m[i], gi, w1);
        float t = w2 * gi, vb = v[i] * beta2;
        float vi = fmaf(t, gi, vb);
        float root = sqrtf(vi) / bc2_sqrt;
        float denom = root + eps;
        float q = -step_size * mi;
        float u = q / denom;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + u;
    }
}

void ck_sgd_step(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float keep,
                 float weight_decay, int nesterov, int first) {
    const __m256 vlr = _mm256_set1_ps(-lr), vmom = _mm256_set1_ps(momentum);
    const __m256 vkeep = _mm256_set1_ps(keep), vwd = _mm256_set1_ps(weight_decay);
    const int use_buf = momentum != 0.0f && buf != NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pi = _mm256_loadu_ps(p + i);
        __m256 d = _mm256_loadu_ps(g + i);
        if (weight_decay != 0.0f) d = _mm256_fmadd_ps(vwd, pi, d);
        if (use_buf) {
            __m256 b = first ? d : _mm256_fmadd_ps(vkeep, d, _mm256_mul_ps(_mm256_loadu_ps(buf + i), vmom));
            _mm256_storeu_ps(buf + i, b);
            d = nesterov ? _mm256_fmadd_ps(vmom, b, d) : b;
        }
        _mm256_storeu_ps(p + i, _mm256_fmadd_ps(vlr, d, pi));
    }
    for (; i < n; i++) {
        float pi = p[i], d = g[i];
        if (weight_decay != 0.0f) d = fmaf(weight_decay, pi, d);
        if (use_buf) {
            float b;
            if (first) {
                b = d;
            } else {
                float a = buf[i] * momentum;
                b = fmaf(keep, d, a);
            }
            buf[i] = b;
            d = nesterov ? fmaf(momentum, b, d) : b;
        }
        p[i] = fmaf(-lr, d, pi);
    }
}

void ck_ema_update(size_t n, float *ema, const float *p, float weight) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(ema + i, lerp8(_mm256_loadu_ps(ema + i), _mm256_loadu_ps(p + i), weight));
    for (; i < n; i++) ema[i] = lerp1(ema[i], p[i], weight);
}

void ck_scale(size_t n, float *x, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++) x[i] *= s;
}

float ck_absmax(const float *x, size_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 acc = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i));
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
        acc = _mm256_max_ps(acc, a);
    }
    float best = ck_hmax8(acc);
    int has_nan = _mm256_movemask_ps(nan) != 0;
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        if (a != a) has_nan = 1;
        if (a > best) best = a;
    }
    return has_nan ? NAN : best;
}
