import CPNG
import CZlib
import Testing

/// The data and image code stands on zlib and libpng from Debian; these pin the
/// versions' basic behaviour the loaders rely on.
@Suite struct LinkTests {
    @Test func zlibCRC32OfKnownString() {
        let bytes = Array("123456789".utf8)
        #expect(crc32(0, bytes, UInt32(bytes.count)) == 0xCBF4_3926)
    }

    @Test func libpngVersionIs16() {
        #expect(String(cString: png_get_libpng_ver(nil)).hasPrefix("1.6"))
    }
}
