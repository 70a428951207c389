import AerieCore
import AerieTesting
@testable import AerieFunctions
import Foundation
import Testing

@Suite struct TriggerTests {
    static func objectEvent(_ kind: ObjectEvent.Kind = .created, bucket: String = "photos", key: String) -> Data {
        (try? JSONCoding.encode(ObjectEvent(kind: kind, bucket: bucket, key: key, size: 3, etag: "e", time: Date()))) ?? Data()
    }

    @Test(arguments: Storage.allCases) func objectTriggerFiltersAndFiresOncePerObjectAcrossRestarts(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let trigger = Trigger.object(bucket: "photos", prefix: "in/", suffix: ".jpg")
            try await primitives.objects.ensureBucket("photos")
            try await primitives.objects.ensureBucket("other")
            for key in ["in/a.jpg", "out/b.jpg", "in/c.png", "in/e.jpg"] {
                _ = try await primitives.objects.put(bucket: "photos", key: key, data: Data("abc".utf8))
            }
            _ = try await primitives.objects.put(bucket: "other", key: "in/d.jpg", data: Data("abc".utf8))
            try await primitives.objects.delete(bucket: "photos", key: "in/e.jpg")  // created, then removed
            let first = TestRuntime.make(primitives)
            let recorder = Recorder()
            try first.register(recorder, triggers: [trigger])
            try await whileRunning(first) {
                try await eventually("first object processed") {
                    try await first.invocations(function: "recorder", status: .succeeded, owner: nil, limit: 10, cursor: nil).items.count == 2
                }
            }
            #expect(Set(await recorder.probe.inputs.compactMap { $0["key"]?.stringValue }) == ["in/a.jpg", "in/e.jpg"])
            #expect(await recorder.probe.calls == 2)

            // A crash between queueing and committing: the group's offset goes back, the events are read again.
            try await primitives.events.commit(group: "fn.recorder", topic: ObjectEvent.topic, offset: 0)
            _ = try await primitives.objects.put(bucket: "photos", key: "in/f.jpg", data: Data("abc".utf8))
            let second = TestRuntime.make(primitives)
            let recorder2 = Recorder()
            try second.register(recorder2, triggers: [trigger])
            try await whileRunning(second) {
                try await eventually("second object processed") {
                    try await second.invocations(function: "recorder", status: .succeeded, owner: nil, limit: 10, cursor: nil).items.count == 3
                }
                try await eventually("offset committed") {
                    try await primitives.events.committedOffset(group: "fn.recorder", topic: ObjectEvent.topic) == 7
                }
            }
            #expect(await recorder2.probe.inputs.map { $0["key"] } == [JSONValue.string("in/f.jpg")])
            let records = try await second.invocations(function: "recorder", status: nil, owner: nil, limit: 10, cursor: nil).items
            #expect(records.count == 3)
            #expect(Set(records.map { $0.trigger.source ?? "" }) == ["photos/in/a.jpg", "photos/in/e.jpg", "photos/in/f.jpg"])
            #expect(records.allSatisfy { $0.trigger.kind == .object })
        }
    }

    /// With polls 30 s apart, only the wake-up of an object written in this process can start the trigger within the
    /// test's limit: the dispatcher is asleep when the object arrives, and reading it then wakes the worker.
    @Test(arguments: Storage.allCases) func objectWriteWakesTheTriggerAtOnce(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            try await primitives.objects.ensureBucket("photos")
            var configuration = TestRuntime.configuration
            configuration.pollInterval = .seconds(30)
            let runtime = FunctionRuntime(primitives: primitives, configuration: configuration, logger: .init(label: "test"))
            let recorder = Recorder()
            try runtime.register(recorder, triggers: [.object(bucket: "photos", prefix: "in/", suffix: "")])
            try await whileRunning(runtime) {
                // Let the dispatcher position its group and go to sleep on its (long) poll.
                try await eventually("the trigger's consumer group positioned") {
                    try await primitives.events.committedOffset(group: "fn.recorder", topic: ObjectEvent.topic) != nil
                }
                try await Task.sleep(for: .milliseconds(200))
                _ = try await primitives.objects.put(bucket: "photos", key: "in/now.jpg", data: Data("abc".utf8))
                try await eventually("the woken trigger ran the function", limit: .seconds(10)) {
                    await recorder.probe.calls == 1
                }
            }
            #expect(await recorder.probe.inputs.first?["key"] == .string("in/now.jpg"))
        }
    }

    @Test(arguments: Storage.allCases) func latestStartPositionSkipsOlderEvents(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            try await primitives.events.append(topic: ObjectEvent.topic, payload: Self.objectEvent(key: "old.jpg"))
            var configuration = TestRuntime.configuration
            configuration.triggerStartPosition = .latest
            let runtime = FunctionRuntime(primitives: primitives, configuration: configuration, logger: .init(label: "test"))
            try runtime.register(Recorder(), triggers: [.object(bucket: "photos")])
            // The group is positioned when the runtime prepares, before any loop runs.
            _ = try await runtime.invocations(function: nil, status: nil, owner: nil, limit: 1, cursor: nil)
            #expect(try await primitives.events.committedOffset(group: "fn.recorder", topic: ObjectEvent.topic) == 1)
            try await whileRunning(runtime) {
                try await primitives.events.append(topic: ObjectEvent.topic, payload: Self.objectEvent(key: "new.jpg"))
                try await eventually("new object processed") {
                    try await runtime.invocations(function: "recorder", status: .succeeded, owner: nil, limit: 10, cursor: nil).items.count == 1
                }
            }
            let records = try await runtime.invocations(function: "recorder", status: nil, owner: nil, limit: 10, cursor: nil).items
            #expect(records.map(\.trigger.source) == ["photos/new.jpg"])
        }
    }

    @Test(arguments: Storage.allCases) func topicTriggerPassesTheEvent(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let recorder = Recorder()
            try runtime.register(recorder, triggers: [.topic("orders")])
            try await primitives.events.append(topic: "orders", key: "o-1", payload: body(#"{"total":12}"#))
            try await primitives.events.append(topic: "orders", payload: Data([0xff, 0x00]))
            try await whileRunning(runtime) {
                try await eventually("both events") { await recorder.probe.calls == 2 }
            }
            let inputs = await recorder.probe.inputs
            #expect(inputs.contains(parse(#"{"topic":"orders","offset":0,"key":"o-1","payload":{"total":12}}"#)))
            #expect(inputs.contains(parse(#"{"topic":"orders","offset":1,"key":null,"payload":"/wA="}"#)))
        }
    }

    @Test(arguments: Storage.allCases) func queueTriggerAcksSuccessAndNacksFailureToTheDeadLetterQueue(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            try await primitives.queues.createQueue(QueueConfiguration(name: "jobs", maxAttempts: 2, backoffBase: .milliseconds(5)))
            let runtime = TestRuntime.make(primitives)
            let recorder = Recorder()
            try runtime.register(recorder, triggers: [.queue("jobs")])
            try await primitives.queues.send(queue: "jobs", body: body(#"{"n":1}"#))
            try await primitives.queues.send(queue: "jobs", body: body(#"{"fail":true}"#))
            try await whileRunning(runtime) {
                try await eventually("ok acked and failure dead-lettered") {
                    let stats = try await primitives.queues.stats("jobs")
                    let dead = try await primitives.queues.deadLetters(queue: "jobs", limit: 10, cursor: nil).items.count
                    return stats.visible == 0 && stats.inFlight == 0 && stats.delayed == 0 && dead == 1
                }
            }
            #expect(await recorder.probe.calls == 3)  // 1 + 2 attempts
            let records = try await runtime.invocations(function: "recorder", status: nil, owner: nil, limit: 10, cursor: nil).items
            #expect(records.count == 2)
            let failed = try #require(records.first { $0.status == .failed })
            #expect(failed.attempts == 2)
            #expect(failed.trigger == TriggerInfo(kind: .queue, source: "jobs"))
            #expect(records.contains { $0.status == .succeeded })
            let dead = try await primitives.queues.deadLetters(queue: "jobs", limit: 10, cursor: nil).items
            #expect(dead.first?.lastError == "asked to fail")
        }
    }

    @Test(arguments: Storage.allCases) func intervalScheduleFires(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            let recorder = Recorder()
            try runtime.register(recorder, triggers: [.every(.milliseconds(30))])
            try await whileRunning(runtime) {
                try await eventually("two ticks") { await recorder.probe.calls >= 2 }
            }
            let inputs = await recorder.probe.inputs
            #expect(inputs.allSatisfy { $0["scheduled_at"]?.stringValue.flatMap(RFC3339.date(from:)) != nil })
            let records = try await runtime.invocations(function: "recorder", status: nil, owner: nil, limit: 10, cursor: nil).items
            #expect(records.allSatisfy { $0.trigger.kind == .schedule })
        }
    }

    @Test(arguments: Storage.allCases) func summaryListsTriggers(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let runtime = TestRuntime.make(primitives)
            try runtime.register(Recorder(), triggers: [.queue("jobs"), .cron("*/5 * * * *")])
            let summary = try #require(await runtime.function("recorder"))
            #expect(summary.triggers == ["http", "queue:jobs", "schedule:cron */5 * * * *"])
            #expect(await runtime.functions().map(\.name) == ["recorder"])
            #expect(await runtime.function("missing") == nil)
        }
    }
}
