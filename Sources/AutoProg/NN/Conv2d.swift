/// 2-D convolution layer (`torch.nn.Conv2d` with groups = 1, dilation = 1): weight
/// [out, in, k, k], bias [out]. Initialised as PyTorch does (kaiming_uniform with a = √5,
/// which comes to U(−1/√fan_in, 1/√fan_in) for the weight, and the same for the bias),
/// fan_in = in·k·k.
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        weight = Parameter(Tensor.rand([outChannels, inChannels, kernelSize, kernelSize], low: -bound, high: bound))
        self.bias = bias ? Parameter(Tensor.rand([outChannels], low: -bound, high: bound)) : nil
        super.init()
        register("weight", weight)
        if let b = self.bias { register("bias", b) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try conv2d(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }

    public override var extraDescription: String {
        "\(inChannels), \(outChannels), kernel_size=\(kernelSize), stride=\(stride)"
            + (padding != 0 ? ", padding=\(padding)" : "") + (bias == nil ? ", bias=false" : "")
    }
}
