/// A noise-prediction network, as the diffusion process and its samplers see it (DiT,
/// and later the U-Net): given noisy images x_t [B, C, H, W], their timesteps [B] (as
/// floats, so respaced schedules can pass the original step numbers) and optional class
/// labels (0-based; `nullClass` means "no condition", for classifier-free guidance), it
/// returns ε̂ [B, C, H, W], or [B, 2C, H, W] when it also predicts the variance
/// (`learnsSigma`: the second half are the interpolation values v of Improved DDPM).
public protocol Denoiser: AnyObject {
    /// Image channels C the network takes and predicts noise for.
    var imageChannels: Int { get }
    /// Whether the output carries a learned variance in its second C channels.
    var learnsSigma: Bool { get }
    /// The label that means "unconditional" (nil: the network takes no labels).
    var nullClass: Int? { get }
    func denoise(_ x: Tensor, timesteps: Tensor, labels: [Int]?) throws -> Tensor
}
