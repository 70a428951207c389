import AerieCore
import AerieTesting
@testable import AerieFunctions
import Foundation
import Testing

/// Two runtimes on the same primitives stand for two nodes (or a process before and after a crash).
@Suite struct MultiNodeTests {
    @Test(arguments: Storage.allCases) func cancelFromAnotherNodeReachesTheRunningWorker(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let nodeA = TestRuntime.make(primitives)
            let worker = Worker()
            try nodeA.register(worker)
            let nodeB = TestRuntime.make(primitives)
            try nodeB.register(Worker())
            let (record, _) = try await nodeB.invokeAsync("worker", input: body(#"{"millis":60000}"#), trigger: .http, owner: nil, idempotencyKey: nil)
            try await whileRunning(nodeA) {
                try await eventually("running on node A") { await worker.probe.running == 1 }
                // Node B does not run it: its cancel asks through the record, node A's heartbeat acts on it.
                let cancelled = try await nodeB.cancel(record.id)
                #expect(cancelled.status == .cancelled)
            }
            #expect(await worker.probe.running == 0)
        }
    }

    @Test(arguments: Storage.allCases) func lastAttemptLostWithItsWorkerEndsFailed(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let first = TestRuntime.make(primitives)
            var once = Worker()
            once.configuration.retries = 0
            try first.register(once)
            let (record, _) = try await first.invokeAsync("worker", input: body("{}"), trigger: .http, owner: nil, idempotencyKey: nil)
            // The only attempt starts and its process dies.
            let taken = try await primitives.queues.receive(queue: "aerie.fn.worker", max: 1, visibilityTimeout: .milliseconds(1), now: Date())
            var stored = try #require(try await first.store.load(record.id))
            stored.record.status = .running
            stored.leaseMessage = taken.first?.id
            try await first.store.write(stored, condition: .version(stored.version))

            let second = TestRuntime.make(primitives)
            let worker = Worker()
            var configuration = worker.configuration
            configuration.retries = 0
            try second.register(Worker(probe: worker.probe, configuration: configuration))
            let finished = try await whileRunning(second) { try await waitFinished(second, record.id) }
            #expect(finished.status == .failed)
            #expect(finished.error?.message.contains("no attempts are left") == true)
            #expect(await worker.probe.calls == 0)
            let events = try await collect(second.events(record.id, after: nil))
            #expect(events.last?.kind == .error)
        }
    }

    @Test(arguments: Storage.allCases) func finishedRecordWithoutItsTerminalEventStillEndsTheStream(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let node = TestRuntime.make(primitives)
            try node.register(Worker())
            let (record, _) = try await node.invokeAsync("worker", input: body("{}"), trigger: .http, owner: nil, idempotencyKey: nil)
            // A node wrote the finished record and stopped before it stored the terminal event.
            var stored = try #require(try await node.store.load(record.id))
            stored.record.status = .failed
            stored.record.finishedAt = Date()
            stored.record.error = InvocationError(type: "function_failed", message: "lost")
            try await node.store.write(stored, condition: .version(stored.version))

            let events = try await collect(node.events(record.id, after: nil))
            #expect(events.map(\.kind) == [.error])
            #expect(events.last?.data["message"]?.stringValue == "lost")
            #expect(events.last?.sequence == 1)
        }
    }
}
