/// One collection of the Vectors primitive: float vectors by id, each with a little metadata, searched for the
/// `k` most similar to a query. A ``VectorStore`` hands out collections by name; apps code against this
/// protocol, never a concrete index.
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
    /// Throws `invalid-argument` for a vector of the wrong length or with NaN/infinity, or an invalid id
    /// (nothing is written then).
    func upsert(_ records: [VectorRecord]) async throws

    /// Removes the ids that are stored; returns how many were.
    @discardableResult
    func remove(ids: [String]) async throws -> Int

    /// The stored record of `id` (its vector as stored: unit length for `.cosine`), or `nil`.
    func get(_ id: String) async throws -> VectorRecord?

    /// The `k` best matches for `query`, best first, among the vectors whose metadata satisfies `filter`
    /// (all of them when `nil`). Unless `exact` is set, a driver may answer unfiltered searches approximately
    /// above a size it documents.
    func search(_ query: [Float], k: Int, filter: VectorFilter?, exact: Bool) async throws -> [VectorMatch]
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

    /// The `k` best matches for `query` among the vectors whose metadata satisfies `filter`.
    public func search(_ query: [Float], k: Int, filter: VectorFilter?) async throws -> [VectorMatch] {
        try await search(query, k: k, filter: filter, exact: false)
    }

    /// The `k` best matches for `query` among all vectors.
    public func search(_ query: [Float], k: Int) async throws -> [VectorMatch] {
        try await search(query, k: k, filter: nil, exact: false)
    }

    /// Whether `id` is stored.
    public func contains(_ id: String) async throws -> Bool {
        try await get(id) != nil
    }
}

/// How a query is scored against the stored vectors. The score is always a similarity: larger is closer.
public enum VectorMetric: String, Sendable, Hashable, Codable, CaseIterable {
    /// Cosine similarity in [-1, 1]: vectors are stored normalised to unit length and the query is normalised.
    case cosine
    /// The plain inner product of the vectors as given.
    case dot
    /// The negated Euclidean distance (0 for an identical vector, more negative the farther away).
    case euclidean
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
    /// The similarity by the collection's metric; larger is closer.
    public var score: Float
    public var metadata: [String: KeyValue]

    public init(id: String, score: Float, metadata: [String: KeyValue]) {
        self.id = id
        self.score = score
        self.metadata = metadata
    }
}
