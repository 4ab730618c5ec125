import Foundation
import Synchronization

/// Ctrl-C while a run trains: a request to pause at the next step boundary, not a kill.
///
/// `install()` replaces the SIGINT handler. The handler is async-signal-safe: it only
/// updates atomics, calls `clock_gettime`, and on the escape paths `write(2)` and `_exit`.
/// What a Ctrl-C means depends on the phase the main thread reports:
/// - `.training`: sets `pauseRequested` (the loop polls it at step boundaries and opens
///   the REPL). Three Ctrl-C within 1 s mean the training is hung: the process prints a
///   message and exits at once with status 130 (128 + SIGINT, the shell's convention).
/// - `.prompt` (the REPL waits for a line): cancels the line being typed. The handler is
///   installed without `SA_RESTART` in this phase only, so the blocked `read` returns
///   EINTR; the REPL notices `signalCount` moved, drops the input and prompts again.
///   Ctrl-C never ends the REPL or the run here (Ctrl-D or `continue()` does).
/// - `.evaluating` (REPL input is running): interrupts the Lua code (an `interrupted`
///   error from a count hook); the three-within-1-s escape applies too, for a hung binding.
/// In `.training` and `.evaluating` the handler is installed with `SA_RESTART`, so the
/// loop's own file and socket calls are not disturbed by EINTR.
public enum Interrupts {
    public enum Phase: Int, Sendable {
        case training = 0, prompt = 1, evaluating = 2
    }

    static let signals = Atomic<Int>(0)
    static let pause = Atomic<Bool>(false)
    static let evaluationInterrupt = Atomic<Bool>(false)
    static let currentPhase = Atomic<Int>(Phase.training.rawValue)
    static let lastPress = Atomic<Int64>(Int64.min / 2)
    static let pressBeforeLast = Atomic<Int64>(Int64.min / 2)

    nonisolated(unsafe) private static var previous = sigaction()
    nonisolated(unsafe) private static var installDepth = 0
    nonisolated(unsafe) private static var previousMask = sigset_t()

    /// True after a Ctrl-C during training, until `clearPause()`.
    public static var pauseRequested: Bool { pause.load(ordering: .acquiring) }

    /// Forgets a pending pause request (the REPL has been shown, or the run ignores it).
    public static func clearPause() { pause.store(false, ordering: .releasing) }

    /// How many SIGINTs the handler has seen; the REPL compares it around a `readLine`.
    public static var signalCount: Int { signals.load(ordering: .acquiring) }

    public static var isInstalled: Bool { installDepth > 0 }

    /// The phase the main thread is in; see the type's documentation.
    public static var phase: Phase {
        get { Phase(rawValue: currentPhase.load(ordering: .acquiring)) ?? .training }
        set {
            currentPhase.store(newValue.rawValue, ordering: .releasing)
            if installDepth > 0 { setHandler(restart: newValue != .prompt) }
        }
    }

    /// Installs the handler (nested installs are counted; the outermost `uninstall`
    /// restores the previous disposition). Call from the thread that runs the loop and the
    /// REPL (the main thread): it also unblocks SIGINT there (worker threads, e.g.
    /// Dispatch's, block it), so the prompt's blocked `read` is the one interrupted.
    public static func install() {
        installDepth += 1
        guard installDepth == 1 else { return }
        // Touch every atomic before the handler can run: Swift initialises globals lazily.
        _ = signals.load(ordering: .relaxed); _ = pause.load(ordering: .relaxed)
        _ = evaluationInterrupt.load(ordering: .relaxed); _ = currentPhase.load(ordering: .relaxed)
        _ = lastPress.load(ordering: .relaxed); _ = pressBeforeLast.load(ordering: .relaxed)
        _ = escapeMessage.utf8CodeUnitCount; _ = pauseMessage.utf8CodeUnitCount
        sigaction(SIGINT, nil, &previous)
        setHandler(restart: phase != .prompt)
        var interrupt = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &interrupt, &previousMask)
    }

    public static func uninstall() {
        guard installDepth > 0 else { return }
        installDepth -= 1
        guard installDepth == 0 else { return }
        pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        sigaction(SIGINT, &previous, nil)
    }

    /// Runs `body` (the training loop) with the handler installed.
    public static func withTrainingInterrupts<T>(_ body: () throws -> T) rethrows -> T {
        install()
        let saved = phase
        phase = .training
        defer {
            phase = saved
            uninstall()
        }
        return try body()
    }

    /// Forgets earlier presses, so they cannot count towards the three-within-1-s escape.
    static func resetPressHistory() {
        lastPress.store(Int64.min / 2, ordering: .releasing)
        pressBeforeLast.store(Int64.min / 2, ordering: .releasing)
    }

    /// Consumes a Ctrl-C pressed while REPL input was evaluating.
    static func takeEvaluationInterrupt() -> Bool {
        evaluationInterrupt.exchange(false, ordering: .acquiringAndReleasing)
    }

    private static func setHandler(restart: Bool) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handleInterrupt
        sigemptyset(&action.sa_mask)
        action.sa_flags = restart ? SA_RESTART : 0
        sigaction(SIGINT, &action, nil)
    }

    static let escapeMessage: StaticString =
        "\nautoprog: Ctrl-C three times within 1 s: exiting now (status 130)\n"
    static let pauseMessage: StaticString =
        "\nautoprog: pausing at the next step boundary (Ctrl-C twice more within 1 s quits)\n"
}

/// The SIGINT handler: atomics, clock_gettime, write and _exit only.
private func handleInterrupt(_ signal: Int32) {
    let savedErrno = errno
    defer { errno = savedErrno }
    Interrupts.signals.wrappingAdd(1, ordering: .acquiringAndReleasing)
    let phase = Interrupts.currentPhase.load(ordering: .acquiring)
    if phase == Interrupts.Phase.prompt.rawValue { return }

    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    let third = Interrupts.pressBeforeLast.load(ordering: .acquiring)
    Interrupts.pressBeforeLast.store(Interrupts.lastPress.load(ordering: .acquiring), ordering: .releasing)
    Interrupts.lastPress.store(nanoseconds, ordering: .releasing)
    if nanoseconds - third < 1_000_000_000 {
        let message = Interrupts.escapeMessage
        _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
        _exit(130)
    }
    if phase == Interrupts.Phase.evaluating.rawValue {
        Interrupts.evaluationInterrupt.store(true, ordering: .releasing)
    } else if !Interrupts.pause.exchange(true, ordering: .acquiringAndReleasing) {
        let message = Interrupts.pauseMessage
        _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
    }
}
