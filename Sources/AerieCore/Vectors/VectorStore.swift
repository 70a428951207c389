/// The Vectors primitive: named collections of vectors, each with fixed dimensions and metric.
///
/// Drivers: ``MemoryVectorStore`` (tests), AerieVectors' `FileVectorStore` (embedded: exact on BLAS, HNSW,
/// snapshot + log files per collection). Every driver passes `VectorsConformance` in AerieTesting. Names, ids,
/// dimensions and vectors are checked by ``VectorRules`` before a driver stores anything.
public protocol VectorStore: Sendable {
    /// Creates the collection. Returns `true` when it was created, `false` when a collection of that name and the
    /// same definition exists; throws `conflict` when one exists with other dimensions or another metric.
    @discardableResult
    func createCollection(_ name: String, dimensions: Int, metric: VectorMetric) async throws -> Bool

    /// Every collection, by name.
    func collections() async throws -> [VectorCollectionInfo]

    /// The collection `name`; throws `not-found` when there is none.
    func collection(_ name: String) async throws -> any Vectors

    /// Drops the collection and its vectors; returns whether it existed. Handles to it fail afterwards.
    @discardableResult
    func dropCollection(_ name: String) async throws -> Bool
}

extension VectorStore {
    /// The collection `name`, created with `dimensions` and `metric` when absent (`conflict` when it differs).
    public func ensureCollection(_ name: String, dimensions: Int, metric: VectorMetric) async throws -> any Vectors {
        try await createCollection(name, dimensions: dimensions, metric: metric)
        return try await collection(name)
    }

    /// The definition and size of collection `name`; throws `not-found` when there is none.
    public func describe(_ name: String) async throws -> VectorCollectionInfo {
        let collection = try await collection(name)
        return VectorCollectionInfo(
            name: name, dimensions: collection.dimensions, metric: collection.metric, count: try await collection.count)
    }
}

/// A collection's definition and size.
public struct VectorCollectionInfo: Sendable, Hashable, Codable {
    public var name: String
    public var dimensions: Int
    public var metric: VectorMetric
    public var count: Int

    public init(name: String, dimensions: Int, metric: VectorMetric, count: Int) {
        self.name = name
        self.dimensions = dimensions
        self.metric = metric
        self.count = count
    }
}

/// The rules every vector driver applies before it stores anything, in one place.
public enum VectorRules {
    /// The most dimensions a collection may have.
    public static let maxDimensions = 16_384
    /// The longest id, in UTF-8 bytes.
    public static let maxIDBytes = 512
    /// The most results one search may ask for.
    public static let maxK = 10_000

    /// Collection names: 1–64 characters of lower-case letters, digits, `_` and `-`, starting with a letter or digit
    /// (they name a folder on disk and a path segment).
    public static func validateName(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5f || byte == 0x2d
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed, let first = name.utf8.first, first != 0x5f, first != 0x2d else {
            throw AerieError.invalid(
                "Collection name \"\(name)\" is invalid: use 1–64 lower-case letters, digits, `_` or `-`, starting with a letter or digit.",
                field: "name")
        }
    }

    public static func validateDimensions(_ dimensions: Int) throws {
        guard (1...maxDimensions).contains(dimensions) else {
            throw AerieError.invalid("A collection has 1 to \(maxDimensions) dimensions; \(dimensions) was given.", field: "dimensions")
        }
    }

    /// Ids: 1–512 UTF-8 bytes without control characters.
    public static func validateID(_ id: String) throws {
        guard !id.isEmpty, id.utf8.count <= maxIDBytes, !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AerieError.invalid("A vector id is 1–\(maxIDBytes) bytes of UTF-8 without control characters.", field: "id")
        }
    }

    /// The vector has `dimensions` finite components (and, for `.cosine`, is not zero).
    public static func validateVector(_ vector: [Float], dimensions: Int, metric: VectorMetric, field: String = "vector") throws {
        guard vector.count == dimensions else {
            throw AerieError(
                .unprocessable, "The vector has \(vector.count) dimensions; this collection holds \(dimensions).", field: field)
        }
        guard vector.allSatisfy(\.isFinite) else {
            throw AerieError.invalid("The vector contains NaN or infinity.", field: field)
        }
        if metric == .cosine, vector.allSatisfy({ $0 == 0 }) {
            throw AerieError.invalid("A zero vector has no direction; cosine similarity is undefined for it.", field: field)
        }
    }

    /// Checks a batch to upsert: every id and vector, before anything is written.
    public static func validate(_ records: [VectorRecord], dimensions: Int, metric: VectorMetric) throws {
        for record in records {
            try validateID(record.id)
            try validateVector(record.vector, dimensions: dimensions, metric: metric)
        }
    }

    public static func validateK(_ k: Int) throws {
        guard (0...maxK).contains(k) else {
            throw AerieError.invalid("k is 0 to \(maxK); \(k) was given.", field: "k")
        }
    }
}
