import Foundation
import Testing
@testable import AutoProgLua

@Suite struct ImageBindingTests {
    @Test func saveLoadRoundTripAndHook() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = LuaHarness()
        var saved: [(URL, Data)] = []
        h.lua.onImageSaved = { url, png in saved.append((url, png)) }
        try h.run("""
            ap.manual_seed(1)
            local dir = '\(dir.path)'
            local t = ap.rand(3, 5, 7)
            ap.image.save(dir .. '/rgb.png', t)
            local back = ap.image.load(dir .. '/rgb.png')
            local s = back:size()
            assert(s[1] == 3 and s[2] == 5 and s[3] == 7)
            assert((back - t):abs():max():item() <= 0.5 / 255 + 1e-6)
            -- [H, W] saves as gray; channels converts on load
            ap.image.save(dir .. '/gray.png', t[1])
            assert(ap.image.load(dir .. '/gray.png'):size(1) == 1)
            local rgb = ap.image.load(dir .. '/gray.png', {channels = 3})
            assert(rgb:size(1) == 3 and (rgb[1] - rgb[3]):abs():max():item() == 0)
            -- a batch of one image is accepted; values are clamped to [0, 1]
            ap.image.save(dir .. '/one.png', ap.full({1, 1, 2, 2}, 2))
            assert((-ap.image.load(dir .. '/one.png')):max():item() == -1)
            """)
        #expect(saved.map(\.0.lastPathComponent) == ["rgb.png", "gray.png", "one.png"])
        for (url, png) in saved {
            #expect(try Data(contentsOf: url) == png)
        }
    }

    @Test func gridShapes() throws {
        let h = LuaHarness()
        try h.run("""
            local g = ap.image.grid(ap.zeros(10, 1, 28, 28))
            local s = g:size()
            assert(#s == 3 and s[1] == 1 and s[2] == 2 * 30 + 2 and s[3] == 8 * 30 + 2, table.concat(s, ','))
            local p = ap.image.grid(ap.zeros(7, 3, 4, 4), {nrow = 5, padding = 1, pad_value = 0.5})
            s = p:size()
            assert(s[1] == 3 and s[2] == 2 * 5 + 1 and s[3] == 5 * 5 + 1)
            assert(p[1][1][1] == 0.5 and p[1][2][2] == 0 and p[3][11][26] == 0.5)
            """)
    }

    @Test func badInputsReportTheRecipeLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = LuaHarness()
        var hooked = 0
        h.lua.onImageSaved = { _, _ in hooked += 1 }
        let five = try #require(h.error("local x = 1\nap.image.save('\(dir.path)/x.png', ap.zeros(1, 1, 1, 2, 2))"))
        #expect(five.message == "test.lua:2: ap.image.save: tensor of shape [1, 1, 1, 2, 2] must be [C, H, W], [H, W] or [1, C, H, W]")
        let batch = try #require(h.error("ap.image.save('\(dir.path)/x.png', ap.zeros(2, 1, 2, 2))"))
        #expect(batch.message.hasPrefix("test.lua:1: ap.image.save: a batch of 2 images") && batch.message.contains("ap.image.grid"))
        let channels = try #require(h.error("ap.image.save('\(dir.path)/x.png', ap.zeros(5, 2, 2))"))
        #expect(channels.message.hasPrefix("test.lua:1: PNG.encode:"))
        #expect(hooked == 0 && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.png").path))

        let option = try #require(h.error("ap.image.load('\(dir.path)/x.png', {chanels = 3})"))
        #expect(option.message.hasPrefix("test.lua:1: ap.image.load: unknown option 'chanels'"))
        let missing = try #require(h.error("ap.image.load('\(dir.path)/none.png')"))
        #expect(missing.message.hasPrefix("test.lua:1: PNG \(dir.path)/none.png: cannot read the file"))
        let grid = try #require(h.error("ap.image.grid(ap.zeros(1, 2, 2))"))
        #expect(grid.message.hasPrefix("test.lua:1: imageGrid:"))
        let gridOption = try #require(h.error("ap.image.grid(ap.zeros(2, 1, 2, 2), {rows = 2})"))
        #expect(gridOption.message.hasPrefix("test.lua:1: ap.image.grid: unknown option 'rows'"))
    }
}
