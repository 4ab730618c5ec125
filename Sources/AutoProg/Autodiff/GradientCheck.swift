/// Finite-difference check of an op's hand-written backward (PyTorch's `gradcheck`).
///
/// The scalar probed is L = Σ f(inputs) ⊙ W for a fixed random W, so every output
/// element's gradient path is exercised. Analytic dL/dx comes from `backward`; the
/// numeric one from central differences (L(x+ε) − L(x−ε)) / 2ε evaluated in Float64
/// from float32 outputs. Up to `samplesPerInput` coordinates of each input are probed.
public struct GradientCheck {
    public var epsilon: Float = 1e-2
    public var absoluteTolerance: Double = 2e-3
    public var relativeTolerance: Double = 2e-2
    public var samplesPerInput = 48

    public init(epsilon: Float = 1e-2, absoluteTolerance: Double = 2e-3, relativeTolerance: Double = 2e-2,
                samplesPerInput: Int = 48) {
        self.epsilon = epsilon
        self.absoluteTolerance = absoluteTolerance
        self.relativeTolerance = relativeTolerance
        self.samplesPerInput = samplesPerInput
    }

    public struct Mismatch: CustomStringConvertible {
        public let input: Int, index: Int
        public let analytic: Double, numeric: Double
        public var description: String { "input \(input)[\(index)]: analytic \(analytic) vs numeric \(numeric)" }
    }

    /// Returns the coordinates whose gradients disagree (empty when the check passes).
    /// `f` must be deterministic. Inputs listed in `constant` get no gradient check.
    public func mismatches(_ inputs: [Tensor], constant: Set<Int> = [], _ f: ([Tensor]) throws -> Tensor) throws -> [Mismatch] {
        let leaves = inputs.enumerated().map { i, x in constant.contains(i) ? x.clone() : x.clone().requiringGrad() }
        let out = try Autograd.withGradients(true) { try f(leaves) }
        var weightStream = RandomStream(seed: 1234, purpose: "gradcheck")
        let weights = Tensor(uninitializedShape: out.shape)
        weightStream.fillUniform(weights.pointer, count: weights.count, low: -1, high: 1)
        guard out.requiresGrad else { throw TensorError("gradcheck", "output does not depend on any input") }
        try out.backward(gradient: weights)

        func loss() throws -> Double {
            let y = try Autograd.withoutGradients { try f(leaves) }.contiguous()
            var s = 0.0
            for i in 0..<y.count { s += Double(y.pointer[i]) * Double(weights.pointer[i]) }
            return s
        }

        var bad: [Mismatch] = []
        var pick = RandomStream(seed: 99, purpose: "gradcheck-coordinates")
        for (k, x) in leaves.enumerated() where !constant.contains(k) {
            let analytic = x.grad?.contiguous() ?? Tensor.zeros(x.shape)
            let n = x.count
            let coords = n <= samplesPerInput ? Array(0..<n) : Array(pick.permutation(n).prefix(samplesPerInput))
            for j in coords {
                let saved = x.pointer[j]
                x.pointer[j] = saved + epsilon
                let plus = try loss()
                x.pointer[j] = saved - epsilon
                let minus = try loss()
                x.pointer[j] = saved
                let numeric = (plus - minus) / (2 * Double(epsilon))
                let a = Double(analytic.pointer[j])
                if abs(a - numeric) > absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric)) {
                    bad.append(Mismatch(input: k, index: j, analytic: a, numeric: numeric))
                }
            }
        }
        return bad
    }
}
