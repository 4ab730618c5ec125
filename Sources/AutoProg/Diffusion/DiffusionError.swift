/// Bad input to the diffusion process or a sampler (an unknown schedule name, zero
/// steps, a guidance scale below 0, a class id the model does not know, ...), or a
/// sampling run that went non-finite. The message names the option or tensor at fault.
public struct DiffusionError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
