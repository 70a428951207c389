import AerieCore
import AeriePostgres
import AerieTesting
import Foundation
import Testing

/// The tables, queue, events and objects conformance suites on PostgreSQL: each case on its own fresh database of a scratch server started from
/// Debian's binaries (`ScratchPostgres`), the other primitives in memory. Skipped, saying why, where the server
/// binaries are absent (`make test` installs them).
@Suite(.enabled(if: ScratchPostgres.unavailableReason == nil, Comment(rawValue: ScratchPostgres.unavailableReason ?? "")))
struct PostgresConformanceTests {
    @Test(arguments: TableStoreConformance.cases)
    func tables(_ check: ConformanceCase) async throws {
        try await run(check, PostgresTableStore.migrations) { $0.tables = PostgresTableStore(database: $1) }
    }

    @Test(arguments: QueueStoreConformance.cases)
    func queues(_ check: ConformanceCase) async throws {
        try await run(check, PostgresQueueStore.migrations) { $0.queues = PostgresQueueStore(database: $1) }
    }

    @Test(arguments: EventLogConformance.cases)
    func events(_ check: ConformanceCase) async throws {
        try await run(check, PostgresEventLog.migrations) { $0.events = PostgresEventLog(database: $1) }
    }

    @Test(arguments: ObjectStoreConformance.cases)
    func objects(_ check: ConformanceCase) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-pg-bodies-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bodies = try DirectoryBodyStore(directory: folder)
        // Object events are checked on `primitives.events`, so the event log is on the same database.
        try await run(check, PostgresEventLog.migrations + PostgresObjectStore.migrations) {
            $0.events = PostgresEventLog(database: $1)
            $0.objects = PostgresObjectStore(database: $1, bodies: bodies)
        }
    }

    /// Runs `check` on in-memory primitives with one of them replaced by its driver on a fresh database.
    private func run(_ check: ConformanceCase, _ migrations: [PostgresDatabase.Migration],
                     install: (inout Primitives, PostgresDatabase) -> Void) async throws {
        let database = try await PostgresDatabase.open(url: try ScratchPostgres.shared().createDatabase(), migrations: migrations)
        defer { database.close() }
        var primitives = Primitives.memory()
        install(&primitives, database)
        try await check.run(primitives)
    }
}

