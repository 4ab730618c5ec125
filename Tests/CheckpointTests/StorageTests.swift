import Testing
@testable import AutoProg

@Suite struct StorageTests {
    @Test func wrappedMemoryIsReleasedWithTheLastView() {
        final class Flag: @unchecked Sendable { var released = false }
        let flag = Flag()
        let raw = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        do {
            let s = Storage(wrapping: raw, count: 4) { raw.deallocate(); flag.released = true }
            let t = Tensor(storage: s, shape: [2, 2])
            #expect(t.count == 4)
            #expect(!flag.released)
        }
        #expect(flag.released)
    }
}
