import AerieCore
import AeriePostgres
import AerieS3
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
        subcommands: [QueueBench.self, BodiesBench.self, HTTPBench.self, NeuralBench.self, ClassifierBench.self, FacesBench.self]
    )

    struct QueueBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue",
            abstract: "Send, receive and ack messages on the embedded SQLite queue (or PostgreSQL's, with --database); prints JSON with messages per second.",
            discussion: """
                Two phases on one queue: CONCURRENCY senders send MESSAGES in sends of BATCH messages; then CONCURRENCY \
                consumers receive up to BATCH at a time and ack each delivery (one ack per message at batch 1, one \
                batch ack otherwise) until the queue is empty. Every send, receive and ack is acknowledged after its \
                commit (with --durability strict, after the commit is synced to disk).

                Example:
                  aerie bench queue --data /tmp/q --messages 20000 --batch 1 --concurrency 32 --durability strict
                  aerie bench queue --database postgres://aerie@127.0.0.1:5432/bench --messages 20000 --batch 1 --concurrency 32
                """
        )

        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions
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
            var logger = Logger(label: "aerie.bench")
            logger.logLevel = .warning
            // The drivers themselves, as the embedded figure has always measured them (no front end).
            let queues: any QueueStore
            var engine = data.durability.rawValue
            if let url = deployment.databaseURL {
                queues = try await PostgresStorage.open(url: url, bodies: DirectoryBodyStore(directory: data.directory), logger: logger).queues
                engine = "postgres"
            } else {
                queues = try data.openStorage().queues
            }
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
                "durability": .string(engine),
                "send_seconds": .number(sendSeconds), "send_per_s": .number(Double(messages) / sendSeconds),
                "receive_ack_seconds": .number(receiveSeconds), "receive_ack_per_s": .number(Double(messages) / receiveSeconds),
                "seconds": .number(sendSeconds + receiveSeconds),
                "messages_per_s": .number(Double(messages) / (sendSeconds + receiveSeconds)),
            ]
            print(String(decoding: result.encoded(), as: UTF8.self))
        }
    }

    struct BodiesBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bodies",
            abstract: "Write, read back and remove object bodies through the S3 object driver; prints JSON with MB/s.",
            discussion: """
                COUNT bodies of SIZE bytes are written by CONCURRENCY tasks (one PutObject each up to 8 MiB, multipart \
                beyond), then each is read back whole, then removed. The store comes from --object-store s3://… and the \
                AWS_* variables, as for `aerie serve`.

                Example:
                  AWS_ENDPOINT_URL=http://127.0.0.1:8333 AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \\
                    aerie bench bodies --object-store s3://bench/run1 --size 1048576 --count 200 --concurrency 8
                """
        )

        @Option(help: "s3://BUCKET[/PREFIX], with the AWS_* variables.") var objectStore: String
        @Option(help: "Bytes per body.") var size = 1 << 20
        @Option(help: "Bodies to write and read.") var count = 200
        @Option(help: "Concurrent tasks.") var concurrency = 8

        func validate() throws {
            guard size > 0, count > 0, concurrency > 0 else { throw ValidationError("--size, --count and --concurrency must be positive.") }
        }

        func run() async throws {
            let store = S3BodyStore(location: try S3BodyStore.Location.parse(objectStore, environment: ProcessInfo.processInfo.environment))
            try await store.check()
            let body = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let clock = ContinuousClock()
            let (count, concurrency, size) = (self.count, self.concurrency, self.size)

            let toWrite = QueueBench.Counter(total: count)
            let names = Collected()
            let writeStart = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while toWrite.take(1) == 1 {
                            let stored = try await store.write(bucket: "bench", key: UUID().uuidString, body: AsyncStream { $0.yield(body); $0.finish() }, maxSize: .max)
                            names.values.withLock { $0.append(stored.name) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let writeSeconds = (clock.now - writeStart).seconds
            let written = names.values.withLock { $0 }

            let next = QueueBench.Counter(total: written.count)
            let readStart = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while true {
                            let index = next.taken.withLock { taken -> Int? in
                                guard taken < written.count else { return nil }
                                taken += 1
                                return taken - 1
                            }
                            guard let index else { return }
                            guard let chunks = try await store.open(written[index], range: nil, size: Int64(size), description: "bench body"),
                                  try await chunks.collect().count == size else {
                                throw CLIError("body \(written[index]) did not read back whole; the benchmark cannot continue.")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let readSeconds = (clock.now - readStart).seconds
            for name in written { await store.remove(name) }
            let megabytes = Double(size * count) / 1_000_000
            let result: JSONValue = [
                "size": .number(Double(size)), "count": .number(Double(count)), "concurrency": .number(Double(concurrency)),
                "put_seconds": .number(writeSeconds), "put_mb_per_s": .number(megabytes / writeSeconds), "put_per_s": .number(Double(count) / writeSeconds),
                "get_seconds": .number(readSeconds), "get_mb_per_s": .number(megabytes / readSeconds), "get_per_s": .number(Double(count) / readSeconds),
            ]
            print(String(decoding: result.encoded(), as: UTF8.self))
        }
    }

    /// Names gathered by concurrent tasks.
    final class Collected: Sendable {
        let values = Mutex<[String]>([])
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
