import AutoProg
import CLua
import Foundation

/// A labelled image dataset as Lua holds it. Other bindings (the training loop) read the
/// engine dataset with `LuaHost.object(L, i, DatasetBox.self)?.dataset`.
final class DatasetBox: LuaHostObject {
    static let luaTypeName = "autoprog.Dataset"
    let dataset: Dataset
    /// How `tostring` names it: `FashionMNIST(train)`, `ImageFolder(pets)`, `... subset`.
    let name: String

    init(_ dataset: Dataset, name: String) {
        self.dataset = dataset
        self.name = name
    }
}

/// `ap.data`: the engine's datasets (Fashion-MNIST, a folder of PNGs per class) with
/// random access from recipes. Indices and class labels are 1-based on the Lua side and
/// converted here, so `c[labels[i]]` names the class of example i.
extension LuaState {
    func installData(_ ap: Int32) {
        documentation["Dataset"] = "A labelled image dataset: #d examples of shape d:shape(), labels 1..#d:classes()."
        defineType(DatasetBox.self, methods: datasetMethods, metamethods: datasetMetamethods,
                   tostring: LuaState.describeDataset)
        pushSubtable(of: ap, "data")
        documentation["ap.data"] = "Datasets: ap.data.fashion_mnist{...}, ap.data.emoji{...}, ap.data.image_folder{...} (1-based indices and labels)."
        register(datasetConstructors, in: -1, path: "ap.data")
        lua_settop(L, -2)
    }

    static func describeDataset(_ box: DatasetBox) -> String {
        let d = box.dataset
        return "Dataset \(box.name) \(d.count) images \(d.imageShape.map(String.init).joined(separator: "x")), \(d.classNames.count) classes"
    }

    private var datasetConstructors: [LuaBinding] {
        [
            LuaBinding("fashion_mnist", "ap.data.fashion_mnist{split=\"train\"|\"test\", classes=, subset=0, directory=}: Fashion-MNIST [1, 28, 28] in [0, 1] (torchvision FashionMNIST + ToTensor); classes = {6, 7, 8, 9, 10} keeps those (1-based) classes, relabelled 1..k in that order (a transfer split); subset = N keeps the first N (0 = all), directory defaults to /usr/share/datasets/fashion-mnist or $AUTOPROG_FASHION_MNIST.") { call in
                let context = "ap.data.fashion_mnist"
                let o = try LuaOptions(call, 1, valid: ["split", "classes", "subset", "directory"], context: context)
                let splitName = try o.string("split") ?? "train"
                guard let split = FashionMNIST.Split(rawValue: splitName) else {
                    throw LuaBindingError("\(context): split must be \"train\" or \"test\", got \"\(splitName)\"")
                }
                let directory = try o.string("directory").map { URL(fileURLWithPath: $0, isDirectory: true) }
                    ?? FashionMNIST.defaultDirectory
                // Engine errors (a missing package, a corrupt file) surface as they are.
                let full = try FashionMNIST(split: split, directory: directory)
                var classes: [Int]?
                if let numbers = try o.numbers("classes") {
                    let n = full.classNames.count
                    guard numbers.allSatisfy({ $0 == $0.rounded() && $0 >= 1 && $0 <= Double(n) }) else {
                        throw LuaBindingError("\(context): classes must be class numbers in 1..\(n), got \(numbers)")
                    }
                    classes = numbers.map { Int($0) - 1 }
                }
                call.push(object: try LuaState.restrict(full, classes: classes, subset: try o.integer("subset") ?? 0,
                                                        name: "FashionMNIST(\(split.rawValue))", context: context))
                return 1
            },
            LuaBinding("emoji", "ap.data.emoji{categories=, size=64, channels=3, background=1, subset=0, directory=}: the 1,788 named colour emoji of Debian's ruby-gemojione (Emoji One 3, 64×64), [channels, size, size] in [0, 1], alpha composited onto background; classes are the categories \(Gemojione.categories.joined(separator: ", ")); categories = {\"nature\", \"food\"} keeps those, relabelled 1..k in that order; subset = N keeps the first N (0 = all); directory defaults to the installed gem or $AUTOPROG_GEMOJIONE.") { call in
                let context = "ap.data.emoji"
                let o = try LuaOptions(call, 1, valid: ["categories", "size", "channels", "background", "subset", "directory"],
                                       context: context)
                let directory = try o.string("directory").map { URL(fileURLWithPath: $0, isDirectory: true) }
                    ?? Gemojione.defaultDirectory
                let full = try Gemojione(directory: directory, imageSize: try o.integer("size") ?? 64,
                                         channels: try o.integer("channels") ?? 3, background: try o.float("background") ?? 1)
                let classes = try o.strings("categories")?.map { name in
                    guard let k = Gemojione.categories.firstIndex(of: name) else {
                        throw LuaBindingError("\(context): unknown category \"\(name)\" (one of \(Gemojione.categories.joined(separator: ", ")))")
                    }
                    return k
                }
                call.push(object: try LuaState.restrict(full, classes: classes, subset: try o.integer("subset") ?? 0,
                                                        name: "Emoji", context: context))
                return 1
            },
            LuaBinding("image_folder", "ap.data.image_folder{dir=, size=, channels=3, background=1}: PNGs in one sub-folder per class (torchvision ImageFolder; sorted folder names are the classes), resized to size×size, alpha composited onto background.") { call in
                let context = "ap.data.image_folder"
                try call.table(1)
                let o = try LuaOptions(call, 1, valid: ["dir", "size", "channels", "background"], context: context)
                guard let dir = try o.string("dir") else { throw LuaBindingError("\(context): dir is required") }
                guard let size = try o.integer("size") else { throw LuaBindingError("\(context): size is required") }
                let folder = try ImageFolder(directory: URL(fileURLWithPath: dir, isDirectory: true), imageSize: size,
                                             channels: try o.integer("channels") ?? 3, background: try o.float("background") ?? 1)
                call.push(object: DatasetBox(folder, name: "ImageFolder(\(dir))"))
                return 1
            },
        ]
    }

