import AerieCore
import AerieVectors
import Foundation
import GRDB

/// The embedded deployment's storage: one data directory holding the SQLite database (`aerie.sqlite`) and the
/// object files (`objects/`) and the vector collections (`vectors/`), with the five primitives' drivers opened on it.
///
/// ```swift
/// let storage = try EmbeddedStorage(directory: dataURL)
/// let service = MyService(primitives: storage.primitives)
/// try await storage.backup(to: backupURL)
/// ```
///
/// Opening migrates the database and deletes orphan object files left by a crash. Open a data directory from
/// one process at a time.
public struct EmbeddedStorage: Sendable {
    public let directory: URL
    public let database: SQLiteDatabase
    public let objects: FileObjectStore
    public let tables: SQLiteTableStore
    public let queues: SQLiteQueueStore
    public let events: SQLiteEventLog
    public let vectors: FileVectorStore

    /// The five primitives on this storage.
    public var primitives: Primitives {
        Primitives(objects: objects, tables: tables, queues: queues, events: events, vectors: vectors)
    }

    /// The object folder inside a data directory.
    public static let objectsFolder = "objects"
    /// The vector collections' folder inside a data directory.
    public static let vectorsFolder = "vectors"

    /// Opens (creating if needed) the data directory, applies pending migrations and removes orphan object files.
    public init(directory: URL, durability: Durability = .normal) throws {
        try self.init(directory: directory, configuration: SQLiteDatabase.Configuration(durability: durability))
    }

    public init(directory: URL, configuration: SQLiteDatabase.Configuration) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AerieError(.unavailable, "Cannot create the data directory \(directory.path): \(error). Check its parent's permissions.")
        }
        database = try SQLiteDatabase(url: directory.appendingPathComponent(SQLiteDatabase.fileName), configuration: configuration)
        try database.migrate()
        objects = try FileObjectStore(database: database, directory: directory.appendingPathComponent(Self.objectsFolder, isDirectory: true))
        tables = SQLiteTableStore(database: database)
        queues = SQLiteQueueStore(database: database)
        events = SQLiteEventLog(database: database)
        var vectorConfiguration = FileVectorStore.Configuration()
        vectorConfiguration.syncEveryWrite = configuration.durability == .strict
        vectors = try FileVectorStore(
            directory: directory.appendingPathComponent(Self.vectorsFolder, isDirectory: true), configuration: vectorConfiguration)
    }

    /// Applies pending migrations to the data directory's database without opening the drivers (for `aerie migrate`);
    /// returns the identifiers of all applied migrations.
    @discardableResult
    public static func migrate(directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = try SQLiteDatabase(url: directory.appendingPathComponent(SQLiteDatabase.fileName))
        try database.migrate()
        return try database.appliedMigrations()
    }

    // MARK: - Backup and restore

    /// What a backup holds.
    public struct BackupSummary: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The backup folder.
        public var directory: URL
        /// Object files copied (or linked) into it.
        public var objectFiles: Int
        /// Their total size.
        public var bytes: Int64
        /// When the backup finished.
        public var time: Date

        public var description: String {
            "\(objectFiles) object file(s), \(bytes) bytes, database snapshot \(SQLiteDatabase.fileName), finished \(RFC3339.string(from: time))"
        }
    }

    /// Writes a consistent backup to `destination` (a folder that must not exist, or be empty) while writes go on:
    /// a snapshot of the database, and every object file that snapshot references.
    ///
    /// Object files are hard-linked when the destination is on the same file system (they never change once written),
    /// copied otherwise. Restore it with ``restore(from:to:)``.
    @discardableResult
    public func backup(to destination: URL) async throws -> BackupSummary {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: destination.path) {
            guard ((try? fileManager.contentsOfDirectory(atPath: destination.path)) ?? ["?"]).isEmpty else {
                throw AerieError(.conflict, "The backup folder \(destination.path) is not empty. Choose a new folder.")
            }
        }
        do {
            try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch {
            throw AerieError(.unavailable, "Cannot create the backup folder \(destination.path): \(error).")
        }
        let snapshot = destination.appendingPathComponent(SQLiteDatabase.fileName)
        let source = objects.directory
        let target = destination.appendingPathComponent(Self.objectsFolder, isDirectory: true)
        let database = self.database
        return try await objects.retainingFiles {
            try await database.snapshot(to: snapshot)
            let files = try Self.referencedFiles(inDatabaseAt: snapshot)
            var bytes: Int64 = 0
            for file in files {
                let from = source.appendingPathComponent(file)
                let to = target.appendingPathComponent(file)
                do {
                    try fileManager.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                    do {
                        try fileManager.linkItem(at: from, to: to)
                    } catch {
                        try fileManager.copyItem(at: from, to: to)
                    }
                    bytes += (try fileManager.attributesOfItem(atPath: to.path)[.size] as? NSNumber)?.int64Value ?? 0
                } catch {
                    throw AerieError(.unavailable, "Cannot copy object file \(file) into the backup: \(error). Check the backup folder's disk space.")
                }
            }
            return BackupSummary(directory: destination, objectFiles: files.count, bytes: bytes, time: Date())
        }
    }

    /// Restores a backup made by ``backup(to:)`` into `directory`, which must not exist or be empty.
    /// Open the restored directory with ``init(directory:durability:)``.
    public static func restore(from backup: URL, to directory: URL) throws {
        let fileManager = FileManager.default
        let snapshot = backup.appendingPathComponent(SQLiteDatabase.fileName)
        guard fileManager.fileExists(atPath: snapshot.path) else {
            throw AerieError.notFound("\(backup.path) is not a backup: it has no \(SQLiteDatabase.fileName). Give the folder `backup` wrote.")
        }
        if fileManager.fileExists(atPath: directory.path) {
            guard ((try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? ["?"]).isEmpty else {
                throw AerieError(.conflict, "The data directory \(directory.path) is not empty. Restore into a new or empty directory.")
            }
        }
        let files = try referencedFiles(inDatabaseAt: snapshot)
        let source = backup.appendingPathComponent(objectsFolder, isDirectory: true)
        let target = directory.appendingPathComponent(objectsFolder, isDirectory: true)
        do {
            try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
            for file in files {
                let to = target.appendingPathComponent(file)
                try fileManager.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                try fileManager.copyItem(at: source.appendingPathComponent(file), to: to)
            }
            try fileManager.copyItem(at: snapshot, to: directory.appendingPathComponent(SQLiteDatabase.fileName))
        } catch {
            throw AerieError(.unavailable, "Cannot restore the backup into \(directory.path): \(error). Check that the backup is complete and the disk has space.")
        }
    }

    /// The object files a database file references.
    private static func referencedFiles(inDatabaseAt url: URL) throws -> [String] {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: url.path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in try String.fetchAll(db, sql: "SELECT file FROM objects ORDER BY file") }
        } catch {
            throw AerieError(.internal, "Cannot read the object list of the database copy \(url.path): \(error).")
        }
    }
}
