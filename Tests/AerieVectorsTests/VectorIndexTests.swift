import AerieCore
import AerieVectors
import Foundation
import Testing

@Suite("Vector index")
struct VectorIndexTests {
    static func randomVectors(_ count: Int, dimensions: Int, seed: UInt64) -> [[Float]] {
        var generator = SplitMix64(state: seed)
        return (0..<count).map { _ in (0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) } }
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("aerie-vectors-\(UUID().uuidString)", isDirectory: true)
    }

    /// Brute force in Double: ids of the k best by the metric, after the filter.
    static func bruteForce(
        _ vectors: [String: ([Float], [String: KeyValue])], query: [Float], k: Int, metric: VectorMetric,
        filter: VectorFilter? = nil
    ) -> [String] {
        func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let scored = vectors.compactMap { id, entry -> (String, Double)? in
            guard filter?.matches(entry.1) ?? true else { return nil }
            var score = zip(entry.0, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            switch metric {
            case .cosine: score /= norm(entry.0) * norm(query)
            case .dot: break
            case .euclidean: score = -zip(entry.0, query).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }.squareRoot()
            }
            return (id, score)
        }
        return scored.sorted { $0.1 > $1.1 }.prefix(k).map(\.0)
    }

    @Test(arguments: VectorMetric.allCases)
    func exactSearchMatchesBruteForce(metric: VectorMetric) async throws {
        let index = try VectorIndex(configuration: .init(dimensions: 32, metric: metric))
        let vectors = Self.randomVectors(500, dimensions: 32, seed: 1)
        var reference: [String: ([Float], [String: KeyValue])] = [:]
        for (i, vector) in vectors.enumerated() {
            let meta: [String: KeyValue] = ["parity": i % 2 == 0 ? "even" : "odd"]
            try await index.upsert(id: "v\(i)", vector: vector, metadata: meta)
            reference["v\(i)"] = (vector, meta)
        }
        #expect(try await index.count == 500)
        for query in Self.randomVectors(20, dimensions: 32, seed: 2) {
            let hits = try await index.search(query, k: 10)
            #expect(hits.map(\.id) == Self.bruteForce(reference, query: query, k: 10, metric: metric))
            #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
            let filtered = try await index.search(query, k: 5, filter: ["parity": "odd"])
            #expect(filtered.map(\.id) == Self.bruteForce(reference, query: query, k: 5, metric: metric, filter: ["parity": "odd"]))
            #expect(filtered.allSatisfy { $0.metadata["parity"] == "odd" })
        }
    }

    @Test func updateAndRemove() async throws {
        let index = try VectorIndex(configuration: .init(dimensions: 3, metric: .dot))
        try await index.upsert(id: "a", vector: [1, 0, 0])
        try await index.upsert(id: "b", vector: [0, 1, 0])
        try await index.upsert(id: "c", vector: [0, 0, 1], metadata: ["tag": "x"])
        #expect(try await index.search([0, 1, 0], k: 1).map(\.id) == ["b"])
        try await index.upsert(id: "a", vector: [0, 2, 0], metadata: ["tag": "y"])
        #expect(try await index.count == 3)
        #expect(try await index.search([0, 1, 0], k: 2).map(\.id) == ["a", "b"])
        #expect(try await index.get("a")?.metadata == ["tag": "y"])
        #expect(try await index.remove(id: "a"))
        #expect(try await !index.remove(id: "a"))
        #expect(try await index.count == 2)
        #expect(try await !index.contains("a"))
        #expect(try await index.search([0, 1, 0], k: 10).map(\.id) == ["b", "c"])
        #expect(try await index.search([0, 1, 0], k: 0).isEmpty)
        #expect(try await index.search([0, 0, 1], k: 10, filter: ["tag": "nope"]).isEmpty)
    }

    @Test func rejectsBadVectors() async throws {
        let index = try VectorIndex(configuration: .init(dimensions: 3, metric: .cosine))
        await #expect(throws: AerieError.self) { try await index.upsert(id: "a", vector: [1, 2]) }
        await #expect(throws: AerieError.self) { try await index.upsert(id: "a", vector: [0, 0, 0]) }
        await #expect(throws: AerieError.self) { try await index.upsert(id: "a", vector: [.nan, 0, 1]) }
        await #expect(throws: AerieError.self) { try await index.search([1, 2, 3, 4], k: 1) }
        #expect(throws: AerieError.self) { try VectorIndex(configuration: .init(dimensions: 0)) }
    }

    @Test func persistsThroughSnapshotAndLog() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vectors = Self.randomVectors(50, dimensions: 8, seed: 3)
        do {
            let index = try VectorIndex(configuration: .init(dimensions: 8, directory: directory))
            for (i, vector) in vectors.prefix(30).enumerated() {
                try await index.upsert(id: "v\(i)", vector: vector, metadata: ["i": .string("\(i)")])
            }
            try await index.compact()
            for (i, vector) in vectors.enumerated().dropFirst(30) {
                try await index.upsert(id: "v\(i)", vector: vector, metadata: ["i": .string("\(i)")])
            }
            try await index.remove(id: "v3")
            try await index.remove(id: "v40")
            try await index.upsert(id: "v5", vector: vectors[0], metadata: ["i": "moved"])
        }
        let reopened = try VectorIndex(configuration: .init(dimensions: 8, directory: directory))
        #expect(try await reopened.count == 48)
        #expect(try await !reopened.contains("v3"))
        #expect(try await !reopened.contains("v40"))
        #expect(try await reopened.get("v5")?.metadata == ["i": "moved"])
        #expect(try await reopened.get("v45")?.metadata == ["i": "45"])
        let hits = try await reopened.search(vectors[0], k: 2)
        #expect(Set(hits.map(\.id)) == ["v0", "v5"])
        // A different shape is refused rather than misread.
        #expect(throws: AerieError.self) { try VectorIndex(configuration: .init(dimensions: 4, directory: directory)) }
        #expect(throws: AerieError.self) {
            try VectorIndex(configuration: .init(dimensions: 8, metric: .dot, directory: directory))
        }
    }

    /// A crash after the new snapshot was renamed into place but before the log was reset leaves the
    /// previous generation's log: its changes are in the snapshot, so it must not be replayed.
    @Test func crashBetweenSnapshotAndLogReset() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("vectors.log")
        let index = try VectorIndex(configuration: .init(dimensions: 2, metric: .dot, directory: directory))
        try await index.upsert(id: "a", vector: [1, 0])
        try await index.upsert(id: "b", vector: [0, 1])
        try await index.remove(id: "a")
        try await index.upsert(id: "a", vector: [3, 3])
        let oldLog = try Data(contentsOf: log)
        try await index.compact()
        try await index.remove(id: "a")
        try await index.compact()
        // Put back the stale log, as if the reset never happened.
        try oldLog.write(to: log)
        let reopened = try VectorIndex(configuration: .init(dimensions: 2, metric: .dot, directory: directory))
        #expect(try await reopened.count == 1)
        #expect(try await !reopened.contains("a"))
        #expect(try await reopened.get("b")?.vector == [0, 1])
        // And the index keeps working (the stale log was replaced by an empty one).
        try await reopened.upsert(id: "c", vector: [1, 1])
        let again = try VectorIndex(configuration: .init(dimensions: 2, metric: .dot, directory: directory))
        #expect(try await again.count == 2)
    }

    /// The snapshot is streamed in windows of about a megabyte: a snapshot of several windows, with an
    /// entry (a long metadata value) larger than a window, reads back whole; a damaged byte is refused.
    @Test func largeSnapshotStreamsBackAndDamageIsRefused() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vectors = Self.randomVectors(3_000, dimensions: 128, seed: 21)  // 1.5 MB of floats
        let long = String(repeating: "x", count: 300_000)
        do {
            let index = try VectorIndex(configuration: .init(dimensions: 128, metric: .dot, directory: directory))
            try await index.upsert(vectors.enumerated().map { VectorRecord(id: "v\($0)", vector: $1, metadata: ["n": .number(Double($0))]) })
            try await index.upsert(id: "v1500", vector: vectors[1500], metadata: ["note": .string(long)])
            try await index.compact()
        }
        let snapshot = directory.appendingPathComponent("vectors.snapshot")
        #expect(try Data(contentsOf: snapshot).count > 1_500_000)
        let reopened = try VectorIndex(configuration: .init(dimensions: 128, metric: .dot, directory: directory))
        #expect(try await reopened.count == 3_000)
        for i in [0, 1, 1499, 1501, 2999] {
            let stored = try await reopened.get("v\(i)")
            #expect(stored?.vector == vectors[i])
            #expect(stored?.metadata == ["n": .number(Double(i))])
        }
        #expect(try await reopened.get("v1500")?.metadata == ["note": .string(long)])
        // One flipped byte in the middle of the vectors: refused with what to do, not half loaded.
        var bytes = [UInt8](try Data(contentsOf: snapshot))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: snapshot)
        #expect {
            try VectorIndex(configuration: .init(dimensions: 128, metric: .dot, directory: directory))
        } throws: { error in
            (error as? AerieError)?.message.contains("damaged") == true
        }
    }

    /// The log is replayed a window at a time too: a log of several windows with a record larger than a
    /// window replays whole, and its torn last record is cut off.
    @Test func largeLogReplaysInWindowsAndLosesOnlyItsTornTail() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vectors = Self.randomVectors(3_000, dimensions: 128, seed: 22)
        let long = String(repeating: "y", count: 300_000)
        do {
            let index = try VectorIndex(configuration: .init(dimensions: 128, metric: .dot, directory: directory))
            try await index.upsert(vectors.prefix(1_500).enumerated().map { VectorRecord(id: "v\($0)", vector: $1) })
            try await index.upsert(id: "big", vector: vectors[0], metadata: ["note": .string(long)])
            try await index.upsert(vectors.dropFirst(1_500).enumerated().map { VectorRecord(id: "v\($0 + 1_500)", vector: $1) })
        }
        let log = directory.appendingPathComponent("vectors.log")
        let full = try Data(contentsOf: log)
        #expect(full.count > 1_500_000)
        try full.dropLast(5).write(to: log)
        let reopened = try VectorIndex(configuration: .init(dimensions: 128, metric: .dot, directory: directory))
        #expect(try await reopened.count == 3_000)  // 3,001 written, the last one torn
        #expect(try await !reopened.contains("v2999"))
        #expect(try await reopened.get("v2998")?.vector == vectors[2998])
        #expect(try await reopened.get("big")?.metadata == ["note": .string(long)])
        #expect(try Data(contentsOf: log).count < full.count - 5)  // the torn record was cut off
    }

    /// A crash in the middle of an append leaves a torn record: it is cut off, earlier ones survive.
    @Test func tornLogTailIsDropped() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("vectors.log")
        do {
            let index = try VectorIndex(configuration: .init(dimensions: 4, directory: directory))
            try await index.upsert(id: "a", vector: [1, 2, 3, 4])
            try await index.upsert(id: "b", vector: [4, 3, 2, 1])
        }
        let full = try Data(contentsOf: log)
        try full.dropLast(5).write(to: log)
        let reopened = try VectorIndex(configuration: .init(dimensions: 4, directory: directory))
        #expect(try await reopened.count == 1)
        #expect(try await reopened.contains("a"))
        try await reopened.upsert(id: "c", vector: [1, 1, 1, 1])
        let again = try VectorIndex(configuration: .init(dimensions: 4, directory: directory))
        #expect(try await again.count == 2)
        #expect(try await again.contains("c"))
    }

    @Test func concurrentReadersAndWriters() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = VectorIndex.Configuration(dimensions: 16, directory: directory)
        configuration.compactionThreshold = 4096  // compact several times along the way
        let index = try VectorIndex(configuration: configuration)
        let vectors = Self.randomVectors(400, dimensions: 16, seed: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for i in stride(from: writer, to: 400, by: 4) {
                        try await index.upsert(id: "v\(i)", vector: vectors[i])
                    }
                }
            }
            for reader in 0..<4 {
                group.addTask {
                    for i in 0..<50 {
                        let hits = try await index.search(vectors[(reader * 50 + i) % 400], k: 3)
                        #expect(hits.count <= 3)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await index.count == 400)
        for i in [0, 123, 399] {
            #expect(try await index.search(vectors[i], k: 1).first?.id == "v\(i)")
        }
        let reopened = try VectorIndex(configuration: configuration)
        #expect(try await reopened.count == 400)
    }
}

@Suite("Approximate vector search")
struct ApproximateVectorSearchTests {
    /// A Gaussian mixture: 20 centres, points spread around them (closer to real embeddings than uniform noise).
    static func mixture(_ count: Int, dimensions: Int, seed: UInt64) -> [[Float]] {
        var generator = SplitMix64(state: seed)
        let centres = (0..<20).map { _ in (0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) } }
        func gaussian() -> Float {
            let u = Float.random(in: Float.ulpOfOne...1, using: &generator)
            let v = Float.random(in: 0...1, using: &generator)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        return (0..<count).map { _ in
            let centre = centres[Int.random(in: 0..<centres.count, using: &generator)]
            return centre.map { $0 + 0.35 * gaussian() }
        }
    }

    static func recall(_ index: VectorIndex, queries: [[Float]], k: Int) async throws -> Double {
        var hits = 0
        for query in queries {
            let exact = Set(try await index.search(query, k: k, exact: true).map(\.id))
            let approximate = try await index.search(query, k: k)
            hits += approximate.filter { exact.contains($0.id) }.count
        }
        return Double(hits) / Double(queries.count * k)
    }

    @Test(arguments: VectorMetric.allCases)
    func recallAt10IsAtLeast95Percent(metric: VectorMetric) async throws {
        var configuration = VectorIndex.Configuration(dimensions: 24, metric: metric)
        configuration.approximate = .init(threshold: 500, m: 12, efConstruction: 80, efSearch: 64)
        let index = try VectorIndex(configuration: configuration)
        let vectors = Self.mixture(2_000, dimensions: 24, seed: 11)
        try await index.upsert(vectors.enumerated().map { VectorRecord(id: "v\($0.offset)", vector: $0.element) })
        let queries = Self.mixture(40, dimensions: 24, seed: 12)
        let recall = try await Self.recall(index, queries: queries, k: 10)
        #expect(recall >= 0.95, "recall@10 \(recall)")

        // Updates and removals reach the graph: removed ids never come back, moved ones are found at their new place.
        for i in 0..<300 { try await index.remove(id: "v\(i)") }
        try await index.upsert(id: "v1000", vector: queries[0])
        let hits = try await index.search(queries[0], k: 10)
        #expect(hits.first?.id == "v1000")
        #expect(hits.allSatisfy { Int($0.id.dropFirst())! >= 300 })
        #expect(try await Self.recall(index, queries: queries, k: 10) >= 0.95)
    }

    /// The graph reads the index's rows in place, so removals (which move the last row) and in-place
    /// replacements must keep node numbers, ids and vectors in step while the graph is repaired.
    @Test func graphRepairsKeepIdsRowsAndScoresInStep() async throws {
        var configuration = VectorIndex.Configuration(dimensions: 16, metric: .dot)
        configuration.approximate = .init(threshold: 200, m: 8, efConstruction: 60, efSearch: 80)
        let index = try VectorIndex(configuration: configuration)
        let vectors = Self.mixture(1_200, dimensions: 16, seed: 21)
        try await index.upsert(vectors.enumerated().map { VectorRecord(id: "v\($0.offset)", vector: $0.element) })
        let queries = Self.mixture(30, dimensions: 16, seed: 22)
        _ = try await index.search(queries[0], k: 10)  // builds the graph
        // Churn below the rebuild point: removals from the front and middle, replacements, new rows.
        let replacements = Self.mixture(150, dimensions: 16, seed: 23)
        for i in stride(from: 0, to: 600, by: 3) { try await index.remove(id: "v\(i)") }
        for (offset, vector) in replacements.enumerated() { try await index.upsert(id: "v\(1 + 7 * offset)", vector: vector) }
        try await index.upsert(replacements.indices.map { VectorRecord(id: "n\($0)", vector: replacements[$0]) })
        // Removed ids that a replacement did not bring back.
        let removed = Set(stride(from: 0, to: 600, by: 3).map { "v\($0)" }).subtracting(replacements.indices.map { "v\(1 + 7 * $0)" })
        for query in queries {
            let hits = try await index.search(query, k: 10)
            #expect(hits.count == 10)
            for hit in hits {
                let stored = try #require(try await index.get(hit.id))
                let score = zip(stored.vector, query).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(abs(score - hit.score) < 1e-3, "\(hit.id) scored \(hit.score), its vector gives \(score)")
                #expect(!removed.contains(hit.id))
            }
        }
        #expect(try await Self.recall(index, queries: queries, k: 10) >= 0.9)
    }

    /// Every node of a small graph (the entry point among them) replaced and removed in turn, searching
    /// after each change: a replaced vector is found at once, a removed one never.
    @Test func everyNodeReplacedAndRemovedInTurn() async throws {
        var configuration = VectorIndex.Configuration(dimensions: 8, metric: .cosine)
        configuration.approximate = .init(threshold: 10, m: 4, efConstruction: 20, efSearch: 40)
        let index = try VectorIndex(configuration: configuration)
        try await index.upsert(Self.mixture(60, dimensions: 8, seed: 31).enumerated().map { VectorRecord(id: "v\($0.offset)", vector: $0.element) })
        let fresh = Self.mixture(60, dimensions: 8, seed: 32)
        for i in 0..<60 {
            try await index.upsert(id: "v\(i)", vector: fresh[i])
            let hit = try #require(try await index.search(fresh[i], k: 1).first)
            #expect(hit.id == "v\(i)")
            #expect(abs(hit.score - 1) < 1e-4)
        }
        for i in stride(from: 0, to: 50, by: 1) {
            try await index.remove(id: "v\(i)")
            let hits = try await index.search(fresh[i], k: 5)
            #expect(!hits.contains { $0.id == "v\(i)" })
            #expect(hits.count == 5)
        }
    }

    @Test func filteredAndSmallIndexesStayExact() async throws {
        var configuration = VectorIndex.Configuration(dimensions: 8, metric: .dot)
        configuration.approximate = .init(threshold: 100)
        let index = try VectorIndex(configuration: configuration)
        let vectors = Self.mixture(300, dimensions: 8, seed: 5)
        try await index.upsert(
            vectors.enumerated().map { VectorRecord(id: "v\($0.offset)", vector: $0.element, metadata: ["even": .string("\($0.offset % 2 == 0)")]) })
        for query in Self.mixture(10, dimensions: 8, seed: 6) {
            let filtered = try await index.search(query, k: 5, filter: ["even": "true"])
            let exact = try await index.search(query, k: 300, exact: true).filter { $0.metadata["even"] == "true" }.prefix(5)
            #expect(filtered.map(\.id) == exact.map(\.id))
        }
    }
}
