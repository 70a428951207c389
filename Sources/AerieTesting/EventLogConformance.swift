import AerieCore
import Foundation
import Testing

/// The conformance suite of ``EventLog`` drivers. Each case gets a fresh, empty ``Primitives``.
public enum EventLogConformance {
    public static let cases: [ConformanceCase] = [
        check("append assigns ordered offsets from 0", appendOffsets),
        check("topics are independent and listed", topicsListed),
        check("read from any offset (replay)", replay),
        check("consumer groups commit offsets independently", consumerGroups),
        check("rewind by committing a lower offset", rewind),
        check("a consumer resumes from its committed offset without loss", consumerLoop),
        check("payloads and keys round-trip byte for byte", payloads),
        check("invalid names, offsets and limits", validation),
        check("concurrent appends get unique, contiguous offsets", concurrentAppends),
    ]

    static func check(_ name: String, _ body: @escaping @Sendable (Primitives) async throws -> Void) -> ConformanceCase {
        ConformanceCase(suite: "events", name: name, body)
    }

    static func payload(_ text: String) -> Data { Data(text.utf8) }

    static func texts(_ records: [EventRecord]) -> [String] { records.map { String(decoding: $0.payload, as: UTF8.self) } }

    static func events(_ texts: [String], key: String? = nil) -> [OutgoingEvent] {
        texts.map { OutgoingEvent(key: key, payload: payload($0)) }
    }

    @Sendable static func appendOffsets(_ p: Primitives) async throws {
        let log = p.events
        #expect(try await log.topic("orders") == nil)
        #expect(try await log.append(topic: "orders", events(["a", "b", "c"], key: "order-1")) == [0, 1, 2])
        #expect(try await log.append(topic: "orders", key: "order-2", payload: payload("d")) == 3)
        #expect(try await log.append(topic: "orders", []) == [])
        #expect(try await log.topic("orders") == TopicInfo(name: "orders", nextOffset: 4))
        let records = try await log.read(topic: "orders", from: 0, limit: 100)
        #expect(records.map(\.offset) == [0, 1, 2, 3])
        #expect(texts(records) == ["a", "b", "c", "d"])
        #expect(records.map(\.key) == ["order-1", "order-1", "order-1", "order-2"])
        #expect(records.allSatisfy { $0.topic == "orders" })
        #expect(records.allSatisfy { abs($0.time.timeIntervalSinceNow) < 3_600 }, "records carry the append time")
    }

    @Sendable static func topicsListed(_ p: Primitives) async throws {
        let log = p.events
        #expect(try await log.topics().isEmpty)
        try await log.append(topic: "b.topic", events(["1", "2"]))
        #expect(try await log.append(topic: "a-topic", events(["x"])) == [0], "each topic counts from 0")
        try await log.append(topic: "b.topic", events(["3"]))
        #expect(try await log.topics() == [TopicInfo(name: "a-topic", nextOffset: 1), TopicInfo(name: "b.topic", nextOffset: 3)])
        #expect(texts(try await log.read(topic: "a-topic", from: 0, limit: 10)) == ["x"])
        #expect(texts(try await log.read(topic: "b.topic", from: 0, limit: 10)) == ["1", "2", "3"])
    }

    @Sendable static func replay(_ p: Primitives) async throws {
        let log = p.events
        try await log.append(topic: "t", events((0..<10).map { "e\($0)" }))
        #expect(texts(try await log.read(topic: "t", from: 3, limit: 2)) == ["e3", "e4"])
        #expect(try await log.read(topic: "t", from: 8, limit: 10).map(\.offset) == [8, 9])
        #expect(try await log.read(topic: "t", from: 10, limit: 10).isEmpty, "reading at the end")
        #expect(try await log.read(topic: "t", from: 1_000, limit: 10).isEmpty, "reading past the end")
        #expect(try await log.read(topic: "t", from: 0, limit: 1).map(\.offset) == [0])
        // Reading does not consume: the same range reads the same again.
        #expect(texts(try await log.read(topic: "t", from: 3, limit: 2)) == ["e3", "e4"])
        #expect(try await log.read(topic: "never-written", from: 0, limit: 10).isEmpty)
        #expect(try await log.topic("never-written") == nil)
    }

    @Sendable static func consumerGroups(_ p: Primitives) async throws {
        let log = p.events
        try await log.append(topic: "t", events(["a", "b", "c", "d"]))
        try await log.append(topic: "u", events(["x"]))
        #expect(try await log.committedOffset(group: "billing", topic: "t") == nil)
        try await log.commit(group: "billing", topic: "t", offset: 2)
        try await log.commit(group: "audit", topic: "t", offset: 4)
        try await log.commit(group: "billing", topic: "u", offset: 1)
        #expect(try await log.committedOffset(group: "billing", topic: "t") == 2)
        #expect(try await log.committedOffset(group: "audit", topic: "t") == 4)
        #expect(try await log.committedOffset(group: "billing", topic: "u") == 1)
        #expect(try await log.committedOffset(group: "audit", topic: "u") == nil)
        let onT = try await log.consumerOffsets(topic: "t")
        #expect(onT.map(\.group).sorted() == ["audit", "billing"])
        #expect(onT.allSatisfy { $0.topic == "t" })
        #expect(onT.first { $0.group == "billing" }?.offset == 2)
        let all = try await log.consumerOffsets(topic: nil)
        #expect(all.count == 3)
        #expect(Set(all.map { "\($0.group)@\($0.topic)=\($0.offset)" }) == ["billing@t=2", "audit@t=4", "billing@u=1"])
        #expect(try await log.consumerOffsets(topic: "never-written").isEmpty)
        // Committing the end of a topic that has no events yet (offset 0) is allowed: a consumer that starts early.
        try await log.commit(group: "early", topic: "empty-topic", offset: 0)
        #expect(try await log.committedOffset(group: "early", topic: "empty-topic") == 0)
    }