@Suite(.enabled(if: ScratchPostgres.unavailableReason == nil, Comment(rawValue: ScratchPostgres.unavailableReason ?? "")))
struct PostgresDatabaseTests {
    @Test("Nodes that start at the same moment apply each migration once")
    func concurrentMigrations() async throws {
        let url = try ScratchPostgres.shared().createDatabase()
        let databases = try await withThrowingTaskGroup(of: PostgresDatabase.self) { group in
            for _ in 0..<6 {
                group.addTask { try await PostgresDatabase.open(url: url, migrations: PostgresTableStore.migrations) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { databases.forEach { $0.close() } }
        #expect(databases.count == 6)
        let tables = PostgresTableStore(database: databases[0])
        try await tables.createTable(TableSchema(name: "t", partitionKey: "id"))
        #expect(try await PostgresTableStore(database: databases[5]).table("t")?.partitionKey == "id")
    }

    @Test("Concurrent create-only writes of one key from several nodes: exactly one succeeds")
    func createOnlyRace() async throws {
        let url = try ScratchPostgres.shared().createDatabase()
        var databases: [PostgresDatabase] = []
        for _ in 0..<4 { databases.append(try await PostgresDatabase.open(url: url, migrations: PostgresTableStore.migrations)) }
        defer { databases.forEach { $0.close() } }
        try await PostgresTableStore(database: databases[0]).createTable(TableSchema(name: "claims", partitionKey: "job"))
        for round in 0..<10 {
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for (node, database) in databases.enumerated() {
                    group.addTask {
                        let store = PostgresTableStore(database: database)
                        return (try? await store.put(table: "claims", item: ["job": .number(Double(round)), "node": .number(Double(node))],
                                                     owner: nil, condition: .absent)) != nil
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "round \(round): \(outcomes)")
        }
    }

    @Test("Appends from several nodes: a reader never sees an offset before all lower ones")
    func noGapsWhileAppending() async throws {
        let url = try ScratchPostgres.shared().createDatabase()
        var databases: [PostgresDatabase] = []
        for _ in 0..<4 { databases.append(try await PostgresDatabase.open(url: url, migrations: PostgresEventLog.migrations)) }
        defer { databases.forEach { $0.close() } }
        let reader = PostgresEventLog(database: databases[0])
        let gaps = try await withThrowingTaskGroup(of: Int.self) { group in
            for database in databases.dropFirst() {
                group.addTask {
                    let log = PostgresEventLog(database: database)
                    for n in 0..<60 { try await log.append(topic: "t", key: nil, payload: Data("\(n)".utf8)) }
                    return 0
                }
            }
            group.addTask {
                var gaps = 0
                var seen = 0
                let deadline = ContinuousClock.now + .seconds(60)  // no hang should an appender fail
                while seen < 180, ContinuousClock.now < deadline {
                    let offsets = try await reader.read(topic: "t", from: 0, limit: 1000).map(\.offset)
                    if offsets != Array(0..<Int64(offsets.count)) { gaps += 1 }
                    seen = offsets.count
                }
                return gaps
            }
            return try await group.reduce(0, +)
        }
        #expect(gaps == 0)
        #expect(try await reader.topic("t")?.nextOffset == 180)
    }

    @Test("Consumers on several nodes: every message delivered once; one dedup id sent from each node stores one message")
    func queueAcrossNodes() async throws {
        let url = try ScratchPostgres.shared().createDatabase()
        var databases: [PostgresDatabase] = []
        for _ in 0..<4 { databases.append(try await PostgresDatabase.open(url: url, migrations: PostgresQueueStore.migrations)) }
        defer { databases.forEach { $0.close() } }
        let sender = PostgresQueueStore(database: databases[0])
        try await sender.createQueue(QueueConfiguration(name: "jobs"))
        try await sender.send(queue: "jobs", (0..<200).map { OutgoingMessage(body: Data("\($0)".utf8)) })
        let delivered = try await withThrowingTaskGroup(of: [String].self) { group in
            for database in databases {
                group.addTask {
                    let store = PostgresQueueStore(database: database)
                    var bodies: [String] = []
                    while true {
                        let batch = try await store.receive(queue: "jobs", max: 7)
                        if batch.isEmpty { return bodies }
                        bodies += batch.map { String(decoding: $0.body, as: UTF8.self) }
                        #expect(try await store.ack(queue: "jobs", receipts: batch.map(\.receipt)).isEmpty)
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(delivered.count == 200 && Set(delivered).count == 200)

        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for database in databases {
                group.addTask { try await PostgresQueueStore(database: database).send(queue: "jobs", body: Data("once".utf8), deduplicationId: "order-7") }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(try await sender.stats("jobs", now: Date()).visible == 1)
    }

    @Test("An append on one node wakes the readers subscribed on another")
    func announcementsCrossNodes() async throws {
        #expect(try await wakesAcrossNodes(key: "orders") { writer in
            try await PostgresEventLog(database: writer).append(topic: "orders", key: nil, payload: Data("x".utf8))
        })
    }

    @Test("A send on one node wakes the queue's consumers on another")
    func queueSendsCrossNodes() async throws {
        #expect(try await wakesAcrossNodes(key: TopicSignals.queueKey("jobs")) { writer in
            let queues = PostgresQueueStore(database: writer)
            try await queues.createQueue(QueueConfiguration(name: "jobs"))
            try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("x".utf8))])
        })
    }

    /// Whether `write` through one pool wakes a subscriber of `key` on another pool's relay. The relay's LISTEN may
    /// start after the first write: writes every 100 ms until a wake-up arrives (at most 10 s).
    private func wakesAcrossNodes(key: String, write: @escaping @Sendable (PostgresDatabase) async throws -> Void) async throws -> Bool {
        let url = try ScratchPostgres.shared().createDatabase()
        let migrations = PostgresEventLog.migrations + PostgresQueueStore.migrations
        let writer = try await PostgresDatabase.open(url: url, migrations: migrations)
        let reader = try await PostgresDatabase.open(url: url, migrations: migrations)
        defer { writer.close(); reader.close() }
        let signals = TopicSignals()
        let relay = reader.relayAnnouncements(to: signals)
        defer { relay.cancel() }
        let (woken, wake) = AsyncStream<Void>.makeStream()
        let subscription = signals.subscribe(key) { wake.yield() }
        defer { signals.unsubscribe(subscription) }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in woken { return true }
                return false
            }
            group.addTask {
                for _ in 0..<100 {
                    try await write(writer)
                    try await Task.sleep(for: .milliseconds(100))
                }
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            wake.finish()
            return first
        }
    }

    @Test("The sweeper removes bodies no object names, and only those")
    func orphanSweep() async throws {
        let database = try await PostgresDatabase.open(url: try ScratchPostgres.shared().createDatabase(),
                                                       migrations: PostgresEventLog.migrations + PostgresObjectStore.migrations)
        defer { database.close() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-pg-sweep-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bodies = try DirectoryBodyStore(directory: folder)
        let store = PostgresObjectStore(database: database, bodies: bodies)
        _ = try await store.createBucket("b")
        try await store.put(bucket: "b", key: "kept", data: Data("kept".utf8))
        // What a node killed between writing a body and committing its row leaves behind.
        let orphan = try await bodies.write(bucket: "b", key: "lost", body: AsyncStream { $0.yield(Data("lost".utf8)); $0.finish() }, maxSize: 100)
        #expect(try await store.sweepOrphans(olderThan: Date().addingTimeInterval(-3600)) == 0, "young bodies may belong to puts in flight")
        #expect(try await store.sweepOrphans(olderThan: Date().addingTimeInterval(60)) == 1)
        #expect(!FileManager.default.fileExists(atPath: bodies.url(of: orphan.name).path))
        #expect(try await store.get(bucket: "b", key: "kept", range: nil).body == Data("kept".utf8))
        #expect(try await store.sweepOrphans(olderThan: Date().addingTimeInterval(60)) == 0)
    }

    @Test("A counter moved on one node is seen moving on the others")
    func sharedCounter() async throws {
        let url = try ScratchPostgres.shared().createDatabase()
        var databases: [PostgresDatabase] = []
        for _ in 0..<3 { databases.append(try await PostgresDatabase.open(url: url, migrations: PostgresChangeCounter.migrations)) }
        defer { databases.forEach { $0.close() } }
        var counters: [PostgresChangeCounter] = []
        for database in databases { counters.append(try await PostgresChangeCounter.open(name: "auth-changes", database: database)) }
        defer { counters.forEach { $0.close() } }
        let other = try await PostgresChangeCounter.open(name: "other", database: databases[0])
        defer { other.close() }
        #expect(counters.map { $0.current() } == [0, 0, 0])
        await counters[0].advance()
        await counters[2].advance()
        #expect(counters[2].current() == 2, "the node that moved it sees its own change at once")
        try await eventually("every node sees both changes") { counters.allSatisfy { $0.current() == 2 } }
        #expect(other.current() == 0, "counters are independent")
        // A node that opens later starts where the counter stands.
        let late = try await PostgresChangeCounter.open(name: "auth-changes", database: databases[1])
        defer { late.close() }
        #expect(late.current() == 2)
    }

    @Test("A malformed URL and an unreachable server are clear errors")
    func badURLs() async throws {
        await expectAerieError(.invalidArgument, mentioning: "postgres://USER") {
            try await PostgresDatabase.open(url: "mysql://root@localhost/db", migrations: [])
        }
        let refused = await expectAerieError(.unavailable) {
            try await PostgresDatabase.open(url: "postgres://aerie:secret@127.0.0.1:9/nope?sslmode=disable", migrations: [], connectWithin: .seconds(2))
        }
        #expect(refused.map { !$0.message.contains("secret") && $0.message.contains("127.0.0.1:9") } ?? false)
        #expect(PostgresDatabase.redacted("postgres://u:secret@h/db") == "postgres://u:***@h/db")
    }
}
