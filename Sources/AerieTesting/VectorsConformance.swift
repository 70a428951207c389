import AerieCore
import Foundation
import Testing

/// The conformance suite of the Vectors primitive (``VectorStore`` and its collections), in the same
/// ``ConformanceCase`` form as the other primitives:
/// ```swift
/// @Test(arguments: VectorsConformance.cases)
/// func vectors(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }
/// ```
/// Collections of up to a few hundred vectors must answer exactly.
public enum VectorsConformance {
    /// The ids of the best `k` by brute force in Double, after the filter; ties by id.
    public static func bruteForce(
        _ records: [VectorRecord], query: [Float], k: Int, metric: VectorMetric, filter: VectorFilter?
    ) -> [String] {
        func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let scored = records.compactMap { record -> (String, Double)? in
            guard filter?.matches(record.metadata) ?? true else { return nil }
            var score = zip(record.vector, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            switch metric {
            case .cosine: score /= norm(record.vector) * norm(query)
            case .dot: break
            case .euclidean: score = -zip(record.vector, query).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }.squareRoot()
            }
            return (record.id, score)
        }
        return scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k).map(\.0)
    }

    /// Prompt-cache-like records: random vectors with size, scheduler, steps, guidance and seed metadata.
    static func records(_ count: Int, dimensions: Int, seed: UInt64) -> [VectorRecord] {
        var generator = SplitMix64(state: seed)
        let sizes: [KeyValue] = ["512x512", "768x768", "1024x1024"]
        let schedulers: [KeyValue] = ["euler", "dpm++", "ddim"]
        return (0..<count).map { i in
            let vector = (0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) }
            var metadata: [String: KeyValue] = [
                "size": sizes[Int.random(in: 0..<3, using: &generator)],
                "scheduler": schedulers[Int.random(in: 0..<3, using: &generator)],
                "steps": .number(Double([20, 30, 50][Int.random(in: 0..<3, using: &generator)])),
                "guidance": .number([5, 7.5, 9][Int.random(in: 0..<3, using: &generator)]),
            ]
            if i % 4 != 0 { metadata["seed"] = .number(Double(Int.random(in: 0..<5, using: &generator))) }
            return VectorRecord(id: "p\(i)", vector: vector, metadata: metadata)
        }
    }

    static func queries(_ count: Int, dimensions: Int, seed: UInt64) -> [[Float]] {
        var generator = SplitMix64(state: seed)
        return (0..<count).map { _ in (0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) } }
    }

    /// The filters the filter case compares with brute force.
    static let filters: [VectorFilter?] = [
        nil,
        ["scheduler": "euler"],
        ["size": "512x512", "scheduler": "euler", "steps": 30, "guidance": 7.5],
        ["size": "512x512", "scheduler": "euler", "steps": 30, "guidance": 7.5, "seed": 3],
        ["steps": 30.0],
        ["steps": "30"],  // a string never equals a number
        ["missing": "x"],
        .oneOf("scheduler", ["euler", "ddim"]),
        .between("steps", lower: 25, upper: nil),
        .between("guidance", lower: 5, upper: 7.5),
        .exists("seed"),
        .not(.exists("seed")),
        .any([["size": "1024x1024"], ["guidance": 9]]),
        .all([.not(["scheduler": "ddim"]), .between("steps", lower: nil, upper: 30)]),
        .all([]),
        .any([]),
    ]

    static func make(_ primitives: Primitives, _ dimensions: Int, _ metric: VectorMetric, name: String = "test") async throws -> any Vectors {
        try await primitives.vectors.ensureCollection(name, dimensions: dimensions, metric: metric)
    }

    private static func check(_ name: String, _ body: @escaping @Sendable (Primitives) async throws -> Void) -> ConformanceCase {
        ConformanceCase(suite: "vectors", name: name, body)
    }

    public static let cases: [ConformanceCase] = [
        check("collections: create, same again, conflicting definition, list, describe, drop") { primitives in
            let store = primitives.vectors
            #expect(try await store.collections().isEmpty)
            #expect(try await store.createCollection("prompts", dimensions: 3, metric: .cosine) == true)
            #expect(try await store.createCollection("prompts", dimensions: 3, metric: .cosine) == false)
            await expectAerieError(.conflict) { try await store.createCollection("prompts", dimensions: 4, metric: .cosine) }
            await expectAerieError(.conflict) { try await store.createCollection("prompts", dimensions: 3, metric: .dot) }
            try await store.createCollection("faces", dimensions: 2, metric: .euclidean)
            try await store.collection("faces").upsert(id: "f1", vector: [1, 2])
            #expect(try await store.collections() == [
                VectorCollectionInfo(name: "faces", dimensions: 2, metric: .euclidean, count: 1),
                VectorCollectionInfo(name: "prompts", dimensions: 3, metric: .cosine, count: 0),
            ])
            #expect(try await store.describe("faces") == VectorCollectionInfo(name: "faces", dimensions: 2, metric: .euclidean, count: 1))
            let handle = try await store.collection("faces")
            #expect(try await store.dropCollection("faces") == true)
            #expect(try await store.dropCollection("faces") == false)
            await expectAerieError(.notFound) { try await store.collection("faces") }
            await expectAerieError(.notFound) { try await store.describe("faces") }
            await expectAerieError(.notFound) { try await handle.upsert(id: "f2", vector: [0, 1]) }
            // Created again, it starts empty.
            try await store.createCollection("faces", dimensions: 2, metric: .euclidean)
            #expect(try await store.collection("faces").count == 0)
            #expect(try await store.collections().map(\.name) == ["faces", "prompts"])
        },
        check("collection names, dimensions and ids are checked") { primitives in
            let store = primitives.vectors
            for name in ["", "Upper", "a/b", "../x", "a b", "_x", String(repeating: "a", count: 65)] {
                await expectAerieError(.invalidArgument, field: "name", "name \(name)") {
                    try await store.createCollection(name, dimensions: 2, metric: .cosine)
                }
            }
            await expectAerieError(.invalidArgument, field: "name") { try await store.collection("../etc") }
            await expectAerieError(.invalidArgument, field: "dimensions") { try await store.createCollection("zero", dimensions: 0, metric: .cosine) }
            await expectAerieError(.notFound) { try await store.collection("absent") }
            let collection = try await make(primitives, 2, .dot)
            await expectAerieError(.invalidArgument, field: "id") { try await collection.upsert(id: "", vector: [1, 0]) }
            await expectAerieError(.invalidArgument, field: "id") { try await collection.upsert(id: "a\u{0}b", vector: [1, 0]) }
            await expectAerieError(.invalidArgument, field: "id") {
                try await collection.upsert(id: String(repeating: "x", count: VectorRules.maxIDBytes + 1), vector: [1, 0])
            }
            await expectAerieError(.invalidArgument, field: "k") { try await collection.search([1, 0], k: -1) }
            #expect(try await collection.count == 0)
        },
        check("upsert, replace, get, remove and count") { primitives in
            let store = try await make(primitives, 3, .dot)
            #expect(try await store.count == 0)
            #expect(store.dimensions == 3)
            #expect(store.metric == .dot)
            try await store.upsert([
                VectorRecord(id: "a", vector: [1, 0, 0]), VectorRecord(id: "b", vector: [0, 1, 0]),
                VectorRecord(id: "c", vector: [0, 0, 1], metadata: ["tag": "x"]),
            ])
            #expect(try await store.count == 3)
            try await store.upsert(id: "a", vector: [0, 2, 0], metadata: ["tag": "y", "n": 1])
            #expect(try await store.count == 3)
            #expect(try await store.get("a") == VectorRecord(id: "a", vector: [0, 2, 0], metadata: ["tag": "y", "n": 1]))
            #expect(try await store.get("zzz") == nil)
            let hits = try await store.search([0, 1, 0], k: 2)
            #expect(hits.map(\.id) == ["a", "b"])
            #expect(hits.first?.score == 2)
            #expect(hits.first?.metadata == ["tag": "y", "n": 1])
            #expect(try await store.remove(ids: ["a", "zzz", "a"]) == 1)
            #expect(try await store.remove(id: "a") == false)
            #expect(try await store.contains("a") == false)
            #expect(try await store.count == 2)
            #expect(try await store.search([0, 1, 0], k: 10).map(\.id) == ["b", "c"])
            #expect(try await store.search([0, 1, 0], k: 0).isEmpty)
            #expect(try await store.search([0, 0, 1], k: 5, filter: ["tag": "x"]).map(\.id) == ["c"])
            #expect(try await store.search([0, 0, 1], k: 5, filter: ["tag": "x"], exact: true).map(\.id) == ["c"])
        },
        check("cosine normalises the vectors") { primitives in
            let store = try await make(primitives, 2, .cosine)
            try await store.upsert([VectorRecord(id: "long", vector: [10, 0]), VectorRecord(id: "diagonal", vector: [1, 1])])
            let hits = try await store.search([1, 0], k: 2)
            #expect(hits.map(\.id) == ["long", "diagonal"])
            #expect(abs((hits.first?.score ?? 0) - 1) < 1e-5)
            #expect(abs((hits.last?.score ?? 0) - Float(0.5).squareRoot()) < 1e-5)
            let stored = try await store.get("long")?.vector ?? []
            #expect(stored.count == 2 && abs(stored[0] - 1) < 1e-6 && abs(stored[1]) < 1e-6)
        },
        check("euclidean scores are negated distances, nearest first") { primitives in
            let store = try await make(primitives, 2, .euclidean)
            try await store.upsert([
                VectorRecord(id: "origin", vector: [0, 0]), VectorRecord(id: "far", vector: [3, 4]),
                VectorRecord(id: "near", vector: [1, 1]),
            ])
            let hits = try await store.search([1, 1], k: 3)
            #expect(hits.map(\.id) == ["near", "origin", "far"])
            #expect(abs(hits[0].score) < 1e-4)
            #expect(abs(hits[1].score + Float(2).squareRoot()) < 1e-4)
            #expect(abs(hits[2].score + Float(13).squareRoot()) < 1e-4)
            #expect(try await store.get("far")?.vector == [3, 4])
        },
        check("wrong dimensions and non-finite values are refused") { primitives in
            let store = try await make(primitives, 3, .cosine)
            await expectAerieError(.unprocessable) { try await store.upsert(id: "a", vector: [1, 2]) }
            await expectAerieError(.invalidArgument) { try await store.upsert(id: "a", vector: [.nan, 0, 1]) }
            await expectAerieError(.invalidArgument) { try await store.upsert(id: "a", vector: [0, 0, 0]) }
            await expectAerieError(.unprocessable) { try await store.search([1, 2, 3, 4], k: 1) }
            // A batch with one bad record writes nothing.
            await expectAerieError(.unprocessable) {
                try await store.upsert([VectorRecord(id: "ok", vector: [1, 0, 0]), VectorRecord(id: "bad", vector: [1])])
            }
            #expect(try await store.count == 0)
        },
        check("search with filters matches brute force, exact or not") { primitives in
            for metric in VectorMetric.allCases {
                let store = try await make(primitives, 16, metric, name: "m-\(metric.rawValue)")
                let records = records(300, dimensions: 16, seed: 7)
                try await store.upsert(records)
                for (number, query) in queries(8, dimensions: 16, seed: 8).enumerated() {
                    for filter in filters {
                        for exact in [false, true] {
                            let hits = try await store.search(query, k: 7, filter: filter, exact: exact)
                            let expected = bruteForce(records, query: query, k: 7, metric: metric, filter: filter)
                            #expect(hits.map(\.id) == expected, "query \(number), \(metric), filter \(String(describing: filter))")
                            #expect(hits.allSatisfy { filter?.matches($0.metadata) ?? true })
                            #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
                        }
                    }
                }
            }
        },
    ]
}
