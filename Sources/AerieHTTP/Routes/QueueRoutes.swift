import AerieAuth
import AerieCore
import Foundation
import Hummingbird

/// The queue primitive over HTTP: `/v1/queues/…` (for out-of-process functions and operators).
/// Message bodies are JSON; durations are seconds.
struct QueueRoutes {
    let queues: any QueueStore
    let configuration: GatewayConfiguration

    struct CreateQueue: Decodable {
        var name: String
        var visibilityTimeout: Double?
        var maxAttempts: Int?
        var backoffBase: Double?
        var maxBackoff: Double?
        var deduplicationWindow: Double?
        enum CodingKeys: String, CodingKey {
            case name
            case visibilityTimeout = "visibility_timeout"
            case maxAttempts = "max_attempts"
            case backoffBase = "backoff_base"
            case maxBackoff = "max_backoff"
            case deduplicationWindow = "deduplication_window"
        }
    }

    struct QueueBody: Encodable {
        struct Stats: Encodable {
            var visible: Int
            var inFlight: Int
            var delayed: Int
            var deadLetters: Int
            enum CodingKeys: String, CodingKey {
                case visible, delayed
                case inFlight = "in_flight"
                case deadLetters = "dead_letters"
            }
        }
        var name: String
        var visibilityTimeout: Double
        var maxAttempts: Int
        var backoffBase: Double
        var maxBackoff: Double
        var deduplicationWindow: Double
        var stats: Stats?
        init(_ configuration: QueueConfiguration, stats: QueueStats?) {
            name = configuration.name
            visibilityTimeout = configuration.visibilityTimeout.seconds
            maxAttempts = configuration.maxAttempts
            backoffBase = configuration.backoffBase.seconds
            maxBackoff = configuration.maxBackoff.seconds
            deduplicationWindow = configuration.deduplicationWindow.seconds
            self.stats = stats.map { Stats(visible: $0.visible, inFlight: $0.inFlight, delayed: $0.delayed, deadLetters: $0.deadLetters) }
        }
        enum CodingKeys: String, CodingKey {
            case name, stats
            case visibilityTimeout = "visibility_timeout"
            case maxAttempts = "max_attempts"
            case backoffBase = "backoff_base"
            case maxBackoff = "max_backoff"
            case deduplicationWindow = "deduplication_window"
        }
    }

    struct SendMessages: Decodable {
        struct Message: Decodable {
            var body: JSONValue
            var delay: Double?
            var deduplicationId: String?
            enum CodingKeys: String, CodingKey {
                case body, delay
                case deduplicationId = "deduplication_id"
            }
        }
        var messages: [Message]
    }

    struct Receive: Decodable {
        var max: Int?
        var visibilityTimeout: Double?
        enum CodingKeys: String, CodingKey {
            case max
            case visibilityTimeout = "visibility_timeout"
        }
    }

    struct Ack: Decodable {
        var receipt: String
    }

    struct Nack: Decodable {
        var receipt: String
        var error: String?
        var delay: Double?
    }

    struct Redrive: Decodable {
        var ids: [String]?
    }

    struct MessageBody: Encodable {
        var id: String
        var body: JSONValue
        var attempts: Int
        var receipt: String
        var sentAt: Date
        enum CodingKeys: String, CodingKey {
            case id, body, attempts, receipt
            case sentAt = "sent_at"
        }
    }

    struct DeadLetterBody: Encodable {
        var id: String
        var body: JSONValue
        var attempts: Int
        var lastError: String?
        var sentAt: Date
        var deadAt: Date
        enum CodingKeys: String, CodingKey {
            case id, body, attempts
            case lastError = "last_error"
            case sentAt = "sent_at"
            case deadAt = "dead_at"
        }
    }

    /// A stored body as JSON: the JSON it holds, or a string when it is not JSON.
    static func json(_ data: Data) -> JSONValue {
        (try? JSONValue.parse(data)) ?? .string(String(decoding: data, as: UTF8.self))
    }

    static func duration(_ seconds: Double?, field: String) throws -> Duration? {
        guard let seconds else { return nil }
        guard seconds >= 0, seconds.isFinite, seconds <= 366 * 86_400 else {
            throw AerieError.invalid("\(field) must be a number of seconds from 0 to 31622400.", field: "/\(field)")
        }
        return .seconds(double: seconds)
    }

    func existing(_ name: String) async throws -> QueueConfiguration {
        guard let queue = try await queues.queue(name) else {
            throw AerieError.notFound("No queue named \"\(name)\"; create it with POST /v1/queues.")
        }
        return queue
    }

