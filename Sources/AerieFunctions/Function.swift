import AerieCore
import Foundation
import Logging
import Synchronization

/// A function: a Swift type with a name, a Codable input and output, and a configuration.
///
/// Its expensive `State` (a loaded model, a connection) is built by ``makeState(_:)`` on first use — a cold
/// start — kept while the function is used, and released after `configuration.idleUnload` of idleness.
///
/// ```swift
/// struct Echo: Function {
///     static let name = "echo"
///     func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue { input }
/// }
/// ```
public protocol Function: Sendable {
    associatedtype Input: Decodable & Sendable
    associatedtype Output: Encodable & Sendable
    associatedtype State: Sendable = Void

    static var name: String { get }
    var configuration: FunctionConfiguration { get }

    /// Builds the function's state on a cold start.
    func makeState(_ context: InitContext) async throws -> State
    /// Handles one invocation. Throw ``AerieError`` with `.invalidArgument` for bad input (HTTP 400);
    /// any other error fails the invocation (HTTP 502 when called synchronously).
    func handle(_ input: Input, state: State, context: InvocationContext) async throws -> Output
}

extension Function {
    public var configuration: FunctionConfiguration { FunctionConfiguration() }
}

extension Function where State == Void {
    public func makeState(_ context: InitContext) async throws {}
}

/// What a function's cold start gets.
public struct InitContext: Sendable {
    public var function: String
    public var primitives: Primitives
    public var logger: Logger
    public init(function: String, primitives: Primitives, logger: Logger) {
        self.function = function
        self.primitives = primitives
        self.logger = logger
    }
}

/// Receives what an invocation reports while it runs (the runtime records and streams it).
public protocol InvocationReporter: Sendable {
    func progress(_ fraction: Double, message: String?, details: JSONValue?) async
    func log(level: Logger.Level, message: String) async
}

/// What one invocation gets: who called, how, the primitives, a logger whose lines are captured with the
/// invocation, and a way to report progress. Cancellation (by the caller or by the timeout) arrives as Swift task
/// cancellation: check `Task.isCancelled` or call `try Task.checkCancellation()` in long loops.
public struct InvocationContext: Sendable {
    public var invocationId: String
    public var function: String
    public var trigger: TriggerInfo
    /// The user the invocation runs for; records it creates should carry this owner.
    public var owner: String?
    public var attempt: Int
    public var deadline: ContinuousClock.Instant
    public var primitives: Primitives
    public var reporter: any InvocationReporter
    /// Where an instance that starts processes per invocation (out-of-process functions) reports whether this
    /// invocation had a cold start; the record takes it over the instance's own cold start.
    public var startReport: StartReport

    public init(invocationId: String, function: String, trigger: TriggerInfo, owner: String?, attempt: Int,
                deadline: ContinuousClock.Instant, primitives: Primitives, reporter: any InvocationReporter,
                startReport: StartReport = StartReport()) {
        self.invocationId = invocationId
        self.function = function
        self.trigger = trigger
        self.owner = owner
        self.attempt = attempt
        self.deadline = deadline
        self.primitives = primitives
        self.reporter = reporter
        self.startReport = startReport
    }

    /// Reports progress (0…1) with an optional message; streamed to SSE followers as a `progress` event.
    public func progress(_ fraction: Double, _ message: String? = nil, details: JSONValue? = nil) async {
        await reporter.progress(min(max(fraction, 0), 1), message: message, details: details)
    }

    /// Writes a line to the invocation's captured log.
    public func log(_ message: String, level: Logger.Level = .info) async {
        await reporter.log(level: level, message: message)
    }
}

/// Whether an invocation started a fresh process (a cold start) and how long its start took, when the function's
/// instance knows better than the runtime (see ``InvocationContext/startReport``).
public final class StartReport: Sendable {
    private let state = Mutex<(cold: Bool, initMs: Double?)?>(nil)
    public init() {}
    public func report(cold: Bool, initMs: Double?) {
        state.withLock { $0 = (cold, initMs) }
    }
    public var value: (cold: Bool, initMs: Double?)? { state.withLock { $0 } }
}

/// What makes a function run besides a direct call.
public enum Trigger: Sendable, Hashable {
    /// An object created (or removed) in `bucket` whose key starts with `prefix` and ends with `suffix`.
    /// The function receives the ``ObjectEvent`` as its input.
    case object(bucket: String, prefix: String = "", suffix: String = "", kinds: Set<ObjectEvent.Kind> = [.created])
    /// Each message of the queue; the body is the input.
    case queue(String)
    /// Every fixed interval; the input is `{"scheduled_at": …}`.
    case every(Duration)
    /// A five-field cron expression (minute hour day-of-month month day-of-week, UTC).
    case cron(String)
    /// Each event appended to the topic; the input is `{"topic", "offset", "key", "payload"}`.
    case topic(String)

    public var description: String {
        switch self {
        case .object(let bucket, let prefix, let suffix, _): "object:\(bucket)/\(prefix)*\(suffix)"
        case .queue(let name): "queue:\(name)"
        case .every(let interval): "schedule:every \(interval.seconds)s"
        case .cron(let expression): "schedule:cron \(expression)"
        case .topic(let name): "topic:\(name)"
        }
    }
}
