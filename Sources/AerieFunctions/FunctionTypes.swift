import AerieCore
import Foundation

/// How a function runs: how many at once, how long, how often retried, when its state is released.
public struct FunctionConfiguration: Sendable, Hashable, Codable {
    /// Invocations that may run at the same time.
    public var concurrency: Int
    /// Sync invocations that may wait for a free slot; beyond this the caller gets `.rateLimited` (HTTP 429).
    public var maxWaiting: Int
    /// An invocation running longer is cancelled and ends `timed_out`.
    public var timeout: Duration
    /// Further attempts for a failed async invocation (with the queue's exponential backoff).
    public var retries: Int
    /// How long an `Idempotency-Key` maps to its first invocation.
    public var idempotencyWindow: Duration
    /// The function's state (a loaded model) is released after this long unused; the next call is a cold start.
    public var idleUnload: Duration
    /// One sentence for the console and `GET /v1/functions`.
    public var description: String
    /// Only admins (and API keys with the admin scope) may invoke it over HTTP; its triggers still run it. For an app's
    /// internal functions, whose input can name another user's data (an object event, a queued notification): a user
    /// invoking one directly could otherwise act on someone else's photo or watch.
    public var adminOnly: Bool

    public init(concurrency: Int = 4, maxWaiting: Int = 64, timeout: Duration = .seconds(60), retries: Int = 2,
                idempotencyWindow: Duration = .seconds(86_400), idleUnload: Duration = .seconds(600), description: String = "",
                adminOnly: Bool = false) {
        self.concurrency = concurrency
        self.maxWaiting = maxWaiting
        self.timeout = timeout
        self.retries = retries
        self.idempotencyWindow = idempotencyWindow
        self.idleUnload = idleUnload
        self.description = description
        self.adminOnly = adminOnly
    }
}

extension FunctionConfiguration {
    /// Decodes configurations written before `adminOnly` existed as open to every signed-in user.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(concurrency: try container.decode(Int.self, forKey: .concurrency), maxWaiting: try container.decode(Int.self, forKey: .maxWaiting),
                  timeout: try container.decode(Duration.self, forKey: .timeout), retries: try container.decode(Int.self, forKey: .retries),
                  idempotencyWindow: try container.decode(Duration.self, forKey: .idempotencyWindow),
                  idleUnload: try container.decode(Duration.self, forKey: .idleUnload),
                  description: try container.decode(String.self, forKey: .description),
                  adminOnly: try container.decodeIfPresent(Bool.self, forKey: .adminOnly) ?? false)
    }
}

/// What started an invocation.
public struct TriggerInfo: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case http
        case object
        case queue
        case schedule
        case topic
    }

    public var kind: Kind
    /// Where it came from: the route, `bucket/key`, the queue, the schedule, `topic@offset`.
    public var source: String?

    public init(kind: Kind, source: String? = nil) {
        self.kind = kind
        self.source = source
    }

    public static let http = TriggerInfo(kind: .http)
}

/// The lifecycle of an invocation.
public enum InvocationStatus: String, Sendable, Codable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled
    case timedOut = "timed_out"

    public var isFinished: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .timedOut: true
        }
    }
}

/// Why an invocation failed.
public struct InvocationError: Sendable, Hashable, Codable {
    /// A stable slug: `function-failed`, `timed-out`, `cancelled`, `invalid-input`…
    public var type: String
    public var message: String
    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }
}

/// The record every invocation leaves.
public struct InvocationRecord: Sendable, Hashable, Codable {
    public var id: String
    public var function: String
    public var trigger: TriggerInfo
    public var owner: String?
    public var status: InvocationStatus
    public var async: Bool
    public var attempts: Int
    public var idempotencyKey: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Milliseconds the last attempt ran.
    public var durationMs: Double?
    /// Whether the last attempt had to build the function's state first.
    public var coldStart: Bool?
    /// Milliseconds spent building the state on a cold start.
    public var initMs: Double?
    public var error: InvocationError?
    /// The latest progress reported by the function, 0…1.
    public var progress: Double?
    /// The output as JSON, once succeeded (async invocations; sync callers get it in the response).
    public var output: JSONValue?

    public init(id: String, function: String, trigger: TriggerInfo, owner: String?, status: InvocationStatus, async: Bool,
                attempts: Int = 0, idempotencyKey: String? = nil, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil,
                durationMs: Double? = nil, coldStart: Bool? = nil, initMs: Double? = nil, error: InvocationError? = nil,
                progress: Double? = nil, output: JSONValue? = nil) {
        self.id = id
        self.function = function
        self.trigger = trigger
        self.owner = owner
        self.status = status
        self.async = async
        self.attempts = attempts
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationMs = durationMs
        self.coldStart = coldStart
        self.initMs = initMs
        self.error = error
        self.progress = progress
        self.output = output
    }
}

/// Something that happened during an invocation, streamed as a server-sent event.
public struct InvocationEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case progress
        case log
        case result
        case error
    }

    /// 1, 2, 3… within the invocation; the SSE event id.
    public var sequence: Int64
    public var kind: Kind
    public var data: JSONValue
    public var time: Date

    public init(sequence: Int64, kind: Kind, data: JSONValue, time: Date) {
        self.sequence = sequence
        self.kind = kind
        self.data = data
        self.time = time
    }
}

/// A function's live statistics.
public struct FunctionStats: Sendable, Hashable, Codable {
    public var invocations: Int
    public var errors: Int
    public var coldStarts: Int
    public var inFlight: Int
    public var waiting: Int
    public var p50Ms: Double?
    public var p95Ms: Double?

    public init(invocations: Int = 0, errors: Int = 0, coldStarts: Int = 0, inFlight: Int = 0, waiting: Int = 0, p50Ms: Double? = nil, p95Ms: Double? = nil) {
        self.invocations = invocations
        self.errors = errors
        self.coldStarts = coldStarts
        self.inFlight = inFlight
        self.waiting = waiting
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
    }
}

/// A registered function as listed.
public struct FunctionSummary: Sendable, Hashable, Codable {
    public var name: String
    public var configuration: FunctionConfiguration
    public var triggers: [String]
    /// Whether its state is loaded now (the next call is warm).
    public var warm: Bool
    public var stats: FunctionStats
    public init(name: String, configuration: FunctionConfiguration, triggers: [String], warm: Bool, stats: FunctionStats) {
        self.name = name
        self.configuration = configuration
        self.triggers = triggers
        self.warm = warm
        self.stats = stats
    }
}
