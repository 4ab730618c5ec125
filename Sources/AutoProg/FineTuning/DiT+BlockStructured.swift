/// A DiT's learnable sub-networks: the x, t and y embedders (t and y being the
/// conditioning), then the blocks, then the final layer; the SID table learns under every mask, `pos_embed` never, and with a
/// parameter-efficient method only that method's parameters.
extension DiT: BlockStructured {
    public var trunkBlocks: [Module] { blocks.items }
    public var inputModules: [Module] { [xEmbedder, tEmbedder, yEmbedder] }
    public var outputModules: [Module] { [finalLayer] }
    public var conditioningModules: [Module] { [tEmbedder, yEmbedder] }
    public var alwaysLearnableModules: [Module] { sidEmbedder.map { [$0] } ?? [] }

    public func mayLearn(_ parameter: Parameter) -> Bool {
        fineTuningMethod.learnableParameters(of: self).contains(ObjectIdentifier(parameter))
    }
}
