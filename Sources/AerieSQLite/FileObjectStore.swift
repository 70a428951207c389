import AerieCore
import Foundation
import Synchronization
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded ``ObjectStore`` driver: bucket and object metadata in SQLite, bytes in files.
///
/// An object's file lives at `<directory>/<bucket>/<first 2 hex of sha256(key)>/<sha256(key)>-<version>`: names come
/// from a hash of the key, never from its text, so no key can reach outside its bucket. A put streams the body to a
/// temporary file (computing size and MD5), syncs it, renames it into place under a fresh version name, then commits
/// the metadata row and the ``ObjectEvent`` in one transaction, and only then deletes the previous version's file.
/// A crash at any point leaves either the old or the new object, never a torn one, and never a change without its
/// event. Files no metadata references (left by a crash) are deleted when the store is opened.
///
/// Several processes may open the same folder (the server, and `aerie backup` beside it): each holds a shared lock
/// on `.open.lock` while open, and orphans are only deleted by an opener that finds itself alone. Backups hold
/// `.backup.lock` exclusively, and deleters hold it shared while they delete, so no process deletes a file a backup
/// in progress may copy. Tables: `object_buckets`, `objects`.
public struct FileObjectStore: ObjectStore {
    let database: SQLiteDatabase
    /// The object files.
    let bodies: DirectoryBodyStore
    /// The folder holding the object files (`<data>/objects`).
    public var directory: URL { bodies.directory }
    let reaper: ObjectFileReaper
    /// Held shared while this store is open.
    private let presence: FileLock

    var backupLockURL: URL { directory.appendingPathComponent(".backup.lock") }

    /// Opens the store on `directory` and, when no other process has it open, deletes orphan files: temporary files
    /// and versions no metadata references. The database must be migrated.
    public init(database: SQLiteDatabase, directory: URL) throws {
        self.database = database
        bodies = try DirectoryBodyStore(directory: directory, syncsDirectories: database.configuration.durability == .strict)
        reaper = ObjectFileReaper(backupLockURL: directory.appendingPathComponent(".backup.lock"))
        presence = try FileLock(url: directory.appendingPathComponent(".open.lock"))
        if presence.tryLock(exclusive: true) {
            defer { presence.lock(exclusive: false) }
            try removeOrphans()
        } else {
            presence.lock(exclusive: false)
        }
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("objects-v1") { db in
            try db.execute(sql: """
                CREATE TABLE object_buckets (
                    name TEXT PRIMARY KEY NOT NULL,
                    created_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE objects (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    file TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    metadata TEXT NOT NULL,
                    last_modified REAL NOT NULL,
                    PRIMARY KEY (bucket, key)
                ) WITHOUT ROWID;
                """)
        }
    }

    // MARK: - Buckets

    public func createBucket(_ name: String) async throws -> BucketInfo {
        let info = BucketInfo(name: name, createdAt: Date())
        try await database.write { db in
            guard try Self.bucketRow(db, name: name) == nil else {
                throw AerieError(.alreadyExists, "Bucket \"\(name)\" already exists. Use it, or pick another name.")
            }
            try db.execute(sql: "INSERT INTO object_buckets (name, created_at) VALUES (?, ?)",
                           arguments: [name, info.createdAt.storedSeconds])
        }
        return info
    }

    public func deleteBucket(_ name: String) async throws {
        try await database.write { db in
            _ = try Self.existingBucket(db, name: name)
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE bucket = ?", arguments: [name]) ?? 0
            guard count == 0 else {
                throw AerieError(.conflict, "Bucket \"\(name)\" still holds \(count) object(s). Delete them first.")
            }
            try db.execute(sql: "DELETE FROM object_buckets WHERE name = ?", arguments: [name])
        }
        // Remove the folders that are empty; anything else belongs to a put racing with a re-created bucket.
        let bucketFolder = directory.appendingPathComponent(name, isDirectory: true)
        for shard in (try? FileManager.default.contentsOfDirectory(atPath: bucketFolder.path)) ?? [] {
            _ = rmdir(bucketFolder.appendingPathComponent(shard, isDirectory: true).path)
        }
        _ = rmdir(bucketFolder.path)
    }

