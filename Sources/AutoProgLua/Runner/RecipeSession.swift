import AutoProg
import OrderedCollections
import CLua
import Foundation

/// One `autoprog-run RECIPE.lua` invocation: its run directory, its notebook and the
/// console (Ctrl-C REPL, attach socket) that training loops poll at step boundaries.
///
/// Output is attributed to notebook cells by the recipe line executing when it is
/// printed (the innermost stack frame in the recipe file), so prints from callbacks land
/// in the cell that defines them, as in a notebook.
public final class RecipeSession {
    public let recipePath: String
    public let recipeName: String
    public let source: String
    public let run: RunDirectory
    public let notebook: Notebook
    /// The checkpoint `ap.train` resumes from (`--resume`), if any.
    public let resumeCheckpoint: URL?
    public let arguments: [String]
    public private(set) var console: RunConsole?
    /// The run's TensorBoard event file, shared by training loops and saved images.
    public private(set) lazy var tensorBoard: TensorBoardWriter? = try? TensorBoardWriter(directory: run.url)
    /// The step images are logged at in TensorBoard (the current training step).
    public var currentStep = 0
    public let isTerminal: Bool
    private var executionCounts: Set<Int> = []

    /// Creates the run directory (or reopens the one being resumed).
    /// - Parameter resume: "latest" (the newest run of this recipe with a checkpoint) or a
    ///   path to a checkpoint file or run directory.
    public init(recipePath: String, arguments: [String], runsRoot: URL, resume: String?,
                isTerminal: Bool = isatty(STDERR_FILENO) != 0) throws {
        self.recipePath = recipePath
        self.arguments = arguments
        guard let data = FileManager.default.contents(atPath: recipePath), let text = String(data: data, encoding: .utf8) else {
            throw RecipeError("cannot read recipe '\(recipePath)' (missing, unreadable or not UTF-8)")
        }
        source = text
        recipeName = URL(fileURLWithPath: recipePath).deletingPathExtension().lastPathComponent
        notebook = Notebook(recipeSource: text, recipeName: recipeName)
        self.isTerminal = isTerminal
        if let resume {
            let (runURL, checkpoint) = try RecipeSession.locateResume(resume, recipeName: recipeName, runsRoot: runsRoot)
            run = try RunDirectory(existing: runURL)
            resumeCheckpoint = checkpoint
        } else {
            run = try RunDirectory(root: runsRoot, name: recipeName)
            resumeCheckpoint = nil
        }
    }

