import Foundation
import Collections

/// `notebook.ipynb`: the recipe split into cells with what each cell printed and showed,
/// so a finished run opens in Jupyter as a report.
///
/// Cells follow jupytext's "percent" format for Lua: a line starting with `-- %%` opens a
/// cell, the rest of that line is its title (kept in the cell's metadata), and
/// `-- %% [markdown]` opens a Markdown cell whose lines lose their `-- ` comment prefix.
/// Source before the first marker is a cell of its own if it is not blank. Each cell's
/// leading and trailing blank lines are trimmed, as jupytext does.
public final class Notebook {
    public struct Cell: Equatable {
        public enum Kind: String, Sendable { case code, markdown }

        public var kind: Kind
        /// The text after `-- %%` (without `[markdown]`), or nil.
        public var title: String?
        /// The cell's text without the marker line (Markdown without comment prefixes).
        public var source: String
        /// The 1-based recipe line of the first line of `source` (the line after the
        /// marker when the cell is empty), so recipe line `startLine + k` is source line k.
        public var startLine: Int
        /// nbformat output objects (stream, display_data, error).
        public var outputs: [JSONValue] = []
        public var executionCount: Int?
        /// Recipe lines from the marker to the line before the next marker.
        var lines: ClosedRange<Int>
    }

    public let recipeName: String
    public private(set) var cells: [Cell]

    public init(recipeSource: String, recipeName: String) {
        self.recipeName = recipeName
        // "\r\n" is a single Character in Swift, so normalize it before splitting.
        var lines = recipeSource.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }

        var cells: [Cell] = []
        // (marker line or nil for the preamble, first body line, kind, title)
        func makeCell(kind: Cell.Kind, title: String?, markerLine: Int?, body: Range<Int>) {
            var first = body.lowerBound
            var last = body.upperBound
            while first < last && lines[first].trimmingCharacters(in: .whitespaces).isEmpty { first += 1 }
            while last > first && lines[last - 1].trimmingCharacters(in: .whitespaces).isEmpty { last -= 1 }
            if markerLine == nil && first == last { return }
            var text = Array(lines[first..<last])
            if kind == .markdown { text = text.map(Notebook.uncomment) }
            let span = (markerLine ?? body.lowerBound + 1)...max(markerLine ?? 1, body.upperBound)
            cells.append(Cell(kind: kind, title: title, source: text.joined(separator: "\n"),
                              startLine: first + 1, lines: span))
        }

