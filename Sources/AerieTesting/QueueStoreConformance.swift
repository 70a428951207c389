import AerieCore
import Foundation
import Testing

/// The conformance suite of ``QueueStore`` drivers. Each case gets a fresh, empty ``Primitives``.
///
/// Time is passed explicitly (`now:`) from a fixed start, so no case sleeps and a driver must take time only from
/// its arguments.
public enum QueueStoreConformance {
    public static let cases: [ConformanceCase] = [
        check("queues: create, update, look up, list, delete", queueLifecycle),
        check("queues: names and configurations are validated", configurationValidation),
        check("every operation on a missing queue is not-found", missingQueue),
        check("send, receive and ack, oldest first", sendReceiveAck),
        check("batch send and receive", batches),
        check("batch ack removes the acked and reports stale receipts", batchAck),
        check("an unacked message is delivered again after the visibility timeout", visibilityTimeout),
        check("a receive can set its own visibility timeout", customVisibility),
        check("extending visibility", extendVisibility),
        check("stale and unknown receipts are not-found", staleReceipts),
        check("nack backs off exponentially, capped", nackBackoff),
        check("nack with an explicit delay", nackDelay),
        check("after max attempts a nacked message is dead-lettered with its last error", deadLetterByNack),
        check("after max attempts an expired delivery is dead-lettered", deadLetterByExpiry),
        check("dead letters page without loss", deadLetterPaging),
        check("redrive moves dead letters back with fresh attempts", redrive),
        check("delayed messages are invisible until due", delayed),
        check("deduplication within the window", deduplication),
        check("stats count visible, in flight, delayed and dead", stats),
        check("invalid arguments", argumentValidation),
        check("concurrent sends lose nothing; receive never hands a message to two consumers", concurrency),
    ]

    static func check(_ name: String, _ body: @escaping @Sendable (Primitives) async throws -> Void) -> ConformanceCase {
        ConformanceCase(suite: "queue", name: name, body)
    }

    /// A fixed start time, far from the wall clock, so a driver that reads the clock instead of `now:` fails.
    static let t0 = Date(timeIntervalSince1970: 2_000_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func body(_ text: String) -> Data { Data(text.utf8) }

    static func text(_ message: ReceivedMessage) -> String { String(decoding: message.body, as: UTF8.self) }

    static func configuration(_ name: String = "jobs", visibility: Duration = .seconds(30), maxAttempts: Int = 5,
                              backoff: Duration = .seconds(2), maxBackoff: Duration = .seconds(5),
                              dedup: Duration = .seconds(60)) -> QueueConfiguration {
        QueueConfiguration(name: name, visibilityTimeout: visibility, maxAttempts: maxAttempts, backoffBase: backoff,
                           maxBackoff: maxBackoff, deduplicationWindow: dedup)
    }

    @discardableResult
    static func send(_ store: any QueueStore, _ texts: [String], queue: String = "jobs", at time: Date = t0) async throws -> [String] {
        try await store.send(queue: queue, texts.map { OutgoingMessage(body: body($0)) }, now: time)
    }

    static func receiveOne(_ store: any QueueStore, queue: String = "jobs", at time: Date,
                           sourceLocation: SourceLocation = #_sourceLocation) async throws -> ReceivedMessage {
        let received = try await store.receive(queue: queue, max: 1, visibilityTimeout: nil, now: time)
        return try #require(received.first, "expected a message at t0+\(time.timeIntervalSince(t0))s", sourceLocation: sourceLocation)
    }

    static func expectNothing(_ store: any QueueStore, queue: String = "jobs", at time: Date,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let received = try await store.receive(queue: queue, max: 10, visibilityTimeout: nil, now: time)
        #expect(received.isEmpty, "expected no message at t0+\(time.timeIntervalSince(t0))s", sourceLocation: sourceLocation)
    }

    // MARK: - Queues

    @Sendable static func queueLifecycle(_ p: Primitives) async throws {
        let store = p.queues
        #expect(try await store.queue("jobs") == nil)
        try await store.createQueue(configuration())
        try await store.createQueue(configuration("alpha"))
        #expect(try await store.queue("jobs") == configuration())
        #expect(try await store.listQueues().map(\.name) == ["alpha", "jobs"])
        try await send(store, ["kept"])
        let updated = configuration(visibility: .seconds(90), maxAttempts: 9)
        try await store.createQueue(updated)
        #expect(try await store.queue("jobs") == updated, "creating again updates the configuration")
        #expect(try await store.stats("jobs", now: t0).visible == 1, "updating keeps the messages")
        try await store.deleteQueue("jobs")
        #expect(try await store.queue("jobs") == nil)
        #expect(try await store.listQueues().map(\.name) == ["alpha"])
        await expectAerieError(.notFound, mentioning: "jobs") { try await store.deleteQueue("jobs") }
        try await store.createQueue(configuration())
        #expect(try await store.stats("jobs", now: t0) == QueueStats(name: "jobs", visible: 0, inFlight: 0, delayed: 0, deadLetters: 0),
                "a deleted queue's messages are gone")
    }

