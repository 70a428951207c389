import AerieCore
import Testing

/// The conformance suite of the ``Vectors`` primitive. A driver runs it as one parameterized test:
/// ```swift
/// @Test(arguments: VectorsConformance.cases)
/// func vectors(_ check: VectorsConformance.Case) async throws {
///     try await check.run { dimensions, metric in try VectorIndex(configuration: .init(dimensions: dimensions, metric: metric)) }
/// }
/// ```
/// Each case makes the empty stores it needs through the factory; stores of up to a few hundred vectors
/// must answer exactly.
public enum VectorsConformance {
    /// Makes an empty store of `dimensions` with `metric`.
    public typealias Factory = @Sendable (_ dimensions: Int, _ metric: VectorMetric) async throws -> any Vectors

    public struct Case: Sendable, CustomTestStringConvertible, CustomStringConvertible {
        public let name: String
        private let body: @Sendable (Factory) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (Factory) async throws -> Void) {
            self.name = name
            self.body = body
        }

        public func run(_ make: @escaping Factory) async throws { try await body(make) }
        public var testDescription: String { name }
        public var description: String { "vectors: \(name)" }
    }

    /// The ids of the best `k` by brute force in Double, after the filter; ties by id.
    public static func bruteForce(
        _ records: [VectorRecord], query: [Float], k: Int, metric: VectorMetric, filter: VectorFilter?
    ) -> [String] {
        func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let scored = records.compactMap { record -> (String, Double)? in
            guard filter?.matches(record.metadata) ?? true else { return nil }
            var dot = zip(record.vector, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            if metric == .cosine { dot /= norm(record.vector) * norm(query) }
            return (record.id, dot)
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

    public static let cases: [Case] = [
        Case("upsert, replace, remove and count") { make in
            let store = try await make(3, .innerProduct)
            #expect(try await store.count == 0)
            #expect(store.dimensions == 3)
            #expect(store.metric == .innerProduct)
            try await store.upsert([
                VectorRecord(id: "a", vector: [1, 0, 0]), VectorRecord(id: "b", vector: [0, 1, 0]),
                VectorRecord(id: "c", vector: [0, 0, 1], metadata: ["tag": "x"]),
            ])
            #expect(try await store.count == 3)
            try await store.upsert(id: "a", vector: [0, 2, 0], metadata: ["tag": "y", "n": 1])
            #expect(try await store.count == 3)
            let hits = try await store.search([0, 1, 0], k: 2)
            #expect(hits.map(\.id) == ["a", "b"])
            #expect(hits.first?.score == 2)
            #expect(hits.first?.metadata == ["tag": "y", "n": 1])
            #expect(try await store.remove(ids: ["a", "zzz", "a"]) == 1)
            #expect(try await store.remove(id: "a") == false)
            #expect(try await store.count == 2)
            #expect(try await store.search([0, 1, 0], k: 10).map(\.id) == ["b", "c"])
            #expect(try await store.search([0, 1, 0], k: 0).isEmpty)
            #expect(try await store.search([0, 0, 1], k: 5, filter: ["tag": "x"]).map(\.id) == ["c"])
        },
        Case("cosine normalises the vectors") { make in
            let store = try await make(2, .cosine)
            try await store.upsert([VectorRecord(id: "long", vector: [10, 0]), VectorRecord(id: "diagonal", vector: [1, 1])])
            let hits = try await store.search([1, 0], k: 2)
            #expect(hits.map(\.id) == ["long", "diagonal"])
            #expect(abs((hits.first?.score ?? 0) - 1) < 1e-5)
            #expect(abs((hits.last?.score ?? 0) - Float(0.5).squareRoot()) < 1e-5)
        },
        Case("wrong dimensions and non-finite values are refused") { make in
            let store = try await make(3, .cosine)
            await expectAerieError(.invalidArgument) { try await store.upsert(id: "a", vector: [1, 2]) }
            await expectAerieError(.invalidArgument) { try await store.upsert(id: "a", vector: [.nan, 0, 1]) }
            await expectAerieError(.invalidArgument) { try await store.search([1, 2, 3, 4], k: 1) }
            // A batch with one bad record writes nothing.
            await expectAerieError(.invalidArgument) {
                try await store.upsert([VectorRecord(id: "ok", vector: [1, 0, 0]), VectorRecord(id: "bad", vector: [1])])
            }
            #expect(try await store.count == 0)
        },
        Case("search with filters matches brute force", { make in
            for metric in VectorMetric.allCases {
                let store = try await make(16, metric)
                let records = records(300, dimensions: 16, seed: 7)
                try await store.upsert(records)
                for (number, query) in queries(8, dimensions: 16, seed: 8).enumerated() {
                    for filter in filters {
                        let hits = try await store.search(query, k: 7, filter: filter)
                        let expected = bruteForce(records, query: query, k: 7, metric: metric, filter: filter)
                        #expect(hits.map(\.id) == expected, "query \(number), \(metric), filter \(String(describing: filter))")
                        #expect(hits.allSatisfy { filter?.matches($0.metadata) ?? true })
                        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
                    }
                }
            }
        }),
    ]
}
