import AerieCore
import AerieFunctions
import Foundation
import Logging
import Subprocess
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// How to start one function process: the command and everything around it.
struct ProcessSpec: Sendable {
    var function: String
    var version: Int
    /// The program and its arguments (the package's `bootstrap`, or Python with `-m awslambdaric HANDLER`).
    var command: [String]
    var workingDirectory: String
    /// The environment besides the Runtime API address, which each process gets its own of.
    var environment: [String: String]
    var memoryMiB: Int
    var functionArn: String
    /// Whether the process gets a PID namespace of its own (``PIDNamespace/isAvailable``).
    var ownPIDNamespace = PIDNamespace.isAvailable
}

/// A PID namespace per function process, where the kernel lets Aerie make one: `unshare --pid --fork --kill-child`
/// makes the function the namespace's first process, and when that process dies the kernel kills everything in the
/// namespace. So what a function starts itself (a shell script's `sleep`, a daemonized child, something that called
/// `setsid`) cannot outlive it, nor the server, whose death kills `unshare` (parent-death signal), which kills the
/// function (`--kill-child`). As root the namespace is made directly; otherwise inside a user namespace that maps
/// the server's own user (`--user --map-current-user`), where unprivileged user namespaces are allowed. Where neither
/// works, the function runs without one, and ``RuntimeManager/endLeftovers()`` ends leftovers at the next start.
enum PIDNamespace {
    /// The `unshare` words that work here (tried once per server), or nil.
    static let prefix: [String]? = {
        let base = ["--pid", "--fork", "--kill-child"]
        for extra in [[], ["--user", "--map-current-user"]] where works(extra + base) {
            return ["unshare"] + extra + base + ["--"]
        }
        return nil
    }()

    static var isAvailable: Bool { prefix != nil }

    private static func works(_ arguments: [String]) -> Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = arguments + ["--", "true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do {
            try probe.run()
            probe.waitUntilExit()
            return probe.terminationStatus == 0
        } catch {
            return false
        }
    }

    /// `command` in a namespace of its own (as it is where that is not available or not wanted).
    static func wrap(_ command: [String], enabled: Bool) -> [String] {
        guard enabled, let prefix else { return command }
        return prefix + command
    }
}

