import AerieCore
import AerieTesting
@testable import AerieFunctions
import Foundation
import Testing

@Suite struct AsyncInvocationTests {
    @Test(arguments: Storage.allCases) func isDurableBeforeReturningThenCompletes(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            let (record, created) = try await runtime.invokeAsync("worker", input: body("{}"), trigger: .http, owner: "bob", idempotencyKey: nil)
            #expect(created)
            #expect(record.status == .queued)
            #expect(record.async)
            // Durable: in the table and on the queue before any worker runs.
            #expect(try await primitives.tables.get(table: InvocationStore.recordsTable, key: ItemKey(partition: .string(record.id))) != nil)
            #expect(try await primitives.queues.stats("aerie.fn.worker").visible == 1)
            let finished = try await whileRunning(runtime) { try await waitFinished(runtime, record.id) }
            #expect(finished.status == .succeeded)
            #expect(finished.attempts == 1)
            #expect(finished.output == parse(#"{"attempt":1}"#))
            #expect(finished.owner == "bob")
            #expect(try await primitives.queues.stats("aerie.fn.worker").visible == 0)
        }
    }

    @Test(arguments: Storage.allCases) func retriesThenFails(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)  // retries: 2
            let (record, _) = try await runtime.invokeAsync("worker", input: body(#"{"failTimes":10}"#), trigger: .http, owner: nil, idempotencyKey: nil)
            let finished = try await whileRunning(runtime) { try await waitFinished(runtime, record.id) }
            #expect(finished.status == .failed)
            #expect(finished.attempts == 3)
            #expect(finished.error?.message == "attempt 3 failed on purpose")
            #expect(await worker.probe.calls == 3)
            let logs = try await runtime.logs(record.id)
            #expect(logs.count == 2)  // one "retrying" line per failed attempt before the last
        }
    }

    @Test(arguments: Storage.allCases) func retrySucceedsOnALaterAttempt(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            let (record, _) = try await runtime.invokeAsync("worker", input: body(#"{"failTimes":1}"#), trigger: .http, owner: nil, idempotencyKey: nil)
            let finished = try await whileRunning(runtime) { try await waitFinished(runtime, record.id) }
            #expect(finished.status == .succeeded)
            #expect(finished.attempts == 2)
            #expect(finished.error == nil)
        }
    }

    @Test(arguments: Storage.allCases) func badInputIsNotRetried(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            let (record, _) = try await runtime.invokeAsync("worker", input: body(#"{"millis":"x"}"#), trigger: .http, owner: nil, idempotencyKey: nil)
            let finished = try await whileRunning(runtime) { try await waitFinished(runtime, record.id) }
            #expect(finished.status == .failed)
            #expect(finished.attempts == 1)
            #expect(finished.error?.type == "invalid-argument")
        }
    }

    @Test(arguments: Storage.allCases) func idempotencyKeyReturnsTheFirstInvocation(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Worker())
            let first = try await runtime.invokeAsync("worker", input: body("{}"), trigger: .http, owner: "alice", idempotencyKey: "k1")
            let again = try await runtime.invokeAsync("worker", input: body("{}"), trigger: .http, owner: "alice", idempotencyKey: "k1")
            #expect(first.created)
            #expect(!again.created)
            #expect(again.record.id == first.record.id)
            let otherOwner = try await runtime.invokeAsync("worker", input: body("{}"), trigger: .http, owner: "bob", idempotencyKey: "k1")
            #expect(otherOwner.created)
            #expect(otherOwner.record.id != first.record.id)
            #expect(try await runtime.primitives.queues.stats("aerie.fn.worker").visible == 2)
        }
    }

    @Test(arguments: Storage.allCases) func cancelQueuedInvocationNeverRuns(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            let (record, _) = try await runtime.invokeAsync("worker", input: body("{}"), trigger: .http, owner: nil, idempotencyKey: nil)
            let cancelled = try await runtime.cancel(record.id)
            #expect(cancelled.status == .cancelled)
            let conflict = await #expect(throws: AerieError.self) { try await runtime.cancel(record.id) }
            #expect(conflict?.code == .conflict)
            try await whileRunning(runtime) {
                try await eventually("message consumed") {
                    let stats = try await primitives.queues.stats("aerie.fn.worker")
                    return stats.visible == 0 && stats.inFlight == 0
                }
            }
            #expect(await worker.probe.calls == 0)
            #expect(try await runtime.invocation(record.id)?.status == .cancelled)
            let events = try await collect(runtime.events(record.id, after: nil))
            #expect(events.map(\.kind) == [.error])
        }
    }

    @Test(arguments: Storage.allCases) func cancelRunningAsyncInvocation(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            let (record, _) = try await runtime.invokeAsync("worker", input: body(#"{"millis":60000}"#), trigger: .http, owner: nil, idempotencyKey: nil)
            try await whileRunning(runtime) {
                try await eventually("running") { await worker.probe.running == 1 }
                let cancelled = try await runtime.cancel(record.id)
                #expect(cancelled.status == .cancelled)
                #expect(cancelled.error?.type == "cancelled")
            }
            #expect(await worker.probe.calls == 1)
        }
    }

    @Test(arguments: Storage.allCases) func cancelRunningSyncInvocation(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            let call = Task { try await runtime.invoke("worker", input: body(#"{"millis":60000}"#), trigger: .http, owner: nil) }
            try await eventually("running") { await worker.probe.running == 1 }
            let running = try await runtime.invocations(function: "worker", status: .running, owner: nil, limit: 10, cursor: nil)
            let id = try #require(running.items.first?.id)
            let cancelled = try await runtime.cancel(id)
            #expect(cancelled.status == .cancelled)
            let error = await #expect(throws: FunctionInvocationError.self) { try await call.value }
            #expect(error?.code == .cancelled)
            #expect(error?.record?.id == id)
        }
    }

    @Test(arguments: Storage.allCases) func messageOfAWorkerKilledMidRunIsRunAgainOnce(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let first = TestRuntime.make(primitives)
            try first.register(Worker())
            let (record, _) = try await first.invokeAsync("worker", input: body("{}"), trigger: .http, owner: nil, idempotencyKey: nil)
            // A worker takes the message and marks the record running, then the process dies (kill -9): nothing
            // extends the message's visibility, so it comes back.
            let taken = try await primitives.queues.receive(queue: "aerie.fn.worker", max: 1, visibilityTimeout: .milliseconds(1), now: Date())
            var stored = try #require(try await first.store.load(record.id))
            stored.record.status = .running
            stored.record.attempts = 1
            stored.leaseMessage = taken.first?.id
            stored.leaseUntil = Date().addingTimeInterval(0.001)
            try await first.store.write(stored, condition: .version(stored.version))

            let restarted = TestRuntime.make(primitives)
            let worker = Worker()
            try restarted.register(worker)
            let finished = try await whileRunning(restarted) { try await waitFinished(restarted, record.id) }
            #expect(finished.status == .succeeded)
            #expect(finished.attempts == 2)
            #expect(await worker.probe.calls == 1)
            let all = try await restarted.invocations(function: "worker", status: nil, owner: nil, limit: 10, cursor: nil)
            #expect(all.items.map(\.id) == [record.id])
        }
    }

    // In memory only for now: on SQLite one clean-clone run of three saw a third attempt (a race, probably between the
    // second node's reconciler and the handed-back message), recorded as open in the issue note.
    @Test(arguments: Storage.allCases) func gracefulShutdownHandsTheAttemptBack(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let first = TestRuntime.make(primitives)
            let stuck = Worker()
            try first.register(stuck)
            let (record, _) = try await first.invokeAsync("worker", input: body(#"{"millis":60000}"#), trigger: .http, owner: nil, idempotencyKey: nil)
            try await whileRunning(first) {
                try await eventually("running") { await stuck.probe.running == 1 }
            }
            #expect(try await first.invocation(record.id)?.status == .running)

            let second = TestRuntime.make(primitives)
            let worker = Worker()
            try second.register(worker)
            // The same message comes back at once on the next node; cancel it there once it runs again.
            try await whileRunning(second) {
                try await eventually("running again") { await worker.probe.running == 1 }
                let cancelled = try await second.cancel(record.id)
                #expect(cancelled.status == .cancelled)
                #expect(cancelled.attempts == 2)
            }
        }
    }
}
