import Synchronization

/// The buckets, tables, queues and vector collections that the installed apps and the functions runtime set up, with
/// who holds each: the front ends refuse to delete them (409 over HTTP), so no caller, an admin or a fuzzer acting as
/// one included, can pull an app's storage from under it while it runs. Filled at start (``Primitives/ensureAppBucket(_:app:)``,
/// ``Primitives/ensureAppTable(_:app:)``, ``claim(_:_:by:)``); in memory, because every node runs the same apps and
/// fills its own.
public final class AppResources: Sendable {
    public enum Kind: String, Sendable {
        case bucket, table, queue
        case collection = "vector collection"
    }

    private struct Key: Hashable {
        var kind: Kind
        var name: String
    }

    private let holders = Mutex<[Key: String]>([:])

    public init() {}

    /// Marks `name` as held by `holder` (an app's name, or the functions runtime).
    public func claim(_ kind: Kind, _ name: String, by holder: String) {
        holders.withLock { $0[Key(kind: kind, name: name)] = holder }
    }

    /// Forgets a claim (for the holder itself, dropping something to build it again); returns the holder.
    public func release(_ kind: Kind, _ name: String) -> String? {
        holders.withLock { $0.removeValue(forKey: Key(kind: kind, name: name)) }
    }

    /// Who holds `name`, if anyone.
    public func holder(of kind: Kind, _ name: String) -> String? {
        holders.withLock { $0[Key(kind: kind, name: name)] }
    }

    /// Throws 409 (`.conflict`) when `name` is held.
    public func checkDeletable(_ kind: Kind, _ name: String) throws {
        guard let holder = holder(of: kind, name) else { return }
        throw AerieError(.conflict, "The \(kind.rawValue) \(name) holds \(holder)'s data and cannot be deleted while it is installed.")
    }
}

extension Primitives {
    /// Creates the app's bucket unless it exists and marks it as the app's (deleting it is refused).
    public func ensureAppBucket(_ name: String, app: String) async throws {
        try await objects.ensureBucket(name)
        appResources.claim(.bucket, name, by: "the \(app) app")
    }

    /// Creates the app's table unless it exists and marks it as the app's (deleting it is refused).
    public func ensureAppTable(_ schema: TableSchema, app: String) async throws {
        try await tables.ensureTable(schema)
        appResources.claim(.table, schema.name, by: "the \(app) app")
    }

    /// Creates the app's queue unless it exists and marks it as the app's (deleting it is refused).
    public func ensureAppQueue(_ configuration: QueueConfiguration, app: String) async throws {
        if try await queues.queue(configuration.name) == nil {
            do { try await queues.createQueue(configuration) } catch let error as AerieError where error.code == .alreadyExists {}
        }
        appResources.claim(.queue, configuration.name, by: "the \(app) app")
    }

    /// Opens the app's vector collection (creating it) and marks it as the app's (dropping it is refused).
    public func ensureAppCollection(_ name: String, dimensions: Int, metric: VectorMetric, app: String) async throws -> any Vectors {
        let collection = try await vectors.ensureCollection(name, dimensions: dimensions, metric: metric)
        appResources.claim(.collection, name, by: "the \(app) app")
        return collection
    }

    /// Deletes one of the app's own tables (to build it again with ``ensureAppTable(_:app:)``): the app may, nobody
    /// else through the front ends.
    public func deleteAppTable(_ name: String) async throws {
        let holder = appResources.release(.table, name)
        do {
            try await tables.deleteTable(name)
        } catch {
            if let holder { appResources.claim(.table, name, by: holder) }
            throw error
        }
    }
}
