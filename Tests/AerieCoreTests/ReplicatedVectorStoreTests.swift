import AerieCore
import AerieTesting
import Foundation
import Testing

/// Vector collections kept in step across nodes through the event log (`ReplicatedVectorStore`).
@Suite struct ReplicatedVectorStoreTests {
    /// A node: its own in-memory index and its own announcements (as a process of its own), on a shared event log.
    static func node(_ events: any EventLog, checkpoint: URL? = nil) -> ReplicatedVectorStore {
        ReplicatedVectorStore(local: MemoryVectorStore(), events: events, signals: TopicSignals(), checkpoint: checkpoint)
    }

    @Test(arguments: VectorsConformance.cases)
    func conformance(_ check: ConformanceCase) async throws {
        var primitives = Primitives.memory()
        let store = ReplicatedVectorStore(local: MemoryVectorStore(), events: primitives.events, signals: primitives.signals, checkpoint: nil)
        defer { store.close() }
        primitives.vectors = store
        try await check.run(primitives)
    }

    @Test("Writes taken by two nodes at once leave both with the same vectors; a collection made on one is found on the other")
    func twoNodesConverge() async throws {
        let events = MemoryEventLog()
        let a = Self.node(events), b = Self.node(events)
        defer { a.close(); b.close() }
        #expect(try await a.createCollection("faces", dimensions: 3, metric: .dot))
        // Found on b at once: a lookup that misses catches up with the log first.
        let onB = try await b.collection("faces")
        #expect(try await b.createCollection("faces", dimensions: 3, metric: .dot) == false, "the second create sees the first")
        let onA = try await a.collection("faces")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<40 {
                group.addTask { try await onA.upsert(id: "id-\(n % 10)", vector: [Float(n), 1, 0], metadata: ["node": "a"]) }
                group.addTask { try await onB.upsert(id: "id-\(n % 10)", vector: [Float(n), 2, 0], metadata: ["node": "b"]) }
            }
            try await group.waitForAll()
        }
        #expect(try await onA.remove(ids: ["id-9", "missing"]) == 1)
        try await a.catchUp()
        try await b.catchUp()
        #expect(try await onA.count == 9)
        #expect(try await onB.count == 9)
        for n in 0..<9 {
            let fromA = try await onA.get("id-\(n)"), fromB = try await onB.get("id-\(n)")
            #expect(fromA != nil && fromA == fromB, "id-\(n): \(String(describing: fromA)) vs \(String(describing: fromB))")
        }
        #expect(try await b.dropCollection("faces"))
        try await a.catchUp()
        #expect(try await a.collections().isEmpty)
    }

    @Test("A write that breaks the rules is refused before the log, so it never reaches another node")
    func invalidWritesStayOut() async throws {
        let events = MemoryEventLog()
        let a = Self.node(events)
        defer { a.close() }
        let faces = try await a.ensureCollection("faces", dimensions: 3, metric: .cosine)
        let before = try await events.topic(ReplicatedVectorStore.topic)?.nextOffset
        await expectAerieError(.unprocessable) { try await faces.upsert(id: "x", vector: [1, 2]) }
        await expectAerieError(.invalidArgument) { try await faces.upsert(id: "x", vector: [.nan, 0, 1]) }
        await expectAerieError(.invalidArgument) { try await a.createCollection("Bad Name", dimensions: 3, metric: .dot) }
        #expect(try await events.topic(ReplicatedVectorStore.topic)?.nextOffset == before)
    }

    @Test("A node started later catches up from the log; its checkpoint records how far it applied")
    func lateNodeAndCheckpoint() async throws {
        let events = MemoryEventLog()
        let a = Self.node(events)
        defer { a.close() }
        let faces = try await a.ensureCollection("faces", dimensions: 2, metric: .dot)
        for n in 0..<5 { try await faces.upsert(id: "p\(n)", vector: [Float(n), 1]) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-vector-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("offset")
        let late = Self.node(events, checkpoint: checkpoint)
        defer { late.close() }
        try await late.catchUp()
        #expect(try await late.collection("faces").count == 5)
        let next = try #require(try await events.topic(ReplicatedVectorStore.topic)?.nextOffset)
        try await eventually("the checkpoint is written") { (try? String(contentsOf: checkpoint, encoding: .utf8)) == String(next) }
    }
}
