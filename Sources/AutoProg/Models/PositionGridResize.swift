/// A position table [1, n·n, D] of an n×n patch grid, as a [1, D, n, n] image bicubically
/// resized to `rows`×`columns` (timm's `resample_abs_pos_embed`): [1, rows·columns, D].
/// A smaller grid's patches keep the positions they cover in the full image. Differentiable
/// into `table` (the ViT trains its table; the DiT's is fixed).
func resizedPositionGrid(_ table: Tensor, grid n: Int, rows: Int, columns: Int) throws -> Tensor {
    let d = table.shape[2]
    let image = try table.reshaped([1, n, n, d]).permuted([0, 3, 1, 2])
    let resized = try resize(image, height: rows, width: columns, mode: .bicubic)
    return try resized.permuted([0, 2, 3, 1]).reshaped([1, rows * columns, d])
}
