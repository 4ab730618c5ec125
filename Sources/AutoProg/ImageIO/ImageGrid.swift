/// Tiles [N, C, H, W] images into one [C, H', W'] image, row by row, `columns` per row
/// (`torchvision.utils.make_grid(images, nrow=columns, padding=padding, pad_value=padValue)`):
/// every cell is H + padding by W + padding with a `padding` border on the top and left
/// of each cell plus one more at the bottom and right, so
/// H' = rows·(H + padding) + padding, W' = min(N, columns)·(W + padding) + padding.
///
/// As make_grid, a single image is returned as it is (no border), and unfilled cells of
/// the last row are `padValue`. Unlike make_grid, one-channel images stay one channel
/// (make_grid copies them to three), so a grayscale grid saves as a grayscale PNG.
public func imageGrid(_ images: Tensor, columns: Int = 8, padding: Int = 2, padValue: Float = 0) throws -> Tensor {
    guard images.rank == 4, images.shape[0] > 0 else {
        throw TensorError("imageGrid", "images of shape \(images.shape) must be a non-empty [N, C, H, W]")
    }
    guard columns > 0, padding >= 0 else {
        throw TensorError("imageGrid", "columns (\(columns)) must be positive and padding (\(padding)) non-negative")
    }
    let x = images.contiguous()
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    if n == 1 { return try x.clone().reshaped([c, h, w]) }
    let across = min(columns, n), down = (n + across - 1) / across
    let (cellH, cellW) = (h + padding, w + padding)
    let (outH, outW) = (down * cellH + padding, across * cellW + padding)
    let grid = Tensor.full([c, outH, outW], padValue)
    let (src, dst) = (x.pointer, grid.pointer)
    for k in 0..<n {
        let top = (k / across) * cellH + padding, left = (k % across) * cellW + padding
        for ch in 0..<c {
            for y in 0..<h {
                (dst + (ch * outH + top + y) * outW + left).update(from: src + ((k * c + ch) * h + y) * w, count: w)
            }
        }
    }
    return grid
}
