import Foundation

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TensorFlow's
/// TFRecord and event files use (`crc32c` in tensorflow/core/lib/hash).
///
/// Table-driven, one byte at a time: event records are small (scalars, a few PNGs per
/// epoch), so this is nowhere near a hot path.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes` ("123456789" gives 0xE3069283).
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return ~crc
    }

    public static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    /// The masked form stored in TFRecord files: rotated right by 15 bits plus a constant,
    /// because checksumming data that itself contains CRCs gives weak checksums.
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
