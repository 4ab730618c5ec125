import Foundation

/// The run's side of `autoprog-run attach`: a Unix-domain socket whose inputs are
/// evaluated by the training loop at step boundaries (see `AttachFrame` for the protocol).
///
/// Background threads accept connections and read frames into a queue; nothing touches
/// the Lua state off the main thread. The loop calls `drain(evaluator:)` at every step
/// boundary, which evaluates the queued inputs in order and sends each reply, and, when a
/// client asked to pause (`\pause`), `serveSession(evaluator:notice:)`, which blocks the
/// run serving inputs until that client detaches or calls `continue()`.
public final class AttachServer: @unchecked Sendable {
    public let socketPath: URL

    private let listener: Int32
    private let socketInode: ino_t
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [(connection: Connection, frame: AttachFrame?)] = []  // nil frame: disconnected
    private var connections: [Int: Connection] = [:]
    private var nextConnectionID = 0
    private var isClosed = false
    // Main thread only:
    private var pausingConnection: Connection?
    private var isServingSession = false

    /// Creates the socket at `socketPath` (mode 0600), replacing a stale socket file left
    /// by a dead run, and starts accepting connections.
    public init(socketPath: URL) throws {
        self.socketPath = socketPath
        let path = socketPath.path
        try UnixSocket.withAddress(path) { _, _ in }  // the length check, before touching the file system
        try Self.removeStaleSocket(at: path)

        let fd = try UnixSocket.makeSocket()
        // umask makes bind create the file owner-only (no window where others could
        // connect); chmod afterwards in case the file system ignores the umask for sockets.
        let savedMask = umask(0o177)
        let bound = try UnixSocket.withAddress(path) { bind(fd, $0, $1) }
        let bindErrno = errno
        umask(savedMask)
        guard bound == 0 else {
            Glibc.close(fd)
            throw AttachError.system("bind \(path)", bindErrno)
        }
        chmod(path, 0o600)
        var info = stat()
        stat(path, &info)
        socketInode = info.st_ino
        guard listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            unlink(path)
            throw AttachError.system("listen", code)
        }
        listener = fd
        startThread { [weak self, listener] in
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    break  // EINVAL after close() shut the listener down
                }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                guard let server = self, server.register(connection) else {
                    Glibc.close(connection)
                    break
                }
            }
            Glibc.close(listener)
        }
    }

    deinit { close() }

    /// Whether a client asked to pause at the next step boundary (after a `drain`).
    public var pauseRequested: Bool { pausingConnection != nil }

    /// Evaluates every queued input with `evaluator` and replies. Call at step boundaries
    /// on the thread that owns the Lua state. Returns `.stop` if an input called `stop()`
    /// or `exit()` (the run should end), else nil. An input calling `continue()` detaches
    /// its client; the run goes on.
    @discardableResult
    public func drain(evaluator: LuaEvaluator) -> ControlRequest? {
        var decision: ControlRequest?
        while let (connection, frame) = takeRequest(wait: false) {
            if handle(frame, from: connection, evaluator: evaluator) == .stop { decision = .stop }
        }
        return decision
    }

    /// Evaluates every queued input with `execute` and replies with its text: the minimal
    /// form for callers that do their own evaluation (no detach, no pause handling).
    public func drain(_ execute: (String) -> String) {
        while let (connection, frame) = takeRequest(wait: false) {
            if case .evaluate(let chunk)? = frame { connection.send(.output(execute(chunk))) }
        }
    }

    /// Serves the client that asked to pause: sends it `notice`, then blocks evaluating
    /// inputs (from any client) until it detaches or an input calls `continue()` (returns
    /// `.continue`) or `stop()`/`exit()` (returns `.stop`). Returns nil at once when no
    /// pause was requested.
    public func serveSession(evaluator: LuaEvaluator, notice: String) -> ControlRequest? {
        guard let pauser = pausingConnection else { return nil }
        pauser.send(.notice(notice))
        isServingSession = true
        defer {
            isServingSession = false
            pausingConnection = nil
        }
        while let (connection, frame) = takeRequest(wait: true) {
            let control = handle(frame, from: connection, evaluator: evaluator)
            if control == .stop { return .stop }
            if pausingConnection == nil { return .continue }  // the pauser detached
            if control == .continue && connection === pauser { return .continue }
        }
        return .continue  // the server closed
    }

    /// Stops accepting, disconnects every client and removes the socket file (if it is
    /// still the one this server created).
    public func close() {
        condition.lock()
        guard !isClosed else { condition.unlock(); return }
        isClosed = true
        let open = Array(connections.values)
        condition.broadcast()
        condition.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        open.forEach { $0.shutdown() }
        var info = stat()
        if stat(socketPath.path, &info) == 0 && info.st_ino == socketInode { unlink(socketPath.path) }
    }

    // MARK: - Requests

    /// Handles one queued frame; returns the control request its evaluation made.
    private func handle(_ frame: AttachFrame?, from connection: Connection, evaluator: LuaEvaluator) -> ControlRequest? {
        switch frame {
        case nil:
            if connection === pausingConnection { pausingConnection = nil }
            return nil
        case .pause?:
            if isServingSession {
                connection.send(.notice("the run is already paused"))
            } else if pausingConnection == nil || pausingConnection === connection {
                pausingConnection = connection  // answered by serveSession's notice
            } else {
                connection.send(.notice("another client has already paused the run"))
            }
            return nil
        case .evaluate(let chunk)?:
            let savedPrint = evaluator.onPrint
            evaluator.onPrint = nil
            let result = evaluator.evaluate(chunk)
            evaluator.onPrint = savedPrint
            let control = evaluator.takeControlRequest()
            connection.send(AttachFrame.reply(to: result, control: control))
            if control != nil { connection.shutdown() }
            return control
        default:
            connection.send(.failure("error: unexpected frame from the client\n"))
            return nil
        }
    }

    private func takeRequest(wait: Bool) -> (Connection, AttachFrame?)? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            guard wait, !isClosed else { return nil }
            condition.wait()
        }
        return queue.removeFirst()
    }

    private func enqueue(_ connection: Connection, _ frame: AttachFrame?) {
        condition.lock()
        queue.append((connection, frame))
        if frame == nil { connections[connection.id] = nil }
        condition.broadcast()
        condition.unlock()
    }

    /// Registers an accepted connection and starts its reader; false once closed.
    private func register(_ fd: Int32) -> Bool {
        condition.lock()
        guard !isClosed else { condition.unlock(); return false }
        nextConnectionID += 1
        let connection = Connection(id: nextConnectionID, fd: fd)
        connections[connection.id] = connection
        condition.unlock()
        startThread { [weak self] in
            while let frame = try? UnixSocket.readFrame(fd) {
                guard let server = self else { break }
                server.enqueue(connection, frame)
            }
            self?.enqueue(connection, nil)
            connection.close()
        }
        return true
    }

    private static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return }
        let probe = try UnixSocket.makeSocket()
        defer { Glibc.close(probe) }
        let connected = try UnixSocket.withAddress(path) { connect(probe, $0, $1) }
        if connected == 0 { throw AttachError.alreadyServed(path) }
        unlink(path)
    }

    /// A background thread with SIGINT blocked, so Ctrl-C always reaches the main thread.
    private func startThread(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGINT)
            pthread_sigmask(SIG_BLOCK, &signals, nil)
            body()
        }
        thread.name = "autoprog-attach"
        thread.start()
    }
}

/// One client connection. Replies are written by the main thread while the reader thread
/// may be closing the descriptor, so both go through `lock`.
private final class Connection: @unchecked Sendable {
    let id: Int
    private let fd: Int32
    private let lock = NSLock()
    private var isOpen = true

    init(id: Int, fd: Int32) {
        self.id = id
        self.fd = fd
    }

    func send(_ frame: AttachFrame) {
        lock.withLock { if isOpen { _ = UnixSocket.writeAll(fd, frame.encoded) } }
    }

    /// Ends the conversation; the reader sees end of stream and closes the descriptor.
    func shutdown() {
        lock.withLock { if isOpen { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    func close() {
        lock.withLock {
            if isOpen {
                isOpen = false
                Glibc.close(fd)
            }
        }
    }
}
