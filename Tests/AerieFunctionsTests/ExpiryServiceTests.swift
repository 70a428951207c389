import AerieCore
import AerieSQLite
import AerieTesting
@testable import AerieFunctions
import Foundation
import Logging
import Testing

@Suite struct ExpiryServiceTests {
    static let sessions = TableSchema(name: "sessions", partitionKey: "id", ttlAttribute: "expires")

    @Test(arguments: Storage.allCases)
    func purgesRowsPastTheirTTLAndOldRecords(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            var configuration = TestRuntime.configuration
            configuration.eventRetention = .seconds(1)
            let runtime = FunctionRuntime(primitives: primitives, configuration: configuration, logger: Logger(label: "test"))
            try runtime.register(Echo())
            let now = Date()
            // A finished sync invocation (record, events, idempotency-free) and a queued async one.
            let (finished, _) = try await runtime.invoke("echo", input: body(#"{"text":"hi"}"#), trigger: .http, owner: "ann")
            let (queued, _) = try await runtime.invokeAsync("echo", input: body(#"{"text":"later"}"#), trigger: .http, owner: "ann",
                                                             idempotencyKey: "once")
            try await primitives.tables.ensureTable(Self.sessions)
            try await primitives.tables.put(table: "sessions", item: ["id": "old", "expires": .number(now.timeIntervalSince1970 - 1)])
            try await primitives.tables.put(table: "sessions", item: ["id": "live", "expires": .number(now.timeIntervalSince1970 + 3600)])

            let expiry = ExpiryService(tables: primitives.tables, runtime: runtime,
                                       configuration: .init(interval: .milliseconds(20), recordRetention: .seconds(60)),
                                       logger: Logger(label: "test"))
            // Now: only the expired session row goes.
            let first = try await expiry.purge(now: now)
            #expect(first.expiredRows == 1)
            #expect(first.invocationRecords == 0)
            #expect(try await primitives.tables.get(table: "sessions", key: ItemKey(partition: "old")) == nil)
            #expect(try await primitives.tables.get(table: "sessions", key: ItemKey(partition: "live")) != nil)
            #expect(try await runtime.invocation(finished.id) != nil)

            // Two hours on: the finished record (60 s) and its events (1 s) are past their time, and so is the other
            // session; the queued invocation's record stays.
            let later = now.addingTimeInterval(2 * 3600)
            let second = try await expiry.purge(now: later)
            #expect(second.invocationRecords == 1)
            #expect(second.expiredRows >= 2, "the live session and the invocation events: \(second)")
            #expect(try await runtime.invocation(finished.id) == nil)
            #expect(try await runtime.invocation(queued.id) != nil)
            #expect(try await primitives.tables.get(table: "sessions", key: ItemKey(partition: "live")) == nil)
            let events = try await primitives.tables.query(table: InvocationStore.eventsTable, TableQuery(partition: .string(finished.id)))
            #expect(events.items.isEmpty)
        }
    }

    @Test func theServiceRunsPassesOnItsOwn() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-expiry-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try EmbeddedStorage(directory: directory)
        let primitives = storage.primitives
        let metrics = RecordingMetrics()
        var configuration = TestRuntime.configuration
        configuration.metricsFactory = metrics
        let runtime = FunctionRuntime(primitives: primitives, configuration: configuration, logger: Logger(label: "test"))
        try await primitives.tables.ensureTable(Self.sessions)
        try await primitives.tables.put(table: "sessions", item: ["id": "soon", "expires": .number(Date().timeIntervalSince1970 + 0.2)])
        let expiry = ExpiryService(tables: primitives.tables, runtime: runtime, configuration: .init(interval: .milliseconds(50)),
                                   logger: Logger(label: "test"))
        try await whileRunning({ try await expiry.run() }) {
            // Reads hide an expired row at once; the counter shows that the service itself deleted it.
            try await eventually("the running service to purge the short-lived row") {
                metrics.value("aerie_expired_total", []) == 1
            }
        }
        #expect(try await primitives.tables.purgeExpired(now: Date()) == 0)
    }
}
