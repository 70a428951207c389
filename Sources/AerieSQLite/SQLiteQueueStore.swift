import AerieCore
import Foundation
import GRDB
import Synchronization

/// The embedded ``QueueStore`` driver on SQLite.
///
/// A receive is one write transaction that picks the oldest visible messages and stamps them with a fresh receipt
/// and a new visibility deadline, so two consumers never get the same delivery. Every batch operation is one
/// transaction. Time comes only from the `now:` arguments.
///
/// Tables: `queue_configs`, `queue_messages`, `queue_dead_letters`, `queue_dedup`.
public struct SQLiteQueueStore: QueueStore {
    let database: SQLiteDatabase
    private let decoded = DecodedCache<QueueConfiguration>()
    /// Queues whose last receive here found messages, with that receive's time: for a second after, a receive goes
    /// straight to the write (the look before it would find messages anyway and costs a read per receive under load).
    private let busy = BusyQueues()

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("queues-v1") { db in
            try db.execute(sql: """
                CREATE TABLE queue_configs (
                    name TEXT PRIMARY KEY NOT NULL,
                    config TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE queue_messages (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    queue TEXT NOT NULL,
                    id TEXT NOT NULL,
                    body BLOB NOT NULL,
                    sent_at REAL NOT NULL,
                    visible_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    receipt TEXT,
                    last_error TEXT
                );
                -- Few indexes: each one costs on every send, receive and ack. Ids are random UUIDs (no unique index);
                -- receive walks (queue, seq) and stats scan it too.
                CREATE INDEX queue_messages_order ON queue_messages (queue);
                CREATE UNIQUE INDEX queue_messages_receipt ON queue_messages (receipt) WHERE receipt IS NOT NULL;
                CREATE TABLE queue_dead_letters (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    queue TEXT NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    body BLOB NOT NULL,
                    attempts INTEGER NOT NULL,
                    last_error TEXT,
                    sent_at REAL NOT NULL,
                    dead_at REAL NOT NULL
                );
                CREATE INDEX queue_dead_letters_queue ON queue_dead_letters (queue);
                CREATE TABLE queue_dedup (
                    queue TEXT NOT NULL,
                    dedup_id TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    expires_at REAL NOT NULL,
                    PRIMARY KEY (queue, dedup_id)
                ) WITHOUT ROWID;
                CREATE INDEX queue_dedup_expiry ON queue_dedup (queue, expires_at);
                """)
        }
    }

    // MARK: - Queues

    public func createQueue(_ configuration: QueueConfiguration) async throws {
        let text = String(decoding: try JSONCoding.encode(configuration), as: UTF8.self)
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO queue_configs (name, config) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET config = excluded.config
                """, arguments: [configuration.name, text])
        }
    }

    public func deleteQueue(_ name: String) async throws {
        try await database.write { db in
            _ = try Self.existing(db, name: name)
            for table in ["queue_messages", "queue_dead_letters", "queue_dedup"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE queue = ?", arguments: [name])
            }
            try db.execute(sql: "DELETE FROM queue_configs WHERE name = ?", arguments: [name])
        }
    }

    public func queue(_ name: String) async throws -> QueueConfiguration? {
        return try await database.read { db in try Self.configuration(db, name: name) }
    }

    public func listQueues() async throws -> [QueueConfiguration] {
        try await database.read { db in
            try String.fetchAll(db, sql: "SELECT config FROM queue_configs ORDER BY name").map(Self.decodeConfiguration)
        }
    }

    public func stats(_ name: String, now: Date) async throws -> QueueStats {
        return try await database.read { db in
            _ = try Self.existing(db, name: name)
            let row = try Row.fetchOne(db, sql: """
                SELECT
                    COALESCE(SUM(visible_at <= ?1), 0) AS visible,
                    COALESCE(SUM(visible_at > ?1 AND receipt IS NOT NULL), 0) AS in_flight,
                    COALESCE(SUM(visible_at > ?1 AND receipt IS NULL), 0) AS delayed
                FROM queue_messages WHERE queue = ?2
                """, arguments: [now.storedSeconds, name])
            let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_dead_letters WHERE queue = ?", arguments: [name]) ?? 0
            return QueueStats(name: name, visible: row?["visible"] ?? 0, inFlight: row?["in_flight"] ?? 0,
                              delayed: row?["delayed"] ?? 0, deadLetters: dead)
        }
    }

    // MARK: - Messages

    @discardableResult
    public func send(queue name: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String] {
        guard !messages.isEmpty else {
            try await database.read { db in _ = try Self.existing(db, name: name) }
            return []
        }
        return try await database.groupedWrite { db in
            let configuration = try Self.existing(db, name: name, cache: decoded)
            let deduplicating = messages.contains { $0.deduplicationId != nil }
            if deduplicating {
                try db.cachedStatement(sql: "DELETE FROM queue_dedup WHERE queue = ? AND expires_at <= ?")
                    .execute(arguments: [name, now.storedSeconds])
            }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO queue_messages (queue, id, body, sent_at, visible_at) VALUES (?, ?, ?, ?, ?)
                """)
            var ids: [String] = []
            ids.reserveCapacity(messages.count)
            for message in messages {
                if let dedup = message.deduplicationId,
                   let first = try String.fetchOne(db.cachedStatement(sql: """
                       SELECT message_id FROM queue_dedup WHERE queue = ? AND dedup_id = ? AND expires_at > ?
                       """), arguments: [name, dedup, now.storedSeconds]) {
                    ids.append(first)
                    continue
                }
                let id = RandomUUID.string()
                try insert.execute(arguments: [name, id, message.body, now.storedSeconds, now.adding(message.delay).storedSeconds])
                if let dedup = message.deduplicationId {
                    try db.cachedStatement(sql: """
                        INSERT INTO queue_dedup (queue, dedup_id, message_id, expires_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (queue, dedup_id) DO UPDATE SET message_id = excluded.message_id, expires_at = excluded.expires_at
                        """).execute(arguments: [name, dedup, id, now.adding(configuration.deduplicationWindow).storedSeconds])
                }
                ids.append(id)
            }
            return ids
        }
    }

    public func receive(queue name: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage] {
        // A look before the write: most receives on an idle server (every function's worker loop polls its queue)
        // find nothing, and a read costs no write lock, no group-commit slot and no transaction. Skipped while the
        // queue is busy (``BusyQueues``).
        if !busy.isBusy(name, now: now) {
            let anyVisible = try await database.readPoint { db in
                _ = try Self.existing(db, name: name, cache: decoded)
                return try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM queue_messages INDEXED BY queue_messages_order WHERE queue = ? AND visible_at <= ?)
                    """), arguments: [name, now.storedSeconds]) ?? false
            }
            guard anyVisible else { return [] }
        }
        let received = try await database.groupedWrite { db in
            let configuration = try Self.existing(db, name: name, cache: decoded)
            let deadline = now.adding(visibilityTimeout ?? configuration.visibilityTimeout).storedSeconds
            // Oldest first = send order; the (queue) index walks the queue in seq order.
            let select = try db.cachedStatement(sql: """
                SELECT seq, id, body, sent_at, attempts FROM queue_messages INDEXED BY queue_messages_order
                WHERE queue = ? AND seq > ? AND visible_at <= ? ORDER BY seq LIMIT ?
                """)
            let deliver = try db.cachedStatement(sql: """
                UPDATE queue_messages SET attempts = attempts + 1, receipt = ?, visible_at = ? WHERE seq = ?
                """)
            var received: [ReceivedMessage] = []
            var exhausted: [Int64] = []
            var after: Int64 = 0
            scanning: while received.count < max {
                let wanted = max - received.count
                let rows = try Row.fetchAll(select, arguments: [name, after, now.storedSeconds, wanted])
                for row in rows {
                    let seq: Int64 = row["seq"]
                    after = seq
                    let attempts: Int = row["attempts"]
                    if attempts >= configuration.maxAttempts {
                        exhausted.append(seq)
                        continue
                    }
                    let receipt = RandomUUID.string()
                    try deliver.execute(arguments: [receipt, deadline, seq])
                    received.append(ReceivedMessage(id: row["id"], queue: name, body: row["body"], attempts: attempts + 1,
                                                    receipt: receipt, sentAt: Date(storedSeconds: row["sent_at"])))
                }
                if rows.count < wanted { break scanning }
            }
            for seq in exhausted {
                try Self.kill(db, seq: seq, now: now)
            }
            return received
        }
        busy.record(name, now: now, found: !received.isEmpty)
        if !received.isEmpty { CrashPoint.reach("queue.received", name) }
        return received
    }

    public func ack(queue name: String, receipt: String) async throws {
        try await database.groupedWrite { db in
            try db.cachedStatement(sql: "DELETE FROM queue_messages WHERE receipt = ? AND queue = ?").execute(arguments: [receipt, name])
            if db.changesCount == 0 {
                _ = try Self.existing(db, name: name)
                throw Self.stale
            }
        }
        CrashPoint.reach("queue.acked", name)
    }

    /// Acknowledges several deliveries in one transaction; returns the receipts that were stale (their messages
    /// were redelivered or already acked), which acknowledged nothing.
    public func ack(queue name: String, receipts: [String]) async throws -> [String] {
        return try await database.groupedWrite { db in
            _ = try Self.existing(db, name: name)
            let delete = try db.cachedStatement(sql: "DELETE FROM queue_messages WHERE receipt = ? AND queue = ?")
            var stale: [String] = []
            for receipt in receipts {
                try delete.execute(arguments: [receipt, name])
                if db.changesCount == 0 { stale.append(receipt) }
            }
            return stale
        }
    }

    public func nack(queue name: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws {
        try await database.groupedWrite { db in
            let configuration = try Self.existing(db, name: name, cache: decoded)
            guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT seq, attempts FROM queue_messages WHERE receipt = ? AND queue = ?
                """), arguments: [receipt, name]) else {
                throw Self.stale
            }
            let seq: Int64 = row["seq"]
            let attempts: Int = row["attempts"]
            if attempts >= configuration.maxAttempts {
                try db.cachedStatement(sql: "UPDATE queue_messages SET last_error = ? WHERE seq = ?").execute(arguments: [error, seq])
                try Self.kill(db, seq: seq, now: now)
            } else {
                let visibleAt = now.adding(delay ?? configuration.backoff(afterAttempts: attempts))
                try db.cachedStatement(sql: """
                    UPDATE queue_messages SET receipt = NULL, last_error = ?, visible_at = ? WHERE seq = ?
                    """).execute(arguments: [error, visibleAt.storedSeconds, seq])
            }
        }
    }

    public func extendVisibility(queue name: String, receipt: String, by duration: Duration, now: Date) async throws {
        try await database.groupedWrite { db in
            try db.cachedStatement(sql: "UPDATE queue_messages SET visible_at = ? WHERE receipt = ? AND queue = ?")
                .execute(arguments: [now.adding(duration).storedSeconds, receipt, name])
            if db.changesCount == 0 {
                _ = try Self.existing(db, name: name)
                throw Self.stale
            }
        }
    }

    // MARK: - Dead letters

    public func deadLetters(queue name: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter> {
        let start = try DeadLetterCursor.decode(cursor)
        return try await database.read { db in
            _ = try Self.existing(db, name: name)
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM queue_dead_letters WHERE queue = ? AND seq > ? ORDER BY seq LIMIT ?
                """, arguments: [name, start, limit + 1])
            let page = rows.prefix(limit)
            let letters = page.map { row in
                DeadLetter(id: row["id"], queue: name, body: row["body"], attempts: row["attempts"], lastError: row["last_error"],
                           sentAt: Date(storedSeconds: row["sent_at"]), deadAt: Date(storedSeconds: row["dead_at"]))
            }
            let next = rows.count > limit ? page.last.map { row in DeadLetterCursor.encode(after: row["seq"]) } : nil
            return Page(items: letters, nextCursor: next)
        }
    }

    @discardableResult
    public func redrive(queue name: String, ids: [String]?, now: Date) async throws -> Int {
        return try await database.write { db in
            _ = try Self.existing(db, name: name)
            let seqs: [Int64]
            if let ids {
                let select = try db.cachedStatement(sql: "SELECT seq FROM queue_dead_letters WHERE queue = ? AND id = ?")
                seqs = try ids.compactMap { try Int64.fetchOne(select, arguments: [name, $0]) }.sorted()
            } else {
                seqs = try Int64.fetchAll(db, sql: "SELECT seq FROM queue_dead_letters WHERE queue = ? ORDER BY seq", arguments: [name])
            }
            let move = try db.cachedStatement(sql: """
                INSERT INTO queue_messages (queue, id, body, sent_at, visible_at, attempts)
                SELECT queue, id, body, sent_at, ?, 0 FROM queue_dead_letters WHERE seq = ?
                """)
            let remove = try db.cachedStatement(sql: "DELETE FROM queue_dead_letters WHERE seq = ?")
            for seq in seqs {
                try move.execute(arguments: [now.storedSeconds, seq])
                try remove.execute(arguments: [seq])
            }
            return seqs.count
        }
    }

    // MARK: - Internals

    /// Moves a message to the dead-letter table.
    private static func kill(_ db: Database, seq: Int64, now: Date) throws {
        try db.cachedStatement(sql: """
            INSERT INTO queue_dead_letters (queue, id, body, attempts, last_error, sent_at, dead_at)
            SELECT queue, id, body, attempts, last_error, sent_at, ? FROM queue_messages WHERE seq = ?
            """).execute(arguments: [now.storedSeconds, seq])
        try db.cachedStatement(sql: "DELETE FROM queue_messages WHERE seq = ?").execute(arguments: [seq])
    }

    private static var stale: AerieError {
        AerieError.notFound("The receipt is stale: the message was acked, nacked or delivered again since. Receive it again to get a fresh receipt.")
    }

    private static func configuration(_ db: Database, name: String, cache: DecodedCache<QueueConfiguration>? = nil) throws -> QueueConfiguration? {
        guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT config FROM queue_configs WHERE name = ?"), arguments: [name]) else {
            return nil
        }
        guard let cache else { return try decodeConfiguration(text) }
        return try cache.value(for: text, decode: decodeConfiguration)
    }

    private static func existing(_ db: Database, name: String, cache: DecodedCache<QueueConfiguration>? = nil) throws -> QueueConfiguration {
        guard let configuration = try configuration(db, name: name, cache: cache) else {
            throw AerieError.notFound("Queue \"\(name)\" does not exist. Create it first.")
        }
        return configuration
    }

    private static func decodeConfiguration(_ text: String) throws -> QueueConfiguration {
        try JSONCoding.decode(QueueConfiguration.self, from: Data(text.utf8))
    }
}

/// The queues whose last receive found messages, and when (see ``SQLiteQueueStore``'s `busy`).
final class BusyQueues: Sendable {
    /// How long after a receive that found messages the next one skips the look before the write.
    static let window: TimeInterval = 1
    private let lastFound = Mutex<[String: Date]>([:])

    func isBusy(_ queue: String, now: Date) -> Bool {
        lastFound.withLock { found in found[queue].map { now.timeIntervalSince($0) < Self.window && now >= $0 } ?? false }
    }

    func record(_ queue: String, now: Date, found: Bool) {
        lastFound.withLock { $0[queue] = found ? now : nil }
    }
}
