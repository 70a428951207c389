import AerieCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The scale-out ``ObjectStore`` driver: buckets and object metadata in PostgreSQL, bytes in an ``ObjectBodyStore``
/// (a folder every node shares, or an S3-compatible store).
///
/// Bytes and metadata cannot share a transaction, so a put writes the body first, under a fresh name, and then
/// commits the metadata row and its ``ObjectEvent`` in one transaction; the replaced body is removed after the commit.
/// A crash in between leaves a body no row names (an orphan, which ``sweepOrphans(olderThan:)`` removes), never a
/// row or an event without its body. Writes to one key take a transaction-scoped advisory lock on it, so a put's
/// precondition is checked against the object as it stands at commit, from any node.
///
/// Tables: `aerie_object_buckets`, `aerie_objects`; events go to the event log's tables (``PostgresEventLog``).
public struct PostgresObjectStore: ObjectStore {
    let database: PostgresDatabase
    public let bodies: any ObjectBodyStore

    public init(database: PostgresDatabase, bodies: any ObjectBodyStore) {
        self.database = database
        self.bodies = bodies
    }

    /// Its own tables; object events also need ``PostgresEventLog/migrations``.
    public static let migrations = [
        PostgresDatabase.Migration("objects-v1", [
            """
            CREATE TABLE aerie_object_buckets (
                name text COLLATE "C" PRIMARY KEY,
                created_at double precision NOT NULL
            )
            """,
            """
            CREATE TABLE aerie_objects (
                bucket text COLLATE "C" NOT NULL REFERENCES aerie_object_buckets (name),
                key text COLLATE "C" NOT NULL,
                body text NOT NULL,
                size bigint NOT NULL,
                etag text NOT NULL,
                content_type text NOT NULL,
                metadata text NOT NULL,
                last_modified double precision NOT NULL,
                PRIMARY KEY (bucket, key)
            )
            """,
            "CREATE INDEX aerie_objects_body ON aerie_objects (body)",
        ]),
    ]

    private var logger: Logger { database.logger }

    // MARK: - Buckets

