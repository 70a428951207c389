// TEMPORARY: a minimal in-memory implementation of the primitives for these tests only, until the real
// `Primitives.memory()` from the `store` branch is on main. Delete this file then and use that.
import AerieCore
import Foundation
import Synchronization

extension Primitives {
    static func testMemory() -> Primitives {
        Primitives(objects: TestObjects(), tables: TestTables(), queues: TestQueues(), events: TestEvents())
    }
}

struct TestObjects: ObjectStore {
    func createBucket(_ name: String) async throws -> BucketInfo { throw AerieError(.internal, "not in tests") }
    func deleteBucket(_ name: String) async throws {}
    func listBuckets() async throws -> [BucketInfo] { [] }
    func bucket(_ name: String) async throws -> BucketInfo? { nil }
    func put<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64) async throws -> ObjectInfo where Body.Element == Data {
        throw AerieError(.internal, "not in tests")
    }
    func get(bucket: String, key: String, range: ByteRange?) async throws -> ObjectData { throw AerieError(.internal, "not in tests") }
    func head(bucket: String, key: String) async throws -> ObjectInfo? { nil }
    func delete(bucket: String, key: String) async throws -> Bool { false }
    func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing { throw AerieError(.internal, "not in tests") }
}

final class TestTables: TableStore {
    private struct Table {
        var schema: TableSchema
        var items: [ItemKey: StoredItem] = [:]
    }
    private let state = Mutex<[String: Table]>([:])

    func createTable(_ schema: TableSchema) async throws {
        try state.withLock { tables in
            if let existing = tables[schema.name] {
                if existing.schema != schema { throw AerieError(.alreadyExists, "different table") }
                return
            }
            tables[schema.name] = Table(schema: schema)
        }
    }
    func deleteTable(_ name: String) async throws { state.withLock { _ = $0.removeValue(forKey: name) } }
    func listTables() async throws -> [TableSchema] { state.withLock { $0.values.map(\.schema) } }
    func table(_ name: String) async throws -> TableSchema? { state.withLock { $0[name]?.schema } }

    private func live(_ item: StoredItem, _ schema: TableSchema, now: Date) -> Bool {
        guard let expiry = schema.expiry(of: item.item) else { return true }
        return expiry > now
    }