    /// `full` with only `classes` (0-based, relabelled 0..<k in that order; nil = all), then
    /// only its first `subset` examples (0 = all): the shared tail of the constructors.
    private static func restrict(_ full: Dataset, classes: [Int]?, subset: Int, name: String,
                                 context: String) throws -> DatasetBox {
        guard subset >= 0 else { throw LuaBindingError("\(context): subset must be ≥ 0 (0 = all), got \(subset)") }
        var dataset = full, name = name
        if let classes {
            dataset = try ClassSubset(full, classes: classes)
            name += " classes \(classes.map { full.classNames[$0] }.joined(separator: ","))"
        }
        if subset > 0, subset < dataset.count { dataset = DatasetSubset(dataset, first: subset) }
        return DatasetBox(dataset, name: name)
    }

    /// 0-based dataset indices from the table of 1-based indices at `i`, each checked.
    private static func datasetIndices(_ call: LuaCall, _ i: Int32, count: Int) throws -> [Int] {
        let values = try call.integers(ofTable: i)
        guard !values.isEmpty else { throw call.argumentError(i, "no indices given (a table of 1-based indices)") }
        if let k = values.firstIndex(where: { $0 < 1 || $0 > count }) {
            throw call.argumentError(i, "index \(values[k]) (element \(k + 1)) is out of range 1..\(count)")
        }
        return values.map { $0 - 1 }
    }

    private var datasetMethods: [LuaBinding] {
        [
            LuaBinding("classes", "d:classes(): the class names; label k (1-based) is classes()[k].") { call in
                let names = try call.object(1, DatasetBox.self).dataset.classNames
                lua_createtable(call.L, Int32(names.count), 0)
                for (k, name) in names.enumerated() {
                    lua_pushstring(call.L, name)
                    lua_rawseti(call.L, -2, lua_Integer(k + 1))
                }
                return 1
            },
            LuaBinding("base_classes", "d:base_classes(): each label's class number (1-based) in the whole dataset, for a dataset of chosen classes (classes = or categories =), e.g. {6, 7} for Fashion-MNIST classes = {6, 7}: what a classifier of all its classes calls them; 1..#d:classes() otherwise.") { call in
                call.push(integers: try call.object(1, DatasetBox.self).dataset.fullDatasetClasses.classes.map { $0 + 1 })
                return 1
            },
            LuaBinding("shape", "d:shape(): {C, H, W} of every image.") { call in
                call.push(integers: try call.object(1, DatasetBox.self).dataset.imageShape)
                return 1
            },
            LuaBinding("images", "d:images{i, ...}: the images at the 1-based indices as one [N, C, H, W] tensor.") { call in
                let d = try call.object(1, DatasetBox.self).dataset
                call.push(try d.batch(try LuaState.datasetIndices(call, 2, count: d.count)).images)
                return 1
            },
            LuaBinding("batch", "d:batch{i, ...}: images [N, C, H, W] and their labels (a table of 1-based class labels).") { call in
                let d = try call.object(1, DatasetBox.self).dataset
                let batch = try d.batch(try LuaState.datasetIndices(call, 2, count: d.count))
                call.push(batch.images)
                call.push(integers: batch.labels.map { $0 + 1 })
                return 2
            },
            LuaBinding("subset", "d:subset(n or {i, ...}): the first n examples (all if fewer), or those at the 1-based indices in that order (torch Subset).") { call in
                let box = try call.object(1, DatasetBox.self)
                let d = box.dataset
                let subset: DatasetSubset
                if call.type(2) == LUA_TNUMBER {
                    let n = try call.integer(2)
                    guard n >= 1 else { throw call.argumentError(2, "subset size must be ≥ 1, got \(n)") }
                    subset = DatasetSubset(d, first: n)
                } else {
                    guard call.type(2) == LUA_TTABLE else { throw call.expected(2, "number or table of indices") }
                    subset = DatasetSubset(d, indices: try LuaState.datasetIndices(call, 2, count: d.count))
                }
                call.push(object: DatasetBox(subset, name: box.name.hasSuffix(" subset") ? box.name : box.name + " subset"))
                return 1
            },
        ]
    }

    private var datasetMetamethods: [LuaBinding] {
        [
            LuaBinding("__len", "") { call in
                call.push(try call.object(1, DatasetBox.self).dataset.count)
                return 1
            },
        ]
    }
}