/// One child process of a function version speaking the Lambda Runtime API on its own loopback port; it runs one
/// invocation at a time.
///
/// The process is started as `setpriv --pdeathsig KILL -- [unshare --pid --fork --kill-child --] prlimit --as=BYTES --
/// COMMAND` in a process group of its own: the kernel kills it when Aerie dies (even by `kill -9`), with everything it
/// started where it has a PID namespace of its own (``PIDNamespace``), `RLIMIT_AS` bounds its memory, and a timeout
/// kills the whole group. Its standard output and error are read line by line into the log of the invocation in flight.
actor RuntimeProcess: RuntimeAPIBackend {
    enum Failure: Sendable {
        case exited(String)
        case initError(String)
        case functionError(String)
    }

    private struct Pending {
        var event: RuntimeEvent
        var continuation: CheckedContinuation<Data, any Error>
        var delivered = false
    }

    nonisolated let spec: ProcessSpec
    private let logger: Logger
    private var pending: Pending?
    private var nextWaiter: CheckedContinuation<RuntimeEvent?, Never>?
    private var readyAt: ContinuousClock.Instant?
    private var exitStatus: String?
    private(set) var isAlive = true
    /// Whether the process may take another invocation: alive and not being stopped.
    var isUsable: Bool { isAlive && !stopping }
    private var pid: pid_t?
    private var serverTask: Task<Void, Never>?
    private var processTask: Task<Void, Never>?
    private var reporter: (any InvocationReporter)?
    /// The invocation that just ended, and until when its lines may still arrive: a line the handler wrote just before
    /// it answered can be read from the pipe after the answer ended the invocation.
    private var finished: (reporter: any InvocationReporter, until: ContinuousClock.Instant)?
    private var stopping = false
    /// When the process was started and when it last finished an invocation (for the idle reaper).
    let startedAt = ContinuousClock.now
    private(set) var lastUsed = ContinuousClock.now

    init(spec: ProcessSpec, logger: Logger) {
        self.spec = spec
        self.logger = logger
    }

    /// Starts the Runtime API and the process; `reporter` receives the lines the process writes while starting.
    func start(reporter: (any InvocationReporter)?) async throws {
        self.reporter = reporter
        stopping = true  // until the process runs
        let (port, serverTask) = try await RuntimeAPIServer.start(self, logger: logger)
        self.serverTask = serverTask
        var environment = spec.environment
        environment["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:\(port)"
        let memoryBytes = spec.memoryMiB << 20
        let arguments = ["--pdeathsig", "KILL", "--"]
            + PIDNamespace.wrap(["prlimit", "--as=\(memoryBytes)", "--"] + spec.command, enabled: spec.ownPIDNamespace)
        var options = PlatformOptions()
        options.processGroupID = 0
        let (pidStream, pidContinuation) = AsyncStream<pid_t>.makeStream()
        let workingDirectory = spec.workingDirectory
        let logger = self.logger
        processTask = Task {
            var status = "could not be started"
            do {
                let result = try await Subprocess.run(
                    .name("setpriv"), arguments: Arguments(arguments),
                    environment: .custom(environment.map { Array("\($0.key)=\($0.value)".utf8) + [0] }),  // C strings: NUL-terminated
                    workingDirectory: FilePath(workingDirectory), platformOptions: options,
                    input: .none, output: .sequence, error: .sequence
                ) { execution in
                    pidContinuation.yield(execution.processIdentifier.value)
                    pidContinuation.finish()
                    let pid = execution.processIdentifier.value
                    // The readers end at end of file, which a child still holding the pipes would put off past the
                    // process's death: a watcher ends the group once the process itself is gone.
                    await withTaskGroup(of: Bool.self) { group in
                        for (stream, level) in [(execution.standardOutput, Logger.Level.info), (execution.standardError, .warning)] {
                            group.addTask {
                                do {
                                    for try await line in stream.strings(bufferingPolicy: .maxLineLength(16_384)) {
                                        await self.captured(line, level: level)
                                    }
                                } catch {}
                                return true
                            }
                        }
                        group.addTask {
                            while !Task.isCancelled {
                                try? await Task.sleep(for: .milliseconds(100))
                                if !Self.isRunning(pid) {
                                    _ = Glibc.kill(-pid, SIGKILL)
                                    break
                                }
                            }
                            return false
                        }
                        var readersDone = 0
                        for await isReader in group where isReader {
                            readersDone += 1
                            if readersDone == 2 { group.cancelAll() }
                        }
                    }
                }
                status = "\(result.terminationStatus)"
            } catch {
                logger.warning("A function process could not be started", metadata: ["error": "\(error)"])
                status = "could not be started (\(error))"
            }
            pidContinuation.finish()
            self.exited(status)
        }
        var iterator = pidStream.makeAsyncIterator()
        pid = await iterator.next()
        stopping = pid == nil
        if pid == nil {
            await processTask?.value
            throw AerieError(.functionFailed, "Function \(spec.function) version \(spec.version) could not be started: setpriv and prlimit (util-linux) must be installed.")
        }
    }

    /// Milliseconds from the start until the process first asked for an invocation (its init), once it did.
    var initMs: Double? {
        readyAt.map { ($0 - startedAt).inMillis }
    }

    /// How long after an invocation ends its process's lines still go to its log (lines in the pipe at its answer).
    static let lateLineGrace: Duration = .seconds(1)

    private func captured(_ line: String, level: Logger.Level) async {
        if let reporter = reporter ?? finished.flatMap({ ContinuousClock.now < $0.until ? $0.reporter : nil }) {
            await reporter.log(level: level, message: line)
        } else {
            logger.log(level: level, "\(line)", metadata: ["function": "\(spec.function)", "version": "\(spec.version)"])
        }
    }

    /// Runs one invocation; throws `.functionFailed` when the handler reported an error, the process crashed or
    /// failed its init. Cancellation (the runtime's timeout, or a cancel) kills the process group.
    func invoke(_ event: RuntimeEvent, reporter: any InvocationReporter) async throws -> Data {
        guard isAlive else {
            throw AerieError(.functionFailed, "Function \(spec.function) version \(spec.version): its process exited (\(exitStatus ?? "?")) before the invocation.")
        }
        guard pending == nil else {
            throw AerieError(.internal, "Function \(spec.function): a process was given two invocations at once.")
        }
        self.reporter = reporter
        finished = nil
        defer {
            self.reporter = nil
            finished = (reporter, .now + Self.lateLineGrace)
            lastUsed = .now
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                pending = Pending(event: event, continuation: continuation)
                if let waiter = nextWaiter {
                    nextWaiter = nil
                    pending?.delivered = true
                    waiter.resume(returning: event)
                }
            }
        } onCancel: {
            Task { await self.kill(reason: "cancelled") }
        }
    }

    /// Kills the process group; the invocation in flight fails with `CancellationError`.
    func kill(reason: String) {
        stopping = true
        if let pid, isAlive {
            _ = Glibc.kill(-pid, SIGKILL)
            _ = Glibc.kill(pid, SIGKILL)
        }
        if let pending {
            self.pending = nil
            pending.continuation.resume(throwing: CancellationError())
        }
        nextWaiter?.resume(returning: nil)
        nextWaiter = nil
    }

    private func exited(_ status: String) {
        isAlive = false
        exitStatus = status
        serverTask?.cancel()
        nextWaiter?.resume(returning: nil)
        nextWaiter = nil
        if let pending {
            self.pending = nil
            pending.continuation.resume(throwing: AerieError(.functionFailed, "Function \(spec.function) version \(spec.version): its process exited (\(status)) during the invocation."))
        }
    }

    /// Waits for the process to be gone (after ``kill(reason:)``).
    func waitForExit() async {
        await processTask?.value
    }

    func processID() -> pid_t? { pid }

    // MARK: RuntimeAPIBackend

    func next() async -> RuntimeEvent? {
        if readyAt == nil { readyAt = .now }
        if stopping || !isAlive { return nil }
        if var pending, !pending.delivered {
            pending.delivered = true
            self.pending = pending
            return pending.event
        }
        // Lambda gives a process its next event only after it answered the last; a second /next while one waits
        // replaces the first (its connection is gone).
        nextWaiter?.resume(returning: nil)
        return await withCheckedContinuation { nextWaiter = $0 }
    }

    func respond(_ requestId: String, _ body: Data) async -> Bool {
        guard let pending, pending.event.requestId == requestId else { return false }
        self.pending = nil
        pending.continuation.resume(returning: body)
        return true
    }

    func fail(_ requestId: String, _ body: Data, errorType: String?) async -> Bool {
        guard let pending, pending.event.requestId == requestId else { return false }
        self.pending = nil
        pending.continuation.resume(throwing: AerieError(.functionFailed, Self.describe(body, errorType: errorType, what: "Function \(spec.function) failed")))
        return true
    }

    func initFailed(_ body: Data, errorType: String?) async {
        let message = Self.describe(body, errorType: errorType, what: "Function \(spec.function) version \(spec.version) failed to initialize")
        if let pending {
            self.pending = nil
            pending.continuation.resume(throwing: AerieError(.functionFailed, message))
        }
        logger.warning("A function process reported init/error", metadata: ["function": "\(spec.function)", "error": "\(message)"])
        kill(reason: "init error")
    }

    /// Whether the process still runs (not gone, not a zombie), from `/proc/<pid>/stat`.
    nonisolated static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// `{"errorMessage", "errorType"}` (what Lambda clients post) as one sentence; other bodies as text.
    static func describe(_ body: Data, errorType: String?, what: String) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            let type = (object["errorType"] as? String) ?? errorType ?? "Error"
            let message = (object["errorMessage"] as? String) ?? ""
            return "\(what): \(type): \(message)"
        }
        let text = String(decoding: body.prefix(2000), as: UTF8.self)
        return "\(what): \(errorType ?? "Error"): \(text)"
    }
}
