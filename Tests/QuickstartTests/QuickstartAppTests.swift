import AerieCore
import AerieFunctions
import AerieTesting
import Foundation
import Logging
import Testing
@testable import Quickstart

/// The Quickstart app end to end on the memory primitives: upload → trigger → result object and row.
@Suite struct QuickstartAppTests {
    static func makeRuntime(_ primitives: Primitives) -> FunctionRuntime {
        let configuration = RuntimeConfiguration(
            nodeId: "test", pollInterval: .milliseconds(10), visibilityTimeout: .seconds(2), retryBackoff: .milliseconds(10),
            maxRetryBackoff: .milliseconds(50), sweepInterval: .milliseconds(20), groupCommitInterval: .milliseconds(5),
            triggerStartPosition: .earliest)
        return FunctionRuntime(primitives: primitives, configuration: configuration, logger: Logger(label: "test"))
    }

    static func setUp() async throws -> (Primitives, FunctionRuntime) {
        let primitives = Primitives.memory()
        let runtime = makeRuntime(primitives)
        try await QuickstartApp().setUp(primitives: primitives, runtime: runtime, logger: Logger(label: "test"))
        return (primitives, runtime)
    }

    @Test func uploadTriggersWordCountWithResultObjectAndRow() async throws {
        let (primitives, runtime) = try await Self.setUp()
        try await whileRunning({ try await runtime.run() }) {
            try await primitives.objects.put(bucket: "quickstart", key: "incoming/docs/a.txt", data: Data("Hello hello, World!".utf8))
            try await primitives.objects.put(bucket: "quickstart", key: "incoming/notes.md", data: Data("not counted".utf8))
            try await eventually("results/docs/a.json") {
                try await primitives.objects.head(bucket: "quickstart", key: "results/docs/a.json") != nil
            }
        }
        let result = try await primitives.objects.get(bucket: "quickstart", key: "results/docs/a.json", range: nil)
        let document = try JSONValue.parse(result.body)
        #expect(document == ["source": "incoming/docs/a.txt", "total": 3, "counts": ["hello": 2, "world": 1]])
        #expect(result.info.contentType == "application/json")

        let row = try #require(try await primitives.tables.get(table: "quickstart_wordcounts", key: ItemKey(partition: "incoming/docs/a.txt")))
        #expect(row.item["total"] == 3)
        #expect(row.item["folder"] == "incoming/docs")
        let byFolder = try await primitives.tables.query(table: "quickstart_wordcounts", TableQuery(index: "by_folder", partition: "incoming/docs"))
        #expect(byFolder.items.count == 1)

        // The .md upload matched no trigger: nothing was written for it.
        let listing = try await primitives.objects.list(bucket: "quickstart", ListObjectsRequest(prefix: "results/"))
        #expect(listing.objects.map(\.key) == ["results/docs/a.json"])
    }

    @Test func nonUTF8UploadFailsWithClearErrorAndNoResult() async throws {
        let (primitives, runtime) = try await Self.setUp()
        try await whileRunning({ try await runtime.run() }) {
            try await primitives.objects.put(bucket: "quickstart", key: "incoming/binary.txt", data: Data([0x66, 0x6F, 0xFF, 0xFE, 0x00]))
            try await eventually("the invocation to fail") {
                try await runtime.invocations(function: "wordcount", status: .failed, owner: nil, limit: 10, cursor: nil).items.count == 1
            }
        }
        let failed = try await runtime.invocations(function: "wordcount", status: .failed, owner: nil, limit: 10, cursor: nil).items[0]
        #expect(failed.error?.message.contains("not UTF-8") == true)
        #expect(failed.trigger.kind == .object)
        #expect(try await primitives.objects.head(bucket: "quickstart", key: "results/binary.json") == nil)
    }

    @Test func invokedWithTextOrKey() async throws {
        let (primitives, runtime) = try await Self.setUp()
        try await primitives.objects.put(bucket: "quickstart", key: "incoming/k.txt", data: Data("one two two".utf8))
        let (_, output) = try await runtime.invoke("wordcount", input: Data(#"{"text": "a b a"}"#.utf8), trigger: .http, owner: "alice")
        #expect(try JSONValue.parse(output) == ["total": 3, "counts": ["a": 2, "b": 1]])

        let (_, keyed) = try await runtime.invoke("wordcount", input: Data(#"{"key": "incoming/k.txt"}"#.utf8), trigger: .http, owner: "alice")
        let reply = try JSONValue.parse(keyed)
        #expect(reply["total"] == 3)
        #expect(reply["result_key"] == "results/k.json")
        #expect(try await primitives.tables.get(table: "quickstart_wordcounts", key: ItemKey(partition: "incoming/k.txt"))?.owner == "alice")
    }

    @Test func badInputIsAnInvalidArgument() async throws {
        let (_, runtime) = try await Self.setUp()
        let cases = [#"{}"#: "/text", #"{"text": 3}"#: "/text", #"{"key": "bad\u0000key"}"#: "key", #"{"text": "a", "key": "b"}"#: "/key"]
        for (input, field) in cases {
            let error = await #expect(throws: FunctionInvocationError.self) {
                _ = try await runtime.invoke("wordcount", input: Data(input.utf8), trigger: .http, owner: nil)
            }
            #expect(error?.code == .invalidArgument, "\(input)")
            #expect(error?.error.field == field, "\(input)")
        }
        do {
            _ = try await runtime.invoke("wordcount", input: Data(#"{"key": "incoming/missing.txt"}"#.utf8), trigger: .http, owner: nil)
            Issue.record("a missing object must fail")
        } catch {
            #expect("\(error)".contains("does not exist"))
        }
    }

    @Test func largeTextReportsProgress() async throws {
        let (_, runtime) = try await Self.setUp()
        let text = String(repeating: "lorem ipsum dolor ", count: 20_000)  // 360 kB: several progress chunks
        let input = try JSONCoding.encode(["text": text])
        try await whileRunning({ try await runtime.run() }) {
            let (record, _) = try await runtime.invokeAsync("wordcount", input: input, trigger: .http, owner: nil, idempotencyKey: nil)
            var progress: [Double] = []
            var result: JSONValue?
            for try await event in runtime.events(record.id, after: nil) {
                if event.kind == .progress, let fraction = event.data["fraction"]?.numberValue { progress.append(fraction) }
                if event.kind == .result { result = event.data }
            }
            #expect(progress.count >= 5)
            #expect(progress == progress.sorted())
            #expect(progress.last == 1)
            #expect(result?["output"]?["total"] == 60_000 || result?["total"] == 60_000)
        }
    }
}