    @Sendable static func rewind(_ p: Primitives) async throws {
        let log = p.events
        try await log.append(topic: "t", events((0..<6).map { "e\($0)" }))
        try await log.commit(group: "g", topic: "t", offset: 5)
        try await log.commit(group: "g", topic: "t", offset: 1)
        let offset = try #require(try await log.committedOffset(group: "g", topic: "t"))
        #expect(offset == 1)
        #expect(texts(try await log.read(topic: "t", from: offset, limit: 100)) == ["e1", "e2", "e3", "e4", "e5"])
        try await log.commit(group: "g", topic: "t", offset: 0)
        #expect(try await log.committedOffset(group: "g", topic: "t") == 0)
        #expect(try await log.consumerOffsets(topic: "t").map(\.offset) == [0])
    }

    @Sendable static func consumerLoop(_ p: Primitives) async throws {
        let log = p.events
        var consumed: [String] = []
        func poll() async throws {
            let start = try await log.committedOffset(group: "worker", topic: "jobs") ?? 0
            let batch = try await log.read(topic: "jobs", from: start, limit: 3)
            consumed += texts(batch)
            if let last = batch.last { try await log.commit(group: "worker", topic: "jobs", offset: last.offset + 1) }
        }
        try await log.append(topic: "jobs", events(["1", "2", "3", "4"]))
        try await poll()
        try await log.append(topic: "jobs", events(["5"]))
        try await poll()
        try await poll()
        try await log.append(topic: "jobs", events(["6", "7"]))
        try await poll()
        try await poll()
        #expect(consumed == ["1", "2", "3", "4", "5", "6", "7"])
        #expect(try await log.committedOffset(group: "worker", topic: "jobs") == 7)
    }

    @Sendable static func payloads(_ p: Primitives) async throws {
        let log = p.events
        let binary = Data((0...255).map { UInt8($0) })
        let unicodeKey = "caf\u{E9}/\u{1F600} key with spaces"
        try await log.append(topic: "bin", [OutgoingEvent(key: unicodeKey, payload: binary), OutgoingEvent(key: nil, payload: Data())])
        let records = try await log.read(topic: "bin", from: 0, limit: 10)
        #expect(records.count == 2)
        #expect(records.first?.payload == binary)
        #expect(records.first.map { Array(($0.key ?? "").utf8) } == Array(unicodeKey.utf8))
        #expect(records.last?.payload == Data())
        #expect(records.last?.key == nil)
    }

    @Sendable static func validation(_ p: Primitives) async throws {
        let log = p.events
        for name in ["", "has space", "a/b", String(repeating: "t", count: 129)] {
            await expectAerieError(.invalidArgument, field: "topic", "topic \(name.prefix(20))") { try await log.append(topic: name, payload: payload("x")) }
        }
        #expect(try await log.topics().isEmpty)
        try await log.append(topic: "t", events(["a", "b"]))
        await expectAerieError(.invalidArgument, field: "offset") { try await log.read(topic: "t", from: -1, limit: 10) }
        await expectAerieError(.invalidArgument, field: "limit") { try await log.read(topic: "t", from: 0, limit: 0) }
        await expectAerieError(.invalidArgument, field: "offset") { try await log.commit(group: "g", topic: "t", offset: -1) }
        await expectAerieError(.invalidArgument, field: "offset", "committing past the end") { try await log.commit(group: "g", topic: "t", offset: 3) }
        await expectAerieError(.invalidArgument, field: "group") { try await log.commit(group: "bad group", topic: "t", offset: 0) }
        #expect(try await log.committedOffset(group: "g", topic: "t") == nil, "failed commits stored nothing")
        try await log.commit(group: "g", topic: "t", offset: 2)
        #expect(try await log.committedOffset(group: "g", topic: "t") == 2, "committing the end is allowed")
    }

    @Sendable static func concurrentAppends(_ p: Primitives) async throws {
        let log = p.events
        let writers = 20
        let perWriter = 10
        let results = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var offsets: [Int64] = []
                    for index in 0..<perWriter {
                        if index % 5 == 0 {
                            offsets += try await log.append(topic: "busy", events(["w\(writer)-\(index)", "w\(writer)-\(index + 1)"], key: "w\(writer)"))
                        } else if index % 5 != 1 {
                            offsets.append(try await log.append(topic: "busy", key: "w\(writer)", payload: payload("w\(writer)-\(index)")))
                        }
                    }
                    return (writer, offsets)
                }
            }
            var all: [(Int, [Int64])] = []
            for try await result in group { all.append(result) }
            return all
        }
        let total = writers * perWriter
        let offsets = results.flatMap(\.1)
        #expect(offsets.count == total)
        #expect(offsets.sorted() == (0..<Int64(total)).map { $0 })
        for (writer, mine) in results {
            #expect(mine == mine.sorted(), "writer \(writer)'s events are in its append order")
        }
        #expect(try await log.topic("busy")?.nextOffset == Int64(total))
        let records = try await log.read(topic: "busy", from: 0, limit: total + 10)
        #expect(records.map(\.offset) == (0..<Int64(total)).map { $0 })
        for writer in 0..<writers {
            let mine = records.filter { $0.key == "w\(writer)" }
            #expect(texts(mine) == (0..<perWriter).map { "w\(writer)-\($0)" }, "writer \(writer)'s events read back in order")
        }
    }
}