    public func listBuckets() async throws -> [BucketInfo] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created_at FROM object_buckets ORDER BY name").map(Self.bucketInfo)
        }
    }

    public func bucket(_ name: String) async throws -> BucketInfo? {
        return try await database.read { db in try Self.bucketRow(db, name: name) }
    }

    // MARK: - Objects

    @discardableResult
    public func put<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64
    ) async throws -> ObjectInfo where Body.Element == Data {
        try await database.read { db in _ = try Self.existingBucket(db, name: bucket) }

        let written = try await bodies.write(bucket: bucket, key: key, body: body, maxSize: maxSize)
        let relative = written.name
        CrashPoint.reach("object.put.file-placed", bucket)

        let metadata = Dictionary(attributes.completedMetadata.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        let contentType = attributes.contentType.isEmpty ? "application/octet-stream" : attributes.contentType
        let metadataText = String(decoding: try JSONCoding.encode(metadata), as: UTF8.self)
        let previous: String?
        let info: ObjectInfo
        // The precondition's own error goes back to the caller as it is (the database layer would wrap it).
        let refusal = Mutex<(any Error)?>(nil)
        do {
            (info, previous) = try await database.write { db in
                _ = try Self.existingBucket(db, name: bucket)
                let now = Date()
                let info = ObjectInfo(bucket: bucket, key: key, size: written.size, etag: written.etag, contentType: contentType,
                                      metadata: metadata, lastModified: now)
                let previous: String?
                if let precondition = attributes.precondition {
                    let current = try Self.objectRowInExistingBucket(db, bucket: bucket, key: key)
                    do {
                        try precondition.check(current?.0)
                    } catch {
                        refusal.withLock { $0 = error }
                        throw error
                    }
                    previous = current?.1
                } else {
                    previous = try String.fetchOne(db.cachedStatement(sql: "SELECT file FROM objects WHERE bucket = ? AND key = ?"),
                                                   arguments: [bucket, key])
                }
                try db.cachedStatement(sql: """
                    INSERT INTO objects (bucket, key, file, size, etag, content_type, metadata, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (bucket, key) DO UPDATE SET file = excluded.file, size = excluded.size, etag = excluded.etag,
                        content_type = excluded.content_type, metadata = excluded.metadata, last_modified = excluded.last_modified
                    """).execute(arguments: [bucket, key, relative, written.size, written.etag, contentType, metadataText, now.storedSeconds])
                let event = ObjectEvent(kind: .created, bucket: bucket, key: key, size: written.size, etag: written.etag,
                                        contentType: contentType, metadata: metadata, time: now)
                try Self.record(db, event: event)
                return (info, previous)
            }
        } catch {
            bodies.remove(relative)
            throw refusal.withLock { $0 } ?? error
        }
        CrashPoint.reach("object.put.committed", bucket)
        if let previous {
            await reaper.remove(directory.appendingPathComponent(previous))
        }
        return info
    }

    public func read(bucket: String, key: String, range: ByteRange?) async throws -> ObjectStream {
        try await bodies.openObject(bucket: bucket, key: key, range: range) {
            try await database.readPoint { db in try Self.objectRowInExistingBucket(db, bucket: bucket, key: key) }
        }
    }

    public func head(bucket: String, key: String) async throws -> ObjectInfo? {
        try await database.readPoint { db in try Self.objectRowInExistingBucket(db, bucket: bucket, key: key)?.0 }
    }

    @discardableResult
    public func delete(bucket: String, key: String) async throws -> Bool {
        let removed = try await database.write { db -> String? in
            _ = try Self.existingBucket(db, name: bucket)
            guard let (info, relative) = try Self.objectRow(db, bucket: bucket, key: key) else { return nil }
            try db.execute(sql: "DELETE FROM objects WHERE bucket = ? AND key = ?", arguments: [bucket, key])
            try Self.record(db, event: ObjectEvent(kind: .removed, bucket: bucket, key: key, size: info.size, etag: info.etag,
                                                   contentType: info.contentType, metadata: info.metadata, time: Date()))
            return relative
        }
        guard let removed else { return false }
        await reaper.remove(directory.appendingPathComponent(removed))
        return true
    }

    public func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing {
        let start = try ObjectListingScan(request)
        return try await database.read { db in
            _ = try Self.existingBucket(db, name: bucket)
            var scan = start
            let inclusive = try db.cachedStatement(sql: """
                SELECT key, file, size, etag, content_type, metadata, last_modified FROM objects
                WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?
                """)
            let exclusive = try db.cachedStatement(sql: """
                SELECT key, file, size, etag, content_type, metadata, last_modified FROM objects
                WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?
                """)
            while try scan.consume(Row.fetchAll(scan.lower.inclusive ? inclusive : exclusive,
                                                arguments: [bucket, scan.lower.key, ObjectListingScan.batch]),
                                   key: { $0["key"] }, info: { try Self.objectInfo($0, bucket: bucket) }) {}
            return scan.listing
        }
    }

    // MARK: - Backup

    /// Runs `body` while no object file is deleted (deletions wait until it ends), so that a database snapshot taken
    /// inside it finds every file it references.
    func retainingFiles<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await reaper.hold()
        let result: Result<T, any Error>
        do {
            // Other processes' deleters take this lock shared for a moment; wait for them, then keep them out.
            let lock = try FileLock(url: backupLockURL)
            try await lock.lock(exclusive: true)
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            lock.unlock()
        } catch {
            result = .failure(error)
        }
        await reaper.release()
        return try result.get()
    }

    // MARK: - Internals

    /// Appends an object event to the event log in the caller's transaction.
    private static func record(_ db: Database, event: ObjectEvent) throws {
        let payload = try JSONCoding.encode(event)
        _ = try SQLiteEventLog.append(db, topic: ObjectEvent.topic,
                                      events: [OutgoingEvent(key: "\(event.bucket)/\(event.key)", payload: payload)], now: event.time)
    }

    private static func bucketRow(_ db: Database, name: String) throws -> BucketInfo? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT name, created_at FROM object_buckets WHERE name = ?"), arguments: [name])
            .map(bucketInfo)
    }

    private static func existingBucket(_ db: Database, name: String) throws -> BucketInfo {
        guard let info = try bucketRow(db, name: name) else {
            throw AerieError.notFound("Bucket \"\(name)\" does not exist. Create it first.")
        }
        return info
    }

    private static func bucketInfo(_ row: Row) -> BucketInfo {
        BucketInfo(name: row["name"], createdAt: Date(storedSeconds: row["created_at"]))
    }

    private static func objectRow(_ db: Database, bucket: String, key: String) throws -> (ObjectInfo, String)? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT key, file, size, etag, content_type, metadata, last_modified FROM objects WHERE bucket = ? AND key = ?
            """), arguments: [bucket, key]) else { return nil }
        return (try objectInfo(row, bucket: bucket), row["file"])
    }

    /// The object's row, in one statement that also tells a missing bucket (`notFound`) from a missing object (nil):
    /// one read lock instead of two on the GET path.
    private static func objectRowInExistingBucket(_ db: Database, bucket: String, key: String) throws -> (ObjectInfo, String)? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT o.key, o.file, o.size, o.etag, o.content_type, o.metadata, o.last_modified
            FROM object_buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = ? WHERE b.name = ?
            """), arguments: [key, bucket]) else {
            throw AerieError.notFound("Bucket \"\(bucket)\" does not exist. Create it first.")
        }
        guard row["file"] as String? != nil else { return nil }
        return (try objectInfo(row, bucket: bucket), row["file"])
    }

    private static func objectInfo(_ row: Row, bucket: String) throws -> ObjectInfo {
        let metadataText: String = row["metadata"]
        guard case .object(let fields) = try JSONValue.parse(bytes: metadataText.utf8) else {
            throw AerieError(.internal, "An object's stored metadata is not a JSON object. The database may be damaged; restore it from a backup.")
        }
        let metadata = fields.compactMapValues(\.stringValue)
        return ObjectInfo(bucket: bucket, key: row["key"], size: row["size"], etag: row["etag"], contentType: row["content_type"],
                          metadata: metadata, lastModified: Date(storedSeconds: row["last_modified"]))
    }
}
