import AerieCore
@testable import AerieSQLite
import Foundation
import Testing

@Suite struct SQLiteQueueStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    @Test func deliversOldestFirstWithVisibilityTimeoutAndStaleReceipts() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs", visibilityTimeout: .seconds(10)))
            let ids = try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("a".utf8)), OutgoingMessage(body: Data("b".utf8))], now: t0)
            let first = try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0)
            #expect(first.map(\.id) == [ids[0]])
            #expect(first.first?.attempts == 1)
            #expect(try await queues.stats("jobs", now: t0) == QueueStats(name: "jobs", visible: 1, inFlight: 1, delayed: 0, deadLetters: 0))
            // Invisible until the timeout ends, then delivered again with a new receipt.
            #expect(try await queues.receive(queue: "jobs", max: 5, visibilityTimeout: nil, now: t0.addingTimeInterval(5)).map(\.id) == [ids[1]])
            let again = try await queues.receive(queue: "jobs", max: 5, visibilityTimeout: nil, now: t0.addingTimeInterval(11))
            #expect(again.map(\.id) == [ids[0]])
            #expect(again.first?.attempts == 2)
            #expect(await errorCode { try await queues.ack(queue: "jobs", receipt: first[0].receipt) } == .notFound)
            try await queues.ack(queue: "jobs", receipt: again[0].receipt)
            #expect(await errorCode { try await queues.ack(queue: "jobs", receipt: again[0].receipt) } == .notFound)
            #expect(await errorCode { try await queues.ack(queue: "nope", receipt: "x") } == .notFound)
        }
    }

    @Test func nackBacksOffExponentiallyThenDeadLettersAndRedrives() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs", maxAttempts: 3, backoffBase: .seconds(2), maxBackoff: .seconds(60)))
            let id = try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("x".utf8))], now: t0)[0]
            var now = t0
            var delivery = try #require(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: now).first)
            try await queues.nack(queue: "jobs", receipt: delivery.receipt, error: "boom 1", delay: nil, now: now)
            // backoff after 1 attempt: 2 s
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: now.addingTimeInterval(1.9)).isEmpty)
            #expect(try await queues.stats("jobs", now: now).delayed == 1)
            now = now.addingTimeInterval(2)
            delivery = try #require(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: now).first)
            #expect(delivery.attempts == 2)
            try await queues.nack(queue: "jobs", receipt: delivery.receipt, error: "boom 2", delay: nil, now: now)
            // backoff after 2 attempts: 4 s
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: now.addingTimeInterval(3.9)).isEmpty)
            now = now.addingTimeInterval(4)
            delivery = try #require(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: now).first)
            #expect(delivery.attempts == 3)
            try await queues.nack(queue: "jobs", receipt: delivery.receipt, error: "boom 3", delay: nil, now: now)
            let dead = try await queues.deadLetters(queue: "jobs", limit: 10, cursor: nil)
            #expect(dead.items.map(\.id) == [id])
            #expect(dead.items.first?.lastError == "boom 3")
            #expect(dead.items.first?.attempts == 3)
            #expect(try await queues.stats("jobs", now: now) == QueueStats(name: "jobs", visible: 0, inFlight: 0, delayed: 0, deadLetters: 1))
            #expect(try await queues.redrive(queue: "jobs", ids: nil, now: now) == 1)
            let redriven = try #require(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: now).first)
            #expect(redriven.id == id)
            #expect(redriven.attempts == 1)
        }
    }

    @Test func anExpiredDeliveryOfAnExhaustedMessageIsDeadLetteredOnReceive() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs", visibilityTimeout: .seconds(1), maxAttempts: 1))
            try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("a".utf8)), OutgoingMessage(body: Data("b".utf8))], now: t0)
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0).count == 1)
            // "a" timed out after its only attempt: it goes to the DLQ and "b" is delivered instead.
            let next = try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0.addingTimeInterval(2))
            #expect(next.map { String(decoding: $0.body, as: UTF8.self) } == ["b"])
            #expect(try await queues.stats("jobs", now: t0.addingTimeInterval(2)).deadLetters == 1)
        }
    }

    @Test func delayDeduplicationExtendAndBatchAck() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs", visibilityTimeout: .seconds(5), deduplicationWindow: .seconds(60)))
            let ids = try await queues.send(queue: "jobs", [
                OutgoingMessage(body: Data("later".utf8), delay: .seconds(30)),
                OutgoingMessage(body: Data("once".utf8), deduplicationId: "d1"),
                OutgoingMessage(body: Data("once again".utf8), deduplicationId: "d1"),
            ], now: t0)
            #expect(ids[1] == ids[2])
            #expect(try await queues.send(queue: "jobs", [OutgoingMessage(body: Data(), deduplicationId: "d1")], now: t0.addingTimeInterval(59)) == [ids[1]])
            let fresh = try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("new".utf8), deduplicationId: "d1")], now: t0.addingTimeInterval(61))
            #expect(fresh != [ids[1]])
            let now = t0.addingTimeInterval(61)
            let received = try await queues.receive(queue: "jobs", max: 10, visibilityTimeout: nil, now: now)
            #expect(received.map(\.id) == [ids[0], ids[1], fresh[0]])
            try await queues.extendVisibility(queue: "jobs", receipt: received[1].receipt, by: .seconds(100), now: now)
            let redelivered = try await queues.receive(queue: "jobs", max: 10, visibilityTimeout: nil, now: now.addingTimeInterval(50))
            #expect(redelivered.map(\.id) == [ids[0], fresh[0]])
            let stale = try await queues.ack(queue: "jobs", receipts: [received[1].receipt, received[0].receipt])
            #expect(stale == [received[0].receipt])
            #expect(await errorCode { try await queues.extendVisibility(queue: "jobs", receipt: received[1].receipt, by: .seconds(1), now: now) } == .notFound)
            #expect(await errorCode { _ = try await storage.primitives.queues.send(queue: "jobs", [OutgoingMessage(body: Data(), delay: .seconds(-1))], now: now) } == .invalidArgument)
        }
    }

    @Test func concurrentReceiversNeverGetTheSameDelivery() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs", visibilityTimeout: .seconds(600)))
            let sent = try await queues.send(queue: "jobs", (0..<200).map { OutgoingMessage(body: Data(String($0).utf8)) }, now: t0)
            let t0 = self.t0
            let delivered = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await queues.receive(queue: "jobs", max: 7, visibilityTimeout: nil, now: t0)
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(delivered.count == sent.count)
            #expect(Set(delivered) == Set(sent))
        }
    }

    @Test func queuesAreListedUpdatedAndDeleted() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "b"))
            try await queues.createQueue(QueueConfiguration(name: "a", maxAttempts: 2))
            try await queues.createQueue(QueueConfiguration(name: "a", maxAttempts: 4))
            #expect(try await queues.listQueues().map(\.name) == ["a", "b"])
            #expect(try await queues.queue("a")?.maxAttempts == 4)
            try await queues.send(queue: "a", [OutgoingMessage(body: Data())], now: t0)
            try await queues.deleteQueue("a")
            #expect(try await queues.queue("a") == nil)
            #expect(await errorCode { _ = try await queues.send(queue: "a", [OutgoingMessage(body: Data())], now: t0) } == .notFound)
            #expect(await errorCode { try await storage.primitives.queues.createQueue(QueueConfiguration(name: "x", maxAttempts: 0)) } == .invalidArgument)
        }
    }

    @Test func deadLettersPageWithACursor() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs", maxAttempts: 1))
            let ids = try await queues.send(queue: "jobs", (0..<5).map { _ in OutgoingMessage(body: Data()) }, now: t0)
            for delivery in try await queues.receive(queue: "jobs", max: 5, visibilityTimeout: nil, now: t0) {
                try await queues.nack(queue: "jobs", receipt: delivery.receipt, error: nil, delay: nil, now: t0)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await queues.deadLetters(queue: "jobs", limit: 2, cursor: cursor)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ids)
            #expect(try await queues.redrive(queue: "jobs", ids: [ids[3], "unknown"], now: t0) == 1)
            #expect(try await queues.stats("jobs", now: t0).deadLetters == 4)
        }
    }

    @Test(arguments: Durability.allCases) func concurrentSingleSendsShareCommitsAndEachIsStored(durability: Durability) async throws {
        try await withStorage(durability: durability) { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs"))
            let before = storage.database.groupCommit.counts
            let senders = 64
            let ids = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<senders {
                    group.addTask { (index, try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("\(index)".utf8))], now: self.t0)[0]) }
                }
                var ids: [Int: String] = [:]
                for try await (index, id) in group { ids[index] = id }
                return ids
            }
            let after = storage.database.groupCommit.counts
            #expect(after.writes - before.writes == senders)
            #expect(after.commits - before.commits < senders / 2, "concurrent sends share commits: \(after.commits - before.commits) for \(senders)")
            let received = try await queues.receive(queue: "jobs", max: 100, visibilityTimeout: nil, now: t0)
            #expect(Set(received.map(\.id)) == Set(ids.values))
            #expect(Set(received.map { String(decoding: $0.body, as: UTF8.self) }) == Set((0..<senders).map(String.init)))
            // Acks grouped the same way each delete their own message.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for message in received { group.addTask { try await queues.ack(queue: "jobs", receipt: message.receipt) } }
                try await group.waitForAll()
            }
            #expect(try await queues.stats("jobs", now: t0).visible == 0)
            #expect(try await queues.stats("jobs", now: t0).inFlight == 0)
        }
    }

    @Test func anIdleQueueIsLookedAtWithoutAWriteAndABusyOneSkipsTheLook() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs"))
            func writes() -> Int { storage.database.groupCommit.counts.writes }
            // Empty: the look finds nothing, no write.
            var before = writes()
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0).isEmpty)
            #expect(writes() == before)
            _ = try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("a".utf8))], now: t0)
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0).count == 1)
            // Busy (the last receive found a message within the second): straight to the write, which finds nothing
            // and makes the queue idle again; the next receive looks first and writes nothing.
            before = writes()
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0.addingTimeInterval(0.5)).isEmpty)
            #expect(writes() == before + 1)
            before = writes()
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0.addingTimeInterval(0.6)).isEmpty)
            #expect(writes() == before)
            // A second after a receive that found messages, the look comes back.
            _ = try await queues.send(queue: "jobs", [OutgoingMessage(body: Data("b".utf8))], now: t0)
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0.addingTimeInterval(1)).count == 1)
            before = writes()
            #expect(try await queues.receive(queue: "jobs", max: 1, visibilityTimeout: nil, now: t0.addingTimeInterval(2.5)).isEmpty)
            #expect(writes() == before)
        }
    }

    @Test func aFailingWriteInAGroupFailsAlone() async throws {
        try await withStorage { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "jobs"))
            let outcomes = await withTaskGroup(of: (Int, AerieError.Code?).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let queue = index.isMultiple(of: 2) ? "jobs" : "missing"
                        let code = await errorCode { _ = try await queues.send(queue: queue, [OutgoingMessage(body: Data("\(index)".utf8))], now: self.t0) }
                        return (index, code)
                    }
                }
                var outcomes: [Int: AerieError.Code?] = [:]
                for await (index, code) in group { outcomes[index] = code }
                return outcomes
            }
            for (index, code) in outcomes {
                #expect(code == (index.isMultiple(of: 2) ? nil : .notFound), "send \(index)")
            }
            let received = try await queues.receive(queue: "jobs", max: 100, visibilityTimeout: nil, now: t0)
            #expect(Set(received.map { String(decoding: $0.body, as: UTF8.self) }) == Set(stride(from: 0, to: 40, by: 2).map(String.init)))
        }
    }
}