        var kind = Cell.Kind.code
        var title: String?
        var marker: Int?
        var bodyStart = 0
        for (index, line) in lines.enumerated() where line.hasPrefix("-- %%") {
            makeCell(kind: kind, title: title, markerLine: marker, body: bodyStart..<index)
            (kind, title) = Notebook.parseMarker(line)
            marker = index + 1
            bodyStart = index + 1
        }
        makeCell(kind: kind, title: title, markerLine: marker, body: bodyStart..<lines.count)
        self.cells = cells
    }

    /// The cell containing recipe line `line` (1-based), or nil outside the recipe.
    public func cellIndex(forLine line: Int) -> Int? {
        cells.firstIndex { $0.lines.contains(line) }
    }

    /// Adds printed text; consecutive text on the same stream merges into one output,
    /// as Jupyter shows it.
    public func appendStream(_ text: String, cell: Int, name: String = "stdout") {
        guard let index = outputCell(cell) else { return }
        if case .object(var last) = cells[index].outputs.last,
           last["output_type"] == "stream", last["name"] == .string(name),
           case .string(let previous) = last["text"] {
            last["text"] = .string(previous + text)
            cells[index].outputs[cells[index].outputs.count - 1] = .object(last)
        } else {
            cells[index].outputs.append(["output_type": "stream", "name": .string(name), "text": .string(text)])
        }
    }

    /// Adds a PNG image (base64 in a display_data output); `caption` is its text/plain
    /// alternative, shown where images are not.
    public func appendImage(png: Data, cell: Int, caption: String? = nil) {
        guard let index = outputCell(cell) else { return }
        let data: JSONValue = ["image/png": .string(png.base64EncodedString()), "text/plain": .string(caption ?? "<image>")]
        cells[index].outputs.append(["output_type": "display_data", "data": data, "metadata": [:]])
    }

    /// Adds a table (one row per element, columns in first-seen key order) as HTML, with
    /// an aligned plain-text version for viewers without HTML.
    public func appendTable(_ rows: [OrderedDictionary<String, JSONValue>], cell: Int) {
        guard let index = outputCell(cell) else { return }
        var columns: OrderedSet<String> = []
        for row in rows { columns.append(contentsOf: row.keys) }
        let table = rows.map { row in columns.map { row[$0].map(Notebook.text) ?? "" } }
        let data: JSONValue = ["text/html": .string(Notebook.html(columns: Array(columns), table)),
                               "text/plain": .string(Notebook.plain(columns: Array(columns), table))]
        cells[index].outputs.append(["output_type": "display_data", "data": data, "metadata": [:]])
    }

    /// Adds an error output (a Lua error and its traceback lines).
    public func appendError(name: String, message: String, traceback: [String], cell: Int) {
        guard let index = outputCell(cell) else { return }
        cells[index].outputs.append(["output_type": "error", "ename": .string(name), "evalue": .string(message),
                                     "traceback": .array(traceback.map(JSONValue.string))])
    }

    public func setExecutionCount(_ n: Int, cell: Int) {
        guard let index = outputCell(cell) else { return }
        cells[index].executionCount = n
    }

    /// Writes the notebook (nbformat 4.5) atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data((json.prettyPrinted(indent: 1) + "\n").utf8), to: url)
    }

    /// The notebook document.
    public var json: JSONValue {
        let cellValues: [JSONValue] = cells.enumerated().map { index, cell in
            var object: OrderedDictionary<String, JSONValue> = [
                "cell_type": .string(cell.kind.rawValue),
                "id": .string("cell-\(index + 1)"),
                "metadata": cell.title.map { ["title": .string($0)] } ?? [:],
                "source": .array(Notebook.sourceLines(cell.source).map(JSONValue.string)),
            ]
            if cell.kind == .code {
                object["execution_count"] = cell.executionCount.map(JSONValue.integer) ?? .null
                object["outputs"] = .array(cell.outputs.map(Notebook.splitText))
            }
            return .object(object)
        }
        return [
            "cells": .array(cellValues),
            "metadata": [
                "kernelspec": ["name": "lua", "display_name": "Lua 5.4 (autoprog)", "language": "lua"],
                "language_info": ["name": "lua", "version": "5.4", "file_extension": ".lua"],
                "autoprog": ["recipe": .string(recipeName)],
            ],
            "nbformat": 4,
            "nbformat_minor": 5,
        ]
    }

    // MARK: Helpers

    /// Where an output for `cell` goes: the cell itself if it is code, else the nearest
    /// code cell before it (or after it): Markdown cells cannot have outputs, yet a
    /// Markdown cell may contain uncommented lines that run. Out-of-range indices and
    /// recipes without code cells drop the output.
    private func outputCell(_ cell: Int) -> Int? {
        guard cells.indices.contains(cell) else { return nil }
        if cells[cell].kind == .code { return cell }
        return cells[..<cell].lastIndex { $0.kind == .code } ?? cells[cell...].firstIndex { $0.kind == .code }
    }

    private static func parseMarker(_ line: String) -> (Cell.Kind, String?) {
        var rest = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
        var kind = Cell.Kind.code
        if rest.hasPrefix("[markdown]") || rest.hasPrefix("[md]") {
            kind = .markdown
            rest = String(rest.drop { $0 != "]" }.dropFirst()).trimmingCharacters(in: .whitespaces)
        }
        return (kind, rest.isEmpty ? nil : rest)
    }

    private static func uncomment(_ line: String) -> String {
        if line.hasPrefix("-- ") { return String(line.dropFirst(3)) }
        if line == "--" { return "" }
        return line
    }

    /// nbformat's multiline-string convention: lines keeping their "\n" except the last.
    static func sourceLines(_ text: String) -> [String] {
        guard !text.isEmpty else { return [] }
        var lines = text.components(separatedBy: "\n")
        let last = lines.removeLast()
        return lines.map { $0 + "\n" } + (last.isEmpty ? [] : [last])
    }

    /// Stores stream text and text/* data as line lists, as Jupyter writes them.
    private static func splitText(_ output: JSONValue) -> JSONValue {
        guard case .object(var object) = output else { return output }
        if case .string(let text) = object["text"] { object["text"] = .array(sourceLines(text).map(JSONValue.string)) }
        if case .object(var data) = object["data"] {
            for (key, value) in data where key.hasPrefix("text/") {
                if case .string(let text) = value { data[key] = .array(sourceLines(text).map(JSONValue.string)) }
            }
            object["data"] = .object(data)
        }
        return .object(object)
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .null: return ""
        default: return SummaryCSV.cell(value)
        }
    }

    private static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func html(columns: [String], _ rows: [[String]]) -> String {
        var out = "<table>\n<thead>\n<tr>" + columns.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr>\n</thead>\n<tbody>\n"
        for row in rows { out += "<tr>" + row.map { "<td>\(escapeHTML($0))</td>" }.joined() + "</tr>\n" }
        return out + "</tbody>\n</table>"
    }

    /// Right-aligned columns separated by two spaces, like pandas' text rendering.
    private static func plain(columns: [String], _ rows: [[String]]) -> String {
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ fields: [String]) -> String {
            zip(fields, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  ")
        }
        return ([line(columns)] + rows.map(line)).joined(separator: "\n")
    }
}
