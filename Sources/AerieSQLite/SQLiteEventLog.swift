import AerieCore
import Foundation
import GRDB

/// The embedded ``EventLog`` driver: topics, events and consumer offsets in the SQLite database.
///
/// Offsets are assigned inside the appending transaction, so they are dense (0, 1, 2…) and never reused.
/// Other drivers append in their own transactions with ``append(_:topic:events:now:)`` (the object store
/// records its events that way, atomically with the change).
///
/// Tables: `event_topics`, `events`, `event_consumers`.
public struct SQLiteEventLog: EventLog {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("events-v1") { db in
            try db.execute(sql: """
                CREATE TABLE event_topics (
                    name TEXT PRIMARY KEY NOT NULL,
                    next_position INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE events (
                    topic TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    key TEXT,
                    payload BLOB NOT NULL,
                    time REAL NOT NULL,
                    PRIMARY KEY (topic, position)
                ) WITHOUT ROWID;
                CREATE TABLE event_consumers (
                    topic TEXT NOT NULL,
                    grp TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (topic, grp)
                ) WITHOUT ROWID;
                """)
        }
    }

    /// Appends events inside the caller's write transaction; returns their offsets.
    static func append(_ db: Database, topic: String, events: [OutgoingEvent], now: Date) throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        let next = try Int64.fetchOne(db.cachedStatement(sql: "SELECT next_position FROM event_topics WHERE name = ?"),
                                      arguments: [topic]) ?? 0
        let insert = try db.cachedStatement(sql: "INSERT INTO events (topic, position, key, payload, time) VALUES (?, ?, ?, ?, ?)")
        var offsets: [Int64] = []
        offsets.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            let offset = next + Int64(index)
            try insert.execute(arguments: [topic, offset, event.key, event.payload, now.storedSeconds])
            offsets.append(offset)
        }
        try db.cachedStatement(sql: """
            INSERT INTO event_topics (name, next_position) VALUES (?, ?)
            ON CONFLICT (name) DO UPDATE SET next_position = excluded.next_position
            """).execute(arguments: [topic, next + Int64(events.count)])
        return offsets
    }

    @discardableResult
    public func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        let offsets = try await database.write { db in
            try Self.append(db, topic: topic, events: events, now: Date())
        }
        CrashPoint.reach("events.appended", topic)
        return offsets
    }

    public func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord] {
        return try await database.read { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT position, key, payload, time FROM events
                WHERE topic = ? AND position >= ? ORDER BY position LIMIT ?
                """), arguments: [topic, offset, limit])
            return rows.map { row in
                EventRecord(topic: topic, offset: row["position"], key: row["key"], payload: row["payload"],
                            time: Date(storedSeconds: row["time"]))
            }
        }
    }

    public func topics() async throws -> [TopicInfo] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, next_position FROM event_topics WHERE next_position > 0 ORDER BY name")
                .map { TopicInfo(name: $0["name"], nextOffset: $0["next_position"]) }
        }
    }

    public func topic(_ name: String) async throws -> TopicInfo? {
        return try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT next_position FROM event_topics WHERE name = ? AND next_position > 0", arguments: [name])
                .map { TopicInfo(name: name, nextOffset: $0) }
        }
    }

    public func commit(group: String, topic: String, offset: Int64) async throws {
        try await database.write { db in
            let end = try Int64.fetchOne(db, sql: "SELECT next_position FROM event_topics WHERE name = ?", arguments: [topic]) ?? 0
            guard offset <= end else {
                throw AerieError.invalid(
                    "Offset \(offset) is past the end of topic \"\(topic)\" (next offset \(end)). Commit an offset between 0 and \(end).",
                    field: "offset")
            }
            try db.execute(sql: """
                INSERT INTO event_consumers (topic, grp, position, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (topic, grp) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                """, arguments: [topic, group, offset, Date().storedSeconds])
        }
    }

    public func committedOffset(group: String, topic: String) async throws -> Int64? {
        return try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT position FROM event_consumers WHERE topic = ? AND grp = ?", arguments: [topic, group])
        }
    }

    public func consumerOffsets(topic: String?) async throws -> [ConsumerOffset] {
        return try await database.read { db in
            let rows: [Row]
            if let topic {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM event_consumers WHERE topic = ? ORDER BY grp", arguments: [topic])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM event_consumers ORDER BY topic, grp")
            }
            return rows.map { row in
                ConsumerOffset(group: row["grp"], topic: row["topic"], offset: row["position"],
                               updatedAt: Date(storedSeconds: row["updated_at"]))
            }
        }
    }
}
