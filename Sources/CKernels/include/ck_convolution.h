// im2col / col2im for convolution as GEMM (one image at a time).
#ifndef AUTOPROG_CK_CONVOLUTION_H
#define AUTOPROG_CK_CONVOLUTION_H

/// Unfolds one image x [channels, height, width] into cols [channels·kh·kw, oh·ow]:
/// row (c·kh + i)·kw + j, column y·ow + x holds x[c, y·stride + i − pad, x·stride + j − pad]
/// (0 outside the image). The row order matches PyTorch's [out, in, kh, kw] weights.
void ck_im2col(const float *x, long channels, long height, long width, long kh, long kw, long stride, long pad,
               long oh, long ow, float *cols);

/// The adjoint of ck_im2col: ADDS every column entry back to the pixel it was read from.
/// The caller zeroes x first.
void ck_col2im(const float *cols, long channels, long height, long width, long kh, long kw, long stride, long pad,
               long oh, long ow, float *x);
#endif
