import AerieAuth
import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The admins' routes: the behavioural records of every aggregator, the consumer groups' offsets, rewind and re-emit.
struct LabAdminRoutes {
    let holder: LabApp.Holder
    static let prefix = LabRoutes.prefix

    var routes: [GatewayRoute] {
        [
            GatewayRoute(.get, "\(Self.prefix)/records", summary: "Behavioural records of the Lab's services, oldest first, filtered by topic, service and time",
                         tag: "lab", access: .admin, response: .json("LabRecordList"),
                         query: [("topic", "One aggregator: \(BehaviouralRecord.topics.joined(separator: ", ")); all when omitted."),
                                 ("service", "Only messages from or to this service (client, catalog, training, evaluation, session, storage)."),
                                 ("since", "Only records at or after this time (RFC 3339 or milliseconds since 1970)."),
                                 ("until", "Only records at or before this time."), ("limit", "1–500, default 100."),
                                 ("cursor", "From the previous page's next_cursor.")],
                         statuses: [503]) { [holder] request, _ in
                let service = try holder.service()
                let topics: [String]
                if let topic = Self.nonEmpty(request.query("topic")) {
                    guard BehaviouralRecord.topics.contains(topic) else {
                        throw AerieError.invalid("topic must be one of \(BehaviouralRecord.topics.joined(separator: ", ")), not \"\(topic)\".", field: "topic")
                    }
                    topics = [topic]
                } else {
                    topics = BehaviouralRecord.topics
                }
                var serviceFilter: BehaviouralRecord.Service?
                if let text = Self.nonEmpty(request.query("service")) {
                    guard let value = BehaviouralRecord.Service(rawValue: text.lowercased()) else {
                        throw AerieError.invalid("service must be one of \(BehaviouralRecord.Service.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(text)\".", field: "service")
                    }
                    serviceFilter = value
                }
                let since = try Self.milliseconds(request, "since"), until = try Self.milliseconds(request, "until")
                let limit = try request.queryInt("limit", default: 100, range: 1...500)
                var starts: [String: Int64] = [:]
                if let cursor = Self.nonEmpty(request.query("cursor")) {
                    guard let parts = Base64URL.decodeCursor(cursor, count: topics.count) else {
                        throw AerieError.invalid("cursor is not one this list gave for these filters; start again without it.", field: "cursor")
                    }
                    for (topic, part) in zip(topics, parts) {
                        guard let offset = Int64(part), offset >= 0 else { throw AerieError.invalid("cursor is malformed; start again without it.", field: "cursor") }
                        starts[topic] = offset
                    }
                }
                struct Found { var topic: String; var event: EventRecord; var record: BehaviouralRecord }
                var found: [Found] = []
                var scannedTo: [String: Int64] = [:]
                for topic in topics {
                    var offset = starts[topic] ?? 0
                    var matches = 0
                    scan: while matches < limit {
                        let events = try await service.primitives.events.read(topic: topic, from: offset, limit: 500)
                        if events.isEmpty { break }
                        for event in events {
                            offset = event.offset + 1
                            guard let record = try? JSONCoding.decode(BehaviouralRecord.self, from: event.payload) else { continue }
                            if let serviceFilter, record.sourceService != serviceFilter, record.destinationService != serviceFilter { continue }
                            if let since, record.timestamp < since { continue }
                            if let until, record.timestamp > until { continue }
                            found.append(Found(topic: topic, event: event, record: record))
                            matches += 1
                            if matches >= limit { break scan }
                        }
                    }
                    scannedTo[topic] = offset
                }
                found.sort { ($0.record.timestamp, $0.topic, $0.event.offset) < ($1.record.timestamp, $1.topic, $1.event.offset) }
                let taken = Array(found.prefix(limit))
                var more = found.count > taken.count
                var next: [String] = []
                for topic in topics {
                    let left = found[taken.count...].filter { $0.topic == topic }.map(\.event.offset).min()
                    let position = left ?? scannedTo[topic] ?? 0
                    if left == nil, let end = try await service.primitives.events.topic(topic)?.nextOffset, position < end { more = true }
                    next.append(String(position))
                }
                let items: [JSONValue] = taken.map { Self.body(topic: $0.topic, event: $0.event, record: $0.record) }
                return try Response.json(JSONValue.object(["items": .array(items),
                                                           "next_cursor": more ? .string(Base64URL.encodeCursor(next)) : .null]))
            },
            GatewayRoute(.get, "\(Self.prefix)/consumers", summary: "Consumer groups of the Lab's topics with their offsets and lag, and each topic's end",
                         tag: "lab", access: .admin, response: .json("LabConsumers"), statuses: [503]) { [holder] _, _ in
                let service = try holder.service()
                var ends: [String: Int64] = [:]
                var topics: [JSONValue] = []
                for topic in BehaviouralRecord.topics {
                    let end = try await service.primitives.events.topic(topic)?.nextOffset ?? 0
                    ends[topic] = end
                    topics.append(.object(["name": .string(topic), "next_offset": .number(Double(end))]))
                }
                let groups = try await service.primitives.events.consumerOffsets(topic: nil).filter { BehaviouralRecord.topics.contains($0.topic) }
                let items: [JSONValue] = groups.map { group in
                    let end = ends[group.topic] ?? 0
                    return .object(["group": .string(group.group), "topic": .string(group.topic), "offset": .number(Double(group.offset)),
                                    "lag": .number(Double(max(0, end - group.offset))), "updated_at": .string(LabTime.string(group.updatedAt))])
                }
                return try Response.json(JSONValue.object(["groups": .array(items), "topics": .array(topics)]))
            },
            GatewayRoute(.post, "\(Self.prefix)/consumers/{group}/rewind",
                         summary: "Move a consumer group back (or forward) on a topic; the projection group re-applies from there at once (idempotently)",
                         tag: "lab", access: .admin, request: .json("LabRewind"), response: .json("LabConsumer"), statuses: [422, 503]) { [holder] request, context in
                let service = try holder.service()
                let group = try context.pathParameter("group")
                let body = try await request.decodeJSON(JSONValue.self, limit: 4096)
                guard case .object(let fields) = body else { throw AerieError.invalid("The body must be a JSON object such as {\"topic\": \"session\", \"offset\": 0}.", field: "/") }
                guard case .string(let topic)? = fields["topic"] else { throw AerieError.invalid("topic must be a string naming a Lab topic.", field: "/topic") }
                guard case .number(let number)? = fields["offset"], number.rounded() == number, number >= 0 else {
                    throw AerieError.invalid("offset must be a whole number ≥ 0.", field: "/offset")
                }
                guard BehaviouralRecord.topics.contains(topic) else {
                    throw AerieError(.unprocessable, "topic must be one of \(BehaviouralRecord.topics.joined(separator: ", ")), not \"\(topic)\".", field: "/topic")
                }
                guard try await service.primitives.events.committedOffset(group: group, topic: topic) != nil else {
                    throw AerieError.notFound("Consumer group \(group) has never read topic \(topic); GET \(Self.prefix)/consumers lists the groups.")
                }
                let end = try await service.primitives.events.topic(topic)?.nextOffset ?? 0
                let offset = Int64(number)
                guard offset <= end else {
                    throw AerieError(.unprocessable, "offset \(offset) lies beyond the end of \(topic) (\(end)); pick 0 to \(end).", field: "/offset")
                }
                try await service.primitives.events.commit(group: group, topic: topic, offset: offset)
                if group == LabStore.projectionGroup { try await service.store.catchUp() }
                let now = try await service.primitives.events.committedOffset(group: group, topic: topic) ?? offset
                return try Response.json(JSONValue.object(["group": .string(group), "topic": .string(topic), "rewound_to": .number(Double(offset)),
                                                           "offset": .number(Double(now)), "lag": .number(Double(max(0, end - now)))]))
            },
            GatewayRoute(.post, "\(Self.prefix)/records/{topic}/{offset}/reemit",
                         summary: "Append a copy of a record to its topic (marked reemitted_from); consumers see it again, the projections apply it idempotently",
                         tag: "lab", access: .admin, status: 201, response: .json("LabRecord"), statuses: [503]) { [holder] _, context in
                let service = try holder.service()
                let topic = try context.pathParameter("topic")
                guard BehaviouralRecord.topics.contains(topic) else {
                    throw AerieError.notFound("There is no Lab topic \(topic); the topics are \(BehaviouralRecord.topics.joined(separator: ", ")).")
                }
                guard let offset = Int64(try context.pathParameter("offset")), offset >= 0 else {
                    throw AerieError.notFound("Offsets are whole numbers ≥ 0.")
                }
                let (newOffset, record) = try await service.store.reemit(topic: topic, offset: offset)
                let event = EventRecord(topic: topic, offset: newOffset, key: record.key, payload: Data(), time: Date())
                return try Response.json(Self.body(topic: topic, event: event, record: record), status: .created)
            },
        ]
    }

