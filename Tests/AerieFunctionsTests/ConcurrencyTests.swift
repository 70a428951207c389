import AerieCore
import AerieTesting
@testable import AerieFunctions
import Foundation
import Testing

@Suite struct ConcurrencyTests {
    @Test(arguments: Storage.allCases) func atMostConcurrencyRunAtOnce(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let worker = Worker()
            try runtime.register(worker)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask { _ = try await runtime.invoke("worker", input: body(#"{"gate":true}"#), trigger: .http, owner: nil) }
                }
                try await eventually("two running, four waiting") {
                    let stats = await runtime.function("worker")?.stats
                    return await worker.probe.running == 2 && stats?.inFlight == 2 && stats?.waiting == 4
                }
                await worker.probe.openGate()
                try await group.waitForAll()
            }
            #expect(await worker.probe.calls == 6)
            #expect(await worker.probe.maxRunning == 2)
            #expect(await runtime.function("worker")?.stats.invocations == 6)
        }
    }

    @Test(arguments: Storage.allCases) func fullWaitQueueIsRateLimited(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            var worker = Worker()
            worker.configuration.concurrency = 1
            worker.configuration.maxWaiting = 1
            try runtime.register(worker)
            let first = Task { try await runtime.invoke("worker", input: body(#"{"gate":true}"#), trigger: .http, owner: nil) }
            try await eventually("first running") { await worker.probe.running == 1 }
            let second = Task { try await runtime.invoke("worker", input: body(#"{"gate":true}"#), trigger: .http, owner: nil) }
            try await eventually("second waiting") { await runtime.function("worker")?.stats.waiting == 1 }
            let error = try await #require(throws: FunctionInvocationError.self) {
                try await runtime.invoke("worker", input: body("{}"), trigger: .http, owner: nil)
            }
            #expect(error.code == .rateLimited)
            #expect(error.record == nil)
            #expect((error.retryAfter ?? 0) >= 1)
            await worker.probe.openGate()
            #expect(try await first.value.record.status == .succeeded)
            #expect(try await second.value.record.status == .succeeded)
            #expect(await worker.probe.maxRunning == 1)
        }
    }

    @Test(arguments: Storage.allCases) func coldStartOnceThenWarmThenReleasedAfterIdle(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            var model = Model()
            model.configuration.idleUnload = .seconds(3600)
            try runtime.register(model)
            // Concurrent first calls share one build.
            let records = try await withThrowingTaskGroup(of: InvocationRecord.self) { group in
                for index in 0..<5 {
                    group.addTask { try await runtime.invoke("model", input: body("\(index)"), trigger: .http, owner: nil).record }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(await model.probe.builds == 1)
            #expect(records.filter { $0.coldStart == true }.count == 1)
            #expect(records.first { $0.coldStart == true }?.initMs != nil)
            #expect(await runtime.function("model")?.stats.coldStarts == 1)
            #expect(await runtime.function("model")?.warm == true)

            let warm = try await runtime.invoke("model", input: body("1"), trigger: .http, owner: nil).record
            #expect(warm.coldStart == false)

            // The sweeper, an hour later.
            let host = try #require(runtime.host("model"))
            await host.sweep(now: .now + .seconds(1800))
            #expect(await model.probe.shutdowns == 0)
            await host.sweep(now: .now + .seconds(3601))
            #expect(await model.probe.shutdowns == 1)
            #expect(await runtime.function("model")?.warm == false)

            let again = try await runtime.invoke("model", input: body("2"), trigger: .http, owner: nil).record
            #expect(again.coldStart == true)
            #expect(await model.probe.builds == 2)
            #expect(await runtime.function("model")?.stats.coldStarts == 2)
        }
    }

    @Test(arguments: Storage.allCases) func runningSweeperReleasesIdleState(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let model = Model()  // idleUnload 300 ms
            try runtime.register(model)
            try await whileRunning(runtime) {
                _ = try await runtime.invoke("model", input: body("1"), trigger: .http, owner: nil)
                try await eventually("state released after idle") { await model.probe.shutdowns == 1 }
            }
            #expect(await runtime.function("model")?.warm == false)
        }
    }
}
