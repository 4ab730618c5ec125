/// Reduced-precision float formats widened to float32, for loading checkpoints saved in
/// half precision (PyTorch `torch.float16`, `torch.bfloat16`, `torch.float8_e4m3fn`,
/// `torch.float8_e5m2`).
///
/// Written out bit by bit rather than through Swift's `Float16` so that the conversion is
/// the same on every platform (`Float16` is unavailable on Intel macOS) and so that NaN
/// payloads survive. Every conversion is exact: float32 represents all these values.
extension Float {
    /// The value of an IEEE 754 binary16 number given by its bits.
    ///
    /// Normal numbers re-bias the 5-bit exponent (bias 15) to float32's 8 bits (bias 127);
    /// subnormals (exponent field 0) are `mantissa · 2⁻²⁴`, which float32 holds exactly;
    /// exponent field 31 is ±infinity or NaN with the payload shifted into place.
    @inlinable
    public init(float16Bits bits: UInt16) {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x03ff)
        switch exponent {
        case 0:
            // Zero or subnormal: the product is exact and keeps the sign (including -0).
            let magnitude = Float(mantissa) * 0x1p-24
            self = sign == 0 ? magnitude : -magnitude
        case 0x1f:
            self = Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        default:
            self = Float(bitPattern: sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13))
        }
    }

    /// The value of a bfloat16 number: the top 16 bits of a float32.
    @inlinable
    public init(bfloat16Bits bits: UInt16) {
        self = Float(bitPattern: UInt32(bits) << 16)
    }

    /// The value of an OCP FP8 E4M3 number in its "FN" variant (`torch.float8_e4m3fn`):
    /// bias 7, no infinities, and only `S.1111.111` is NaN, so the range reaches ±448.
    @inlinable
    public init(float8E4M3Bits bits: UInt8) {
        let sign = UInt32(bits & 0x80) << 24
        let exponent = UInt32(bits >> 3) & 0x0f
        let mantissa = UInt32(bits & 0x07)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-9
            self = sign == 0 ? magnitude : -magnitude
        } else if exponent == 0x0f && mantissa == 0x07 {
            self = Float(bitPattern: sign | 0x7fc0_0000)
        } else {
            self = Float(bitPattern: sign | ((exponent + (127 - 7)) << 23) | (mantissa << 20))
        }
    }

    /// The value of an FP8 E5M2 number (`torch.float8_e5m2`): the top byte of a binary16.
    @inlinable
    public init(float8E5M2Bits bits: UInt8) {
        self.init(float16Bits: UInt16(bits) << 8)
    }
}
