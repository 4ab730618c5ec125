// Spatial resampling kernels on planes of [planes, height, width] images: separable
// interpolation from tap tables, nearest 2× upsampling, average pooling.
#ifndef AUTOPROG_CK_RESIZE_H
#define AUTOPROG_CK_RESIZE_H

/// y[p, oy, ox] = Σ_a Σ_b wy[oy·taps + a]·wx[ox·taps + b]·x[p, iy[oy·taps + a], ix[ox·taps + b]]
/// for planes p in [0, planes). Tap tables hold `taps` (index, weight) pairs per output row/column.
void ck_resize_forward(const float *x, float *y, long planes, long height, long width, long oh, long ow, long taps,
                       const int *iy, const float *wy, const int *ix, const float *wx);

/// The adjoint of ck_resize_forward: dx = 0, then every output gradient is spread back to
/// its taps with the same weights.
void ck_resize_backward(const float *dy, float *dx, long planes, long height, long width, long oh, long ow, long taps,
                        const int *iy, const float *wy, const int *ix, const float *wx);

/// y [planes, 2h, 2w]: every pixel repeated into a 2×2 block.
void ck_upsample2x_forward(const float *x, float *y, long planes, long height, long width);
/// dx [planes, h, w]: the sum of each 2×2 block of dy.
void ck_upsample2x_backward(const float *dy, float *dx, long planes, long height, long width);

/// Average of each k×k window at stride s (no padding): y [planes, oh, ow].
void ck_avgpool_forward(const float *x, float *y, long planes, long height, long width, long k, long s, long oh,
                        long ow);
/// dx = 0, then each output gradient spread evenly over its window.
void ck_avgpool_backward(const float *dy, float *dx, long planes, long height, long width, long k, long s, long oh,
                         long ow);
#endif
