import AerieAuth
import AerieCore
import Foundation
import Hummingbird

/// The event log over HTTP: `/v1/topics/…`. Payloads are JSON.
struct TopicRoutes {
    let events: any EventLog
    let configuration: GatewayConfiguration

    struct AppendBody: Decodable {
        struct Event: Decodable {
            var key: String?
            var payload: JSONValue
        }
        var events: [Event]
    }

    struct EventBody: Encodable {
        var topic: String
        var offset: Int64
        var key: String?
        var payload: JSONValue
        var time: Date
    }

    struct TopicBody: Encodable {
        var name: String
        var nextOffset: Int64
        enum CodingKeys: String, CodingKey {
            case name
            case nextOffset = "next_offset"
        }
    }

    struct OffsetBody: Codable {
        var group: String?
        var topic: String?
        var offset: Int64
        var updatedAt: Date?
        enum CodingKeys: String, CodingKey {
            case group, topic, offset
            case updatedAt = "updated_at"
        }
    }

    /// Topics the platform writes (object events, replicated vector writes, function deploys).
    static func isPlatformTopic(_ topic: String) -> Bool { topic.hasPrefix("aerie.") }

    /// The platform's topics hold every user's events (object events, vector writes, function deploys with their
    /// keys) and drive its consumer groups (triggers): only admins read them or move their groups, not a key that
    /// merely has the `topics` scope.
    static func checkPlatformTopic(_ topic: String, _ identity: Identity?) throws {
        guard isPlatformTopic(topic), identity?.isAdmin != true else { return }
        throw AerieError(.forbidden, "Topic \(topic) belongs to the platform and holds every user's events; only an admin (or a key with the admin scope) reads it or moves its consumer groups.")
    }

    var routes: [GatewayRoute] {
        let access = Access.platform(scope: APIKeyScope.topics)
        let limit = configuration.maxJSONBodySize
        return [
            GatewayRoute(.get, "/v1/topics", summary: "List topics", tag: "topics", access: access, response: .json("TopicList")) { [events] _, _ in
                let items = try await events.topics().map { TopicBody(name: $0.name, nextOffset: $0.nextOffset) }
                return try Response.json(ListBody(items: items, nextCursor: nil))
            },
            GatewayRoute(.post, "/v1/topics/{topic}/events", summary: "Append events", tag: "topics", access: access,
                         request: .json("AppendEvents"), status: 201, response: .json("Offsets")) { [events] request, context in
                let topic = try context.pathParameter("topic")
                try EventLogName.validate(topic)
                // The platform's own topics (object events, replicated vector writes) are written by the platform only:
                // an event appended there would fire triggers or change every node's vector index.
                guard !Self.isPlatformTopic(topic) else {
                    throw AerieError(.forbidden, "Topic \(topic) belongs to the platform; it is read-only through the API. Append to a topic of your own.")
                }
                let body = try await request.decodeJSON(AppendBody.self, limit: limit)
                guard !body.events.isEmpty, body.events.count <= 1000 else {
                    throw AerieError.invalid("Append 1 to 1000 events at a time.", field: "/events")
                }
                let offsets = try await events.append(topic: topic, body.events.map { OutgoingEvent(key: $0.key, payload: $0.payload.encoded()) })
                return try Response.json(["offsets": offsets], status: .created)
            },
            GatewayRoute(.get, "/v1/topics/{topic}/events", summary: "Read events from an offset", tag: "topics", access: access,
                         response: .json("EventList"),
                         query: [("from", "First offset to read (default 0); or a previous page's next_cursor."), ("limit", "1–1000, default 100.")]) { [events] request, context in
                let topic = try context.pathParameter("topic")
                try Self.checkPlatformTopic(topic, context.identity)
                guard try await events.topic(topic) != nil else {
                    throw AerieError.notFound("No topic named \"\(topic)\"; topics exist once an event is appended.")
                }
                let from = Int64(try request.queryInt("from", default: 0, range: 0...Int.max))
                let count = try request.queryInt("limit", default: 100, range: 1...1000)
                let records = try await events.read(topic: topic, from: from, limit: count)
                let items = records.map { EventBody(topic: $0.topic, offset: $0.offset, key: $0.key, payload: QueueRoutes.json($0.payload), time: $0.time) }
                let next = records.count == count ? records.last.map { String($0.offset + 1) } : nil
                return try Response.json(ListBody(items: items, nextCursor: next))
            },
            GatewayRoute(.get, "/v1/topics/{topic}/consumers/{group}", summary: "A consumer group's committed offset", tag: "topics",
                         access: access, response: .json("ConsumerOffset")) { [events] _, context in
                let topic = try context.pathParameter("topic")
                let group = try context.pathParameter("group")
                try Self.checkPlatformTopic(topic, context.identity)
                guard let offset = try await events.consumerOffsets(topic: topic).first(where: { $0.group == group }) else {
                    throw AerieError.notFound("Consumer group \"\(group)\" has not committed an offset on topic \"\(topic)\".")
                }
                return try Response.json(OffsetBody(group: offset.group, topic: offset.topic, offset: offset.offset, updatedAt: offset.updatedAt))
            },
            GatewayRoute(.put, "/v1/topics/{topic}/consumers/{group}", summary: "Commit (or rewind) a consumer group's offset", tag: "topics",
                         access: access, request: .json("CommitOffset"), response: .json("ConsumerOffset")) { [events] request, context in
                let topic = try context.pathParameter("topic")
                let group = try context.pathParameter("group")
                try EventLogName.validate(topic)
                try Self.checkPlatformTopic(topic, context.identity)
                try TableSchema.validateName(group, what: "Consumer group name", field: "group")
                let body = try await request.decodeJSON(OffsetBody.self, limit: limit)
                guard body.offset >= 0 else { throw AerieError.invalid("offset must be 0 or more.", field: "/offset") }
                try await events.commit(group: group, topic: topic, offset: body.offset)
                return try Response.json(OffsetBody(group: group, topic: topic, offset: body.offset, updatedAt: Date()))
            },
        ]
    }
}

/// Topic name validation (the event log's rule, callable without a driver instance).
enum EventLogName {
    static func validate(_ name: String) throws {
        try TableSchema.validateName(name, what: "Topic name", field: "topic")
    }
}
