import AerieCore
@testable import AerieSQLite
import Foundation
import Testing

/// A quick throughput measurement of send + receive + ack at batch 10; runs only with `AERIE_BENCH=1`
/// and prints its numbers (no assertion on time).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["AERIE_BENCH"] == "1"))
struct QueueThroughputBenchmark {
    @Test(arguments: Durability.allCases)
    func sendReceiveAckAtBatchTen(durability: Durability) async throws {
        try await withStorage(durability: durability) { storage, _ in
            let queues = storage.queues
            try await queues.createQueue(QueueConfiguration(name: "bench"))
            let body = Data(repeating: 0x61, count: 100)
            let batch = (0..<10).map { _ in OutgoingMessage(body: body) }
            for batchAck in [true, false] {
                let rounds = 1000
                let clock = ContinuousClock()
                let elapsed = try await clock.measure {
                    for _ in 0..<rounds {
                        let now = Date()
                        _ = try await queues.send(queue: "bench", batch, now: now)
                        let received = try await queues.receive(queue: "bench", max: 10, visibilityTimeout: nil, now: now)
                        if batchAck {
                            _ = try await queues.ack(queue: "bench", receipts: received.map(\.receipt))
                        } else {
                            for message in received { try await queues.ack(queue: "bench", receipt: message.receipt) }
                        }
                    }
                }
                let messages = Double(rounds * 10)
                print("queue bench durability=\(durability) ack=\(batchAck ? "batch" : "single"): \(Int(messages / elapsed.seconds)) msg/s (\(rounds * 10) messages in \(elapsed))")
            }
        }
    }
}
