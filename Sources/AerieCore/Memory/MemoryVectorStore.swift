import Foundation
import Synchronization

/// The Vectors primitive in memory, for tests: every search is exact, by brute force.
public final class MemoryVectorStore: VectorStore {
    private let collectionsByName = Mutex<[String: MemoryVectors]>([:])

    public init() {}

    public func createCollection(_ name: String, dimensions: Int, metric: VectorMetric) throws -> Bool {
        try VectorRules.validateName(name)
        try VectorRules.validateDimensions(dimensions)
        return try collectionsByName.withLock { collections in
            if let existing = collections[name] {
                guard existing.dimensions == dimensions, existing.metric == metric else {
                    throw AerieError(.conflict, "Collection \(name) exists with \(existing.dimensions) dimensions and metric \(existing.metric.rawValue); drop it first or use another name.")
                }
                return false
            }
            collections[name] = MemoryVectors(dimensions: dimensions, metric: metric)
            return true
        }
    }

    public func collections() -> [VectorCollectionInfo] {
        collectionsByName.withLock { collections in
            collections.map { name, collection in
                VectorCollectionInfo(name: name, dimensions: collection.dimensions, metric: collection.metric, count: collection.storedCount)
            }
        }.sorted { $0.name < $1.name }
    }

    public func collection(_ name: String) throws -> any Vectors {
        try VectorRules.validateName(name)
        guard let collection = collectionsByName.withLock({ $0[name] }) else {
            throw AerieError.notFound("No vector collection named \(name). Create it with PUT /v1/vectors/\(name).")
        }
        return collection
    }

    public func dropCollection(_ name: String) throws -> Bool {
        try VectorRules.validateName(name)
        guard let dropped = collectionsByName.withLock({ $0.removeValue(forKey: name) }) else { return false }
        dropped.drop()
        return true
    }
}

/// One in-memory collection.
final class MemoryVectors: Vectors {
    let dimensions: Int
    let metric: VectorMetric
    private struct State {
        var records: [String: VectorRecord] = [:]
        var dropped = false
    }
    private let state = Mutex(State())

    init(dimensions: Int, metric: VectorMetric) {
        self.dimensions = dimensions
        self.metric = metric
    }

    var storedCount: Int { state.withLock { $0.records.count } }

    var count: Int {
        get throws { try withLiveState { $0.records.count } }
    }

    func drop() { state.withLock { $0.dropped = true } }

    func upsert(_ records: [VectorRecord]) throws {
        try VectorRules.validate(records, dimensions: dimensions, metric: metric)
        let stored = records.map { record in
            VectorRecord(id: record.id, vector: VectorScoring.stored(record.vector, metric: metric), metadata: record.metadata)
        }
        try withLiveState { state in
            for record in stored { state.records[record.id] = record }
        }
    }

    func remove(ids: [String]) throws -> Int {
        try withLiveState { state in
            Set(ids).reduce(0) { $0 + (state.records.removeValue(forKey: $1) == nil ? 0 : 1) }
        }
    }

    func get(_ id: String) throws -> VectorRecord? {
        try withLiveState { $0.records[id] }
    }

    func search(_ query: [Float], k: Int, filter: VectorFilter?, exact: Bool) throws -> [VectorMatch] {
        try VectorRules.validateVector(query, dimensions: dimensions, metric: metric)
        try VectorRules.validateK(k)
        let records = try withLiveState { Array($0.records.values) }
        // Normalised once (cosine), not once per stored vector.
        let compared = VectorScoring.stored(query, metric: metric)
        let scored = records.compactMap { record -> VectorMatch? in
            guard filter?.matches(record.metadata) ?? true else { return nil }
            return VectorMatch(id: record.id, score: VectorScoring.score(compared, record.vector, metric: metric), metadata: record.metadata)
        }
        return Array(scored.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }.prefix(k))
    }

    private func withLiveState<T: Sendable>(_ body: (inout State) throws -> T) throws -> T {
        try state.withLock { state in
            guard !state.dropped else {
                throw AerieError.notFound("The vector collection was dropped. Create it again before using it.")
            }
            return try body(&state)
        }
    }
}

/// Scores by metric, in Double, for the drivers that compute them one by one.
public enum VectorScoring {
    /// The vector as stored or compared: unit length for `.cosine`, as given otherwise.
    public static func stored(_ vector: [Float], metric: VectorMetric) -> [Float] {
        guard metric == .cosine else { return vector }
        let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return vector.map { Float(Double($0) / norm) }
    }

    /// The similarity of a query to a stored vector, both as ``stored(_:metric:)`` makes them: cosine (the inner
    /// product of unit vectors), inner product, or the negated Euclidean distance.
    public static func score(_ query: [Float], _ stored: [Float], metric: VectorMetric) -> Float {
        switch metric {
        case .cosine, .dot:
            return Float(zip(query, stored).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
        case .euclidean:
            return Float(-zip(query, stored).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }.squareRoot())
        }
    }
}
