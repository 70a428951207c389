import AerieCore
import AerieSQLite
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "In-process benchmarks of the primitives (used by `make bench`).",
        subcommands: [QueueBench.self, HTTPBench.self, NeuralBench.self, ClassifierBench.self, FacesBench.self]
    )

    struct QueueBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue",
            abstract: "Send, receive and ack messages on the embedded SQLite queue; prints JSON with messages per second.",
            discussion: """
                Two phases on one queue: CONCURRENCY senders send MESSAGES in sends of BATCH messages; then CONCURRENCY \
                consumers receive up to BATCH at a time and ack each delivery (one ack per message at batch 1, one \
                batch ack otherwise) until the queue is empty. Every send, receive and ack is acknowledged after its \
                commit (with --durability strict, after the commit is synced to disk).

                Example:
                  aerie bench queue --data /tmp/q --messages 20000 --batch 1 --concurrency 32 --durability strict
                """
        )

        @OptionGroup var data: DataOptions
        @Option(help: "Messages to push through.") var messages = 20_000
        @Option(help: "Messages per send and per receive.") var batch = 10
        @Option(help: "Concurrent senders, then concurrent consumers.") var concurrency = 1

        func validate() throws {
            guard messages > 0, batch > 0, concurrency > 0 else { throw ValidationError("--messages, --batch and --concurrency must be positive.") }
        }

        /// Hands out work in steps of `batch` to concurrent workers.
        final class Counter: Sendable {
            let total: Int
            let taken = Mutex(0)
            init(total: Int) { self.total = total }
            /// How many to do next (0 when all are taken).
            func take(_ batch: Int) -> Int {
                taken.withLock { taken in
                    let count = Swift.min(batch, total - taken)
                    taken += count
                    return count
                }
            }
        }

        func run() async throws {
            let storage = try data.openStorage()
            let queues = storage.queues
            let name = "bench"
            try await queues.createQueue(QueueConfiguration(name: name, visibilityTimeout: .seconds(600)))
            let body = Data(#"{"n":0,"payload":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.utf8)
            let (batch, concurrency, messages) = (self.batch, self.concurrency, self.messages)
            let clock = ContinuousClock()

            let toSend = Counter(total: messages)
            let sendStart = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while case let count = toSend.take(batch), count > 0 {
                            _ = try await queues.send(queue: name, Array(repeating: OutgoingMessage(body: body), count: count), now: Date())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let sendSeconds = (clock.now - sendStart).seconds

            let received = Counter(total: .max)
            let receiveStart = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while true {
                            let deliveries = try await queues.receive(queue: name, max: batch, visibilityTimeout: nil, now: Date())
                            if deliveries.isEmpty { return }
                            if batch == 1 {
                                for delivery in deliveries { try await queues.ack(queue: name, receipt: delivery.receipt) }
                            } else {
                                let stale = try await queues.ack(queue: name, receipts: deliveries.map(\.receipt))
                                guard stale.isEmpty else { throw CLIError("\(stale.count) receipts were stale; the benchmark cannot continue.") }
                            }
                            _ = received.take(deliveries.count)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let receiveSeconds = (clock.now - receiveStart).seconds
            let consumed = received.taken.withLock { $0 }
            guard consumed == messages else { throw CLIError("received \(consumed) of \(messages) messages; the benchmark cannot continue.") }
            let result: JSONValue = [
                "messages": .number(Double(messages)), "batch": .number(Double(batch)), "concurrency": .number(Double(concurrency)),
                "durability": .string(data.durability.rawValue),
                "send_seconds": .number(sendSeconds), "send_per_s": .number(Double(messages) / sendSeconds),
                "receive_ack_seconds": .number(receiveSeconds), "receive_ack_per_s": .number(Double(messages) / receiveSeconds),
                "seconds": .number(sendSeconds + receiveSeconds),
                "messages_per_s": .number(Double(messages) / (sendSeconds + receiveSeconds)),
            ]
            print(String(decoding: result.encoded(), as: UTF8.self))
        }
    }

    /// A bare Hummingbird server in a process of its own: the reference the in-server bare route is compared with.
    struct HTTPBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http",
            abstract: "Serve only a bare Hummingbird route POST /noop (the reference for `make bench`) until stopped.",
            discussion: "Example:\n  aerie bench http --port 9100"
        )

        @Option(help: "Address to listen on.") var host = "127.0.0.1"
        @Option(help: "Port to listen on.") var port = 9100

        func run() async throws {
            let group = ServiceGroup(configuration: .init(services: [BenchNoop.bareApplication(host: host, port: port)],
                                                          gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "aerie.bench")))
            try await group.run()
        }
    }
}
