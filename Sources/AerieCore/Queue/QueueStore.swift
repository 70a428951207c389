import Foundation

/// How a queue delivers: visibility timeout, retries with exponential backoff, dead-letter queue.
public struct QueueConfiguration: Sendable, Hashable, Codable {
    public var name: String
    /// How long a received message stays invisible before it is delivered again, unless acked.
    public var visibilityTimeout: Duration
    /// Deliveries before a message moves to the dead-letter queue.
    public var maxAttempts: Int
    /// Delay after the first nack; doubles with each further attempt up to `maxBackoff`.
    public var backoffBase: Duration
    public var maxBackoff: Duration
    /// Messages with the same deduplication id sent within this window are dropped.
    public var deduplicationWindow: Duration

    public init(name: String, visibilityTimeout: Duration = .seconds(30), maxAttempts: Int = 5,
                backoffBase: Duration = .seconds(1), maxBackoff: Duration = .seconds(300),
                deduplicationWindow: Duration = .seconds(300)) {
        self.name = name
        self.visibilityTimeout = visibilityTimeout
        self.maxAttempts = maxAttempts
        self.backoffBase = backoffBase
        self.maxBackoff = maxBackoff
        self.deduplicationWindow = deduplicationWindow
    }

    /// The delay before attempt `attempts + 1` after a nack: `backoffBase × 2^(attempts-1)`, capped.
    public func backoff(afterAttempts attempts: Int) -> Duration {
        let exponent = max(0, min(attempts - 1, 30))
        let delay = backoffBase * (1 << exponent)
        return min(delay, maxBackoff)
    }

    public func validate() throws {
        try QueueConfiguration.validateName(name)
        guard maxAttempts >= 1 else { throw AerieError.invalid("max_attempts must be at least 1.", field: "/max_attempts") }
        guard visibilityTimeout > .zero else { throw AerieError.invalid("visibility_timeout must be positive.", field: "/visibility_timeout") }
    }

    public static func validateName(_ name: String) throws {
        try TableSchema.validateName(name, what: "Queue name", field: "queue")
    }
}

/// A message to send.
public struct OutgoingMessage: Sendable, Hashable {
    public var body: Data
    /// Deliver no sooner than this.
    public var delay: Duration
    /// A second message with the same id within the deduplication window is dropped (its send returns the first id).
    public var deduplicationId: String?
    public init(body: Data, delay: Duration = .zero, deduplicationId: String? = nil) {
        self.body = body
        self.delay = delay
        self.deduplicationId = deduplicationId
    }
}

/// A message handed to a consumer. Ack or nack it with `receipt` before the visibility timeout ends.
public struct ReceivedMessage: Sendable, Hashable {
    public var id: String
    public var queue: String
    public var body: Data
    /// 1 on first delivery.
    public var attempts: Int
    /// Proves this delivery; a receipt from an earlier delivery no longer acks the message.
    public var receipt: String
    public var sentAt: Date
    public init(id: String, queue: String, body: Data, attempts: Int, receipt: String, sentAt: Date) {
        self.id = id
        self.queue = queue
        self.body = body
        self.attempts = attempts
        self.receipt = receipt
        self.sentAt = sentAt
    }
}

/// A message that ran out of attempts.
public struct DeadLetter: Sendable, Hashable {
    public var id: String
    public var queue: String
    public var body: Data
    public var attempts: Int
    public var lastError: String?
    public var sentAt: Date
    public var deadAt: Date
    public init(id: String, queue: String, body: Data, attempts: Int, lastError: String?, sentAt: Date, deadAt: Date) {
        self.id = id
        self.queue = queue
        self.body = body
        self.attempts = attempts
        self.lastError = lastError
        self.sentAt = sentAt
        self.deadAt = deadAt
    }
}

/// Counts of a queue's messages by state.
public struct QueueStats: Sendable, Hashable, Codable {
    public var name: String
    /// Ready to be received now.
    public var visible: Int
    /// Received and not yet acked, nacked or expired.
    public var inFlight: Int
    /// Waiting for a delay or backoff to end.
    public var delayed: Int
    /// In the dead-letter queue.
    public var deadLetters: Int
    public init(name: String, visible: Int, inFlight: Int, delayed: Int, deadLetters: Int) {
        self.name = name
        self.visible = visible
        self.inFlight = inFlight
        self.delayed = delayed
        self.deadLetters = deadLetters
    }
}