    static func locateResume(_ spec: String, recipeName: String, runsRoot: URL) throws -> (URL, URL) {
        let fm = FileManager.default
        if spec == "latest" {
            let prefix = recipeName + "-"
            let runs = ((try? fm.contentsOfDirectory(atPath: runsRoot.path)) ?? [])
                .filter { $0.hasPrefix(prefix) }.sorted(by: >)
            for name in runs {
                let dir = runsRoot.appendingPathComponent(name)
                let manager = try CheckpointManager(directory: dir.appendingPathComponent("checkpoints"), keepLast: Int.max)
                if let latest = try manager.latest() { return (dir, latest) }
            }
            throw RecipeError("--resume latest: no run of \(recipeName) with a checkpoint under \(runsRoot.path)")
        }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: spec, isDirectory: &isDirectory) else {
            throw RecipeError("--resume \(spec): no such checkpoint or run directory")
        }
        let url = URL(fileURLWithPath: spec)
        if isDirectory.boolValue {
            let checkpoints = url.lastPathComponent == "checkpoints" ? url : url.appendingPathComponent("checkpoints")
            let manager = try CheckpointManager(directory: checkpoints, keepLast: Int.max)
            guard let latest = try manager.latest() else { throw RecipeError("--resume \(spec): no checkpoint there") }
            return (checkpoints.deletingLastPathComponent(), latest)
        }
        return (url.deletingLastPathComponent().deletingLastPathComponent(), url)
    }

    /// Binds the session to the state that runs the recipe: captures its output into the
    /// notebook (and the terminal), opens the attach socket.
    public func start(in lua: LuaState, echo: @escaping (String) -> Void) throws {
        lua.session = self
        console = try RunConsole(lua: lua, runDirectory: run.url)
        lua.output = { [weak self, weak lua] text in
            echo(text)
            guard let self, let lua else { return }
            self.record(text, line: RecipeSession.currentLine(in: lua.L, file: self.recipePath))
        }
        lua.onImageSaved = { [weak self, weak lua] url, png in
            guard let self, let lua else { return }
            self.recordImage(png: png, caption: url.lastPathComponent, lua: lua)
        }
    }

    /// Records text printed at recipe line `line` in that line's cell.
    func record(_ text: String, line: Int?) {
        guard let cell = line.flatMap({ notebook.cellIndex(forLine: $0) }) ?? lastCell else { return }
        markExecuted(cell)
        notebook.appendStream(text, cell: cell)
    }

    /// Records a saved PNG in the cell running now.
    public func recordImage(png: Data, caption: String, lua: LuaState) {
        guard let cell = RecipeSession.currentLine(in: lua.L, file: recipePath).flatMap({ notebook.cellIndex(forLine: $0) }) ?? lastCell
        else { return }
        markExecuted(cell)
        notebook.appendImage(png: png, cell: cell, caption: caption)
        if let size = RecipeSession.pngSize(png) {
            try? tensorBoard?.addImage("samples/" + caption, png: png, width: size.width, height: size.height,
                                       channels: size.channels, step: currentStep)
            try? tensorBoard?.flush()
        }
    }

    private var lastCell: Int? { executionCounts.max() }

    /// Width, height and channel count from a PNG's IHDR chunk.
    static func pngSize(_ png: Data) -> (width: Int, height: Int, channels: Int)? {
        let b = [UInt8](png.prefix(26))
        guard b.count == 26, b[12...15].elementsEqual("IHDR".utf8) else { return nil }
        func be32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        let channels = [0: 1, 2: 3, 3: 3, 4: 2, 6: 4][Int(b[25])] ?? 3
        return (be32(16), be32(20), channels)
    }

    private func markExecuted(_ cell: Int) {
        if executionCounts.insert(cell).inserted { notebook.setExecutionCount(executionCounts.count, cell: cell) }
    }

    /// The innermost line executing in `file` (Lua's stack, read without raising).
    static func currentLine(in L: OpaquePointer, file: String) -> Int? {
        var level: Int32 = 0
        var ar = lua_Debug()
        while lua_getstack(L, level, &ar) != 0 {
            if lua_getinfo(L, "Sl", &ar) != 0, let source = ar.source, ar.currentline > 0,
               String(cString: source) == "@" + file {
                return Int(ar.currentline)
            }
            level += 1
        }
        return nil
    }

    /// config.json: resolved options, recipe fingerprint, engine version, seed, command.
    public func writeConfig(options: [RecipeOptions.Option]?) throws {
        var opts = OrderedDictionaryJSON()
        for o in options ?? [] { opts[o.name] = RecipeSession.json(o.value) }
        var config = OrderedDictionaryJSON()
        config["recipe"] = .string(recipePath)
        config["recipe_sha256"] = .string(SHA256.hexDigest(source.utf8))
        config["engine_version"] = .string(AutoProgInfo.version)
        config["lua_version"] = .string(LuaState.version)
        config["seed"] = .integer(Int(truncatingIfNeeded: Random.seed))
        config["threads"] = .integer(Parallel.threadCount)
        config["arguments"] = .array(arguments.map { .string($0) })
        config["options"] = .object(opts)
        if let resumeCheckpoint { config["resumed_from"] = .string(resumeCheckpoint.path) }
        try run.writeConfig(.object(config))
    }

    static func json(_ v: RecipeOptions.Value) -> JSONValue {
        switch v {
        case .integer(let i): return .integer(i)
        case .number(let d): return .number(d)
        case .boolean(let b): return .bool(b)
        case .string(let s): return .string(s)
        }
    }

    /// Records a recipe error in the cell where it happened.
    public func recordError(_ error: LuaState.LuaError, lua: LuaState) {
        let line = RecipeSession.errorLine(error.message, file: recipePath)
        guard let cell = line.flatMap({ notebook.cellIndex(forLine: $0) }) ?? lastCell else { return }
        markExecuted(cell)
        notebook.appendError(name: "LuaError", message: error.message,
                             traceback: error.traceback.split(separator: "\n").map(String.init), cell: cell)
    }

    static func errorLine(_ message: String, file: String) -> Int? {
        guard message.hasPrefix(file + ":") else { return nil }
        return Int(message.dropFirst(file.count + 1).prefix { $0.isNumber })
    }

    /// Writes the notebook and closes the console (removes the socket).
    public func finish() throws {
        console?.close()
        try tensorBoard?.flush()
        try notebook.write(to: run.notebookURL)
    }
}

typealias OrderedDictionaryJSON = OrderedDictionary<String, JSONValue>

/// A recipe cannot run (unreadable file, bad --resume); the message says why.
public struct RecipeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
