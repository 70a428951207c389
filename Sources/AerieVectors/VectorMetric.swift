/// How a query is scored against the stored vectors; larger scores are closer.
public enum VectorMetric: String, Sendable, Hashable, Codable, CaseIterable {
    /// Cosine similarity: vectors are stored normalised to unit length and the query is normalised.
    case cosine
    /// The plain inner product of the vectors as given.
    case innerProduct = "inner-product"
}

/// One search hit.
public struct VectorMatch: Sendable, Hashable {
    public var id: String
    public var score: Float
    public var metadata: [String: String]

    public init(id: String, score: Float, metadata: [String: String]) {
        self.id = id
        self.score = score
        self.metadata = metadata
    }
}
