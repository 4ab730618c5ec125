import AutoProg
import Foundation
import Testing
@testable import AutoProgLua

@Suite struct DataBindingTests {
    static let fashionDirectory = "/usr/share/datasets/fashion-mnist"
    static let hasFashionMNIST = FileManager.default.fileExists(atPath: fashionDirectory + "/train-labels-idx1-ubyte.gz")

    @Test(.enabled(if: DataBindingTests.hasFashionMNIST, "Fashion-MNIST (dataset-fashion-mnist) is not installed"))
    func fashionMNISTSubsetHasOneBasedLabels() throws {
        let h = LuaHarness()
        try h.run("""
            local d = ap.data.fashion_mnist{split = 'train', subset = 100, directory = '\(DataBindingTests.fashionDirectory)'}
            assert(#d == 100, #d)
            assert(tostring(d) == 'Dataset FashionMNIST(train) 100 images 1x28x28, 10 classes', tostring(d))
            local classes = d:classes()
            assert(#classes == 10 and classes[1] == 'T-shirt/top' and classes[10] == 'Ankle boot')
            local s = d:shape()
            assert(#s == 3 and s[1] == 1 and s[2] == 28 and s[3] == 28)
            local x, y = d:batch{1, 2, 100}
            local xs = x:size()
            assert(#xs == 4 and xs[1] == 3 and xs[2] == 1 and xs[3] == 28 and xs[4] == 28)
            assert(#y == 3 and y[1] == 10 and classes[y[1]] == 'Ankle boot', y[1])
            for _, label in ipairs(y) do assert(math.type(label) == 'integer' and label >= 1 and label <= 10) end
            assert(x:max():item() <= 1 and (-x):max():item() <= 0 and x:max():item() > 0.5)
            local first = d:images{1}
            assert((first - x:narrow(1, 1, 1)):abs():max():item() == 0)
            -- subsets keep 1-based order and labels
            local picked = d:subset{100, 1}
            assert(#picked == 2 and tostring(picked):find('FashionMNIST%(train%) subset 2 images'))
            local _, y2 = picked:batch{2}
            assert(y2[1] == 10)
            assert(#d:subset(5) == 5 and #d:subset(1000) == 100)
            """)
        let test = try h.run("return tostring(ap.data.fashion_mnist{split = 'test', directory = '\(DataBindingTests.fashionDirectory)'})")
        #expect(test == "Dataset FashionMNIST(test) 10000 images 1x28x28, 10 classes")
    }

    /// The installed ruby-gemojione (`make test` installs it), by category name.
    @Test func emojiKeepsTheNamedCategoriesInTheirOrder() throws {
        let h = LuaHarness()
        try h.run("""
            local all = ap.data.emoji{size = 16}
            assert(tostring(all) == 'Dataset Emoji 1788 images 3x16x16, 8 classes', tostring(all))
            local d = ap.data.emoji{categories = {'food', 'nature'}, size = 8, channels = 1, subset = 200}
            assert(#d == 200, #d)
            assert(tostring(d):find('Emoji classes food,nature', 1, true), tostring(d))
            local classes = d:classes()
            assert(#classes == 2 and classes[1] == 'food' and classes[2] == 'nature')
            local x, y = d:batch{1, 200}
            local s = x:size()
            assert(s[1] == 2 and s[2] == 1 and s[3] == 8 and s[4] == 8)
            for _, label in ipairs(y) do assert(label == 1 or label == 2) end
            -- what a classifier of all 8 categories calls them, through the subset too
            local base = d:base_classes()
            assert(#base == 2 and base[1] == 3 and base[2] == 2, table.concat(base, ','))
            assert(#all:base_classes() == 8 and all:base_classes()[8] == 8)
            assert(#ap.data.emoji{categories = 'flags'} == 257)
            """)
        let unknown = try #require(LuaHarness().error("local d = ap.data.emoji{categories = {'food', 'animals'}}"))
        #expect(unknown.message.contains(#"unknown category "animals" (one of people, nature"#))
        let option = try #require(LuaHarness().error("local d = ap.data.emoji{category = 'food'}"))
        #expect(option.message.contains("category"))
        let missing = try #require(LuaHarness().error("local d = ap.data.emoji{directory = '/nonexistent/gem'}"))
        #expect(missing.message.contains("/nonexistent/gem/config/index.json: not found; ruby-gemojione is not installed"))
    }

