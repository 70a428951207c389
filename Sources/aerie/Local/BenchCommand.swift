import AerieCore
import AerieSQLite
import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "In-process benchmarks of the primitives (used by `make bench`).",
        subcommands: [QueueBench.self, NeuralBench.self]
    )

    struct QueueBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue",
            abstract: "Send, receive and ack messages on the embedded SQLite queue; prints JSON with messages per second.",
            discussion: "Each batch is one send, one receive and one (batch) ack, every step a durable transaction.\n\nExample:\n  aerie bench queue --data /tmp/q --messages 20000 --batch 10"
        )

        @OptionGroup var data: DataOptions
        @Option(help: "Messages to push through.") var messages = 20_000
        @Option(help: "Messages per send and per receive.") var batch = 10

        func validate() throws {
            guard messages > 0, batch > 0 else { throw ValidationError("--messages and --batch must be positive.") }
        }

        func run() async throws {
            let storage = try data.openStorage()
            let queues = storage.queues
            let name = "bench"
            try await queues.createQueue(QueueConfiguration(name: name))
            let body = Data(#"{"n":0,"payload":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.utf8)
            let clock = ContinuousClock()
            var done = 0
            let start = clock.now
            while done < messages {
                let count = min(batch, messages - done)
                try await queues.send(queue: name, Array(repeating: OutgoingMessage(body: body), count: count), now: Date())
                let received = try await queues.receive(queue: name, max: count, visibilityTimeout: nil, now: Date())
                let stale = try await queues.ack(queue: name, receipts: received.map(\.receipt))
                guard stale.isEmpty else { throw CLIError("\(stale.count) receipts were stale; the benchmark cannot continue.") }
                done += received.count
                if received.isEmpty { throw CLIError("the queue returned no messages after a send; the benchmark cannot continue.") }
            }
            let seconds = (clock.now - start).seconds
            let result: JSONValue = [
                "messages": .number(Double(messages)), "batch": .number(Double(batch)), "seconds": .number(seconds),
                "messages_per_s": .number(Double(messages) / seconds), "durability": .string(data.durability.rawValue),
            ]
            print(String(decoding: result.encoded(), as: UTF8.self))
        }
    }
}
