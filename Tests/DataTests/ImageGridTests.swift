import Testing
@testable import AutoProg

@Suite struct ImageGridTests {
    /// Five 1×2×3 images (image k filled with k + 1) in rows of 2, padding 1, pad value −1:
    /// 3 rows of (2 + 1) plus 1 = 10 high, 2 columns of (3 + 1) plus 1 = 9 wide.
    @Test func layoutMatchesMakeGrid() throws {
        let images = try Tensor((0..<5).flatMap { [Float](repeating: Float($0 + 1), count: 6) }, shape: [5, 1, 2, 3])
        let grid = try imageGrid(images, columns: 2, padding: 1, padValue: -1)
        #expect(grid.shape == [1, 10, 9])
        var expected = [Float](repeating: -1, count: 90)
        for k in 0..<5 {
            let (top, left) = (k / 2 * 3 + 1, k % 2 * 4 + 1)
            for y in top..<(top + 2) { for x in left..<(left + 3) { expected[y * 9 + x] = Float(k + 1) } }
        }
        #expect(grid.toArray() == expected)
    }

    @Test func defaultsAndChannels() throws {
        let images = Tensor.rand([3, 3, 4, 4])
        let grid = try imageGrid(images)
        #expect(grid.shape == [3, 4 + 2 + 2, 3 * 6 + 2])   // one row: min(N, 8) columns
        #expect(grid[2, 2, 2] == images[0, 2, 0, 0] && grid[1, 5, 2 + 6 * 2 + 3] == images[2, 1, 3, 3])
        #expect(grid[0, 0, 0] == 0)
        let single = try imageGrid(Tensor.ones([1, 3, 4, 4]))
        #expect(single.shape == [3, 4, 4])   // make_grid returns a lone image unpadded
    }

    @Test func badInputThrows() {
        #expect(throws: TensorError.self) { try imageGrid(Tensor.zeros([3, 4, 4])) }
        #expect(throws: TensorError.self) { try imageGrid(Tensor.zeros([0, 3, 4, 4])) }
        #expect(throws: TensorError.self) { try imageGrid(Tensor.zeros([2, 3, 4, 4]), columns: 0) }
    }
}
