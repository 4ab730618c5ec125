#include "ck_resize.h"
#include <string.h>

void ck_resize_forward(const float *x, float *y, long planes, long height, long width, long oh, long ow, long taps,
                       const int *iy, const float *wy, const int *ix, const float *wx) {
    for (long p = 0; p < planes; p++) {
        const float *src = x + p * height * width;
        float *dst = y + p * oh * ow;
        for (long r = 0; r < oh; r++) {
            const int *ry = iy + r * taps;
            const float *rw = wy + r * taps;
            for (long c = 0; c < ow; c++) {
                const int *cx = ix + c * taps;
                const float *cw = wx + c * taps;
                float acc = 0;
                for (long a = 0; a < taps; a++) {
                    const float *row = src + (long)ry[a] * width;
                    float h = 0;
                    for (long b = 0; b < taps; b++) h += cw[b] * row[cx[b]];
                    acc += rw[a] * h;
                }
                dst[r * ow + c] = acc;
            }
        }
    }
}

void ck_resize_backward(const float *dy, float *dx, long planes, long height, long width, long oh, long ow, long taps,
                        const int *iy, const float *wy, const int *ix, const float *wx) {
    memset(dx, 0, (size_t)(planes * height * width) * sizeof(float));
    for (long p = 0; p < planes; p++) {
        const float *src = dy + p * oh * ow;
        float *dst = dx + p * height * width;
        for (long r = 0; r < oh; r++) {
            const int *ry = iy + r * taps;
            const float *rw = wy + r * taps;
            for (long c = 0; c < ow; c++) {
                const int *cx = ix + c * taps;
                const float *cw = wx + c * taps;
                float g = src[r * ow + c];
                for (long a = 0; a < taps; a++) {
                    float *row = dst + (long)ry[a] * width;
                    float ga = rw[a] * g;
                    for (long b = 0; b < taps; b++) row[cx[b]] += cw[b] * ga;
                }
            }
        }
    }
}

void ck_upsample2x_forward(const float *x, float *y, long planes, long height, long width) {
    const long ow = 2 * width;
    for (long p = 0; p < planes; p++) {
        for (long r = 0; r < height; r++) {
            const float *src = x + (p * height + r) * width;
            float *top = y + (p * 2 * height + 2 * r) * ow;
            for (long c = 0; c < width; c++) top[2 * c] = top[2 * c + 1] = src[c];
            memcpy(top + ow, top, (size_t)ow * sizeof(float));
        }
    }
}

void ck_upsample2x_backward(const float *dy, float *dx, long planes, long height, long width) {
    const long ow = 2 * width;
    for (long p = 0; p < planes; p++) {
        for (long r = 0; r < height; r++) {
            const float *top = dy + (p * 2 * height + 2 * r) * ow, *bottom = top + ow;
            float *dst = dx + (p * height + r) * width;
            for (long c = 0; c < width; c++) dst[c] = (top[2 * c] + top[2 * c + 1]) + (bottom[2 * c] + bottom[2 * c + 1]);
        }
    }
}

void ck_avgpool_forward(const float *x, float *y, long planes, long height, long width, long k, long s, long oh,
                        long ow) {
    const float inv = 1.0f / (float)(k * k);
    for (long p = 0; p < planes; p++) {
        const float *src = x + p * height * width;
        float *dst = y + p * oh * ow;
        for (long r = 0; r < oh; r++) {
            for (long c = 0; c < ow; c++) {
                const float *win = src + r * s * width + c * s;
                float acc = 0;
                for (long i = 0; i < k; i++)
                    for (long j = 0; j < k; j++) acc += win[i * width + j];
                dst[r * ow + c] = acc * inv;
            }
        }
    }
}

void ck_avgpool_backward(const float *dy, float *dx, long planes, long height, long width, long k, long s, long oh,
                         long ow) {
    const float inv = 1.0f / (float)(k * k);
    memset(dx, 0, (size_t)(planes * height * width) * sizeof(float));
    for (long p = 0; p < planes; p++) {
        const float *src = dy + p * oh * ow;
        float *dst = dx + p * height * width;
        for (long r = 0; r < oh; r++) {
            for (long c = 0; c < ow; c++) {
                float g = src[r * ow + c] * inv;
                float *win = dst + r * s * width + c * s;
                for (long i = 0; i < k; i++)
                    for (long j = 0; j < k; j++) win[i * width + j] += g;
            }
        }
    }
}
