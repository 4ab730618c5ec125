import Testing
@testable import AutoProg

@Suite struct EngineVersionTests {
    @Test func versionIsSemantic() {
        #expect(AutoProgInfo.version.split(separator: ".").count == 3)
    }
}
