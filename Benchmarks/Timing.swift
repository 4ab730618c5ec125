import Foundation

/// Wall-clock seconds from a monotonic clock.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Median seconds per call of `body` after `warmup` unmeasured calls.
func medianSeconds(warmup: Int = 2, runs: Int, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<runs {
        let t = now()
        try body()
        times.append(now() - t)
    }
    times.sort()
    return times[times.count / 2]
}

/// Peak resident set size of this process so far, in MiB (VmHWM).
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

/// One JSON object per line, keys in the given order (the anchors' format).
func printJSONLine(_ fields: [(String, Any)]) {
    let body = fields.map { key, value -> String in
        switch value {
        case let s as String: return "\"\(key)\": \"\(s)\""
        case let d as Double: return "\"\(key)\": \((d * 10).rounded() / 10)"
        default: return "\"\(key)\": \(value)"
        }
    }.joined(separator: ", ")
    FileHandle.standardOutput.write(Data("{\(body)}\n".utf8))
}
