#include "ck_convolution.h"
#include <string.h>

// For kernel column j, the output columns whose input column ox·stride + j − pad lies
// inside [0, width) form one range [*lo, *hi); everything outside it reads padding.
static void valid_columns(long width, long j, long stride, long pad, long ow, long *lo, long *hi) {
    long a = pad > j ? (pad - j + stride - 1) / stride : 0;
    long last = width - 1 + pad - j;  // largest ox·stride allowed
    long b = last >= 0 ? last / stride + 1 : 0;
    if (a > ow) a = ow;
    if (b > ow) b = ow;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

void ck_im2col(const float *x, long channels, long height, long width, long kh, long kw, long stride, long pad,
               long oh, long ow, float *cols) {
    for (long c = 0; c < channels; c++) {
        const float *plane = x + c * height * width;
        for (long i = 0; i < kh; i++) {
            for (long j = 0; j < kw; j++) {
                float *dst = cols + ((c * kh + i) * kw + j) * oh * ow;
                long lo, hi;
                valid_columns(width, j, stride, pad, ow, &lo, &hi);
                for (long y = 0; y < oh; y++, dst += ow) {
                    long iy = y * stride + i - pad;
                    if (iy < 0 || iy >= height || lo == hi) {
                        memset(dst, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *src = plane + iy * width + j - pad;
                    if (lo > 0) memset(dst, 0, (size_t)lo * sizeof(float));
                    if (stride == 1) {
                        memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (long q = lo; q < hi; q++) dst[q] = src[q * stride];
                    }
                    if (hi < ow) memset(dst + hi, 0, (size_t)(ow - hi) * sizeof(float));
                }
            }
        }
    }
}

void ck_col2im(const float *cols, long channels, long height, long width, long kh, long kw, long stride, long pad,
               long oh, long ow, float *x) {
    for (long c = 0; c < channels; c++) {
        float *plane = x + c * height * width;
        for (long i = 0; i < kh; i++) {
            for (long j = 0; j < kw; j++) {
                const float *src = cols + ((c * kh + i) * kw + j) * oh * ow;
                long lo, hi;
                valid_columns(width, j, stride, pad, ow, &lo, &hi);
                for (long y = 0; y < oh; y++, src += ow) {
                    long iy = y * stride + i - pad;
                    if (iy < 0 || iy >= height) continue;
                    float *dst = plane + iy * width + j - pad;
                    if (stride == 1) {
                        for (long q = lo; q < hi; q++) dst[q] += src[q];
                    } else {
                        for (long q = lo; q < hi; q++) dst[q * stride] += src[q];
                    }
                }
            }
        }
    }
}
