import Foundation

/// The in-memory ``EventLog`` driver, for tests and single-process experiments. Nothing survives the process.
public actor MemoryEventLog: EventLog {
    private var topicEvents: [String: [EventRecord]] = [:]
    /// Committed offsets by topic, then by group.
    private var committed: [String: [String: ConsumerOffset]] = [:]

    public init() {}

    public func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        var records = topicEvents[topic] ?? []
        let now = Date()
        var offsets: [Int64] = []
        offsets.reserveCapacity(events.count)
        for event in events {
            let offset = Int64(records.count)
            records.append(EventRecord(topic: topic, offset: offset, key: event.key, payload: event.payload, time: now))
            offsets.append(offset)
        }
        topicEvents[topic] = records
        return offsets
    }

    public func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord] {
        guard let records = topicEvents[topic], offset < Int64(records.count) else { return [] }
        let start = Int(offset)
        let end = min(records.count, start + limit)
        return Array(records[start..<end])
    }

    public func topics() async throws -> [TopicInfo] {
        topicEvents.keys.sorted().map { TopicInfo(name: $0, nextOffset: Int64(topicEvents[$0]?.count ?? 0)) }
    }

    public func topic(_ name: String) async throws -> TopicInfo? {
        return topicEvents[name].map { TopicInfo(name: name, nextOffset: Int64($0.count)) }
    }

    public func commit(group: String, topic: String, offset: Int64) async throws {
        let end = Int64(topicEvents[topic]?.count ?? 0)
        guard offset <= end else {
            throw AerieError.invalid(
                "Offset \(offset) is past the end of topic \"\(topic)\" (next offset \(end)). Commit an offset between 0 and \(end).",
                field: "offset")
        }
        committed[topic, default: [:]][group] = ConsumerOffset(group: group, topic: topic, offset: offset, updatedAt: Date())
    }

    public func committedOffset(group: String, topic: String) async throws -> Int64? {
        return committed[topic]?[group]?.offset
    }

    public func consumerOffsets(topic: String?) async throws -> [ConsumerOffset] {
        let topics = topic.map { [$0] } ?? committed.keys.sorted()
        return topics.flatMap { name in
            (committed[name] ?? [:]).values.sorted { $0.group < $1.group }
        }
    }

}
