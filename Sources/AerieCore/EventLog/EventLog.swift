import Foundation

/// An event appended to a topic.
public struct EventRecord: Sendable, Hashable, Codable {
    public var topic: String
    /// Position in the topic: 0, 1, 2… in append order, never reused.
    public var offset: Int64
    /// An optional key (an entity id) for consumers that group by it.
    public var key: String?
    public var payload: Data
    public var time: Date
    public init(topic: String, offset: Int64, key: String?, payload: Data, time: Date) {
        self.topic = topic
        self.offset = offset
        self.key = key
        self.payload = payload
        self.time = time
    }
}

/// A topic's extent.
public struct TopicInfo: Sendable, Hashable, Codable {
    public var name: String
    /// The offset the next event will get (= the number of events ever appended).
    public var nextOffset: Int64
    public init(name: String, nextOffset: Int64) {
        self.name = name
        self.nextOffset = nextOffset
    }
}

/// A consumer group's position in a topic.
public struct ConsumerOffset: Sendable, Hashable, Codable {
    public var group: String
    public var topic: String
    /// The offset of the next event the group will read.
    public var offset: Int64
    public var updatedAt: Date
    public init(group: String, topic: String, offset: Int64, updatedAt: Date) {
        self.group = group
        self.topic = topic
        self.offset = offset
        self.updatedAt = updatedAt
    }
}

/// An event to append.
public struct OutgoingEvent: Sendable, Hashable {
    public var key: String?
    public var payload: Data
    public init(key: String? = nil, payload: Data) {
        self.key = key
        self.payload = payload
    }
}

/// The Event log primitive: append-only topics with ordered offsets, consumer groups with committed offsets,
/// replay and rewind. Topics exist once something is appended.
public protocol EventLog: Sendable {
    /// Appends events in order; returns their offsets.
    @discardableResult
    func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64]
    /// Events with offset ≥ `from`, in order, at most `limit`.
    func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord]
    func topics() async throws -> [TopicInfo]
    func topic(_ name: String) async throws -> TopicInfo?

    /// Sets the group's next offset (forward to commit progress, backward to rewind).
    func commit(group: String, topic: String, offset: Int64) async throws
    /// The group's next offset, or nil if it never committed.
    func committedOffset(group: String, topic: String) async throws -> Int64?
    func consumerOffsets(topic: String?) async throws -> [ConsumerOffset]
}

extension EventLog {
    @discardableResult
    public func append(topic: String, key: String? = nil, payload: Data) async throws -> Int64 {
        try await append(topic: topic, [OutgoingEvent(key: key, payload: payload)])[0]
    }

    public static func validateTopic(_ name: String) throws {
        try TableSchema.validateName(name, what: "Topic name", field: "topic")
    }
}
