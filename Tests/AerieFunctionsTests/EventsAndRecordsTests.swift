import AerieCore
import AerieTesting
@testable import AerieFunctions
import Foundation
import Logging
import Testing

@Suite struct EventsAndRecordsTests {
    @Test(arguments: Storage.allCases) func eventsAreNumberedStoredAndReplayedAfterASequence(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Chatty())
            let (record, _) = try await runtime.invokeAsync("chatty", input: body("{}"), trigger: .http, owner: nil, idempotencyKey: nil)
            _ = try await whileRunning(runtime) { try await waitFinished(runtime, record.id) }
            let events = try await collect(runtime.events(record.id, after: nil))
            #expect(events.map(\.kind) == [.log, .progress, .log, .log, .result])
            #expect(events.map(\.sequence) == [1, 2, 3, 4, 5])
            try #require(events.count == 5)
            #expect(events[1].data["fraction"] == .number(0.5))
            #expect(events[4].data == .string("done"))
            let replay = try await collect(runtime.events(record.id, after: 3))
            #expect(replay.map(\.sequence) == [4, 5])
            let logs = try await runtime.logs(record.id)
            #expect(logs.map { $0.data["message"] } == [JSONValue.string("one"), .string("two"), .string("three")])
            #expect(logs.last?.data["level"] == .string("warning"))
            #expect(try await runtime.invocation(record.id)?.progress == 0.5)
        }
    }

    @Test(arguments: Storage.allCases) func followsLiveEventsUntilTheResult(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let chatty = Chatty()
            try runtime.register(chatty)
            let call = Task { try await runtime.invoke("chatty", input: body(#"{"gate":true}"#), trigger: .http, owner: nil) }
            var id: String?
            try await eventually("running") {
                id = try await runtime.invocations(function: "chatty", status: .running, owner: nil, limit: 1, cursor: nil).items.first?.id
                return id != nil
            }
            let invocation = try #require(id)
            var iterator = runtime.events(invocation, after: nil).makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.kind == .log)
            let second = try await iterator.next()
            #expect(second?.kind == .progress)
            await chatty.probe.openGate()
            var rest: [InvocationEvent] = []
            while let event = try await iterator.next() { rest.append(event) }
            #expect(rest.map(\.kind) == [.log, .log, .result])
            _ = try await call.value
        }
    }

    @Test(arguments: Storage.allCases) func eventsOfAnUnknownInvocationFail(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            await #expect(throws: AerieError.self) { try await collect(runtime.events("inv_missing", after: nil)) }
            #expect(try await runtime.invocation("inv_missing") == nil)
            await #expect(throws: AerieError.self) { try await runtime.cancel("inv_missing") }
        }
    }

    @Test(arguments: Storage.allCases) func listsNewestFirstByFunctionStatusAndOwnerWithPagination(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Echo())
            try runtime.register(Recorder())
            var ids: [String] = []
            for index in 0..<5 {
                let owner = index.isMultiple(of: 2) ? "alice" : "bob"
                let text = index == 4 ? "fail now" : "n\(index)"
                let id: String
                do {
                    id = try await runtime.invoke("echo", input: body(#"{"text":"\#(text)"}"#), trigger: .http, owner: owner).record.id
                } catch let error as FunctionInvocationError {
                    id = try #require(error.record?.id)
                }
                ids.append(id)
            }
            let other = try await runtime.invoke("recorder", input: body("{}"), trigger: .http, owner: "alice").record.id

            func all(function: String? = nil, status: InvocationStatus? = nil, owner: String? = nil) async throws -> [String] {
                var result: [String] = []
                var cursor: String?
                repeat {
                    let page = try await runtime.invocations(function: function, status: status, owner: owner, limit: 2, cursor: cursor)
                    result += page.items.map(\.id)
                    cursor = page.nextCursor
                } while cursor != nil
                return result
            }
            #expect(try await all(function: "echo") == ids.reversed())
            #expect(try await all() == [other] + ids.reversed())
            #expect(try await all(owner: "alice") == [other, ids[4], ids[2], ids[0]])
            #expect(try await all(function: "echo", owner: "bob") == [ids[3], ids[1]])
            #expect(try await all(status: .failed) == [ids[4]])
            #expect(try await all(function: "echo", status: .succeeded, owner: "alice") == [ids[2], ids[0]])
            let firstPage = try await runtime.invocations(function: "echo", status: nil, owner: nil, limit: 2, cursor: nil)
            #expect(firstPage.items.count == 2)
            #expect(firstPage.nextCursor != nil)
        }
    }
}

/// The group commit's back-pressure: deferred writers wait for a flush once too much is buffered, so a burst of sync
/// invokes cannot outrun the writes and pile up a backlog (memory, and latency for whatever comes after).
@Suite("Deferred record writes are bounded")
struct DeferredWriteBackPressureTests {
    @Test("past maxBuffered a writer waits for one flush; nothing is lost")
    func bounded() async throws {
        // A group-commit interval of a minute: only back-pressure flushes during the test.
        let store = InvocationStore(tables: MemoryTableStore(), eventRetention: .seconds(3600), groupCommitInterval: .seconds(60),
                                    logger: Logger(label: "test"))
        try await store.ensureTables()
        let count = InvocationStore.maxBuffered * 3
        var highest = 0
        for index in 0..<count {
            let record = InvocationRecord(id: String(format: "inv-%06d", index), function: "f", trigger: .http, owner: "ann",
                                          status: .succeeded, async: false, createdAt: Date())
            await store.writeDeferred(record)
            highest = max(highest, store.bufferedCount)
        }
        #expect(highest <= InvocationStore.maxBuffered + 1)
        await store.flush()
        #expect(store.bufferedCount == 0)
        for index in [0, count / 2, count - 1] {
            #expect(try await store.load(String(format: "inv-%06d", index))?.version ?? 0 > 0, "record \(index) was not written")
        }
    }
}
