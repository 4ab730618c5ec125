import Foundation
import Testing
@testable import AutoProg

@Suite struct HalfFloatTests {
    @Test func float16KnownBitPatterns() {
        let cases: [(UInt16, UInt32)] = [
            (0x0000, 0x0000_0000),  // +0
            (0x8000, 0x8000_0000),  // -0 keeps its sign
            (0x0001, 0x3380_0000),  // smallest subnormal 2^-24
            (0x8001, 0xb380_0000),  // -2^-24
            (0x03ff, 0x387f_c000),  // largest subnormal 1023·2^-24
            (0x0400, 0x3880_0000),  // smallest normal 2^-14
            (0x3c00, 0x3f80_0000),  // 1
            (0xc000, 0xc000_0000),  // -2
            (0x3555, 0x3eaa_a000),  // 0.333251953125
            (0x7bff, 0x477f_e000),  // 65504, the largest finite half
            (0x7c00, 0x7f80_0000),  // +inf
            (0xfc00, 0xff80_0000),  // -inf
            (0x7e00, 0x7fc0_0000),  // quiet NaN
            (0x7c01, 0x7f80_2000),  // NaN payload moves to the top of the float mantissa
        ]
        for (half, float) in cases {
            #expect(Float(float16Bits: half).bitPattern == float, "half 0x\(String(half, radix: 16))")
        }
    }

    #if !(os(macOS) && arch(x86_64))
    /// All 65536 halves against the standard library's conversion, which is independent
    /// of ours (hardware F16C or compiler-rt).
    @Test func float16MatchesStandardLibraryForEveryPattern() {
        var mismatches: [UInt16] = []
        for bits in 0...UInt16.max {
            let ours = Float(float16Bits: bits)
            let reference = Float(Float16(bitPattern: bits))
            let same = ours.isNaN ? reference.isNaN : ours.bitPattern == reference.bitPattern
            if !same { mismatches.append(bits) }
        }
        #expect(mismatches.count == 0, "first mismatches: \(mismatches.prefix(5).map { String($0, radix: 16) })")
    }
    #endif

    @Test func bfloat16IsTheTopHalfOfAFloat() {
        #expect(Float(bfloat16Bits: 0x3f80) == 1)
        #expect(Float(bfloat16Bits: 0xc049) == -3.140625)
        #expect(Float(bfloat16Bits: 0x7f80) == .infinity)
        #expect(Float(bfloat16Bits: 0xff80) == -.infinity)
        #expect(Float(bfloat16Bits: 0x0001).bitPattern == 0x0001_0000)  // subnormal
        #expect(Float(bfloat16Bits: 0x8000).bitPattern == 0x8000_0000)
        #expect(Float(bfloat16Bits: 0x7fc1).bitPattern == 0x7fc1_0000)  // NaN payload kept
    }

    @Test func float8E4M3KnownValues() {
        #expect(Float(float8E4M3Bits: 0x00).bitPattern == 0)
        #expect(Float(float8E4M3Bits: 0x80).bitPattern == 0x8000_0000)
        #expect(Float(float8E4M3Bits: 0x01) == 0x1p-9)  // smallest subnormal
        #expect(Float(float8E4M3Bits: 0x07) == 7 * 0x1p-9)  // largest subnormal
        #expect(Float(float8E4M3Bits: 0x08) == 0x1p-6)  // smallest normal
        #expect(Float(float8E4M3Bits: 0x38) == 1)
        #expect(Float(float8E4M3Bits: 0x78) == 256)
        #expect(Float(float8E4M3Bits: 0x7e) == 448)  // largest finite; FN has no infinity
        #expect(Float(float8E4M3Bits: 0xfe) == -448)
        #expect(Float(float8E4M3Bits: 0x7f).isNaN)
        #expect(Float(float8E4M3Bits: 0xff).isNaN)
    }

    @Test func float8E5M2KnownValues() {
        #expect(Float(float8E5M2Bits: 0x3c) == 1)
        #expect(Float(float8E5M2Bits: 0x01) == 0x1p-16)
        #expect(Float(float8E5M2Bits: 0x7b) == 57344)
        #expect(Float(float8E5M2Bits: 0x7c) == .infinity)
        #expect(Float(float8E5M2Bits: 0xfc) == -.infinity)
        #expect(Float(float8E5M2Bits: 0x7d).isNaN)
    }

    /// Every FP8 code decoded by us against torch's own float32 conversion (fixture made
    /// by make_fixtures.py with torch).
    @Test func float8MatchesTorchForEveryCode() throws {
        let (t, _) = try SafeTensors.read(Fixtures.url("fp8.safetensors"))
        for kind in ["e4m3", "e5m2"] {
            let ours = try #require(t[kind]).toArray(), torch = try #require(t[kind + "_as_f32"]).toArray()
            #expect(ours.count == 256)
            for (code, (a, b)) in zip(ours, torch).enumerated() {
                #expect(a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern, "\(kind) code \(code): \(a) vs torch \(b)")
            }
        }
    }
}
