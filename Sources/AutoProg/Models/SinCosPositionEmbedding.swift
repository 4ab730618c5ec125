import Foundation

/// The fixed 2-D sin-cos position embedding of MAE and DiT (`get_2d_sincos_pos_embed`)
/// for a `gridHeight`×`gridWidth` patch grid: [1, gridHeight·gridWidth, dimension], one
/// row per patch in row-major order.
///
/// Row t = i·gridWidth + j (patch row i, column j) is
///   [sin(j·ω₀), …, sin(j·ω_{k−1}), cos(j·ω₀), …, cos(j·ω_{k−1}),
///    sin(i·ω₀), …, sin(i·ω_{k−1}), cos(i·ω₀), …, cos(i·ω_{k−1})]
/// with k = dimension/4 and ω_m = 10000^(−m/k): the first half encodes the column, because
/// DiT builds the grid with `np.meshgrid(grid_w, grid_h)`, w first. Computed in Float64
/// (NumPy's precision) and rounded once. Defined for any grid; a DiT running at another
/// grid resizes its own `pos_embed` instead (`DiT.positionEmbedding` says why).
public func sinCosPositionEmbedding(dimension: Int, gridHeight: Int, gridWidth: Int) throws -> Tensor {
    guard dimension > 0, dimension % 4 == 0 else {
        throw TensorError("sinCosPositionEmbedding", "dimension \(dimension) must be a positive multiple of 4")
    }
    guard gridHeight > 0, gridWidth > 0 else {
        throw TensorError("sinCosPositionEmbedding", "grid \(gridHeight)×\(gridWidth) must be positive")
    }
    let quarter = dimension / 4
    let omega = (0..<quarter).map { 1 / Foundation.pow(10000, Double($0) / Double(quarter)) }
    let out = Tensor(uninitializedShape: [1, gridHeight * gridWidth, dimension])
    for i in 0..<gridHeight {
        for j in 0..<gridWidth {
            let row = out.pointer + (i * gridWidth + j) * dimension
            for (m, w) in omega.enumerated() {
                let column = Double(j) * w, line = Double(i) * w
                row[m] = Float(sin(column))
                row[quarter + m] = Float(cos(column))
                row[2 * quarter + m] = Float(sin(line))
                row[3 * quarter + m] = Float(cos(line))
            }
        }
    }
    return out
}