    @Sendable static func configurationValidation(_ p: Primitives) async throws {
        let store = p.queues
        for name in ["", "has space", "a/b", String(repeating: "q", count: 129)] {
            await expectAerieError(.invalidArgument, "queue name \(name.prefix(20))") { try await store.createQueue(configuration(name)) }
        }
        await expectAerieError(.invalidArgument) { try await store.createQueue(configuration(maxAttempts: 0)) }
        await expectAerieError(.invalidArgument) { try await store.createQueue(configuration(visibility: .zero)) }
        #expect(try await store.listQueues().isEmpty)
    }

    @Sendable static func missingQueue(_ p: Primitives) async throws {
        let store = p.queues
        await expectAerieError(.notFound, mentioning: "nowhere") { try await send(store, ["x"], queue: "nowhere") }
        await expectAerieError(.notFound, mentioning: "nowhere") { try await store.receive(queue: "nowhere", max: 1, visibilityTimeout: nil, now: t0) }
        await expectAerieError(.notFound) { try await store.ack(queue: "nowhere", receipt: "r") }
        await expectAerieError(.notFound) { try await store.nack(queue: "nowhere", receipt: "r", error: nil, delay: nil, now: t0) }
        await expectAerieError(.notFound) { try await store.extendVisibility(queue: "nowhere", receipt: "r", by: .seconds(1), now: t0) }
        await expectAerieError(.notFound, mentioning: "nowhere") { try await store.stats("nowhere", now: t0) }
        await expectAerieError(.notFound) { try await store.deadLetters(queue: "nowhere", limit: 10, cursor: nil) }
        await expectAerieError(.notFound) { try await store.redrive(queue: "nowhere", ids: nil, now: t0) }
    }

    // MARK: - Delivery