    func put(table: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem {
        try state.withLock { tables in
            guard var current = tables[table] else { throw AerieError.notFound("no table \(table)") }
            let key = try current.schema.key(of: item)
            let existing = current.items[key].flatMap { live($0, current.schema, now: Date()) ? $0 : nil }
            switch condition {
            case .none: break
            case .absent: if existing != nil { throw AerieError(.conditionFailed, "exists") }
            case .version(let version): if existing?.version != version { throw AerieError(.conditionFailed, "version") }
            }
            let stored = StoredItem(item: item, version: (existing?.version ?? 0) + 1, owner: owner, updatedAt: Date())
            current.items[key] = stored
            tables[table] = current
            return stored
        }
    }

    func get(table: String, key: ItemKey) async throws -> StoredItem? {
        try state.withLock { tables in
            guard let current = tables[table] else { throw AerieError.notFound("no table \(table)") }
            return current.items[key].flatMap { live($0, current.schema, now: Date()) ? $0 : nil }
        }
    }

    func delete(table: String, key: ItemKey, condition: WriteCondition) async throws -> Bool {
        state.withLock { tables in tables[table]?.items.removeValue(forKey: key) != nil }
    }

    func query(table: String, _ query: TableQuery) async throws -> Page<StoredItem> {
        try state.withLock { tables in
            guard let current = tables[table] else { throw AerieError.notFound("no table \(table)") }
            let schema = current.schema
            var rows: [(sort: KeyValue?, tie: String, item: StoredItem)] = []
            for (key, item) in current.items where live(item, schema, now: Date()) {
                let partition: KeyValue
                let sort: KeyValue?
                if let indexName = query.index {
                    guard let index = schema.indexes.first(where: { $0.name == indexName }) else { throw AerieError.invalid("no index") }
                    guard let indexed = schema.indexKey(of: item.item, index: index) else { continue }
                    (partition, sort) = indexed
                } else {
                    (partition, sort) = (key.partition, key.sort)
                }
                guard partition == query.partition else { continue }
                if let condition = query.sort, !condition.matches(sort) { continue }
                if let owner = query.owner, item.owner != owner { continue }
                if query.filter.contains(where: { item.item[$0.key] != $0.value }) { continue }
                rows.append((sort, (key.sort?.sortable ?? "") + key.partition.sortable, item))
            }
            rows.sort { a, b in
                let ka = (a.sort?.sortable ?? "") + "\u{0}" + a.tie
                let kb = (b.sort?.sortable ?? "") + "\u{0}" + b.tie
                return query.descending ? ka > kb : ka < kb
            }
            let start = query.cursor.flatMap(Int.init) ?? 0
            let end = min(rows.count, start + query.limit)
            let items = start < end ? rows[start..<end].map(\.item) : []
            return Page(items: items, nextCursor: end < rows.count ? String(end) : nil)
        }
    }

    func purgeExpired(now: Date) async throws -> Int { 0 }
}

final class TestQueues: QueueStore {
    private struct Message {
        var id: String
        var body: Data
        var attempts = 0
        var receipt: String?
        var visibleAt: Date
        var sentAt: Date
        var lastError: String?
    }
    private struct Queue {
        var configuration: QueueConfiguration
        var messages: [Message] = []
        var dead: [DeadLetter] = []
        var dedup: [String: (id: String, until: Date)] = [:]
    }
    private let state = Mutex<[String: Queue]>([:])

    func createQueue(_ configuration: QueueConfiguration) async throws {
        state.withLock { queues in
            if queues[configuration.name] == nil { queues[configuration.name] = Queue(configuration: configuration) } else { queues[configuration.name]?.configuration = configuration }
        }
    }
    func deleteQueue(_ name: String) async throws { state.withLock { _ = $0.removeValue(forKey: name) } }
    func queue(_ name: String) async throws -> QueueConfiguration? { state.withLock { $0[name]?.configuration } }
    func listQueues() async throws -> [QueueConfiguration] { state.withLock { $0.values.map(\.configuration) } }
    func stats(_ name: String, now: Date) async throws -> QueueStats {
        try state.withLock { queues in
            guard let queue = queues[name] else { throw AerieError.notFound("no queue") }
            let visible = queue.messages.filter { $0.visibleAt <= now && $0.receipt == nil }.count
            let inFlight = queue.messages.filter { $0.receipt != nil && $0.visibleAt > now }.count
            return QueueStats(name: name, visible: visible, inFlight: inFlight, delayed: queue.messages.count - visible - inFlight, deadLetters: queue.dead.count)
        }
    }

    func send(queue name: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String] {
        try state.withLock { queues in
            guard var queue = queues[name] else { throw AerieError.notFound("no queue \(name)") }
            var ids: [String] = []
            for message in messages {
                if let dedupId = message.deduplicationId, let previous = queue.dedup[dedupId], previous.until > now {
                    ids.append(previous.id)
                    continue
                }
                let id = UUID().uuidString
                queue.messages.append(Message(id: id, body: message.body, visibleAt: now.adding(message.delay), sentAt: now))
                if let dedupId = message.deduplicationId { queue.dedup[dedupId] = (id, now.adding(queue.configuration.deduplicationWindow)) }
                ids.append(id)
            }
            queues[name] = queue
            return ids
        }
    }

