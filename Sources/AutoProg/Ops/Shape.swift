/// Shape ops: views where the layout allows, copies otherwise; gradients map back by
/// the inverse transform.
extension Tensor {
    /// The same elements in a new shape (`torch.reshape`); one axis may be -1 (inferred).
    /// A view when this tensor is contiguous, else a copy.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw TensorError("reshape", "invalid target shape \(newShape)")
        }
        if let i = inferred.first {
            guard known > 0, count % known == 0 else {
                throw TensorError("reshape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
            }
            target[i] = count / known
        }
        guard target.reduce(1, *) == count else {
            throw TensorError("reshape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let source = contiguous()
        let out = Tensor(storage: source.storage, offset: source.offset, shape: target)
        let inputShape = shape
        return out.recorded("reshape", inputs: [self]) { g in
            let gc = g.contiguous()
            return [Tensor(storage: gc.storage, offset: gc.offset, shape: inputShape)]
        }
    }
}