    static func body(topic: String, event: EventRecord, record: BehaviouralRecord) -> JSONValue {
        .object([
            "topic": .string(topic), "offset": .number(Double(event.offset)), "key": event.key.map(JSONValue.string) ?? .null,
            "timestamp": .number(Double(record.timestamp)),
            "time": .string(LabTime.string(Date(timeIntervalSince1970: Double(record.timestamp) / 1000))),
            "source_service": .string(record.sourceService.rawValue), "destination_service": .string(record.destinationService.rawValue),
            "message_type": .string(record.messageType), "com_type": .string(record.comType), "payload": .string(record.payload),
            "data": record.data ?? .null, "reemitted_from": record.reemittedFrom.map(JSONValue.string) ?? .null,
        ])
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return text
    }

    /// A time parameter in milliseconds since 1970: RFC 3339 or a number of milliseconds.
    static func milliseconds(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = nonEmpty(request.query(name)) else { return nil }
        if let number = Int64(text), number >= 0 { return number }
        for format in [Date.ISO8601FormatStyle.iso8601, Date.ISO8601FormatStyle(includingFractionalSeconds: true)] {
            if let date = try? format.parse(text) { return LabTime.milliseconds(date) }
        }
        throw AerieError.invalid("\(name) must be a time in RFC 3339 (2026-12-06T10:00:00Z) or milliseconds since 1970, not \"\(text)\".", field: name)
    }
}