    var routes: [GatewayRoute] {
        let access = Access.platform(scope: APIKeyScope.queues)
        let limit = configuration.maxJSONBodySize
        return [
            GatewayRoute(.post, "/v1/queues", summary: "Create a queue (or update its configuration)", tag: "queues", access: access,
                         request: .json("CreateQueue"), status: 201, response: .json("Queue")) { [queues] request, _ in
                let body = try await request.decodeJSON(CreateQueue.self, limit: limit)
                var queue = QueueConfiguration(name: body.name)
                if let value = try Self.duration(body.visibilityTimeout, field: "visibility_timeout") { queue.visibilityTimeout = value }
                if let value = body.maxAttempts { queue.maxAttempts = value }
                if let value = try Self.duration(body.backoffBase, field: "backoff_base") { queue.backoffBase = value }
                if let value = try Self.duration(body.maxBackoff, field: "max_backoff") { queue.maxBackoff = value }
                if let value = try Self.duration(body.deduplicationWindow, field: "deduplication_window") { queue.deduplicationWindow = value }
                try queue.validate()
                try await queues.createQueue(queue)
                return try Response.json(QueueBody(queue, stats: nil), status: .created, headers: [.location: "/v1/queues/\(queue.name)"])
            },
            GatewayRoute(.get, "/v1/queues", summary: "List queues with their message counts", tag: "queues", access: access,
                         response: .json("QueueList")) { [queues] _, _ in
                var items: [QueueBody] = []
                for queue in try await queues.listQueues() {
                    items.append(QueueBody(queue, stats: try await queues.stats(queue.name)))
                }
                return try Response.json(ListBody(items: items, nextCursor: nil))
            },
            GatewayRoute(.get, "/v1/queues/{queue}", summary: "One queue's configuration and message counts", tag: "queues",
                         access: access, response: .json("Queue")) { [self] _, context in
                let queue = try await existing(try context.pathParameter("queue"))
                return try Response.json(QueueBody(queue, stats: try await queues.stats(queue.name)))
            },
            GatewayRoute(.delete, "/v1/queues/{queue}", summary: "Delete a queue and its messages (409 for an app's or a function's own)",
                         tag: "queues", access: access, status: 204, statuses: [409]) { [self] _, context in
                let name = try context.pathParameter("queue")
                _ = try await existing(name)
                try await queues.deleteQueue(name)
                return Response.empty(.noContent)
            },
            GatewayRoute(.post, "/v1/queues/{queue}/messages", summary: "Send a batch of messages", tag: "queues", access: access,
                         request: .json("SendMessages"), status: 201, response: .json("MessageIds")) { [self] request, context in
                let name = try context.pathParameter("queue")
                let body = try await request.decodeJSON(SendMessages.self, limit: limit)
                guard !body.messages.isEmpty, body.messages.count <= 1000 else {
                    throw AerieError.invalid("Send 1 to 1000 messages at a time.", field: "/messages")
                }
                _ = try await existing(name)
                let outgoing = try body.messages.enumerated().map { index, message in
                    OutgoingMessage(body: message.body.encoded(),
                                    delay: try Self.duration(message.delay, field: "messages/\(index)/delay") ?? .zero,
                                    deduplicationId: message.deduplicationId)
                }
                let ids = try await queues.send(queue: name, outgoing)
                return try Response.json(["ids": ids], status: .created)
            },
            GatewayRoute(.post, "/v1/queues/{queue}/receive", summary: "Receive visible messages (they stay invisible until acked or the timeout ends)",
                         tag: "queues", access: access, request: .json("Receive"), response: .json("MessageList")) { [self] request, context in
                let name = try context.pathParameter("queue")
                let body = try await request.decodeOptionalJSON(Receive.self, limit: limit, empty: Receive())
                let max = body.max ?? 1
                guard (1...100).contains(max) else { throw AerieError.invalid("max must be from 1 to 100.", field: "/max") }
                _ = try await existing(name)
                let messages = try await queues.receive(queue: name, max: max,
                                                        visibilityTimeout: try Self.duration(body.visibilityTimeout, field: "visibility_timeout"))
                let items = messages.map { MessageBody(id: $0.id, body: Self.json($0.body), attempts: $0.attempts, receipt: $0.receipt, sentAt: $0.sentAt) }
                return try Response.json(ListBody(items: items, nextCursor: nil))
            },
            GatewayRoute(.post, "/v1/queues/{queue}/ack", summary: "Acknowledge a delivery: the message is gone", tag: "queues",
                         access: access, request: .json("Ack"), status: 204) { [queues] request, context in
                let name = try context.pathParameter("queue")
                let body = try await request.decodeJSON(Ack.self, limit: limit)
                try await queues.ack(queue: name, receipt: body.receipt)
                return Response.empty(.noContent)
            },
            GatewayRoute(.post, "/v1/queues/{queue}/nack", summary: "Reject a delivery: redelivered after a backoff, or dead-lettered",
                         tag: "queues", access: access, request: .json("Nack"), status: 204) { [queues] request, context in
                let name = try context.pathParameter("queue")
                let body = try await request.decodeJSON(Nack.self, limit: limit)
                try await queues.nack(queue: name, receipt: body.receipt, error: body.error, delay: try Self.duration(body.delay, field: "delay"))
                return Response.empty(.noContent)
            },
            GatewayRoute(.get, "/v1/queues/{queue}/dead-letters", summary: "Messages that ran out of attempts", tag: "queues",
                         access: access, response: .json("DeadLetterList"),
                         query: [("cursor", "From a previous page's next_cursor."), ("limit", "1–1000, default 100.")]) { [self] request, context in
                let name = try context.pathParameter("queue")
                _ = try await existing(name)
                let page = try await queues.deadLetters(queue: name, limit: try request.queryInt("limit", default: 100, range: 1...1000),
                                                        cursor: request.query("cursor"))
                let items = page.items.map {
                    DeadLetterBody(id: $0.id, body: Self.json($0.body), attempts: $0.attempts, lastError: $0.lastError, sentAt: $0.sentAt, deadAt: $0.deadAt)
                }
                return try Response.json(ListBody(items: items, nextCursor: page.nextCursor))
            },
            GatewayRoute(.post, "/v1/queues/{queue}/redrive", summary: "Move dead letters (all, or by id) back to the queue",
                         tag: "queues", access: access, request: .json("Redrive"), response: .json("Redriven")) { [self] request, context in
                let name = try context.pathParameter("queue")
                let body = try await request.decodeOptionalJSON(Redrive.self, limit: limit, empty: Redrive())
                _ = try await existing(name)
                let count = try await queues.redrive(queue: name, ids: body.ids, now: Date())
                return try Response.json(["redriven": count])
            },
        ]
    }
}
