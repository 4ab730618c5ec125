import Testing
@testable import AutoProg

@Suite struct PoolingTests {
    @Test func averagesWindows() throws {
        let x = try Tensor((0..<16).map(Float.init), shape: [1, 1, 4, 4])
        #expect(try avgPool2d(x, kernel: 2).toArray() == [2.5, 4.5, 10.5, 12.5])
        // Kernel 3, stride 1: window means of a linear ramp are the centre values.
        #expect(try avgPool2d(x, kernel: 3, stride: 1).toArray() == [5, 6, 9, 10])
        // Kernel 2 stride 3 on 5×5: windows at 0 and 3, the last column/row left over.
        let y = try Tensor((0..<25).map(Float.init), shape: [1, 1, 5, 5])
        #expect(try avgPool2d(y, kernel: 2, stride: 3).toArray() == [3, 6, 18, 21])
    }

    @Test func gradients() throws {
        let check = GradientCheck()
        #expect(try check.mismatches([Tensor.randn([2, 3, 4, 6])]) { try avgPool2d($0[0], kernel: 2) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([1, 2, 5, 5])]) { try avgPool2d($0[0], kernel: 3, stride: 2) }.isEmpty)
        #expect(try check.mismatches([Tensor.randn([1, 2, 5, 5])]) { try avgPool2d($0[0], kernel: 2, stride: 1) }.isEmpty)
    }

    @Test func badShapesThrow() {
        #expect(throws: TensorError.self) { try avgPool2d(Tensor.zeros([1, 1, 2, 2]), kernel: 3) }
        #expect(throws: TensorError.self) { try avgPool2d(Tensor.zeros([1, 4, 4]), kernel: 2) }
        #expect(throws: TensorError.self) { try avgPool2d(Tensor.zeros([1, 1, 4, 4]), kernel: 2, stride: 0) }
    }
}
