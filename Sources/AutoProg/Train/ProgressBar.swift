import Foundation

/// Console progress for a training run, like tqdm.
///
/// On a terminal, one line redrawn in place with `\r`:
/// `stage 37%|████▍       | 370/1000 [00:12<00:20, 30.5it/s, loss=0.123, lr=1.00e-03]`
/// (images/s instead of it/s when given), at most ten times a second. Elsewhere (a log
/// file, CI) a plain line every `plainEvery` steps and at the end, so logs stay readable.
/// Speed counts only steps done by this process, so a resumed run's rate is honest.
public final class ProgressBar {
    public let total: Int
    public let isTerminal: Bool
    private let output: FileHandle
    private let plainEvery: Int

    /// Seconds since an arbitrary origin; replaceable so tests control time.
    var clock: () -> Double = { ProcessInfo.processInfo.systemUptime }
    /// The terminal width to draw for; nil asks the terminal (`TIOCGWINSZ`), then
    /// `$COLUMNS`, then uses 80.
    var width: Int?

    private var startTime: Double?
    private var startStep = 0
    private var lastDrawTime = -Double.infinity
    private var state = State()
    private var lastPlainStep: Int?
    private var finished = false

    private struct State {
        var step = 0
        var loss: Float?
        var learningRate: Float?
        var imagesPerSecond: Double?
        var stage: String?
    }

    public init(total: Int, isTerminal: Bool, output: FileHandle = .standardError, plainEvery: Int = 50) {
        self.total = max(0, total)
        self.isTerminal = isTerminal
        self.output = output
        self.plainEvery = max(1, plainEvery)
    }

    /// Reports that `step` steps are done (1-based, out of `total`).
    public func update(step: Int, loss: Float?, learningRate: Float?, imagesPerSecond: Double?, stage: String?) {
        let now = clock()
        if startTime == nil {
            // The first report fixes the origin (how long its step took is unknown, and
            // earlier steps may be an earlier process's when resuming): speed counts the
            // steps after it.
            startTime = now
            startStep = step
        }
        state = State(step: step, loss: loss, learningRate: learningRate, imagesPerSecond: imagesPerSecond, stage: stage)
        if isTerminal {
            guard now - lastDrawTime >= 0.1 || step >= total else { return }
            lastDrawTime = now
            emit("\r" + line(now: now) + "\u{1B}[K")
        } else if step % plainEvery == 0 || step == total {
            lastPlainStep = step
            emit(plainLine(now: now) + "\n")
        }
    }

    /// Prints `text` on its own line above the bar, then redraws the bar.
    public func message(_ text: String) {
        if isTerminal && startTime != nil && !finished {
            emit("\r\u{1B}[K" + text + "\n" + line(now: clock()) + "\u{1B}[K")
        } else {
            emit(text + "\n")
        }
    }

    /// Draws the final state and ends the line; later calls do nothing.
    public func finish() {
        guard !finished else { return }
        finished = true
        guard startTime != nil else { return }
        if isTerminal {
            emit("\r" + line(now: clock()) + "\u{1B}[K\n")
        } else if lastPlainStep != state.step {
            emit(plainLine(now: clock()) + "\n")
        }
    }

    /// `seconds` as tqdm shows durations: "02:03", or "1:02:03" from an hour on.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int(max(0, seconds))
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(two(m)):\(two(s))"
    }

    // MARK: Rendering

    private func timing(now: Double) -> (elapsed: Double, remaining: Double?, rate: String?) {
        let elapsed = now - (startTime ?? now)
        let done = state.step - startStep
        guard elapsed > 0, done > 0 else { return (elapsed, nil, nil) }
        let stepsPerSecond = Double(done) / elapsed
        let remaining = Double(max(0, total - state.step)) / stepsPerSecond
        let rate = state.imagesPerSecond.map { ProgressBar.number($0) + "img/s" } ?? ProgressBar.number(stepsPerSecond) + "it/s"
        return (elapsed, remaining, rate)
    }

    private var postfix: [String] {
        var parts: [String] = []
        if let loss = state.loss { parts.append("loss=" + String(format: "%.4g", Double(loss))) }
        if let lr = state.learningRate { parts.append("lr=" + String(format: "%.2e", Double(lr))) }
        return parts
    }

    /// The terminal line for the current state, fitted to the width.
    func line(now: Double) -> String {
        let width = self.width ?? ProgressBar.terminalWidth(output)
        let t = timing(now: now)
        let fraction = total > 0 ? min(1, Double(state.step) / Double(total)) : 0
        let percent = String(Int(fraction * 100))
        let prefix = (state.stage.map { $0 + " " } ?? "") + String(repeating: " ", count: 3 - percent.count) + percent + "%|"
        let times = ProgressBar.formatDuration(t.elapsed) + "<" + (t.remaining.map(ProgressBar.formatDuration) ?? "?")
        let suffix = "| \(state.step)/\(total) [" + ([times] + [t.rate].compactMap { $0 } + postfix).joined(separator: ", ") + "]"
        let barWidth = width - 1 - prefix.count - suffix.count
        guard barWidth >= 4 else {
            // Too narrow for a bar: drop it and cut the text to fit.
            return String((prefix.dropLast() + " " + suffix.dropFirst(2)).prefix(max(0, width - 1)))
        }
        return prefix + ProgressBar.bar(fraction, width: barWidth) + suffix
    }

    /// `fraction` of `width` cells filled with full blocks and one partial eighth block.
    static func bar(_ fraction: Double, width: Int) -> String {
        let eighths = Int(fraction * Double(width * 8))
        let full = min(width, eighths / 8)
        let partials: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var bar = String(repeating: "█", count: full)
        if full < width {
            bar.append(partials[eighths % 8])
            bar += String(repeating: " ", count: width - full - 1)
        }
        return bar
    }

    /// The line printed every `plainEvery` steps off a terminal.
    func plainLine(now: Double) -> String {
        let t = timing(now: now)
        var parts = ["step \(state.step)/\(total)"]
        if total > 0 { parts[0] += " (\(Int(min(1, Double(state.step) / Double(total)) * 100))%)" }
        if let stage = state.stage { parts.append("stage \(stage)") }
        parts += postfix.map { $0.replacingOccurrences(of: "=", with: " ") }
        if let rate = t.rate { parts.append(rate) }
        parts.append("elapsed " + ProgressBar.formatDuration(t.elapsed))
        if let remaining = t.remaining { parts.append("eta " + ProgressBar.formatDuration(remaining)) }
        return parts.joined(separator: "  ")
    }

    /// A rate with three significant digits or so: "1234", "30.5", "0.87".
    private static func number(_ x: Double) -> String {
        x >= 100 ? String(Int(x.rounded())) : String(format: x >= 10 ? "%.1f" : "%.2f", x)
    }

    private func emit(_ text: String) {
        // Console output is best effort: a closed pipe must not stop training.
        try? output.write(contentsOf: Data(text.utf8))
    }

    static func terminalWidth(_ handle: FileHandle) -> Int {
        var size = winsize()
        if ioctl(handle.fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }
}
