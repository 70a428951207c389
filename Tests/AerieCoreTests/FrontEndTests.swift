import AerieCore
import AerieTesting
import Foundation
import Synchronization
import Testing

/// A driver that accepts nothing: every call that reaches it throws `reached`. With it behind a front end, a
/// call that throws `invalid-argument` proves the front end checked it without the driver.
struct UnreachableDriver: ObjectStore, TableStore, QueueStore, EventLog {
    static let reached = AerieError(.internal, "reached the driver")

    func createBucket(_ name: String) async throws -> BucketInfo { throw Self.reached }
    func deleteBucket(_ name: String) async throws { throw Self.reached }
    func listBuckets() async throws -> [BucketInfo] { throw Self.reached }
    func bucket(_ name: String) async throws -> BucketInfo? { throw Self.reached }
    func put<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64) async throws
        -> ObjectInfo where Body.Element == Data { throw Self.reached }
    func read(bucket: String, key: String, range: ByteRange?) async throws -> ObjectStream { throw Self.reached }
    func head(bucket: String, key: String) async throws -> ObjectInfo? { throw Self.reached }
    func delete(bucket: String, key: String) async throws -> Bool { throw Self.reached }
    func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing { throw Self.reached }

    func createTable(_ schema: TableSchema) async throws { throw Self.reached }
    func deleteTable(_ name: String) async throws { throw Self.reached }
    func listTables() async throws -> [TableSchema] { throw Self.reached }
    func table(_ name: String) async throws -> TableSchema? { throw Self.reached }
    func put(table: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem { throw Self.reached }
    func get(table: String, key: ItemKey) async throws -> StoredItem? { throw Self.reached }
    func delete(table: String, key: ItemKey, condition: WriteCondition) async throws -> Bool { throw Self.reached }
    func query(table: String, _ query: TableQuery) async throws -> Page<StoredItem> { throw Self.reached }
    func purgeExpired(now: Date) async throws -> Int { throw Self.reached }

    func createQueue(_ configuration: QueueConfiguration) async throws { throw Self.reached }
    func deleteQueue(_ name: String) async throws { throw Self.reached }
    func queue(_ name: String) async throws -> QueueConfiguration? { throw Self.reached }
    func listQueues() async throws -> [QueueConfiguration] { throw Self.reached }
    func stats(_ name: String, now: Date) async throws -> QueueStats { throw Self.reached }
    func send(queue: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String] { throw Self.reached }
    func receive(queue: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage] { throw Self.reached }
    func ack(queue: String, receipt: String) async throws { throw Self.reached }
    func nack(queue: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws { throw Self.reached }
    func extendVisibility(queue: String, receipt: String, by: Duration, now: Date) async throws { throw Self.reached }
    func deadLetters(queue: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter> { throw Self.reached }
    func redrive(queue: String, ids: [String]?, now: Date) async throws -> Int { throw Self.reached }

    func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64] { throw Self.reached }
    func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord] { throw Self.reached }
    func topics() async throws -> [TopicInfo] { throw Self.reached }
    func topic(_ name: String) async throws -> TopicInfo? { throw Self.reached }
    func commit(group: String, topic: String, offset: Int64) async throws { throw Self.reached }
    func committedOffset(group: String, topic: String) async throws -> Int64? { throw Self.reached }
    func consumerOffsets(topic: String?) async throws -> [ConsumerOffset] { throw Self.reached }
}

/// The names, keys and limits rules live in each primitive's front end: a driver that checks nothing is still
/// protected, so a new driver (PostgreSQL, S3) needs no copy of them.
@Suite struct FrontEndTests {
    let primitives = Primitives(objects: UnreachableDriver(), tables: UnreachableDriver(), queues: UnreachableDriver(),
                                events: UnreachableDriver(), vectors: MemoryVectorStore())

    /// Expects `invalid-argument` from the front end, never the driver.
    func refused(_ what: String, _ body: () async throws -> Void) async {
        await expectAerieError(.invalidArgument, Comment(rawValue: what)) { try await body() }
    }

