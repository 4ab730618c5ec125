import AutoProg
import CLua
import Foundation

/// A recipe's command-line options: `ap.options{epochs = 100, fast = false}` declares
/// them with defaults, and `autoprog-run recipe.lua --epochs=10 --fast` overrides them.
///
/// Each override is checked against the default's Lua type: numbers must parse (an
/// integer default takes only integers), booleans accept true/false/1/0/yes/no, strings
/// are taken as they are. An unknown key or a badly typed value is an error listing the
/// valid options with their defaults and types.
public enum RecipeOptions {
    /// A Lua option value.
    public enum Value: Equatable, CustomStringConvertible, Sendable {
        case integer(Int)
        case number(Double)
        case boolean(Bool)
        case string(String)

        public var typeName: String {
            switch self {
            case .integer: "integer"
            case .number: "number"
            case .boolean: "boolean"
            case .string: "string"
            }
        }

        public var description: String {
            switch self {
            case .integer(let v): String(v)
            case .number(let v): Value.format(v)
            case .boolean(let v): v ? "true" : "false"
            case .string(let v): v
            }
        }

        static func format(_ v: Double) -> String {
            if v.isFinite, v == v.rounded(), Swift.abs(v) < 1e15 { return String(format: "%.1f", v) }
            return String(v)
        }
    }

    /// One option: its name, its declared default and its resolved value.
    public struct Option: Equatable, Sendable {
        public let name: String
        public let defaultValue: Value
        public let value: Value
    }

    /// The run stopped at `ap.options` because `LuaState.helpRequested` was set.
    public struct HelpRequested: Error, CustomStringConvertible {
        public let options: [Option]
        public var description: String { RecipeOptions.helpText(options) }
    }

    /// A bad command line or override.
    public struct OptionError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Parses `--key=value`, `--flag` (= "true") and `--no-flag` (= "false"). Dashes in
    /// keys become underscores (`--label-smoothing=0.1` sets label_smoothing); a later
    /// occurrence of a key wins.
    public static func parseOverrides(_ args: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for arg in args {
            guard arg.hasPrefix("--"), arg.count > 2 else {
                throw OptionError(message: "unexpected argument '\(arg)' (recipe options are --key=value, --flag or --no-flag)")
            }
            let body = arg.dropFirst(2)
            var key: String, value: String
            if let eq = body.firstIndex(of: "=") {
                key = String(body[..<eq])
                value = String(body[body.index(after: eq)...])
            } else if body.hasPrefix("no-") || body.hasPrefix("no_") {
                key = String(body.dropFirst(3))
                value = "false"
            } else {
                key = String(body)
                value = "true"
            }
            key = key.replacingOccurrences(of: "-", with: "_")
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw OptionError(message: "bad option name in '\(arg)'")
            }
            out[key] = value
        }
        return out
    }

    /// Applies `overrides` to `defaults` (sorted by name), checking names and types.
    public static func resolve(_ defaults: [(String, Value)], overrides: [String: String]) throws -> [Option] {
        let sorted = defaults.sorted { $0.0 < $1.0 }
        let known = Set(sorted.map(\.0))
        let declared = sorted.map { Option(name: $0.0, defaultValue: $0.1, value: $0.1) }
        if let unknown = overrides.keys.sorted().first(where: { !known.contains($0) }) {
            throw OptionError(message: "unknown option --\(unknown)\n" + helpText(declared))
        }
        return try sorted.map { name, value in
            guard let text = overrides[name] else { return Option(name: name, defaultValue: value, value: value) }
            guard let parsed = parse(text, like: value) else {
                throw OptionError(message: "option --\(name)=\(text) is not a valid \(value.typeName)\n" + helpText(declared))
            }
            return Option(name: name, defaultValue: value, value: parsed)
        }
    }

    static func parse(_ text: String, like value: Value) -> Value? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch value {
        case .integer:
            if let i = Int(trimmed) { return .integer(i) }
            if let d = Double(trimmed), d.isFinite, d == d.rounded(), Swift.abs(d) < 9e15 { return .integer(Int(d)) }
            return nil
        case .number:
            return Double(trimmed).map(Value.number)
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "1", "yes", "on": return .boolean(true)
            case "false", "0", "no", "off": return .boolean(false)
            default: return nil
            }
        case .string:
            return .string(text)
        }
    }

    /// The option list as `--help` shows it.
    public static func helpText(_ options: [Option]) -> String {
        if options.isEmpty { return "this recipe declares no options" }
        let width = options.map { $0.name.count }.max() ?? 0
        var lines = ["recipe options (ap.options):"]
        for o in options {
            let pad = String(repeating: " ", count: width - o.name.count)
            lines.append("  --\(o.name)\(pad)  \(o.defaultValue.typeName), default \(o.defaultValue)")
        }
        return lines.joined(separator: "\n")
    }
}

extension LuaState {
    func installOptions(_ ap: Int32) {
        register([
            LuaBinding("options", "ap.options{name = default, ...}: declares the recipe's options and returns them with command-line overrides (--name=value) applied.") { call in
                try call.table(1)
                let L = call.L
                var defaults: [(String, RecipeOptions.Value)] = []
                lua_pushnil(L)
                while lua_next(L, 1) != 0 {
                    defer { lua_settop(L, -2) }
                    guard lua_type(L, -2) == LUA_TSTRING else {
                        lua_settop(L, -2)
                        throw LuaBindingError("ap.options: option names must be strings")
                    }
                    let name = String(cString: lua_tolstring(L, -2, nil))
                    switch lua_type(L, -1) {
                    case LUA_TNUMBER:
                        defaults.append((name, lua_isinteger(L, -1) != 0 ? .integer(Int(lua_tointegerx(L, -1, nil)))
                                                                         : .number(lua_tonumberx(L, -1, nil))))
                    case LUA_TBOOLEAN:
                        defaults.append((name, .boolean(lua_toboolean(L, -1) != 0)))
                    case LUA_TSTRING:
                        defaults.append((name, .string(String(cString: lua_tolstring(L, -1, nil)))))
                    default:
                        let found = LuaCall.typeName(L, -1)
                        lua_settop(L, -2)
                        throw LuaBindingError("ap.options: default of '\(name)' is a \(found); options are numbers, booleans or strings")
                    }
                }
                let state = call.state
                let declared = defaults.sorted { $0.0 < $1.0 }.map { RecipeOptions.Option(name: $0.0, defaultValue: $0.1, value: $0.1) }
                state.optionsDeclared?(declared)
                if state.helpRequested {
                    state.resolvedOptionsForHelp = declared
                    throw RecipeOptions.HelpRequested(options: declared)
                }
                let resolved = try RecipeOptions.resolve(defaults, overrides: state.optionOverrides)
                state.resolvedOptions = resolved
                lua_createtable(L, 0, Int32(resolved.count))
                for o in resolved {
                    switch o.value {
                    case .integer(let v): lua_pushinteger(L, lua_Integer(v))
                    case .number(let v): lua_pushnumber(L, v)
                    case .boolean(let v): lua_pushboolean(L, v ? 1 : 0)
                    case .string(let v): lua_pushstring(L, v)
                    }
                    lua_setfield(L, -2, o.name)
                }
                return 1
            },
        ], in: ap, path: "ap")
    }
}
