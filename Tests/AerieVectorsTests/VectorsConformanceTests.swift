import AerieCore
import AerieTesting
import AerieVectors
import Foundation
import Testing

@Suite struct VectorsConformanceTests {
    /// The file driver against the shared suite, on a fresh folder per case.
    @Test(arguments: VectorsConformance.cases)
    func files(_ check: ConformanceCase) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-vectors-conf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var primitives = Primitives.memory()
        primitives.vectors = try FileVectorStore(directory: root)
        try await check.run(primitives)
    }

    /// Collections survive a reopen of the store: definitions, vectors and metadata; a dropped one stays gone.
    @Test func collectionsPersistAcrossReopen() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-vectors-reopen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            let store = try FileVectorStore(directory: root)
            let kept = try await store.ensureCollection("kept", dimensions: 2, metric: .euclidean)
            try await kept.upsert(id: "a", vector: [1, 2], metadata: ["k": "v"])
            let gone = try await store.ensureCollection("gone", dimensions: 3, metric: .cosine)
            try await gone.upsert(id: "b", vector: [1, 0, 0])
            #expect(try await store.dropCollection("gone"))
        }
        let reopened = try FileVectorStore(directory: root)
        #expect(try await reopened.collections() == [VectorCollectionInfo(name: "kept", dimensions: 2, metric: .euclidean, count: 1)])
        #expect(try await reopened.collection("kept").get("a") == VectorRecord(id: "a", vector: [1, 2], metadata: ["k": "v"]))
        #expect(try await reopened.collection("kept").search([1, 2], k: 1).first?.score == 0)
        await expectAerieError(.notFound) { try await reopened.collection("gone") }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path)
        #expect(leftovers == ["kept"])
    }

    /// Past 32k rows an exact search splits the rows over threads and merges their heaps; a batch of
    /// queries goes through sgemm. Both must agree with brute force.
    @Test func threadedAndBatchedExactSearchMatchBruteForce() async throws {
        var configuration = VectorIndex.Configuration(dimensions: 8, metric: .dot)
        configuration.searchThreads = 3
        configuration.approximate = nil
        let index = try VectorIndex(configuration: configuration)
        var generator = SplitMix64(state: 21)
        let records = (0..<36_000).map { i in
            VectorRecord(
                id: "r\(i)", vector: (0..<8).map { _ in Float.random(in: -1...1, using: &generator) },
                metadata: ["bucket": .number(Double(i % 7))])
        }
        try await index.upsert(records)
        let queries = VectorIndexTests.randomVectors(8, dimensions: 8, seed: 22)
        let batched = try await index.search(batch: queries, k: 10)
        let filteredBatch = try await index.search(batch: queries, k: 10, filter: ["bucket": 3])
        for (number, query) in queries.enumerated() {
            let expected = VectorsConformance.bruteForce(records, query: query, k: 10, metric: .dot, filter: nil)
            #expect(try await index.search(query, k: 10).map(\.id) == expected)
            #expect(batched[number].map(\.id) == expected)
            let filtered = VectorsConformance.bruteForce(records, query: query, k: 10, metric: .dot, filter: ["bucket": 3])
            #expect(filteredBatch[number].map(\.id) == filtered)
        }
    }

    /// Files written before metadata values were typed (format 1: all strings) still open, and are
    /// rewritten in the current format before anything is appended.
    @Test func readsVersionOneFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-vectors-v1-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A version-1 snapshot of generation 1 holding ("a", [1, 0], ["k": "v"]) and an empty version-1 log.
        var snapshot: [UInt8] = Array("AVS1".utf8) + le(UInt64(1)) + le(UInt32(2)) + [2] + le(UInt64(1))
        snapshot += le(UInt32(1)) + Array("a".utf8) + le(UInt32(1)) + le(UInt32(1)) + Array("k".utf8) + le(UInt32(1)) + Array("v".utf8)
        snapshot += le(Float(1).bitPattern) + le(Float(0).bitPattern)
        snapshot += le(fnv(snapshot))
        try Data(snapshot).write(to: directory.appendingPathComponent("vectors.snapshot"))
        try Data(Array("AVL1".utf8) + le(UInt64(1)) + le(UInt32(2))).write(to: directory.appendingPathComponent("vectors.log"))
        let configuration = VectorIndex.Configuration(dimensions: 2, metric: .dot, directory: directory)
        do {
            let index = try VectorIndex(configuration: configuration)
            #expect(try await index.get("a")?.metadata == ["k": "v"])
            try await index.upsert(id: "b", vector: [0, 1], metadata: ["n": 2])
        }
        let reopened = try VectorIndex(configuration: configuration)
        #expect(try await reopened.count == 2)
        #expect(try await reopened.get("a")?.metadata == ["k": "v"])
        #expect(try await reopened.get("b")?.metadata == ["n": 2])
        let header = try Data(contentsOf: directory.appendingPathComponent("vectors.snapshot")).prefix(4)
        #expect(Array(header) == Array("AVS2".utf8))
    }

    func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    func fnv(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
