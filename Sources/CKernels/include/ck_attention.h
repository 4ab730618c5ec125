// Row kernels of fused attention (softmax of the score matrix and its backward).
#ifndef AUTOPROG_CK_ATTENTION_H
#define AUTOPROG_CK_ATTENTION_H

/// In-place row softmax of a dense rows×cols score matrix `s`, after adding the additive
/// mask `mask` (row r at mask + r·maskLd; NULL for none). A row whose every entry is
/// -inf becomes all zeros (no NaN): that query attends to nothing and outputs 0.
void ck_attn_softmax_rows(float *s, long rows, long cols, const float *mask, long maskLd);

/// Softmax backward on dense rows×cols matrices: ds = p ⊙ (dp − rowsum(dp ⊙ p)).
/// `ds` may alias `p` or `dp`.
void ck_attn_softmax_backward_rows(const float *p, const float *dp, float *ds, long rows, long cols);
#endif
