import Foundation
@testable import AutoProgLua

/// A Lua state whose printed output is collected, for running test snippets.
final class LuaHarness {
    let lua = LuaState()
    private(set) var printed = ""

    init() {
        lua.output = { [unowned self] text in self.printed += text }
    }

    /// Runs `source` as chunk "test.lua" (so errors read `test.lua:N: ...`).
    @discardableResult
    func run(_ source: String) throws -> String? {
        try lua.run(source, chunkName: "=test.lua")
    }

    /// The LuaError `source` raises.
    func error(_ source: String) -> LuaState.LuaError? {
        do {
            try run(source)
            return nil
        } catch let e as LuaState.LuaError {
            return e
        } catch {
            return nil
        }
    }
}

/// A fresh temporary directory for files a test writes.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("autoprog-lua-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