    @Test func missingFashionMNISTReportsTheEngineError() throws {
        let directory = "/nonexistent/autoprog-fashion-mnist"
        var engine = ""
        do {
            _ = try FashionMNIST(split: .train, directory: URL(fileURLWithPath: directory, isDirectory: true))
        } catch {
            engine = String(describing: error)
        }
        #expect(engine.contains("dataset-fashion-mnist"))
        let e = try #require(LuaHarness().error("local d = ap.data.fashion_mnist{directory = '\(directory)'}"))
        #expect(e.message == "test.lua:1: " + engine)
    }

    /// A tiny class-per-folder dataset written through ap.image.save: cat (2 images), dog (1).
    private func makeFolder(_ h: LuaHarness) throws -> URL {
        let root = try temporaryDirectory()
        for name in ["cat", "dog"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try h.run("""
            local root = '\(root.path)'
            ap.image.save(root .. '/cat/a.png', ap.full({3, 8, 8}, 0.2))
            ap.image.save(root .. '/cat/b.png', ap.full({1, 8, 8}, 1))
            ap.image.save(root .. '/dog/c.png', ap.full({3, 6, 10}, 0.6))
            """)
        return root
    }

    @Test func imageFolderDataset() throws {
        let h = LuaHarness()
        let root = try makeFolder(h)
        defer { try? FileManager.default.removeItem(at: root) }
        try h.run("""
            local d = ap.data.image_folder{dir = '\(root.path)', size = 4}
            assert(#d == 3)
            local c = d:classes()
            assert(#c == 2 and c[1] == 'cat' and c[2] == 'dog')
            local s = d:shape()
            assert(s[1] == 3 and s[2] == 4 and s[3] == 4)
            local x, y = d:batch{1, 2, 3}
            assert(y[1] == 1 and y[2] == 1 and y[3] == 2)
            local xs = x:size()
            assert(xs[1] == 3 and xs[2] == 3 and xs[3] == 4 and xs[4] == 4)
            assert(math.abs(x[1][1][1][1] - 51 / 255) < 1e-6)
            assert((-x[2]):max():item() == -1)  -- gray copied to RGB
            assert(math.abs(x[3]:mean():item() - 153 / 255) < 1e-5)  -- resized from 6x10
            assert(tostring(d) == 'Dataset ImageFolder(\(root.path)) 3 images 3x4x4, 2 classes', tostring(d))
            local gray = ap.data.image_folder{dir = '\(root.path)', size = 2, channels = 1}
            assert(gray:shape()[1] == 1 and gray:images{3}:size(2) == 1)
            """)
    }

    @Test func badInputsReportTheRecipeLine() throws {
        let h = LuaHarness()
        let root = try makeFolder(h)
        defer { try? FileManager.default.removeItem(at: root) }
        try h.run("d = ap.data.image_folder{dir = '\(root.path)', size = 4}")

        let unknown = try #require(h.error("local x = 1\nap.data.fashion_mnist{splt = 'train'}"))
        #expect(unknown.message.hasPrefix("test.lua:2: ap.data.fashion_mnist: unknown option 'splt'"))
        let split = try #require(h.error("ap.data.fashion_mnist{split = 'val'}"))
        #expect(split.message == "test.lua:1: ap.data.fashion_mnist: split must be \"train\" or \"test\", got \"val\"")
        let folderOption = try #require(h.error("ap.data.image_folder{dir = 'x', size = 4, chanels = 1}"))
        #expect(folderOption.message.hasPrefix("test.lua:1: ap.data.image_folder: unknown option 'chanels'"))
        let noSize = try #require(h.error("ap.data.image_folder{dir = '\(root.path)'}"))
        #expect(noSize.message == "test.lua:1: ap.data.image_folder: size is required")

        let zero = try #require(h.error("local x = 1\nlocal y = d:images{0}"))
        #expect(zero.message == "test.lua:2: bad argument #1 to 'images' (index 0 (element 1) is out of range 1..3)")
        let past = try #require(h.error("d:batch{1, 4}"))
        #expect(past.message == "test.lua:1: bad argument #1 to 'batch' (index 4 (element 2) is out of range 1..3)")
        let subset = try #require(h.error("d:subset{3, 0}"))
        #expect(subset.message.hasPrefix("test.lua:1: bad argument #1 to 'subset' (index 0"))
        let notTable = try #require(h.error("d:images(1)"))
        #expect(notTable.message.hasPrefix("test.lua:1: bad argument #1 to 'images' (table expected, got number"))
        let empty = try #require(h.error("d:batch{}"))
        #expect(empty.message.hasPrefix("test.lua:1: bad argument #1 to 'batch' (no indices"))
        let missing = try #require(h.error("ap.data.image_folder{dir = '\(root.path)/none', size = 4}"))
        #expect(missing.message.hasPrefix("test.lua:1: dataset \(root.path)/none: image folder not found"))
    }
}
