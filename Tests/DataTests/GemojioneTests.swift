import Foundation
import Testing
@testable import AutoProg

@Suite struct GemojioneTests {
    /// A gem laid out as Debian's: config/index.json and assets/png/<CODE POINTS>.png.
    func makeGem(index: String) throws -> URL {
        let dir = try makeTemporaryDirectory()
        let pngs = dir.appendingPathComponent("assets/png")
        try FileManager.default.createDirectory(at: pngs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("config"), withIntermediateDirectories: true)
        try Data(index.utf8).write(to: dir.appendingPathComponent("config/index.json"))
        // dog: red, opaque top row only (RGBA 2×2); apple: gray 4×4; swatch: a modifier.
        try PNG.write(try Tensor([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0], shape: [4, 2, 2]),
                      to: pngs.appendingPathComponent("1F436.png"))
        try PNG.write(Tensor.full([1, 4, 4], 0.4), to: pngs.appendingPathComponent("1f34e.png"))
        try PNG.write(Tensor.full([3, 4, 4], 0.6), to: pngs.appendingPathComponent("1F3FB.png"))
        return dir
    }

    static let index = """
        {"dog": {"unicode": "1F436", "name": "dog face", "category": "nature", "keywords": ["pet"]},
         "tone1": {"unicode": "1F3FB", "name": "light skin tone", "category": "modifier"},
         "apple": {"unicode": "1F34E", "name": "red apple", "category": "food"}}
        """

    @Test func examplesAreTheCategorisedEmojiInCodePointOrder() throws {
        let dir = try makeGem(index: GemojioneTests.index)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Gemojione(directory: dir, imageSize: 4)
        #expect(data.count == 2 && data.imageShape == [3, 4, 4])
        #expect(data.codePoints == ["1f34e", "1f436"] && data.names == ["red apple", "dog face"])
        #expect(data.labels == [2, 1] && data.classNames[2] == "food" && data.classNames[1] == "nature")
        let batch = try data.batch([1, 0])
        #expect(batch.labels == [1, 2])
        let x = batch.images
        // The dog's transparent bottom row is composited onto white, its top row red; 2 → 4 px.
        #expect(x[0, 0, 0, 0] == 1 && x[0, 1, 0, 0] == 0 && x[0, 1, 3, 3] == 1)
        #expect(x[1, 0, 2, 2] == Float(102) / 255 && x[1, 2, 2, 2] == Float(102) / 255)   // gray to RGB
        let gray = try Gemojione(directory: dir, imageSize: 2, channels: 1, background: 0)
        #expect(try gray.batch([1]).images.toArray() == [0.299, 0.299, 0, 0])
        let food = try ClassSubset(data, classes: [2])
        #expect(food.count == 1 && food.classNames == ["food"] && food.labels == [0])
        // What a classifier of all 8 categories calls the labels, through nested selections.
        let both = try ClassSubset(data, classes: [2, 1])
        #expect(both.fullDatasetClasses.classes == [2, 1] && both.fullDatasetClasses.count == 8)
        let nested = DatasetSubset(try ClassSubset(both, classes: [0]), first: 1)
        #expect(nested.fullDatasetClasses.classes == [2] && nested.fullDatasetClasses.count == 8)
    }

    @Test func aBrokenGemIsNamed() throws {
        func message(_ index: String, removing file: String? = nil) throws -> String {
            let dir = try makeGem(index: index)
            defer { try? FileManager.default.removeItem(at: dir) }
            if let file { try FileManager.default.removeItem(at: dir.appendingPathComponent("assets/png/\(file)")) }
            do { _ = try Gemojione(directory: dir, imageSize: 8) } catch let error as DatasetError {
                return error.description
            }
            return "no error"
        }
        #expect(try message("[1, 2]").contains("config/index.json: is not a JSON object"))
        #expect(try message(#"{"x": {"unicode": "1F436"}}"#).contains(#"entry "x" lacks"#))
        #expect(try message(#"{"x": {"unicode": "1F3FB", "name": "n", "category": "modifier"}}"#).contains("lists no emoji"))
        #expect(try message(GemojioneTests.index, removing: "1F436.png").contains(#"1f436.png: missing: index.json lists "dog face""#))
        let absent = URL(fileURLWithPath: "/nonexistent/gemojione")
        #expect(throws: DatasetError.self) { try Gemojione(directory: absent) }
        do { _ = try Gemojione(directory: absent) } catch {
            #expect(String(describing: error).contains("sudo apt-get install ruby-gemojione"))
        }
        let dir = try makeGem(index: GemojioneTests.index)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: DatasetError.self) { try Gemojione(directory: dir, imageSize: 0) }
        try Data("garbage".utf8).write(to: dir.appendingPathComponent("assets/png/1F436.png"))
        #expect(throws: PNGError.self) { try Gemojione(directory: dir, imageSize: 4).batch([1]) }
    }

    /// The Debian package itself (`make test` installs it): its 1,794 emoji less the 6
    /// outside the 8 categories, every file decodable as the palette, gray or RGBA PNG it is.
    @Test func theInstalledPackageHasItsEightCategories() throws {
        let data = try Gemojione(imageSize: 64)
        #expect(data.count == 1788)
        var counts = [Int](repeating: 0, count: 8)
        for label in data.labels { counts[label] += 1 }
        #expect(counts == [570, 161, 85, 145, 118, 179, 273, 257])
        let all = try data.batch(Array(0..<data.count)).images
        let values = all.toArray()
        #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(values.reduce(0, +) / Float(values.count) > 0.5)   // white backgrounds dominate
    }
}
