import Foundation

/// The Event log primitive's front end: checks topic and group names, offsets and limits once, so the drivers carry
/// no copy of the rules. ``Primitives`` wraps every event log in it. Whether a committed offset lies past a topic's
/// end depends on the stored topic, so that check stays with the driver.
/// After an append it announces the topic on ``TopicSignals``, so readers in this process read at once.
public struct CheckedEventLog: EventLog {
    public let driver: any EventLog
    public let signals: TopicSignals

    /// `log` behind the checks (a log that is already checked is returned as it is).
    public static func wrap(_ log: any EventLog, signals: TopicSignals) -> any EventLog {
        log is CheckedEventLog ? log : CheckedEventLog(driver: log, signals: signals)
    }

    public func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64] {
        try Self.validateTopic(topic)
        guard !events.isEmpty else { return [] }
        let offsets = try await driver.append(topic: topic, events)
        signals.announce(topic)
        return offsets
    }

    public func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord] {
        try Self.validateTopic(topic)
        try Self.validateOffset(offset)
        guard limit >= 1 else {
            throw AerieError.invalid("limit must be at least 1 (got \(limit)).", field: "limit")
        }
        return try await driver.read(topic: topic, from: offset, limit: limit)
    }

    public func topics() async throws -> [TopicInfo] {
        try await driver.topics()
    }

    public func topic(_ name: String) async throws -> TopicInfo? {
        try Self.validateTopic(name)
        return try await driver.topic(name)
    }

    public func commit(group: String, topic: String, offset: Int64) async throws {
        try Self.validateGroup(group)
        try Self.validateTopic(topic)
        try Self.validateOffset(offset)
        try await driver.commit(group: group, topic: topic, offset: offset)
    }

    public func committedOffset(group: String, topic: String) async throws -> Int64? {
        try Self.validateGroup(group)
        try Self.validateTopic(topic)
        return try await driver.committedOffset(group: group, topic: topic)
    }

    public func consumerOffsets(topic: String?) async throws -> [ConsumerOffset] {
        if let topic { try Self.validateTopic(topic) }
        return try await driver.consumerOffsets(topic: topic)
    }

    static func validateGroup(_ group: String) throws {
        try TableSchema.validateName(group, what: "Consumer group name", field: "group")
    }

    static func validateOffset(_ offset: Int64) throws {
        guard offset >= 0 else {
            throw AerieError.invalid("Offset \(offset) is negative; offsets start at 0.", field: "offset")
        }
    }
}
