import AerieCore
import AerieTesting
@testable import AerieFunctions
import Foundation
import Testing

@Suite struct SyncInvocationTests {
    @Test(arguments: Storage.allCases) func succeedsAndRecordsTheInvocation(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Echo())
            let (record, output) = try await runtime.invoke("echo", input: body(#"{"text":"hi"}"#), trigger: .http, owner: "alice")
            #expect(try JSONValue.parse(output) == parse(#"{"text":"hi"}"#))
            #expect(record.status == .succeeded)
            #expect(record.owner == "alice")
            #expect(record.async == false)
            #expect(record.attempts == 1)
            #expect(record.coldStart == true)
            #expect(record.durationMs != nil)
            #expect(record.output == parse(#"{"text":"hi"}"#))
            let stored = try #require(try await runtime.invocation(record.id))
            #expect(stored.status == .succeeded)
            let logs = try await runtime.logs(record.id)
            #expect(logs.map { $0.data["message"] } == [JSONValue.string("echoing hi")])
            // The group commit writes the record to the table.
            try await eventually("record in the table") {
                try await runtime.primitives.tables.get(table: InvocationStore.recordsTable, key: ItemKey(partition: .string(record.id))) != nil
            }
        }
    }

    @Test(arguments: Storage.allCases) func functionErrorBecomesFunctionFailedWithTheRecord(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Echo())
            let error = try await #require(throws: FunctionInvocationError.self) {
                try await runtime.invoke("echo", input: body(#"{"text":"fail: disk full"}"#), trigger: .http, owner: nil)
            }
            #expect(error.code == .functionFailed)
            #expect(error.error.message == "fail: disk full")
            let record = try #require(error.record)
            #expect(record.status == .failed)
            #expect(record.error?.type == "function-failed")
            #expect(try await runtime.invocation(record.id)?.status == .failed)
            let events = try await collect(runtime.events(record.id, after: nil))
            #expect(events.last?.kind == .error)
            #expect(events.last?.data["message"] == .string("fail: disk full"))
            #expect(await runtime.function("echo")?.stats.errors == 1)
        }
    }

    @Test(arguments: Storage.allCases) func timeoutCancelsAndMarksTimedOut(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            var worker = Worker()
            worker.configuration.timeout = .milliseconds(50)
            try runtime.register(worker)
            let error = try await #require(throws: FunctionInvocationError.self) {
                try await runtime.invoke("worker", input: body(#"{"millis":60000}"#), trigger: .http, owner: nil)
            }
            #expect(error.code == .timedOut)
            #expect(error.record?.status == .timedOut)
            #expect(error.record?.error?.type == "timed-out")
            // The timed-out task was cancelled and gave its slot back.
            try await eventually("slot released") { await runtime.function("worker")?.stats.inFlight == 0 }
            #expect(await worker.probe.running == 0)
        }
    }

    @Test(arguments: Storage.allCases) func badInputIsInvalidArgumentNamingTheField(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Echo())
            let error = try await #require(throws: FunctionInvocationError.self) {
                try await runtime.invoke("echo", input: body(#"{"text":5}"#), trigger: .http, owner: nil)
            }
            #expect(error.code == .invalidArgument)
            #expect(error.error.field == "/text")
            #expect(error.record?.status == .failed)
            #expect(error.record?.error?.type == "invalid-argument")

            let missing = try await #require(throws: FunctionInvocationError.self) {
                try await runtime.invoke("echo", input: Data("not json".utf8), trigger: .http, owner: nil)
            }
            #expect(missing.code == .invalidArgument)
        }
    }

    @Test(arguments: Storage.allCases) func unknownFunctionIsNotFound(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let error = try await #require(throws: FunctionInvocationError.self) {
                try await runtime.invoke("nope", input: Data(), trigger: .http, owner: nil)
            }
            #expect(error.code == .notFound)
            #expect(error.record == nil)
            await #expect(throws: AerieError.self) {
                try await runtime.invokeAsync("nope", input: Data(), trigger: .http, owner: nil, idempotencyKey: nil)
            }
        }
    }

    @Test(arguments: Storage.allCases) func registrationIsValidated(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Echo())
            #expect(throws: AerieError.self) { try runtime.register(Echo()) }
            #expect(throws: AerieError.self) { try runtime.register(Recorder(), triggers: [.cron("61 * * * *")]) }
            var bad = Worker()
            bad.configuration.concurrency = 0
            #expect(throws: AerieError.self) { try runtime.register(bad) }
            _ = try await runtime.invocations(function: nil, status: nil, owner: nil, limit: 1, cursor: nil)
            let late = #expect(throws: AerieError.self) { try runtime.register(Model()) }
            #expect(late?.code == .conflict)
        }
    }
}

func collect(_ stream: AsyncThrowingStream<InvocationEvent, any Error>) async throws -> [InvocationEvent] {
    var events: [InvocationEvent] = []
    for try await event in stream { events.append(event) }
    return events
}