    /// Expects the call to pass the front end and reach the driver.
    func reached(_ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what): the driver should have been reached")
        } catch let error as AerieError {
            #expect(error == UnreachableDriver.reached, "\(what): \(error)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test func objects() async {
        let objects = primitives.objects
        await refused("bucket name") { _ = try await objects.createBucket("Bad_Bucket") }
        await refused("control-character key") { _ = try await objects.get(bucket: "photos", key: "bad\u{0}key", range: nil) }
        // As in S3, a '..' segment is part of a key like any other character (drivers never build paths from keys).
        await reached("dot-segment key") { _ = try await objects.get(bucket: "photos", key: "../etc/passwd", range: nil) }
        await refused("empty key") { _ = try await objects.put(bucket: "photos", key: "", data: Data()) }
        await refused("limit") { _ = try await objects.list(bucket: "photos", ListObjectsRequest(limit: 0)) }
        await refused("delimiter") { _ = try await objects.list(bucket: "photos", ListObjectsRequest(delimiter: "")) }
        await reached("valid get") { _ = try await objects.get(bucket: "photos", key: "a/b.txt", range: nil) }
    }

    @Test func tables() async {
        let tables = primitives.tables
        await refused("table name") { _ = try await tables.get(table: "bad name", key: ItemKey(partition: "a")) }
        await refused("schema") { try await tables.createTable(TableSchema(name: "t", partitionKey: "")) }
        await refused("limit") { _ = try await tables.query(table: "t", TableQuery(partition: "a", limit: 0)) }
        await reached("valid query") { _ = try await tables.query(table: "t", TableQuery(partition: "a")) }
    }

    @Test func queues() async {
        let queues = primitives.queues
        await refused("queue name") { _ = try await queues.stats("bad name", now: Date()) }
        await refused("negative delay") {
            _ = try await queues.send(queue: "q", [OutgoingMessage(body: Data(), delay: .seconds(-1))], now: Date())
        }
        await refused("max") { _ = try await queues.receive(queue: "q", max: 0, visibilityTimeout: nil, now: Date()) }
        await refused("visibility") { _ = try await queues.receive(queue: "q", max: 1, visibilityTimeout: .zero, now: Date()) }
        await refused("extension") { try await queues.extendVisibility(queue: "q", receipt: "r", by: .seconds(-1), now: Date()) }
        await refused("limit") { _ = try await queues.deadLetters(queue: "q", limit: 0, cursor: nil) }
        await reached("valid send") { _ = try await queues.send(queue: "q", [OutgoingMessage(body: Data())], now: Date()) }
    }

    @Test func events() async throws {
        let events = primitives.events
        await refused("topic") { _ = try await events.append(topic: "bad topic", [OutgoingEvent(key: nil, payload: Data())]) }
        await refused("offset") { _ = try await events.read(topic: "t", from: -1, limit: 1) }
        await refused("limit") { _ = try await events.read(topic: "t", from: 0, limit: 0) }
        await refused("group") { try await events.commit(group: "bad group", topic: "t", offset: 0) }
        await reached("valid read") { _ = try await events.read(topic: "t", from: 0, limit: 1) }
        // An empty append needs no driver.
        #expect(try await events.append(topic: "t", []) == [])
    }

    @Test func frontEndsWrapOnceAndStayOnReassignment() {
        var bundle = primitives
        let checked = bundle.events
        bundle.events = checked
        #expect((bundle.events as? CheckedEventLog)?.driver is UnreachableDriver)
        bundle.objects = UnreachableDriver()
        #expect(bundle.objects is CheckedObjectStore)
    }
}

@Suite struct TopicSignalsTests {
    final class Counter: Sendable {
        let count = Mutex(0)
        func increment() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    @Test("Appends and object writes through the front ends announce their topic; reads and refused writes do not")
    func frontEndsAnnounce() async throws {
        let primitives = Primitives.memory()
        let objectEvents = Counter(), jobs = Counter(), other = Counter()
        let subscription = primitives.signals.subscribe(ObjectEvent.topic) { objectEvents.increment() }
        _ = primitives.signals.subscribe("jobs") { jobs.increment() }
        _ = primitives.signals.subscribe("other") { other.increment() }
        try await primitives.objects.ensureBucket("photos")
        _ = try await primitives.objects.put(bucket: "photos", key: "a.jpg", data: Data("x".utf8))
        #expect(objectEvents.value == 1)
        _ = try await primitives.objects.get(bucket: "photos", key: "a.jpg", range: nil)
        _ = try? await primitives.objects.put(bucket: "photos", key: "bad\u{0}key", data: Data())
        #expect(objectEvents.value == 1)
        #expect(try await primitives.objects.delete(bucket: "photos", key: "a.jpg"))
        #expect(try await primitives.objects.delete(bucket: "photos", key: "a.jpg") == false)
        #expect(objectEvents.value == 2)
        try await primitives.events.append(topic: "jobs", payload: Data("1".utf8))
        #expect(jobs.value == 1)
        #expect(other.value == 0)
        primitives.signals.unsubscribe(subscription)
        _ = try await primitives.objects.put(bucket: "photos", key: "b.jpg", data: Data("x".utf8))
        #expect(objectEvents.value == 2)
    }
}
