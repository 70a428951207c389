import AerieCore
import AerieSQLite
import AerieTesting
@testable import AerieFunctions
import Foundation
import Logging
import Testing

/// Counts what test functions do, and holds them at a gate when a test needs them to wait.
actor Probe {
    private(set) var calls = 0
    private(set) var running = 0
    private(set) var maxRunning = 0
    private(set) var builds = 0
    private(set) var shutdowns = 0
    private(set) var inputs: [JSONValue] = []
    private var gateOpen = false
    private var gateWaiters: [CheckedContinuation<Void, Never>] = []

    func enter(_ input: JSONValue = .null) {
        calls += 1
        running += 1
        maxRunning = max(maxRunning, running)
        inputs.append(input)
    }
    func leave() { running -= 1 }
    func built() { builds += 1 }
    func shutDown() { shutdowns += 1 }

    func waitAtGate() async {
        if gateOpen { return }
        await withCheckedContinuation { gateWaiters.append($0) }
    }

    func openGate() {
        gateOpen = true
        for waiter in gateWaiters { waiter.resume() }
        gateWaiters = []
    }
}

struct TextInput: Codable, Sendable { var text: String }
struct TextOutput: Codable, Sendable { var text: String }

/// Echoes its input; fails with the text as message when the text starts with "fail".
struct Echo: Function {
    static let name = "echo"
    var probe = Probe()
    var configuration = FunctionConfiguration(concurrency: 4, maxWaiting: 8, timeout: .seconds(10), retries: 0)

    func handle(_ input: TextInput, state: Void, context: InvocationContext) async throws -> TextOutput {
        await probe.enter(.string(input.text))
        defer { Task { await probe.leave() } }
        await context.log("echoing \(input.text)")
        if input.text.hasPrefix("fail") { throw AerieError(.internal, input.text) }
        return TextOutput(text: input.text)
    }
}

/// Sleeps for `millis`, or waits at the probe's gate when `gate` is true; counts how many run at once.
struct Worker: Function {
    struct Input: Decodable, Sendable {
        var millis: Int
        var gate: Bool
        var failTimes: Int
        enum CodingKeys: CodingKey { case millis, gate, failTimes }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            millis = try container.decodeIfPresent(Int.self, forKey: .millis) ?? 0
            gate = try container.decodeIfPresent(Bool.self, forKey: .gate) ?? false
            failTimes = try container.decodeIfPresent(Int.self, forKey: .failTimes) ?? 0
        }
    }
    static let name = "worker"
    var probe = Probe()
    var configuration = FunctionConfiguration(concurrency: 2, maxWaiting: 8, timeout: .seconds(10), retries: 2)

    func handle(_ input: Input, state: Void, context: InvocationContext) async throws -> JSONValue {
        await probe.enter()
        do {
            if input.gate { await probe.waitAtGate() }
            if input.millis > 0 { try await Task.sleep(for: .milliseconds(input.millis)) }
            try Task.checkCancellation()
        } catch {
            await probe.leave()
            throw error
        }
        await probe.leave()
        if context.attempt <= input.failTimes { throw AerieError(.internal, "attempt \(context.attempt) failed on purpose") }
        return .object(["attempt": .number(Double(context.attempt))])
    }
}

/// Has expensive state: counts builds and releases.
struct Model: Function {
    final class Loaded: FunctionState {
        let probe: Probe
        init(probe: Probe) { self.probe = probe }
        func shutdown() async { await probe.shutDown() }
    }
    static let name = "model"
    var probe = Probe()
    var configuration = FunctionConfiguration(concurrency: 8, timeout: .seconds(10), idleUnload: .milliseconds(300))

    func makeState(_ context: InitContext) async throws -> Loaded {
        try await Task.sleep(for: .milliseconds(20))
        await probe.built()
        return Loaded(probe: probe)
    }

    func handle(_ input: JSONValue, state: Loaded, context: InvocationContext) async throws -> JSONValue {
        await probe.enter(input)
        await probe.leave()
        return input
    }
}

/// Records its input (for triggers).
struct Recorder: Function {
    static let name = "recorder"
    var probe = Probe()
    var configuration = FunctionConfiguration(concurrency: 2, timeout: .seconds(10), retries: 1)

    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        await probe.enter(input)
        await probe.leave()
        if case .bool(true)? = input["fail"] { throw AerieError(.internal, "asked to fail") }
        return .object(["ok": .bool(true)])
    }
}

/// Logs, reports progress, then waits at the gate when asked.
struct Chatty: Function {
    struct Input: Decodable, Sendable {
        var gate: Bool
        enum CodingKeys: CodingKey { case gate }
        init(from decoder: any Decoder) throws {
            gate = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Bool.self, forKey: .gate) ?? false
        }
    }
    static let name = "chatty"
    var probe = Probe()

    func handle(_ input: Input, state: Void, context: InvocationContext) async throws -> JSONValue {
        await context.log("one")
        await context.progress(0.5, "half way")
        if input.gate { await probe.waitAtGate() }
        await context.log("two")
        await context.log("three", level: .warning)
        return .string("done")
    }
}

enum TestRuntime {
    static let configuration = RuntimeConfiguration(
        nodeId: "test", pollInterval: .milliseconds(10), visibilityTimeout: .seconds(2), retryBackoff: .milliseconds(10),
        maxRetryBackoff: .milliseconds(50), sweepInterval: .milliseconds(20), groupCommitInterval: .milliseconds(5),
        cancelWait: .seconds(5), reconcileInterval: .milliseconds(50), triggerStartPosition: .earliest)

    static func make(_ primitives: Primitives = .memory()) -> FunctionRuntime {
        FunctionRuntime(primitives: primitives, configuration: configuration, logger: Logger(label: "test"))
    }
}

/// Runs the runtime's service loops while `body` runs, then stops it gracefully.
func whileRunning<T>(_ runtime: FunctionRuntime, _ body: () async throws -> T) async throws -> T {
    try await whileRunning({ try await runtime.run() }, body)
}

/// JSON bytes from JSON text.
func body(_ text: String) -> Data { Data(text.utf8) }

/// A JSON value from JSON text.
func parse(_ text: String) -> JSONValue {
    (try? JSONValue.parse(Data(text.utf8))) ?? .null
}

func waitFinished(_ runtime: FunctionRuntime, _ id: String) async throws -> InvocationRecord {
    var record: InvocationRecord?
    try await eventually("invocation \(id) to finish") {
        record = try await runtime.invocation(id)
        return record?.status.isFinished == true
    }
    return try #require(record)
}

/// The storage a runtime test runs on: every test runs on the in-memory drivers and on embedded SQLite + files.
enum Storage: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { rawValue }

    /// Runs `body` on fresh primitives of this kind; the SQLite data directory is deleted afterwards.
    func with<T>(_ body: (Primitives) async throws -> T) async throws -> T {
        switch self {
        case .memory:
            return try await body(.memory())
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-runtime-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let storage = try EmbeddedStorage(directory: directory)
            return try await body(storage.primitives)
        }
    }
}
