/// The Vectors primitive: float vectors by id, each with a little metadata, searched for the `k` most
/// similar to a query. AerieVectors' `VectorIndex` implements it on BLAS (exact) and HNSW (approximate)
/// with its own snapshot and log files; apps code against this protocol.
///
/// Metadata values are ``KeyValue``s (strings and numbers) so that a ``VectorFilter`` can compare them:
/// a semantic prompt cache, for instance, stores a prompt's embedding with
/// `["size": "512x512", "scheduler": "euler", "steps": 30, "guidance": 7.5, "seed": 42]` and searches with
/// `filter: ["size": "512x512", "scheduler": "euler", "steps": 30, "guidance": 7.5, "seed": 42]`.
public protocol Vectors: Sendable {
    /// The length every stored and query vector must have.
    var dimensions: Int { get }
    /// How queries are scored; larger scores are closer.
    var metric: VectorMetric { get }
    /// The number of stored vectors.
    var count: Int { get async throws }

    /// Adds the records, or replaces the vector and metadata of ids already stored, in one write.
    /// Throws `invalid-argument` for a vector of the wrong length or with NaN/infinity (nothing is written then).
    func upsert(_ records: [VectorRecord]) async throws

    /// Removes the ids that are stored; returns how many were.
    @discardableResult
    func remove(ids: [String]) async throws -> Int

    /// The `k` best matches for `query`, best first, among the vectors whose metadata satisfies `filter`
    /// (all of them when `nil`). An index may answer unfiltered searches approximately above a size it documents.
    func search(_ query: [Float], k: Int, filter: VectorFilter?) async throws -> [VectorMatch]
}

extension Vectors {
    /// Adds `id`, or replaces its vector and metadata.
    public func upsert(id: String, vector: [Float], metadata: [String: KeyValue] = [:]) async throws {
        try await upsert([VectorRecord(id: id, vector: vector, metadata: metadata)])
    }

    /// Removes `id`; returns whether it was stored.
    @discardableResult
    public func remove(id: String) async throws -> Bool {
        try await remove(ids: [id]) > 0
    }

    /// The `k` best matches for `query` among all vectors.
    public func search(_ query: [Float], k: Int) async throws -> [VectorMatch] {
        try await search(query, k: k, filter: nil)
    }
}

/// How a query is scored against the stored vectors; larger scores are closer.
public enum VectorMetric: String, Sendable, Hashable, Codable, CaseIterable {
    /// Cosine similarity: vectors are stored normalised to unit length and the query is normalised.
    case cosine
    /// The plain inner product of the vectors as given.
    case innerProduct = "inner-product"
}

/// A vector to store, with its id and metadata.
public struct VectorRecord: Sendable, Hashable {
    public var id: String
    public var vector: [Float]
    public var metadata: [String: KeyValue]

    public init(id: String, vector: [Float], metadata: [String: KeyValue] = [:]) {
        self.id = id
        self.vector = vector
        self.metadata = metadata
    }
}

/// One search hit.
public struct VectorMatch: Sendable, Hashable {
    public var id: String
    /// The similarity by the index's metric (cosine or inner product); larger is closer.
    public var score: Float
    public var metadata: [String: KeyValue]

    public init(id: String, score: Float, metadata: [String: KeyValue]) {
        self.id = id
        self.score = score
        self.metadata = metadata
    }
}
