// Fused optimizer, EMA and gradient-clipping kernels over contiguous float runs.
// Every scalar is hoisted by the caller (bias corrections, decay factors), so each
// kernel is one streaming pass over its buffers.
#ifndef AUTOPROG_CK_OPTIM_H
#define AUTOPROG_CK_OPTIM_H
#include <stddef.h>

/// One torch.optim.AdamW step on n elements, in torch's order and rounding:
///   p *= decay_factor                       (param.mul_(1 - lr*weight_decay))
///   m = lerp(m, g, w1)                      (exp_avg.lerp_(grad, w1), w1 = 1 - beta1)
///   v = fma(w2*g, g, v*beta2)               (exp_avg_sq.mul_(beta2).addcmul_(g, g, w2), w2 = 1 - beta2)
///   p += (-step_size*m) / (sqrt(v)/bc2_sqrt + eps)      (param.addcdiv_(m, denom, -step_size))
/// with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t). The caller
/// computes these and 1 - beta in double, as torch does.
void ck_adamw_step(size_t n, float *p, const float *g, float *m, float *v, float w1, float beta2, float w2,
                   float eps, float decay_factor, float step_size, float bc2_sqrt);

/// One torch.optim.SGD step on n elements (each torch `add(alpha=)` is one FMA):
///   d = g + weight_decay*p
///   buf = first ? d : buf*momentum + keep*d      (keep = 1 - dampening; only when momentum != 0)
///   d = nesterov ? d + momentum*buf : buf
///   p -= lr*d
/// buf may be NULL when momentum == 0.
void ck_sgd_step(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float keep,
                 float weight_decay, int nesterov, int first);

/// ema = lerp(ema, p, weight) = d*ema + (1-d)*p with weight = 1 - d (timm ModelEmaV3's ema.lerp_(p, 1 - d)).
void ck_ema_update(size_t n, float *ema, const float *p, float weight);

/// x *= s.
void ck_scale(size_t n, float *x, float s);

/// max |x[i]|; NaN when any element is NaN.
float ck_absmax(const float *x, size_t n);
#endif
