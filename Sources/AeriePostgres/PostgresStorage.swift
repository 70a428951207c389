import AerieCore
import Foundation
import Logging

/// The scale-out deployment's storage on one PostgreSQL database: the tables, queue, event log and object metadata
/// drivers, object bytes in a body store, and the counter the auth service follows. Every node of a deployment opens
/// the same database; migrations run once whoever starts first.
///
/// ```swift
/// let storage = try await PostgresStorage.open(url: "postgres://aerie:…@db:5432/aerie", bodies: DirectoryBodyStore(directory: shared))
/// let relay = storage.database.relayAnnouncements(to: primitives.signals)
/// ```
public struct PostgresStorage: Sendable {
    public let database: PostgresDatabase
    public let tables: PostgresTableStore
    public let queues: PostgresQueueStore
    public let events: PostgresEventLog
    public let objects: PostgresObjectStore
    /// The `auth-changes` counter (see ``PostgresChangeCounter``).
    public let authChanges: PostgresChangeCounter

    /// Every driver's migrations, in the order they apply.
    public static let migrations = PostgresTableStore.migrations + PostgresQueueStore.migrations + PostgresEventLog.migrations
        + PostgresObjectStore.migrations + PostgresChangeCounter.migrations

    /// Connects, migrates and opens the drivers; `.unavailable` when the server cannot be reached.
    public static func open(url: String, bodies: any ObjectBodyStore, logger: Logger = Logger(label: "aerie.postgres")) async throws -> PostgresStorage {
        let database = try await PostgresDatabase.open(url: url, migrations: migrations, logger: logger)
        do {
            return PostgresStorage(database: database, bodies: bodies, authChanges: try await PostgresChangeCounter.open(name: "auth-changes", database: database))
        } catch {
            database.close()
            throw error
        }
    }

    private init(database: PostgresDatabase, bodies: any ObjectBodyStore, authChanges: PostgresChangeCounter) {
        self.database = database
        tables = PostgresTableStore(database: database)
        queues = PostgresQueueStore(database: database)
        events = PostgresEventLog(database: database)
        objects = PostgresObjectStore(database: database, bodies: bodies)
        self.authChanges = authChanges
    }

    /// Stops following the counter and closes the pool.
    public func close() {
        authChanges.close()
        database.close()
    }
}