/// The Queue primitive: at-least-once delivery with visibility timeout, ack, nack with backoff,
/// max attempts then a dead-letter queue, redrive, delayed delivery, deduplication.
/// Dead-letter page cursors of the drivers that number dead letters in order (SQLite, PostgreSQL): the number of the
/// last one shown.
public enum DeadLetterCursor {
    public static func encode(after sequence: Int64) -> String {
        Base64URL.encodeCursor([String(sequence)])
    }

    /// The number to continue after: 0 without a cursor.
    public static func decode(_ cursor: String?) throws -> Int64 {
        guard let cursor else { return 0 }
        guard let parts = Base64URL.decodeCursor(cursor, count: 1), let value = Int64(parts[0]) else {
            throw AerieError.invalid("The cursor is not one this queue returned. Pass back nextCursor unchanged, or leave it out to start over.", field: "cursor")
        }
        return value
    }
}

public protocol QueueStore: Sendable {
    /// Creates a queue, or updates its configuration if it exists.
    func createQueue(_ configuration: QueueConfiguration) async throws
    func deleteQueue(_ name: String) async throws
    func queue(_ name: String) async throws -> QueueConfiguration?
    func listQueues() async throws -> [QueueConfiguration]
    func stats(_ name: String, now: Date) async throws -> QueueStats

    /// Sends messages; returns their ids in order (a deduplicated message returns the id of the one it duplicates).
    func send(queue: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String]
    /// Receives up to `max` visible messages, oldest first, making them invisible for the visibility timeout
    /// (or `visibilityTimeout` when given). A message already delivered `maxAttempts` times is moved to the
    /// dead-letter queue instead of being delivered again.
    func receive(queue: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage]
    /// Acknowledges a delivery: the message is gone. Throws `.notFound` if the receipt is stale (the message was
    /// redelivered or already acked).
    func ack(queue: String, receipt: String) async throws
    /// Acknowledges several deliveries at once (in one transaction where the driver can); returns the receipts that
    /// were stale and acknowledged nothing.
    func ack(queue: String, receipts: [String]) async throws -> [String]
    /// Rejects a delivery: the message becomes visible again after `delay` or the queue's backoff, or moves to the
    /// dead-letter queue if it has used all its attempts. `error` is kept with the message.
    func nack(queue: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws
    /// Extends (or shortens) the invisibility of a delivery.
    func extendVisibility(queue: String, receipt: String, by: Duration, now: Date) async throws

    func deadLetters(queue: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter>
    /// Moves dead letters (all, or those with these ids) back to the queue with fresh attempts; returns how many.
    @discardableResult
    func redrive(queue: String, ids: [String]?, now: Date) async throws -> Int
}

extension QueueStore {
    /// Acknowledges one receipt at a time; drivers that can do it in one transaction override this.
    public func ack(queue: String, receipts: [String]) async throws -> [String] {
        var stale: [String] = []
        for receipt in receipts {
            do {
                try await ack(queue: queue, receipt: receipt)
            } catch let error as AerieError where error.code == .notFound {
                // Not found: a stale receipt, unless the queue itself is missing.
                guard try await self.queue(queue) != nil else { throw error }
                stale.append(receipt)
            }
        }
        return stale
    }

    @discardableResult
    public func send(queue: String, _ messages: [OutgoingMessage]) async throws -> [String] {
        try await send(queue: queue, messages, now: Date())
    }

    @discardableResult
    public func send(queue: String, body: Data, delay: Duration = .zero, deduplicationId: String? = nil) async throws -> String {
        let ids = try await send(queue: queue, [OutgoingMessage(body: body, delay: delay, deduplicationId: deduplicationId)], now: Date())
        return ids[0]
    }

    public func receive(queue: String, max: Int = 1, visibilityTimeout: Duration? = nil) async throws -> [ReceivedMessage] {
        try await receive(queue: queue, max: max, visibilityTimeout: visibilityTimeout, now: Date())
    }

    public func nack(queue: String, receipt: String, error: String? = nil, delay: Duration? = nil) async throws {
        try await nack(queue: queue, receipt: receipt, error: error, delay: delay, now: Date())
    }

    public func stats(_ name: String) async throws -> QueueStats {
        try await stats(name, now: Date())
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// A duration from seconds as a Double.
    public static func seconds(double value: Double) -> Duration {
        .nanoseconds(Int64((value * 1e9).rounded()))
    }
}

extension Date {
    public func adding(_ duration: Duration) -> Date {
        addingTimeInterval(duration.seconds)
    }
}
