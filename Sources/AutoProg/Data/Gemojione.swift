import Foundation

/// The Emoji One 3 artwork of Debian's `ruby-gemojione`: 64×64 colour emoji with names,
/// in 8 categories (people, nature, food, activity, travel, objects, symbols, flags).
///
/// `config/index.json` lists every emoji: its code points (the PNG's file name under
/// `assets/png/`), its name ("hundred points symbol"), its category and keywords. The name
/// is a ready caption and the category a class, so the set serves both class-conditional
/// models (a source/target split by category, like Fashion-MNIST's) and text-conditioned
/// ones. The PNGs are palette (with tRNS), gray or RGBA; each is decoded when loaded,
/// composited onto `background` and resized to imageSize (`PNGImageDecoder`).
///
/// The 6 emoji outside the 8 categories (skin-tone `modifier` swatches, one `extras`) are
/// left out: they are colour patches and a logo, not classes of their own. Examples are in
/// the order of their code points, so indices do not depend on the JSON's key order.
public final class Gemojione: LabelledDataset {
    /// Emoji One's own category order; a label is an index into it.
    public static let categories = ["people", "nature", "food", "activity", "travel", "objects", "symbols", "flags"]

    /// The installed gem (`/usr/share/rubygems-integration/all/gems/gemojione-<version>`,
    /// the newest if several), or `$AUTOPROG_GEMOJIONE` when set; nil when neither exists.
    public static var defaultDirectory: URL? {
        if let dir = ProcessInfo.processInfo.environment["AUTOPROG_GEMOJIONE"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        let gems = URL(fileURLWithPath: "/usr/share/rubygems-integration/all/gems", isDirectory: true)
        let installed = (try? FileManager.default.contentsOfDirectory(atPath: gems.path)) ?? []
        return installed.filter { $0.hasPrefix("gemojione-") }
            .max { $0.compare($1, options: .numeric) == .orderedAscending }
            .map { gems.appendingPathComponent($0, isDirectory: true) }
    }

    public static let missingMessage = "ruby-gemojione is not installed: sudo apt-get install ruby-gemojione "
        + "(or set AUTOPROG_GEMOJIONE to a directory with config/index.json and assets/png/)"

    public let directory: URL
    public var classNames: [String] { Gemojione.categories }
    /// Every example's name ("dog face"), code points ("1f436") and category (its label).
    public let names: [String]
    public let codePoints: [String]
    public let labels: [Int]
    public var count: Int { labels.count }
    public var imageShape: [Int] { decoder.imageShape }
    private let files: [URL]
    private let decoder: PNGImageDecoder

    public init(directory: URL? = Gemojione.defaultDirectory, imageSize: Int = 64, channels: Int = 3,
                background: Float = 1) throws {
        guard let directory else { throw DatasetError(path: "gemojione", Gemojione.missingMessage) }
        let index = directory.appendingPathComponent("config/index.json")
        decoder = try PNGImageDecoder(imageSize: imageSize, channels: channels, background: background, source: index.path)
        guard let data = FileManager.default.contents(atPath: index.path) else {
            throw DatasetError(path: index.path, "not found; " + Gemojione.missingMessage)
        }
        guard let entries = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw DatasetError(path: index.path, "is not a JSON object of emoji entries")
        }
        let pngs = directory.appendingPathComponent("assets/png", isDirectory: true)
        var emoji: [(codePoints: String, name: String, label: Int)] = []
        for (key, value) in entries {
            guard let entry = value as? [String: Any], let codePoints = entry["unicode"] as? String,
                  let name = entry["name"] as? String, let category = entry["category"] as? String else {
                throw DatasetError(path: index.path, "entry \"\(key)\" lacks a unicode, name or category string")
            }
            guard let label = Gemojione.categories.firstIndex(of: category) else { continue }
            emoji.append((codePoints.lowercased(), name, label))
        }
        guard !emoji.isEmpty else { throw DatasetError(path: index.path, "lists no emoji of the 8 categories") }
        emoji.sort { $0.codePoints < $1.codePoints }
        // The file names' case differs between releases (1F436.png, 1f436.png): match either.
        let available = Dictionary((try? FileManager.default.contentsOfDirectory(atPath: pngs.path))?
            .filter { $0.lowercased().hasSuffix(".png") }
            .map { (String($0.dropLast(4)).lowercased(), $0) } ?? [], uniquingKeysWith: { first, _ in first })
        files = try emoji.map { e in
            guard let file = available[e.codePoints] else {
                throw DatasetError(path: pngs.appendingPathComponent("\(e.codePoints).png").path,
                                   "missing: index.json lists \"\(e.name)\" but its image is not there")
            }
            return pngs.appendingPathComponent(file)
        }
        self.directory = directory
        codePoints = emoji.map(\.codePoints)
        names = emoji.map(\.name)
        labels = emoji.map(\.label)
    }

    public func load(_ indices: [Int], into images: UnsafeMutablePointer<Float>) throws -> [Int] {
        try checkIndices(indices, name: directory.path)
        let size = imageShape.reduce(1, *)
        for (k, i) in indices.enumerated() {
            try decoder.decode(files[i], into: images + k * size)
        }
        return indices.map { labels[$0] }
    }
}