    @Sendable static func sendReceiveAck(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration())
        let ids = try await send(store, ["first"], at: t0)
            + send(store, ["second"], at: at(1))
            + send(store, ["third"], at: at(2))
        #expect(Set(ids).count == 3)
        let batch = try await store.receive(queue: "jobs", max: 2, visibilityTimeout: nil, now: at(3))
        #expect(batch.map(text) == ["first", "second"])
        #expect(batch.map(\.id) == Array(ids.prefix(2)))
        #expect(batch.allSatisfy { $0.attempts == 1 && $0.queue == "jobs" })
        #expect(batch.first?.sentAt == t0)
        #expect(Set(batch.map(\.receipt)).count == 2)
        #expect(try await store.stats("jobs", now: at(3)) == QueueStats(name: "jobs", visible: 1, inFlight: 2, delayed: 0, deadLetters: 0))
        for message in batch { try await store.ack(queue: "jobs", receipt: message.receipt) }
        let third = try await receiveOne(store, at: at(4))
        #expect(text(third) == "third")
        #expect(third.id == ids[2])
        try await store.ack(queue: "jobs", receipt: third.receipt)
        try await expectNothing(store, at: at(1_000))
        #expect(try await store.stats("jobs", now: at(1_000)) == QueueStats(name: "jobs", visible: 0, inFlight: 0, delayed: 0, deadLetters: 0))
    }

    @Sendable static func batchAck(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(QueueConfiguration(name: "jobs", visibilityTimeout: .seconds(30)))
        _ = try await send(store, ["a", "b", "c"], at: t0)
        let received = try await store.receive(queue: "jobs", max: 3, visibilityTimeout: nil, now: at(1))
        #expect(received.count == 3)
        try await store.ack(queue: "jobs", receipt: received[2].receipt)
        let stale = try await store.ack(queue: "jobs", receipts: received.map(\.receipt) + ["never-issued"])
        #expect(stale == [received[2].receipt, "never-issued"])
        try await expectNothing(store, at: at(1_000))
        #expect(try await store.stats("jobs", now: at(1_000)).inFlight == 0)
        await expectAerieError(.notFound) { _ = try await store.ack(queue: "nowhere", receipts: ["r"]) }
    }

    @Sendable static func batches(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration())
        let texts = (0..<10).map { "m\($0)" }
        let ids = try await send(store, texts)
        #expect(ids.count == 10)
        #expect(Set(ids).count == 10)
        #expect(try await store.send(queue: "jobs", [], now: t0).isEmpty)
        let first = try await store.receive(queue: "jobs", max: 4, visibilityTimeout: nil, now: t0)
        #expect(first.map(text) == ["m0", "m1", "m2", "m3"])
        #expect(first.map(\.id) == Array(ids[0..<4]))
        let rest = try await store.receive(queue: "jobs", max: 100, visibilityTimeout: nil, now: t0)
        #expect(rest.map(text) == Array(texts[4...]))
        try await expectNothing(store, at: t0)
    }

    @Sendable static func visibilityTimeout(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(visibility: .seconds(30)))
        try await send(store, ["work"])
        let first = try await receiveOne(store, at: t0)
        try await expectNothing(store, at: at(10))
        try await expectNothing(store, at: at(29.9))
        let second = try await receiveOne(store, at: at(30.1))
        #expect(second.id == first.id)
        #expect(second.attempts == 2)
        #expect(second.receipt != first.receipt)
        await expectAerieError(.notFound, "the first delivery's receipt is stale") { try await store.ack(queue: "jobs", receipt: first.receipt) }
        try await store.ack(queue: "jobs", receipt: second.receipt)
        try await expectNothing(store, at: at(1_000))
    }

    @Sendable static func customVisibility(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(visibility: .seconds(30)))
        try await send(store, ["work"])
        let first = try await store.receive(queue: "jobs", max: 1, visibilityTimeout: .seconds(5), now: t0)
        #expect(first.count == 1)
        try await expectNothing(store, at: at(4.9))
        let again = try await store.receive(queue: "jobs", max: 1, visibilityTimeout: .seconds(600), now: at(5.1))
        #expect(again.first?.attempts == 2)
        try await expectNothing(store, at: at(600))
        #expect(try await receiveOne(store, at: at(605.2)).attempts == 3)
    }

    @Sendable static func extendVisibility(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(visibility: .seconds(30)))
        try await send(store, ["long job"])
        let message = try await receiveOne(store, at: t0)
        try await store.extendVisibility(queue: "jobs", receipt: message.receipt, by: .seconds(60), now: at(20))
        try await expectNothing(store, at: at(40))
        try await expectNothing(store, at: at(79.9))
        #expect(try await store.stats("jobs", now: at(79.9)).inFlight == 1)
        let again = try await receiveOne(store, at: at(80.1))
        #expect(again.id == message.id)
        await expectAerieError(.notFound, "extending with a stale receipt") {
            try await store.extendVisibility(queue: "jobs", receipt: message.receipt, by: .seconds(60), now: at(81))
        }
        // Shortening: make it visible again right away.
        try await store.extendVisibility(queue: "jobs", receipt: again.receipt, by: .zero, now: at(82))
        #expect(try await receiveOne(store, at: at(82)).attempts == 3)
    }

    @Sendable static func staleReceipts(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration())
        try await send(store, ["a", "b"])
        let a = try await receiveOne(store, at: t0)
        try await store.ack(queue: "jobs", receipt: a.receipt)
        await expectAerieError(.notFound, "acking twice") { try await store.ack(queue: "jobs", receipt: a.receipt) }
        await expectAerieError(.notFound, "nacking an acked message") {
            try await store.nack(queue: "jobs", receipt: a.receipt, error: nil, delay: nil, now: t0)
        }
        await expectAerieError(.notFound, "a made-up receipt") { try await store.ack(queue: "jobs", receipt: "not-a-receipt") }
        let b = try await receiveOne(store, at: t0)
        try await store.nack(queue: "jobs", receipt: b.receipt, error: "boom", delay: .zero, now: t0)
        await expectAerieError(.notFound, "acking a nacked delivery") { try await store.ack(queue: "jobs", receipt: b.receipt) }
        await expectAerieError(.notFound, "nacking twice") {
            try await store.nack(queue: "jobs", receipt: b.receipt, error: nil, delay: nil, now: t0)
        }
        try await store.createQueue(configuration("other"))
        let b2 = try await receiveOne(store, at: t0)
        await expectAerieError(.notFound, "a receipt of another queue") { try await store.ack(queue: "other", receipt: b2.receipt) }
        try await store.ack(queue: "jobs", receipt: b2.receipt)
        #expect(try await store.stats("jobs", now: t0) == QueueStats(name: "jobs", visible: 0, inFlight: 0, delayed: 0, deadLetters: 0))
    }

    @Sendable static func nackBackoff(_ p: Primitives) async throws {
        let store = p.queues
        let config = configuration(maxAttempts: 10, backoff: .seconds(2), maxBackoff: .seconds(5))
        try await store.createQueue(config)
        try await send(store, ["flaky"])
        var now = t0
        for attempt in 1...4 {
            let message = try await receiveOne(store, at: now)
            #expect(message.attempts == attempt)
            try await store.nack(queue: "jobs", receipt: message.receipt, error: "failure \(attempt)", delay: nil, now: now)
            let backoff = config.backoff(afterAttempts: attempt).seconds
            #expect(backoff == [2.0, 4.0, 5.0, 5.0][attempt - 1])
            #expect(try await store.stats("jobs", now: now).delayed == 1, "a nacked message waits out its backoff")
            try await expectNothing(store, at: now.addingTimeInterval(backoff - 0.1))
            now = now.addingTimeInterval(backoff + 0.1)
        }
        #expect(try await receiveOne(store, at: now).attempts == 5)
    }

    @Sendable static func nackDelay(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(backoff: .seconds(100)))
        try await send(store, ["job"])
        let first = try await receiveOne(store, at: t0)
        try await store.nack(queue: "jobs", receipt: first.receipt, error: nil, delay: .zero, now: t0)
        let second = try await receiveOne(store, at: t0)
        #expect(second.attempts == 2)
        try await store.nack(queue: "jobs", receipt: second.receipt, error: nil, delay: .seconds(7), now: t0)
        try await expectNothing(store, at: at(6.9))
        #expect(try await receiveOne(store, at: at(7.1)).attempts == 3)
    }

    @Sendable static func deadLetterByNack(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(maxAttempts: 3))
        let id = try await send(store, ["poison"])[0]
        try await send(store, ["healthy"], at: at(0.5))
        var now = t0
        for attempt in 1...3 {
            let message = try await receiveOne(store, at: now)
            #expect(message.id == id)
            #expect(message.attempts == attempt)
            try await store.nack(queue: "jobs", receipt: message.receipt, error: "error \(attempt)", delay: .zero, now: now)
            now = now.addingTimeInterval(1)
        }
        #expect(try await store.stats("jobs", now: now) == QueueStats(name: "jobs", visible: 1, inFlight: 0, delayed: 0, deadLetters: 1))
        let dead = try await store.deadLetters(queue: "jobs", limit: 10, cursor: nil)
        #expect(dead.items.count == 1)
        #expect(dead.nextCursor == nil)
        let letter = try #require(dead.items.first)
        #expect(letter.id == id)
        #expect(letter.queue == "jobs")
        #expect(letter.body == body("poison"))
        #expect(letter.attempts == 3)
        #expect(letter.lastError == "error 3")
        #expect(letter.sentAt == t0)
        #expect(letter.deadAt == at(2), "dead at the time of the last nack")
        let healthy = try await receiveOne(store, at: now)
        #expect(text(healthy) == "healthy", "the dead letter is not delivered again")
    }

    @Sendable static func deadLetterByExpiry(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(visibility: .seconds(10), maxAttempts: 2))
        let id = try await send(store, ["stuck"])[0]
        let first = try await receiveOne(store, at: t0)
        try await store.nack(queue: "jobs", receipt: first.receipt, error: "first failure", delay: .zero, now: t0)
        #expect(try await receiveOne(store, at: at(1)).attempts == 2)
        // The consumer crashes: its visibility timeout runs out without an ack.
        try await expectNothing(store, at: at(11.1))
        let stats = try await store.stats("jobs", now: at(11.2))
        #expect(stats.deadLetters == 1)
        #expect(stats.visible + stats.inFlight + stats.delayed == 0)
        let letter = try #require(try await store.deadLetters(queue: "jobs", limit: 10, cursor: nil).items.first)
        #expect(letter.id == id)
        #expect(letter.attempts == 2)
        #expect(letter.lastError == "first failure", "the last recorded error is kept")
    }

    @Sendable static func deadLetterPaging(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(maxAttempts: 1))
        let ids = try await send(store, (0..<7).map { "d\($0)" })
        let received = try await store.receive(queue: "jobs", max: 7, visibilityTimeout: nil, now: t0)
        for message in received { try await store.nack(queue: "jobs", receipt: message.receipt, error: nil, delay: nil, now: t0) }
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await store.deadLetters(queue: "jobs", limit: 3, cursor: cursor)
            #expect(page.items.count <= 3)
            seen += page.items.map(\.id)
            cursor = page.nextCursor
            pages += 1
            try #require(pages < 100)
        } while cursor != nil
        #expect(seen.count == 7)
        #expect(Set(seen) == Set(ids))
        await expectAerieError(.invalidArgument, field: "cursor") { try await store.deadLetters(queue: "jobs", limit: 3, cursor: "%%% no %%%") }
    }

    @Sendable static func redrive(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(maxAttempts: 1))
        let ids = try await send(store, ["one", "two"])
        for message in try await store.receive(queue: "jobs", max: 2, visibilityTimeout: nil, now: t0) {
            try await store.nack(queue: "jobs", receipt: message.receipt, error: "bad", delay: nil, now: t0)
        }
        #expect(try await store.stats("jobs", now: at(1)).deadLetters == 2)
        #expect(try await store.redrive(queue: "jobs", ids: [ids[1]], now: at(1)) == 1)
        #expect(try await store.stats("jobs", now: at(1)) == QueueStats(name: "jobs", visible: 1, inFlight: 0, delayed: 0, deadLetters: 1))
        let redriven = try await receiveOne(store, at: at(1))
        #expect(redriven.id == ids[1])
        #expect(text(redriven) == "two")
        #expect(redriven.attempts == 1, "attempts start afresh")
        try await store.ack(queue: "jobs", receipt: redriven.receipt)
        #expect(try await store.redrive(queue: "jobs", ids: ["no-such-id"], now: at(2)) == 0)
        #expect(try await store.redrive(queue: "jobs", ids: nil, now: at(2)) == 1)
        #expect(try await store.redrive(queue: "jobs", ids: nil, now: at(2)) == 0)
        #expect(try await store.deadLetters(queue: "jobs", limit: 10, cursor: nil).items.isEmpty)
        #expect(text(try await receiveOne(store, at: at(2))) == "one")
    }

    @Sendable static func delayed(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration())
        let ids = try await store.send(queue: "jobs", [
            OutgoingMessage(body: body("later"), delay: .seconds(60)),
            OutgoingMessage(body: body("now")),
        ], now: t0)
        #expect(try await store.stats("jobs", now: t0) == QueueStats(name: "jobs", visible: 1, inFlight: 0, delayed: 1, deadLetters: 0))
        let now = try await store.receive(queue: "jobs", max: 10, visibilityTimeout: nil, now: t0)
        #expect(now.map(text) == ["now"])
        for message in now { try await store.ack(queue: "jobs", receipt: message.receipt) }
        try await expectNothing(store, at: at(59.9))
        let later = try await receiveOne(store, at: at(60.1))
        #expect(later.id == ids[0])
        #expect(later.attempts == 1)
        #expect(later.sentAt == t0)
    }

    @Sendable static func deduplication(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(dedup: .seconds(60)))
        let first = try await store.send(queue: "jobs", [OutgoingMessage(body: body("A"), deduplicationId: "order-1")], now: t0)[0]
        let duplicate = try await store.send(queue: "jobs", [OutgoingMessage(body: body("B"), deduplicationId: "order-1")], now: at(10))[0]
        #expect(duplicate == first, "a duplicate returns the first message's id")
        let batch = try await store.send(queue: "jobs", [
            OutgoingMessage(body: body("C"), deduplicationId: "order-2"),
            OutgoingMessage(body: body("D"), deduplicationId: "order-2"),
            OutgoingMessage(body: body("E")),
            OutgoingMessage(body: body("F")),
        ], now: at(20))
        #expect(batch[0] == batch[1], "duplicates within one batch")
        #expect(Set([first, batch[0], batch[2], batch[3]]).count == 4)
        #expect(try await store.stats("jobs", now: at(20)).visible == 4)
        let received = try await store.receive(queue: "jobs", max: 10, visibilityTimeout: nil, now: at(20))
        #expect(received.map(text) == ["A", "C", "E", "F"])
        for message in received { try await store.ack(queue: "jobs", receipt: message.receipt) }
        // Still within the window after the first was acked: dropped.
        #expect(try await store.send(queue: "jobs", [OutgoingMessage(body: body("A again"), deduplicationId: "order-1")], now: at(50))[0] == first)
        try await expectNothing(store, at: at(50))
        // After the window: a new message.
        let fresh = try await store.send(queue: "jobs", [OutgoingMessage(body: body("A later"), deduplicationId: "order-1")], now: at(61))[0]
        #expect(fresh != first)
        #expect(text(try await receiveOne(store, at: at(61))) == "A later")
        // Ids are per queue.
        try await store.createQueue(configuration("other"))
        let elsewhere = try await store.send(queue: "other", [OutgoingMessage(body: body("X"), deduplicationId: "order-2")], now: at(21))[0]
        #expect(elsewhere != batch[0])
    }

    @Sendable static func stats(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(visibility: .seconds(30), maxAttempts: 1))
        _ = try await store.send(queue: "jobs", [
            OutgoingMessage(body: body("one")), OutgoingMessage(body: body("two")),
            OutgoingMessage(body: body("three")), OutgoingMessage(body: body("four")),
            OutgoingMessage(body: body("delayed"), delay: .seconds(100)),
        ], now: t0)
        let received = try await store.receive(queue: "jobs", max: 2, visibilityTimeout: nil, now: at(1))
        #expect(received.map(text) == ["one", "two"])
        // "one" stays in flight, "two" dies (one attempt allowed), "three" and "four" wait, "delayed" is delayed.
        let dead = try #require(received.last)
        try await store.nack(queue: "jobs", receipt: dead.receipt, error: "x", delay: nil, now: at(1))
        #expect(try await store.stats("jobs", now: at(2)) == QueueStats(name: "jobs", visible: 2, inFlight: 1, delayed: 1, deadLetters: 1))
        // As time passes: the delivery expires (visible again), the delay ends.
        #expect(try await store.stats("jobs", now: at(200)) == QueueStats(name: "jobs", visible: 4, inFlight: 0, delayed: 0, deadLetters: 1))
    }

    @Sendable static func argumentValidation(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration())
        await expectAerieError(.invalidArgument) { try await store.receive(queue: "jobs", max: 0, visibilityTimeout: nil, now: t0) }
        await expectAerieError(.invalidArgument) {
            try await store.send(queue: "jobs", [OutgoingMessage(body: body("x"), delay: .seconds(-1))], now: t0)
        }
        #expect(try await store.stats("jobs", now: t0).visible == 0, "a rejected batch stores nothing")
        try await send(store, ["x"])
        let message = try await receiveOne(store, at: t0)
        await expectAerieError(.invalidArgument) {
            try await store.nack(queue: "jobs", receipt: message.receipt, error: nil, delay: .seconds(-1), now: t0)
        }
        try await store.ack(queue: "jobs", receipt: message.receipt)
    }

    // MARK: - Concurrency

    @Sendable static func concurrency(_ p: Primitives) async throws {
        let store = p.queues
        try await store.createQueue(configuration(visibility: .seconds(3_600)))
        let producers = 20
        let perProducer = 10
        let sent = try await withThrowingTaskGroup(of: [String].self) { group in
            for producer in 0..<producers {
                group.addTask {
                    if producer % 2 == 0 {
                        return try await store.send(queue: "jobs", (0..<perProducer).map { OutgoingMessage(body: body("p\(producer)-\($0)")) }, now: t0)
                    }
                    var ids: [String] = []
                    for index in 0..<perProducer {
                        ids += try await store.send(queue: "jobs", [OutgoingMessage(body: body("p\(producer)-\(index)"))], now: t0)
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(sent.count == producers * perProducer)
        #expect(Set(sent).count == sent.count, "ids are unique")
        #expect(try await store.stats("jobs", now: t0).visible == sent.count)

        let consumers = 8
        let delivered = try await withThrowingTaskGroup(of: [ReceivedMessage].self) { group in
            for _ in 0..<consumers {
                group.addTask {
                    var mine: [ReceivedMessage] = []
                    while true {
                        let batch = try await store.receive(queue: "jobs", max: 7, visibilityTimeout: nil, now: at(1))
                        if batch.isEmpty { return mine }
                        mine += batch
                        await Task.yield()
                    }
                }
            }
            var all: [ReceivedMessage] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(delivered.count == sent.count, "every message delivered exactly once within its visibility timeout")
        #expect(Set(delivered.map(\.id)) == Set(sent))
        #expect(delivered.allSatisfy { $0.attempts == 1 })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in delivered {
                group.addTask { try await store.ack(queue: "jobs", receipt: message.receipt) }
            }
            try await group.waitForAll()
        }
        #expect(try await store.stats("jobs", now: at(10_000)) == QueueStats(name: "jobs", visible: 0, inFlight: 0, delayed: 0, deadLetters: 0))
    }
}
