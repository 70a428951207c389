import AerieCore
import Foundation
import GRDB

/// The embedded database: one SQLite file in WAL mode, opened through a GRDB `DatabasePool`
/// (one writer, concurrent readers).
///
/// Every driver of the embedded store owns its tables and registers their migrations in ``migrator``;
/// ``migrate()`` applies what is missing. Database errors are translated into ``AerieError``.
public final class SQLiteDatabase: Sendable {
    /// Settings of the connection.
    public struct Configuration: Sendable {
        public var durability: Durability
        /// How long a statement waits for a lock held by another connection or process before failing
        /// with `.unavailable`.
        public var busyTimeout: Duration
        /// The most concurrent readers.
        public var maximumReaderCount: Int

        public init(durability: Durability = .normal, busyTimeout: Duration = .seconds(5), maximumReaderCount: Int = 8) {
            self.durability = durability
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
        }
    }

    /// The file name of the database inside a data directory.
    public static let fileName = "aerie.sqlite"

    /// The database file.
    public let url: URL
    public let configuration: Configuration
    let pool: DatabasePool
    let groupCommit: GroupCommit
    /// Read-only connections of their own for ``readPoint(_:)``, each used on the caller's thread.
    let pointReaders: PointReaders

    /// Opens (creating if needed) the database file at `url`. Call ``migrate()`` before use.
    public init(url: URL, configuration: Configuration = .init()) throws {
        self.url = url
        self.configuration = configuration
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout.seconds)
        config.maximumReaderCount = max(1, configuration.maximumReaderCount)
        config.label = "aerie"
        let synchronous = configuration.durability == .strict ? "FULL" : "NORMAL"
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            pool = try DatabasePool(path: url.path, configuration: config)
            // After GRDB's WAL setup (which chooses NORMAL), on the pool's one writer connection.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            var readOnly = config
            readOnly.readonly = true
            readOnly.label = "aerie.point"
            pointReaders = try PointReaders(path: url.path, configuration: readOnly)
        } catch {
            throw AerieError(.unavailable, "Cannot open the database at \(url.path): \(error). Check that the data directory exists and is writable.")
        }
        groupCommit = GroupCommit(pool: pool)
    }

    /// Every migration of the embedded store, in order. Each driver registers its own tables.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        SQLiteEventLog.registerMigrations(in: &migrator)
        SQLiteTableStore.registerMigrations(in: &migrator)
        SQLiteQueueStore.registerMigrations(in: &migrator)
        FileObjectStore.registerMigrations(in: &migrator)
        return migrator
    }

    /// Applies the migrations the database has not seen yet. Safe to call on every start.
    public func migrate() throws {
        do {
            try Self.migrator.migrate(pool)
        } catch {
            throw Self.translate(error)
        }
    }

    /// The identifiers of the migrations applied so far.
    public func appliedMigrations() throws -> [String] {
        do {
            return try pool.read { db in try Array(Self.migrator.appliedIdentifiers(db)).sorted() }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Runs `body` in a write transaction (committed when it returns, rolled back when it throws).
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.translate(error)
        }
    }

    /// Runs `body` in a savepoint of a write transaction it may share with other concurrent grouped writes
    /// (``GroupCommit``): returns after the transaction committed, throws what `body` threw (its savepoint rolled
    /// back, the others unaffected) or the commit's error. For small, frequent writes such as queue operations.
    func groupedWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await groupCommit.write(body)
        } catch {
            throw Self.translate(error)
        }
    }

    /// Runs a one-row lookup outside a transaction (no BEGIN and COMMIT around it). Each statement in `body` sees
    /// a committed state, but two statements may see different ones: for single-statement lookups only.
    ///
    /// On the calling thread, on a private read-only connection (``pointReaders``): the pool's async reads hand each
    /// lookup to a dispatch queue and back, and those thread hand-offs were most of a small GET's cost. The caller
    /// takes an idle connection of its own, or opens one, so it never waits for another lookup (with one shared
    /// connection, two cooperative threads reading at once blocked each other: 5 % of a 1 KiB GET's profile in the
    /// blocked path, and more in the context switches it caused), nor for a pool reader (a synchronous pool read
    /// from a task could wait for readers that only a blocked cooperative thread would free: a hang seen in a
    /// concurrent test); `body` never awaits.
    func readPoint<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try pointReaders.read(body)
        } catch {
            throw Self.translate(error)
        }
    }

    /// Runs `body` in a read transaction: it sees one consistent state of the database.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.translate(error)
        }
    }

    /// Writes a consistent copy of the database to `destination` (a file that must not exist) while writes go on.
    ///
    /// Uses SQLite's online backup in one step inside a read transaction, so the copy is one committed state
    /// of the database; writers are not blocked.
    func snapshot(to destination: URL) async throws {
        let pool = self.pool
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global(qos: .utility).async {
                do {
                    let copy = try DatabaseQueue(path: destination.path)
                    try pool.backup(to: copy)
                    try copy.close()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: Self.translate(error))
                }
            }
        }
    }

    /// Turns GRDB errors into ``AerieError``; passes ``AerieError`` through.
    static func translate(_ error: any Error) -> any Error {
        if error is AerieError || error is CancellationError { return error }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return AerieError(.unavailable, "The database is busy (another process holds a lock). Retry in a moment; if it persists, check for a stuck `aerie` process using the same data directory.")
            case .SQLITE_FULL:
                return AerieError(.insufficientStorage, "The disk holding the database is full; nothing was stored. Free some space there: writes succeed again without a restart.")
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
                return AerieError(.unavailable, "The database cannot be written: \(error.message ?? "\(error)"). Check the data directory's permissions.")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return AerieError(.internal, "The database file is damaged: \(error.message ?? "\(error)"). Restore it from a backup (`aerie restore`).")
            default:
                return AerieError(.internal, "A database operation failed: \(error.message ?? "\(error)"). This is a bug; please report it with the server log.")
            }
        }
        return AerieError(.internal, "A database operation failed: \(error). This is a bug; please report it with the server log.")
    }
}

extension Date {
    /// The time as stored in the embedded database: seconds since Foundation's reference date (2001-01-01 UTC),
    /// which round-trips a `Date` exactly.
    var storedSeconds: Double { timeIntervalSinceReferenceDate }

    init(storedSeconds: Double) {
        self.init(timeIntervalSinceReferenceDate: storedSeconds)
    }
}
