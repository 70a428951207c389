import Collections
import Foundation

/// The in-memory ``QueueStore`` driver, for tests. Time comes only from the `now:` arguments.
public actor MemoryQueueStore: QueueStore {
    private struct Message {
        var id: String
        var body: Data
        var sentAt: Date
        /// Not deliverable before this (delay, backoff, or the end of the current visibility timeout).
        var visibleAt: Date
        /// Deliveries so far.
        var attempts: Int
        /// The receipt of the current delivery; nil when not delivered since the last send, nack or redrive.
        var receipt: String?
        var lastError: String?
    }

    private struct DeadEntry {
        var sequence: Int64
        var letter: DeadLetter
    }

    private struct Queue {
        var configuration: QueueConfiguration
        /// Messages in send order (oldest first).
        var messages: OrderedDictionary<String, Message> = [:]
        /// Message id by the receipt of its current delivery.
        var receipts: [String: String] = [:]
        var deadLetters: OrderedDictionary<String, DeadEntry> = [:]
        var nextDeadSequence: Int64 = 0
        /// Message id and the end of its deduplication window, by deduplication id.
        var deduplication: [String: (id: String, until: Date)] = [:]

        mutating func kill(_ id: String, now: Date) {
            guard let message = messages.removeValue(forKey: id) else { return }
            if let receipt = message.receipt { receipts[receipt] = nil }
            let letter = DeadLetter(id: message.id, queue: configuration.name, body: message.body, attempts: message.attempts,
                                    lastError: message.lastError, sentAt: message.sentAt, deadAt: now)
            deadLetters[id] = DeadEntry(sequence: nextDeadSequence, letter: letter)
            nextDeadSequence += 1
        }
    }

    private var queues: [String: Queue] = [:]

    public init() {}

    public func createQueue(_ configuration: QueueConfiguration) async throws {
        if queues[configuration.name] != nil {
            queues[configuration.name]?.configuration = configuration
        } else {
            queues[configuration.name] = Queue(configuration: configuration)
        }
    }

    public func deleteQueue(_ name: String) async throws {
        _ = try existing(name)
        queues[name] = nil
    }

    public func queue(_ name: String) async throws -> QueueConfiguration? {
        return queues[name]?.configuration
    }

    public func listQueues() async throws -> [QueueConfiguration] {
        queues.values.map(\.configuration).sorted { $0.name < $1.name }
    }

    public func stats(_ name: String, now: Date) async throws -> QueueStats {
        let queue = try existing(name)
        var stats = QueueStats(name: name, visible: 0, inFlight: 0, delayed: 0, deadLetters: queue.deadLetters.count)
        for message in queue.messages.values {
            if message.visibleAt <= now {
                stats.visible += 1
            } else if message.receipt != nil {
                stats.inFlight += 1
            } else {
                stats.delayed += 1
            }
        }
        return stats
    }

    public func send(queue name: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String] {
        return try withQueue(name) { queue in
            Self.send(messages, to: &queue, now: now)
        }
    }

    private static func send(_ messages: [OutgoingMessage], to queue: inout Queue, now: Date) -> [String] {
        queue.deduplication = queue.deduplication.filter { $0.value.until > now }
        var ids: [String] = []
        ids.reserveCapacity(messages.count)
        for outgoing in messages {
            if let dedup = outgoing.deduplicationId, let first = queue.deduplication[dedup] {
                ids.append(first.id)
                continue
            }
            let id = RandomUUID.string()
            queue.messages[id] = Message(id: id, body: outgoing.body, sentAt: now, visibleAt: now.adding(outgoing.delay), attempts: 0)
            if let dedup = outgoing.deduplicationId {
                queue.deduplication[dedup] = (id, now.adding(queue.configuration.deduplicationWindow))
            }
            ids.append(id)
        }
        return ids
    }

    public func receive(queue name: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage] {
        _ = try existing(name)
        return try withQueue(name) { queue in
            Self.receive(from: &queue, max: max, visibilityTimeout: visibilityTimeout, now: now)
        }
    }

    private static func receive(from queue: inout Queue, max: Int, visibilityTimeout: Duration?, now: Date) -> [ReceivedMessage] {
        let name = queue.configuration.name
        let timeout = visibilityTimeout ?? queue.configuration.visibilityTimeout
        var received: [ReceivedMessage] = []
        var exhausted: [String] = []
        for (id, message) in queue.messages where message.visibleAt <= now {
            if received.count == max { break }
            if message.attempts >= queue.configuration.maxAttempts {
                exhausted.append(id)
                continue
            }
            if let old = message.receipt { queue.receipts[old] = nil }
            let receipt = RandomUUID.string()
            var delivered = message
            delivered.attempts += 1
            delivered.receipt = receipt
            delivered.visibleAt = now.adding(timeout)
            queue.messages[id] = delivered
            queue.receipts[receipt] = id
            received.append(ReceivedMessage(id: id, queue: name, body: message.body, attempts: delivered.attempts,
                                            receipt: receipt, sentAt: message.sentAt))
        }
        for id in exhausted { queue.kill(id, now: now) }
        return received
    }

    public func ack(queue name: String, receipt: String) async throws {
        try withQueue(name) { queue in
            let id = try Self.delivery(receipt, in: queue)
            queue.receipts[receipt] = nil
            queue.messages[id] = nil
        }
    }

    public func nack(queue name: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws {
        try withQueue(name) { queue in
            let id = try Self.delivery(receipt, in: queue)
            guard var message = queue.messages[id] else { throw Self.stale(receipt) }
            queue.receipts[receipt] = nil
            message.receipt = nil
            message.lastError = error
            queue.messages[id] = message
            if message.attempts >= queue.configuration.maxAttempts {
                queue.kill(id, now: now)
            } else {
                message.visibleAt = now.adding(delay ?? queue.configuration.backoff(afterAttempts: message.attempts))
                queue.messages[id] = message
            }
        }
    }

    public func extendVisibility(queue name: String, receipt: String, by duration: Duration, now: Date) async throws {
        try withQueue(name) { queue in
            let id = try Self.delivery(receipt, in: queue)
            queue.messages[id]?.visibleAt = now.adding(duration)
        }
    }

    public func deadLetters(queue name: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter> {
        let queue = try existing(name)
        var after: Int64 = -1
        if let cursor {
            guard let data = Base64URL.decode(cursor), let text = String(data: data, encoding: .utf8), let value = Int64(text) else {
                throw AerieError.invalid("The cursor is not one this queue returned. Pass back nextCursor unchanged, or leave it out to start over.", field: "cursor")
            }
            after = value
        }
        let entries = queue.deadLetters.values.filter { $0.sequence > after }
        let page = entries.prefix(limit)
        let next = entries.count > limit ? page.last.map { Base64URL.encode(Data(String($0.sequence).utf8)) } : nil
        return Page(items: page.map(\.letter), nextCursor: next)
    }

    public func redrive(queue name: String, ids: [String]?, now: Date) async throws -> Int {
        try withQueue(name) { queue in
            let chosen = ids ?? Array(queue.deadLetters.keys)
            var moved = 0
            for id in chosen {
                guard let entry = queue.deadLetters.removeValue(forKey: id) else { continue }
                let letter = entry.letter
                queue.messages[id] = Message(id: id, body: letter.body, sentAt: letter.sentAt, visibleAt: now, attempts: 0)
                moved += 1
            }
            return moved
        }
    }

    // MARK: - Internals

    private func existing(_ name: String) throws -> Queue {
        guard let queue = queues[name] else { throw Self.missing(name) }
        return queue
    }

    /// Runs `body` on the named queue in place (taken out of the dictionary meanwhile, so it is not copied on write).
    private func withQueue<T>(_ name: String, _ body: (inout Queue) throws -> T) throws -> T {
        guard var queue = queues.removeValue(forKey: name) else { throw Self.missing(name) }
        defer { queues[name] = queue }
        return try body(&queue)
    }

    private static func missing(_ name: String) -> AerieError {
        AerieError.notFound("Queue \"\(name)\" does not exist. Create it first.")
    }

    private static func delivery(_ receipt: String, in queue: Queue) throws -> String {
        guard let id = queue.receipts[receipt] else { throw stale(receipt) }
        return id
    }

    private static func stale(_ receipt: String) -> AerieError {
        AerieError.notFound("The receipt is stale: the message was acked, nacked or delivered again since. Receive it again to get a fresh receipt.")
    }
}
