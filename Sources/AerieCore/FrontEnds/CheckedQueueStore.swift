import Foundation

/// The Queue primitive's front end: checks queue configurations and names, delays, batch sizes, visibility timeouts
/// and limits once, so the drivers (memory, SQLite, PostgreSQL) carry no copy of the rules. ``Primitives`` wraps
/// every queue store in it. Stale receipts, missing queues and the drivers' own cursors stay with the drivers.
public struct CheckedQueueStore: QueueStore {
    public let driver: any QueueStore
    public var appResources = AppResources()

    /// `store` behind the checks (a store that is already checked is returned as it is).
    public static func wrap(_ store: any QueueStore, appResources: AppResources = AppResources()) -> any QueueStore {
        store is CheckedQueueStore ? store : CheckedQueueStore(driver: store, appResources: appResources)
    }

    public func createQueue(_ configuration: QueueConfiguration) async throws {
        try configuration.validate()
        try await driver.createQueue(configuration)
    }

    public func deleteQueue(_ name: String) async throws {
        try QueueConfiguration.validateName(name)
        try appResources.checkDeletable(.queue, name)
        try await driver.deleteQueue(name)
    }

    public func queue(_ name: String) async throws -> QueueConfiguration? {
        try QueueConfiguration.validateName(name)
        return try await driver.queue(name)
    }

    public func listQueues() async throws -> [QueueConfiguration] {
        try await driver.listQueues()
    }

    public func stats(_ name: String, now: Date) async throws -> QueueStats {
        try QueueConfiguration.validateName(name)
        return try await driver.stats(name, now: now)
    }

    public func send(queue: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String] {
        try QueueConfiguration.validateName(queue)
        if messages.contains(where: { $0.delay < .zero }) {
            throw AerieError.invalid("A message's delay must not be negative.", field: "delay")
        }
        return try await driver.send(queue: queue, messages, now: now)
    }

    public func receive(queue: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage] {
        try QueueConfiguration.validateName(queue)
        guard max >= 1 else { throw AerieError.invalid("max must be at least 1 (got \(max)).", field: "max") }
        if let visibilityTimeout, visibilityTimeout <= .zero {
            throw AerieError.invalid("The visibility timeout must be positive.", field: "visibility_timeout")
        }
        return try await driver.receive(queue: queue, max: max, visibilityTimeout: visibilityTimeout, now: now)
    }

    public func ack(queue: String, receipt: String) async throws {
        try QueueConfiguration.validateName(queue)
        try await driver.ack(queue: queue, receipt: receipt)
    }

    public func ack(queue: String, receipts: [String]) async throws -> [String] {
        try QueueConfiguration.validateName(queue)
        return try await driver.ack(queue: queue, receipts: receipts)
    }

    public func nack(queue: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws {
        try QueueConfiguration.validateName(queue)
        if let delay, delay < .zero { throw AerieError.invalid("The delay must not be negative.", field: "delay") }
        try await driver.nack(queue: queue, receipt: receipt, error: error, delay: delay, now: now)
    }

    public func extendVisibility(queue: String, receipt: String, by duration: Duration, now: Date) async throws {
        try QueueConfiguration.validateName(queue)
        guard duration >= .zero else { throw AerieError.invalid("The visibility extension must not be negative.", field: "by") }
        try await driver.extendVisibility(queue: queue, receipt: receipt, by: duration, now: now)
    }

    public func deadLetters(queue: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter> {
        try QueueConfiguration.validateName(queue)
        guard limit >= 1 else { throw AerieError.invalid("limit must be at least 1 (got \(limit)).", field: "limit") }
        return try await driver.deadLetters(queue: queue, limit: limit, cursor: cursor)
    }

    public func redrive(queue: String, ids: [String]?, now: Date) async throws -> Int {
        try QueueConfiguration.validateName(queue)
        return try await driver.redrive(queue: queue, ids: ids, now: now)
    }
}
