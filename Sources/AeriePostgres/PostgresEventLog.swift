import AerieCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The scale-out ``EventLog`` driver: topics, events and consumer offsets in PostgreSQL.
///
/// An append reserves its range of offsets by bumping the topic's row (`INSERT … ON CONFLICT DO UPDATE … RETURNING`),
/// whose row lock lasts until the appending transaction commits. So appenders of one topic commit one after another,
/// in offset order, from any node: offsets are dense, and a reader never sees offset n+1 before n (a consumer that
/// committed past a gap would lose the event that later filled it). Each append is announced to every node
/// (``PostgresDatabase/relayAnnouncements(to:)``) when it commits.
///
/// Tables: `aerie_event_topics`, `aerie_events`, `aerie_event_consumers`.
public struct PostgresEventLog: EventLog {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    public static let migrations = [
        PostgresDatabase.Migration("events-v1", [
            """
            CREATE TABLE aerie_event_topics (
                name text COLLATE "C" PRIMARY KEY,
                next_position bigint NOT NULL
            )
            """,
            """
            CREATE TABLE aerie_events (
                topic text COLLATE "C" NOT NULL,
                position bigint NOT NULL,
                key text,
                payload bytea NOT NULL,
                time double precision NOT NULL,
                PRIMARY KEY (topic, position)
            )
            """,
            """
            CREATE TABLE aerie_event_consumers (
                topic text COLLATE "C" NOT NULL,
                grp text COLLATE "C" NOT NULL,
                position bigint NOT NULL,
                updated_at double precision NOT NULL,
                PRIMARY KEY (topic, grp)
            )
            """,
        ]),
    ]

    private var logger: Logger { database.logger }

    /// Appends events inside the caller's transaction; returns their offsets.
    static func append(_ connection: PostgresConnection, topic: String, events: [OutgoingEvent], now: Date, logger: Logger) async throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        let count = Int64(events.count)
        let rows = try await connection.query("""
            INSERT INTO aerie_event_topics AS t (name, next_position) VALUES (\(topic), \(count))
            ON CONFLICT (name) DO UPDATE SET next_position = t.next_position + excluded.next_position
            RETURNING next_position
            """, logger: logger)
        var end: Int64 = count
        for try await value in rows.decode(Int64.self) { end = value }
        let first = end - count
        // One statement for the batch: arrays of keys and payloads, unnested with their ordinality.
        // (postgres-nio encodes no arrays with NULLs, so a key's absence travels in an array of its own).
        let keys = events.map { $0.key ?? "" }
        let keyed = events.map { $0.key != nil }
        let payloads = events.map { ByteBuffer(bytes: $0.payload) }
        try await connection.query("""
            INSERT INTO aerie_events (topic, position, key, payload, time)
            SELECT \(topic), \(first) + e.n - 1, CASE WHEN e.keyed THEN e.key END, e.payload, \(now.timeIntervalSince1970)
            FROM unnest(\(keys)::text[], \(keyed)::boolean[], \(payloads)::bytea[]) WITH ORDINALITY AS e(key, keyed, payload, n)
            """, logger: logger)
        try await PostgresDatabase.announce(connection, topic: topic, logger: logger)
        return (0..<count).map { first + $0 }
    }

    @discardableResult
    public func append(topic: String, _ events: [OutgoingEvent]) async throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        let offsets = try await database.transaction { connection in
            try await Self.append(connection, topic: topic, events: events, now: Date(), logger: logger)
        }
        CrashPoint.reach("events.appended", topic)
        return offsets
    }

    public func read(topic: String, from offset: Int64, limit: Int) async throws -> [EventRecord] {
        try await database.connection { connection in
            let rows = try await connection.query("""
                SELECT position, key, payload, time FROM aerie_events
                WHERE topic = \(topic) AND position >= \(offset) ORDER BY position LIMIT \(Int64(limit))
                """, logger: logger)
            var records: [EventRecord] = []
            for try await (position, key, payload, time) in rows.decode((Int64, String?, ByteBuffer, Double).self) {
                records.append(EventRecord(topic: topic, offset: position, key: key, payload: Data(payload.readableBytesView),
                                           time: Date(timeIntervalSince1970: time)))
            }
            return records
        }
    }

    public func topics() async throws -> [TopicInfo] {
        try await database.connection { connection in
            let rows = try await connection.query("SELECT name, next_position FROM aerie_event_topics WHERE next_position > 0 ORDER BY name",
                                                  logger: logger)
            var topics: [TopicInfo] = []
            for try await (name, next) in rows.decode((String, Int64).self) { topics.append(TopicInfo(name: name, nextOffset: next)) }
            return topics
        }
    }

    public func topic(_ name: String) async throws -> TopicInfo? {
        try await database.connection { connection in
            let rows = try await connection.query("SELECT next_position FROM aerie_event_topics WHERE name = \(name) AND next_position > 0",
                                                  logger: logger)
            for try await next in rows.decode(Int64.self) { return TopicInfo(name: name, nextOffset: next) }
            return nil
        }
    }

    public func commit(group: String, topic: String, offset: Int64) async throws {
        try await database.transaction { connection in
            var end: Int64 = 0
            for try await next in try await connection.query("SELECT next_position FROM aerie_event_topics WHERE name = \(topic)",
                                                             logger: logger).decode(Int64.self) {
                end = next
            }
            guard offset <= end else {
                throw AerieError.invalid(
                    "Offset \(offset) is past the end of topic \"\(topic)\" (next offset \(end)). Commit an offset between 0 and \(end).",
                    field: "offset")
            }
            try await connection.query("""
                INSERT INTO aerie_event_consumers (topic, grp, position, updated_at) VALUES (\(topic), \(group), \(offset), \(Date().timeIntervalSince1970))
                ON CONFLICT (topic, grp) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                """, logger: logger)
        }
    }

    public func committedOffset(group: String, topic: String) async throws -> Int64? {
        try await database.connection { connection in
            let rows = try await connection.query("SELECT position FROM aerie_event_consumers WHERE topic = \(topic) AND grp = \(group)",
                                                  logger: logger)
            for try await position in rows.decode(Int64.self) { return position }
            return nil
        }
    }

    public func consumerOffsets(topic: String?) async throws -> [ConsumerOffset] {
        try await database.connection { connection in
            let rows = try await connection.query("""
                SELECT grp, topic, position, updated_at FROM aerie_event_consumers
                WHERE \(topic)::text IS NULL OR topic = \(topic) ORDER BY topic, grp
                """, logger: logger)
            var offsets: [ConsumerOffset] = []
            for try await (group, topic, position, updated) in rows.decode((String, String, Int64, Double).self) {
                offsets.append(ConsumerOffset(group: group, topic: topic, offset: position, updatedAt: Date(timeIntervalSince1970: updated)))
            }
            return offsets
        }
    }
}
