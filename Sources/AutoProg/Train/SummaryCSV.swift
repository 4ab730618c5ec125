import Foundation
import Collections

/// `summary.csv`: one row per epoch, readable by pandas `read_csv` and spreadsheets.
///
/// The header comes from the first row's keys. A later row with keys not seen before
/// extends the header: the whole file is rewritten atomically with the new columns
/// (earlier rows get empty cells there). Otherwise rows are appended, one `write(2)`
/// each. Fields are quoted per RFC 4180 when they contain a comma, a quote, CR or LF;
/// lines end in LF (as pandas' `to_csv` writes on Linux).
public final class SummaryCSV {
    public let url: URL
    private var header: [String] = []
    /// Every row's cells in header order, kept to rewrite the file when the header grows
    /// (one short row per epoch, so this stays small).
    private var rows: [[String]] = []
    private var file: AppendingFile?

    /// Opens (creating if needed) the summary. Existing rows are read back; when resuming
    /// after epoch `e`, `truncatingAfterEpoch: e` drops rows whose `epoch` column is
    /// greater, so the resumed run's file matches an uninterrupted run's.
    public init(url: URL, truncatingAfterEpoch epoch: Int? = nil) throws {
        self.url = url
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let text = try String(contentsOf: url, encoding: .utf8)
        var records = SummaryCSV.parse(text)
        guard !records.isEmpty else { return }
        header = records.removeFirst()
        rows = records.map { $0 + Array(repeating: "", count: max(0, header.count - $0.count)) }
        if let epoch, let column = header.firstIndex(of: "epoch") {
            rows.removeAll { row in Double(row[column]).map { $0 > Double(epoch) } ?? false }
        }
        // Rewrite so a torn last line or dropped rows leave a clean file to append to.
        if render() != text { try AtomicFile.write(Data(render().utf8), to: url) }
    }

    /// Appends one row; see the type's documentation for how new keys are handled.
    public func append(_ row: OrderedDictionary<String, JSONValue>) throws {
        let newKeys = row.keys.filter { !header.contains($0) }
        if !newKeys.isEmpty {
            header += newKeys
            rows = rows.map { $0 + Array(repeating: "", count: newKeys.count) }
        }
        rows.append(header.map { row[$0].map(SummaryCSV.cell) ?? "" })
        if !newKeys.isEmpty {
            // Any open descriptor would point at the replaced file; reopen after the rename.
            file = nil
            try AtomicFile.write(Data(render().utf8), to: url)
        } else {
            if file == nil { file = try AppendingFile(path: url.path) }
            try file!.append(Data(SummaryCSV.line(rows[rows.count - 1]).utf8))
        }
    }

    private func render() -> String {
        header.isEmpty ? "" : ([header] + rows).map(SummaryCSV.line).joined()
    }

    /// A value's text in a cell: numbers as in JSON, NaN and infinities as pandas writes
    /// them (`nan`, `inf`), strings raw, null empty, arrays and objects as JSON.
    static func cell(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d > 0 ? "inf" : "-inf" }
            return JSONValue.format(d)
        case .string(let s): return s
        case .array, .object: return value.serialized
        }
    }

    static func line(_ fields: [String]) -> String {
        fields.map(quote).joined(separator: ",") + "\n"
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// RFC 4180 records of `text`. A final record without its line break (a write torn by
    /// a crash, possibly inside a quoted field) is dropped.
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var fieldStarted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scalars.next()
        while let c = pending {
            pending = scalars.next()
            if inQuotes {
                if c == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = scalars.next()
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where !fieldStarted:
                inQuotes = true
                fieldStarted = true
            case ",":
                record.append(field)
                field = ""
                fieldStarted = false
            case "\r" where pending == "\n":
                break
            case "\n":
                record.append(field)
                records.append(record)
                record = []
                field = ""
                fieldStarted = false
            default:
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
        }
        return records
    }
}
