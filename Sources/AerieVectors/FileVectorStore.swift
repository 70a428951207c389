import AerieCore
import Foundation

/// The Vectors primitive on files: one folder per collection under `directory`, holding `collection.json`
/// (dimensions and metric) and a ``VectorIndex``'s snapshot and log. Collections open on first use and stay open.
///
/// The embedded deployment keeps it in `<data>/vectors/`. One process opens a folder at a time (the data
/// directory's lock covers it).
public actor FileVectorStore: VectorStore {
    /// Settings every collection's index gets (dimensions, metric and folder come from the collection).
    public struct Configuration: Sendable {
        /// fsync each collection's log after every write.
        public var syncEveryWrite: Bool = false
        /// Unfiltered searches of a collection at least this large use its HNSW graph unless `exact` is asked for;
        /// `nil` keeps every search exact.
        public var approximate: VectorIndex.Configuration.Approximate? = .init()

        public init() {}
    }

    public nonisolated let directory: URL
    public nonisolated let configuration: Configuration
    private var open: [String: VectorIndex] = [:]

    private struct Definition: Codable, Equatable {
        var dimensions: Int
        var metric: VectorMetric
    }

    public init(directory: URL, configuration: Configuration = Configuration()) throws {
        self.directory = directory
        self.configuration = configuration
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AerieError(.unavailable, "Cannot create the vector folder \(directory.path): \(error). Check its parent's permissions.")
        }
        // A drop that crashed between the rename and the delete leaves a `.dropped-*` folder: finish it.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(".") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    public func createCollection(_ name: String, dimensions: Int, metric: VectorMetric) throws -> Bool {
        try VectorRules.validateName(name)
        try VectorRules.validateDimensions(dimensions)
        let wanted = Definition(dimensions: dimensions, metric: metric)
        if let existing = try definition(name) {
            guard existing == wanted else {
                throw AerieError(.conflict, "Collection \(name) exists with \(existing.dimensions) dimensions and metric \(existing.metric.rawValue); drop it first or use another name.")
            }
            return false
        }
        // Written in a hidden folder and renamed into place, so a half-made collection is never seen.
        let staging = directory.appendingPathComponent(".creating-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            try JSONEncoder().encode(wanted).write(to: staging.appendingPathComponent("collection.json"), options: .atomic)
            try FileManager.default.moveItem(at: staging, to: folder(name))
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw AerieError(.unavailable, "Cannot create vector collection \(name) in \(directory.path): \(error).")
        }
        return true
    }

    public func collections() async throws -> [VectorCollectionInfo] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var result: [VectorCollectionInfo] = []
        for name in names.sorted() where (try? VectorRules.validateName(name)) != nil {
            guard let definition = try definition(name) else { continue }
            let count = try await index(name, definition: definition).count
            result.append(VectorCollectionInfo(name: name, dimensions: definition.dimensions, metric: definition.metric, count: count))
        }
        return result
    }

    public func collection(_ name: String) throws -> any Vectors {
        try VectorRules.validateName(name)
        guard let definition = try definition(name) else {
            throw AerieError.notFound("No vector collection named \(name). Create it with PUT /v1/vectors/\(name).")
        }
        return try index(name, definition: definition)
    }

    public func dropCollection(_ name: String) async throws -> Bool {
        try VectorRules.validateName(name)
        guard try definition(name) != nil else { return false }
        if let index = open.removeValue(forKey: name) {
            await index.markDropped()
        }
        // Renamed away first (atomic), then deleted: a crash in between leaves a hidden folder removed at next open.
        let trash = directory.appendingPathComponent(".dropped-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.moveItem(at: folder(name), to: trash)
        } catch {
            throw AerieError(.unavailable, "Cannot drop vector collection \(name): \(error).")
        }
        try? FileManager.default.removeItem(at: trash)
        return true
    }

    private func folder(_ name: String) -> URL {
        directory.appendingPathComponent(name, isDirectory: true)
    }

    private func definition(_ name: String) throws -> Definition? {
        let url = folder(name).appendingPathComponent("collection.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(Definition.self, from: data)
        } catch {
            throw AerieError(.internal, "\(url.path) is damaged (\(error)); restore it from a backup or drop the collection.")
        }
    }

    private func index(_ name: String, definition: Definition) throws -> VectorIndex {
        if let index = open[name] { return index }
        var indexConfiguration = VectorIndex.Configuration(
            dimensions: definition.dimensions, metric: definition.metric, directory: folder(name))
        indexConfiguration.syncEveryWrite = configuration.syncEveryWrite
        indexConfiguration.approximate = configuration.approximate
        let index = try VectorIndex(configuration: indexConfiguration)
        open[name] = index
        return index
    }
}