    func receive(queue name: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage] {
        try state.withLock { queues in
            guard var queue = queues[name] else { throw AerieError.notFound("no queue \(name)") }
            var result: [ReceivedMessage] = []
            var index = 0
            while index < queue.messages.count && result.count < max {
                var message = queue.messages[index]
                guard message.visibleAt <= now else { index += 1; continue }
                if message.attempts >= queue.configuration.maxAttempts {
                    queue.dead.append(DeadLetter(id: message.id, queue: name, body: message.body, attempts: message.attempts, lastError: message.lastError, sentAt: message.sentAt, deadAt: now))
                    queue.messages.remove(at: index)
                    continue
                }
                message.attempts += 1
                message.receipt = UUID().uuidString
                message.visibleAt = now.adding(visibilityTimeout ?? queue.configuration.visibilityTimeout)
                queue.messages[index] = message
                result.append(ReceivedMessage(id: message.id, queue: name, body: message.body, attempts: message.attempts, receipt: message.receipt ?? "", sentAt: message.sentAt))
                index += 1
            }
            queues[name] = queue
            return result
        }
    }

    func ack(queue name: String, receipt: String) async throws {
        try state.withLock { queues in
            guard let index = queues[name]?.messages.firstIndex(where: { $0.receipt == receipt }) else { throw AerieError.notFound("stale receipt") }
            queues[name]?.messages.remove(at: index)
        }
    }

    func nack(queue name: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws {
        try state.withLock { queues in
            guard var queue = queues[name], let index = queue.messages.firstIndex(where: { $0.receipt == receipt }) else { throw AerieError.notFound("stale receipt") }
            var message = queue.messages[index]
            message.receipt = nil
            message.lastError = error
            message.visibleAt = now.adding(delay ?? queue.configuration.backoff(afterAttempts: message.attempts))
            queue.messages[index] = message
            queues[name] = queue
        }
    }

    func extendVisibility(queue name: String, receipt: String, by duration: Duration, now: Date) async throws {
        try state.withLock { queues in
            guard let index = queues[name]?.messages.firstIndex(where: { $0.receipt == receipt }) else { throw AerieError.notFound("stale receipt") }
            queues[name]?.messages[index].visibleAt = now.adding(duration)
        }
    }

    func deadLetters(queue name: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter> {
        state.withLock { queues in Page(items: Array((queues[name]?.dead ?? []).prefix(limit)), nextCursor: nil) }
    }

    func redrive(queue name: String, ids: [String]?, now: Date) async throws -> Int { 0 }

    /// Test hook: makes every in-flight message visible now, as if its worker had died long ago.
    func expireLeases() {
        state.withLock { queues in
            for name in queues.keys {
                for index in queues[name]!.messages.indices {
                    queues[name]!.messages[index].receipt = nil
                    queues[name]!.messages[index].visibleAt = .distantPast
                }
            }
        }
    }
}

final class TestEvents: EventLog {
    private let state = Mutex<(topics: [String: [EventRecord]], offsets: [String: Int64])>(([:], [:]))

    func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64] {
        state.withLock { state in
            var list = state.topics[topic] ?? []
            var offsets: [Int64] = []
            for event in events {
                let offset = Int64(list.count)
                list.append(EventRecord(topic: topic, offset: offset, key: event.key, payload: event.payload, time: Date()))
                offsets.append(offset)
            }
            state.topics[topic] = list
            return offsets
        }
    }
    func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord] {
        state.withLock { state in Array((state.topics[topic] ?? []).dropFirst(Int(offset)).prefix(limit)) }
    }
    func topics() async throws -> [TopicInfo] { state.withLock { $0.topics.map { TopicInfo(name: $0.key, nextOffset: Int64($0.value.count)) } } }
    func topic(_ name: String) async throws -> TopicInfo? { state.withLock { $0.topics[name].map { TopicInfo(name: name, nextOffset: Int64($0.count)) } } }
    func commit(group: String, topic: String, offset: Int64) async throws { state.withLock { $0.offsets["\(group)|\(topic)"] = offset } }
    func committedOffset(group: String, topic: String) async throws -> Int64? { state.withLock { $0.offsets["\(group)|\(topic)"] } }
    func consumerOffsets(topic: String?) async throws -> [ConsumerOffset] { [] }
}