    public func createBucket(_ name: String) async throws -> BucketInfo {
        let info = BucketInfo(name: name, createdAt: Date())
        let created = try await database.transaction { connection in
            let rows = try await connection.query("""
                INSERT INTO aerie_object_buckets (name, created_at) VALUES (\(name), \(info.createdAt.timeIntervalSince1970))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, logger: logger)
            for try await _ in rows.decode(String.self) { return true }
            return false
        }
        guard created else { throw AerieError(.alreadyExists, "Bucket \"\(name)\" already exists. Use it, or pick another name.") }
        return info
    }

    public func deleteBucket(_ name: String) async throws {
        try await database.transaction { connection in
            // The row lock waits for puts in flight (they hold the bucket shared) and keeps new ones out.
            let rows = try await connection.query("SELECT name FROM aerie_object_buckets WHERE name = \(name) FOR UPDATE", logger: logger)
            var found = false
            for try await _ in rows.decode(String.self) { found = true }
            guard found else { throw AerieError.notFound("Bucket \"\(name)\" does not exist. Create it first.") }
            var count: Int64 = 0
            for try await value in try await connection.query("SELECT count(*) FROM aerie_objects WHERE bucket = \(name)", logger: logger)
                .decode(Int64.self) { count = value }
            guard count == 0 else {
                throw AerieError(.conflict, "Bucket \"\(name)\" still holds \(count) object(s). Delete them first.")
            }
            try await connection.query("DELETE FROM aerie_object_buckets WHERE name = \(name)", logger: logger)
        }
    }

    public func listBuckets() async throws -> [BucketInfo] {
        try await database.connection { connection in
            var buckets: [BucketInfo] = []
            for try await (name, created) in try await connection.query(
                "SELECT name, created_at FROM aerie_object_buckets ORDER BY name", logger: logger).decode((String, Double).self) {
                buckets.append(BucketInfo(name: name, createdAt: Date(timeIntervalSince1970: created)))
            }
            return buckets
        }
    }

    public func bucket(_ name: String) async throws -> BucketInfo? {
        try await database.connection { connection in try await Self.bucketRow(connection, name: name, lock: "", logger: logger) }
    }

    // MARK: - Objects

    @discardableResult
    public func put<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64
    ) async throws -> ObjectInfo where Body.Element == Data {
        guard try await self.bucket(bucket) != nil else { throw Self.missingBucket(bucket) }
        let written = try await bodies.write(bucket: bucket, key: key, body: body, maxSize: maxSize)
        CrashPoint.reach("object.put.file-placed", bucket)

        let metadata = Dictionary(attributes.completedMetadata.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        let contentType = attributes.contentType.isEmpty ? "application/octet-stream" : attributes.contentType
        let metadataText = String(decoding: try JSONCoding.encode(metadata), as: UTF8.self)
        let precondition = attributes.precondition
        // The precondition's own error goes back to the caller as it is.
        let refusal = Mutex<(any Error)?>(nil)
        let info: ObjectInfo
        let previous: String?
        do {
            (info, previous) = try await database.transaction { connection in
                guard try await Self.bucketRow(connection, name: bucket, lock: "FOR SHARE", logger: logger) != nil else {
                    throw Self.missingBucket(bucket)
                }
                try await Self.lockKey(connection, bucket: bucket, key: key, logger: logger)
                let current = try await Self.objectRow(connection, bucket: bucket, key: key, logger: logger)
                if let precondition {
                    do {
                        try precondition.check(current?.info)
                    } catch {
                        refusal.withLock { $0 = error }
                        throw error
                    }
                }
                // The time as the row stores it (seconds since 1970), so the info returned equals the one read back.
                let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970)
                try await connection.query("""
                    INSERT INTO aerie_objects (bucket, key, body, size, etag, content_type, metadata, last_modified)
                    VALUES (\(bucket), \(key), \(written.name), \(written.size), \(written.etag), \(contentType), \(metadataText), \(now.timeIntervalSince1970))
                    ON CONFLICT (bucket, key) DO UPDATE SET body = excluded.body, size = excluded.size, etag = excluded.etag,
                        content_type = excluded.content_type, metadata = excluded.metadata, last_modified = excluded.last_modified
                    """, logger: logger)
                let event = ObjectEvent(kind: .created, bucket: bucket, key: key, size: written.size, etag: written.etag,
                                        contentType: contentType, metadata: metadata, time: now)
                try await Self.record(connection, event: event, logger: logger)
                let info = ObjectInfo(bucket: bucket, key: key, size: written.size, etag: written.etag, contentType: contentType,
                                      metadata: metadata, lastModified: now)
                return (info, current?.body)
            }
        } catch {
            await bodies.remove(written.name)
            throw refusal.withLock { $0 } ?? error
        }
        CrashPoint.reach("object.put.committed", bucket)
        if let previous { await bodies.remove(previous) }
        return info
    }

    public func read(bucket: String, key: String, range: ByteRange?) async throws -> ObjectStream {
        try await bodies.openObject(bucket: bucket, key: key, range: range) {
            try await rowInExistingBucket(bucket: bucket, key: key)
        }
    }

    public func head(bucket: String, key: String) async throws -> ObjectInfo? {
        try await rowInExistingBucket(bucket: bucket, key: key)?.info
    }

    @discardableResult
    public func delete(bucket: String, key: String) async throws -> Bool {
        let removed = try await database.transaction { connection -> String? in
            guard try await Self.bucketRow(connection, name: bucket, lock: "FOR SHARE", logger: logger) != nil else {
                throw Self.missingBucket(bucket)
            }
            try await Self.lockKey(connection, bucket: bucket, key: key, logger: logger)
            guard let (info, body) = try await Self.objectRow(connection, bucket: bucket, key: key, logger: logger) else { return nil }
            try await connection.query("DELETE FROM aerie_objects WHERE bucket = \(bucket) AND key = \(key)", logger: logger)
            try await Self.record(connection, event: ObjectEvent(kind: .removed, bucket: bucket, key: key, size: info.size, etag: info.etag,
                                                                 contentType: info.contentType, metadata: info.metadata, time: Date()),
                                  logger: logger)
            return body
        }
        guard let removed else { return false }
        await bodies.remove(removed)
        return true
    }

    public func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing {
        let start = try ObjectListingScan(request)
        return try await database.connection { connection in
            guard try await Self.bucketRow(connection, name: bucket, lock: "", logger: logger) != nil else { throw Self.missingBucket(bucket) }
            var scan = start
            var more = true
            while more {
                let comparison = scan.lower.inclusive ? ">=" : ">"
                var statement = SQLStatement()
                statement.sql = """
                    SELECT key, body, size, etag, content_type, metadata, last_modified FROM aerie_objects
                    WHERE bucket = \(statement.bind(bucket)) AND key \(comparison) \(statement.bind(scan.lower.key))
                    ORDER BY key LIMIT \(statement.bind(Int64(ObjectListingScan.batch)))
                    """
                var rows: [(info: ObjectInfo, body: String)] = []
                for try await row in try await connection.query(statement.query, logger: logger).decode(ObjectRow.self) {
                    rows.append(try Self.objectInfo(row, bucket: bucket))
                }
                more = scan.consume(rows, key: \.info.key, info: \.info)
            }
            return scan.listing
        }
    }

    // MARK: - Orphans

    /// Removes bodies written before `date` that no object names (left by a node that crashed between writing a body
    /// and committing its row, or before removing a replaced body); returns how many. The age keeps it off bodies of
    /// puts still in flight on any node, so run it with a margin far above a put's duration (`make run-cluster`'s
    /// nodes sweep hourly for bodies older than an hour).
    @discardableResult
    public func sweepOrphans(olderThan date: Date) async throws -> Int {
        let candidates = try await bodies.orphanCandidates(olderThan: date)
        var removed = 0
        for start in stride(from: 0, to: candidates.count, by: 500) {
            let batch = Array(candidates[start..<min(start + 500, candidates.count)])
            let referenced = try await database.connection { connection in
                var names = Set<String>()
                for try await name in try await connection.query("SELECT body FROM aerie_objects WHERE body = ANY(\(batch))",
                                                                 logger: logger).decode(String.self) {
                    names.insert(name)
                }
                return names
            }
            for name in batch where !referenced.contains(name) {
                await bodies.remove(name)
                removed += 1
            }
        }
        return removed
    }

    // MARK: - Internals

    typealias ObjectRow = (String, String, Int64, String, String, String, Double)

    private func rowInExistingBucket(bucket: String, key: String) async throws -> (info: ObjectInfo, body: String)? {
        try await database.connection { connection in
            // One statement tells a missing bucket (no row) from a missing object (a row of NULLs).
            let rows = try await connection.query("""
                SELECT o.key, o.body, o.size, o.etag, o.content_type, o.metadata, o.last_modified
                FROM aerie_object_buckets b LEFT JOIN aerie_objects o ON o.bucket = b.name AND o.key = \(key) WHERE b.name = \(bucket)
                """, logger: logger)
            for try await row in rows.decode((String?, String?, Int64?, String?, String?, String?, Double?).self) {
                guard let key = row.0, let body = row.1, let size = row.2, let etag = row.3, let type = row.4, let metadata = row.5,
                      let modified = row.6 else { return nil }
                return try Self.objectInfo((key, body, size, etag, type, metadata, modified), bucket: bucket)
            }
            throw Self.missingBucket(bucket)
        }
    }

    private static func objectRow(_ connection: PostgresConnection, bucket: String, key: String,
                                  logger: Logger) async throws -> (info: ObjectInfo, body: String)? {
        let rows = try await connection.query("""
            SELECT key, body, size, etag, content_type, metadata, last_modified FROM aerie_objects WHERE bucket = \(bucket) AND key = \(key)
            """, logger: logger)
        for try await row in rows.decode(ObjectRow.self) { return try objectInfo(row, bucket: bucket) }
        return nil
    }

    private static func objectInfo(_ row: ObjectRow, bucket: String) throws -> (info: ObjectInfo, body: String) {
        guard case .object(let fields) = try JSONValue.parse(bytes: row.5.utf8) else {
            throw AerieError(.internal, "An object's stored metadata is not a JSON object. The database may be damaged; restore it from a backup.")
        }
        let info = ObjectInfo(bucket: bucket, key: row.0, size: row.2, etag: row.3, contentType: row.4,
                              metadata: fields.compactMapValues(\.stringValue), lastModified: Date(timeIntervalSince1970: row.6))
        return (info, row.1)
    }

    private static func bucketRow(_ connection: PostgresConnection, name: String, lock: String, logger: Logger) async throws -> BucketInfo? {
        var statement = SQLStatement()
        statement.sql = "SELECT name, created_at FROM aerie_object_buckets WHERE name = \(statement.bind(name)) \(lock)"
        for try await (name, created) in try await connection.query(statement.query, logger: logger).decode((String, Double).self) {
            return BucketInfo(name: name, createdAt: Date(timeIntervalSince1970: created))
        }
        return nil
    }

    /// Serialises writes to one key across nodes until the transaction ends (a row lock cannot: the row may not exist).
    private static func lockKey(_ connection: PostgresConnection, bucket: String, key: String, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(bucket + "\u{1F}" + key), 3))", logger: logger)
    }

    private static func record(_ connection: PostgresConnection, event: ObjectEvent, logger: Logger) async throws {
        _ = try await PostgresEventLog.append(connection, topic: ObjectEvent.topic,
                                              events: [OutgoingEvent(key: "\(event.bucket)/\(event.key)", payload: try JSONCoding.encode(event))],
                                              now: event.time, logger: logger)
    }

    private static func missingBucket(_ name: String) -> AerieError {
        AerieError.notFound("Bucket \"\(name)\" does not exist. Create it first.")
    }
}
