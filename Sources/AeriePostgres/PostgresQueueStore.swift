import AerieCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The scale-out ``QueueStore`` driver on PostgreSQL, with the embedded driver's layout and rules.
///
/// A receive is one statement that picks the oldest visible messages with `FOR UPDATE SKIP LOCKED` and stamps them
/// with fresh receipts and a new visibility deadline, so consumers on any number of nodes never get the same delivery
/// and never wait on each other's rows. Deduplication ids are claimed under an advisory lock on (queue, id), so two
/// nodes sending the same id at once store one message. Time comes only from the `now:` arguments.
///
/// Tables: `aerie_queue_configs`, `aerie_queue_messages`, `aerie_queue_dead_letters`, `aerie_queue_dedup`.
public struct PostgresQueueStore: QueueStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    public static let migrations = [
        PostgresDatabase.Migration("queues-v1", [
            "CREATE TABLE aerie_queue_configs (name text COLLATE \"C\" PRIMARY KEY, config text NOT NULL)",
            """
            CREATE TABLE aerie_queue_messages (
                seq bigserial PRIMARY KEY,
                queue text COLLATE "C" NOT NULL,
                id text NOT NULL,
                body bytea NOT NULL,
                sent_at double precision NOT NULL,
                visible_at double precision NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                receipt text,
                last_error text
            )
            """,
            "CREATE INDEX aerie_queue_messages_order ON aerie_queue_messages (queue, seq)",
            "CREATE UNIQUE INDEX aerie_queue_messages_receipt ON aerie_queue_messages (receipt) WHERE receipt IS NOT NULL",
            """
            CREATE TABLE aerie_queue_dead_letters (
                seq bigserial PRIMARY KEY,
                queue text COLLATE "C" NOT NULL,
                id text NOT NULL UNIQUE,
                body bytea NOT NULL,
                attempts integer NOT NULL,
                last_error text,
                sent_at double precision NOT NULL,
                dead_at double precision NOT NULL
            )
            """,
            "CREATE INDEX aerie_queue_dead_letters_queue ON aerie_queue_dead_letters (queue, seq)",
            """
            CREATE TABLE aerie_queue_dedup (
                queue text COLLATE "C" NOT NULL,
                dedup_id text NOT NULL,
                message_id text NOT NULL,
                expires_at double precision NOT NULL,
                PRIMARY KEY (queue, dedup_id)
            )
            """,
        ]),
    ]

    private var logger: Logger { database.logger }

    // MARK: - Queues

    public func createQueue(_ configuration: QueueConfiguration) async throws {
        let text = String(decoding: try JSONCoding.encode(configuration), as: UTF8.self)
        _ = try await database.connection { connection in
            try await connection.query("""
                INSERT INTO aerie_queue_configs (name, config) VALUES (\(configuration.name), \(text))
                ON CONFLICT (name) DO UPDATE SET config = excluded.config
                """, logger: logger)
        }
    }

    public func deleteQueue(_ name: String) async throws {
        try await database.transaction { connection in
            _ = try await Self.existing(connection, name: name, logger: logger)
            try await connection.query("DELETE FROM aerie_queue_messages WHERE queue = \(name)", logger: logger)
            try await connection.query("DELETE FROM aerie_queue_dead_letters WHERE queue = \(name)", logger: logger)
            try await connection.query("DELETE FROM aerie_queue_dedup WHERE queue = \(name)", logger: logger)
            try await connection.query("DELETE FROM aerie_queue_configs WHERE name = \(name)", logger: logger)
        }
    }

    public func queue(_ name: String) async throws -> QueueConfiguration? {
        try await database.connection { connection in try await Self.configuration(connection, name: name, logger: logger) }
    }

    public func listQueues() async throws -> [QueueConfiguration] {
        try await database.connection { connection in
            var queues: [QueueConfiguration] = []
            for try await text in try await connection.query("SELECT config FROM aerie_queue_configs ORDER BY name", logger: logger).decode(String.self) {
                queues.append(try Self.decodeConfiguration(text))
            }
            return queues
        }
    }

    public func stats(_ name: String, now: Date) async throws -> QueueStats {
        let seconds = now.timeIntervalSince1970
        return try await database.connection { connection in
            _ = try await Self.existing(connection, name: name, logger: logger)
            let rows = try await connection.query("""
                SELECT count(*) FILTER (WHERE visible_at <= \(seconds)),
                       count(*) FILTER (WHERE visible_at > \(seconds) AND receipt IS NOT NULL),
                       count(*) FILTER (WHERE visible_at > \(seconds) AND receipt IS NULL),
                       (SELECT count(*) FROM aerie_queue_dead_letters WHERE queue = \(name))
                FROM aerie_queue_messages WHERE queue = \(name)
                """, logger: logger)
            for try await (visible, inFlight, delayed, dead) in rows.decode((Int64, Int64, Int64, Int64).self) {
                return QueueStats(name: name, visible: Int(visible), inFlight: Int(inFlight), delayed: Int(delayed), deadLetters: Int(dead))
            }
            return QueueStats(name: name, visible: 0, inFlight: 0, delayed: 0, deadLetters: 0)
        }
    }

    // MARK: - Messages

    @discardableResult
    public func send(queue name: String, _ messages: [OutgoingMessage], now: Date) async throws -> [String] {
        guard !messages.isEmpty else {
            _ = try await database.connection { connection in try await Self.existing(connection, name: name, logger: logger) }
            return []
        }
        let seconds = now.timeIntervalSince1970
        return try await database.transaction { connection in
            let configuration = try await Self.existing(connection, name: name, logger: logger)
            var ids: [String] = []
            var fresh: [(id: String, message: OutgoingMessage)] = []
            for message in messages {
                guard let dedup = message.deduplicationId else {
                    let id = RandomUUID.string()
                    fresh.append((id, message))
                    ids.append(id)
                    continue
                }
                // The claim and the message commit together; a second sender of the id waits here, then sees it.
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\("dedup\u{1F}" + name + "\u{1F}" + dedup), 2))",
                                           logger: logger)
                var first: String?
                for try await id in try await connection.query("""
                    SELECT message_id FROM aerie_queue_dedup WHERE queue = \(name) AND dedup_id = \(dedup) AND expires_at > \(seconds)
                    """, logger: logger).decode(String.self) {
                    first = id
                }
                if let first = first ?? fresh.first(where: { $0.message.deduplicationId == dedup })?.id {
                    ids.append(first)
                    continue
                }
                let id = RandomUUID.string()
                try await connection.query("""
                    INSERT INTO aerie_queue_dedup (queue, dedup_id, message_id, expires_at)
                    VALUES (\(name), \(dedup), \(id), \(now.adding(configuration.deduplicationWindow).timeIntervalSince1970))
                    ON CONFLICT (queue, dedup_id) DO UPDATE SET message_id = excluded.message_id, expires_at = excluded.expires_at
                    """, logger: logger)
                fresh.append((id, message))
                ids.append(id)
            }
            if !fresh.isEmpty {
                // One statement for the batch; `seq` follows the ordinality, so receive order is send order.
                let messageIds = fresh.map(\.id)
                let bodies = fresh.map { ByteBuffer(bytes: $0.message.body) }
                let visibleAt = fresh.map { now.adding($0.message.delay).timeIntervalSince1970 }
                try await connection.query("""
                    INSERT INTO aerie_queue_messages (queue, id, body, sent_at, visible_at)
                    SELECT \(name), m.id, m.body, \(seconds), m.visible_at
                    FROM unnest(\(messageIds)::text[], \(bodies)::bytea[], \(visibleAt)::double precision[]) WITH ORDINALITY AS m(id, body, visible_at, n)
                    ORDER BY m.n
                    """, logger: logger)
                // Workers on other nodes wake at once rather than at their next poll.
                try await PostgresDatabase.announce(connection, topic: TopicSignals.queueKey(name), logger: logger)
            }
            return ids
        }
    }

    public func receive(queue name: String, max: Int, visibilityTimeout: Duration?, now: Date) async throws -> [ReceivedMessage] {
        let seconds = now.timeIntervalSince1970
        let received = try await database.transaction { connection in
            let configuration = try await Self.existing(connection, name: name, logger: logger)
            let maxAttempts = Int32(configuration.maxAttempts)
            // Visible messages whose attempts are spent go to the dead letters first.
            try await connection.query("""
                WITH spent AS (
                    DELETE FROM aerie_queue_messages WHERE seq IN (
                        SELECT seq FROM aerie_queue_messages
                        WHERE queue = \(name) AND visible_at <= \(seconds) AND attempts >= \(maxAttempts)
                        FOR UPDATE SKIP LOCKED)
                    RETURNING queue, id, body, attempts, last_error, sent_at, seq)
                INSERT INTO aerie_queue_dead_letters (queue, id, body, attempts, last_error, sent_at, dead_at)
                SELECT queue, id, body, attempts, last_error, sent_at, \(seconds) FROM spent ORDER BY seq
                """, logger: logger)
            let deadline = now.adding(visibilityTimeout ?? configuration.visibilityTimeout).timeIntervalSince1970
            let rows = try await connection.query("""
                WITH picked AS (
                    SELECT seq FROM aerie_queue_messages
                    WHERE queue = \(name) AND visible_at <= \(seconds) AND attempts < \(maxAttempts)
                    ORDER BY seq LIMIT \(Int64(max)) FOR UPDATE SKIP LOCKED)
                UPDATE aerie_queue_messages m SET attempts = m.attempts + 1, receipt = gen_random_uuid()::text, visible_at = \(deadline)
                FROM picked WHERE m.seq = picked.seq
                RETURNING m.seq, m.id, m.body, m.sent_at, m.attempts, m.receipt
                """, logger: logger)
            var received: [(seq: Int64, message: ReceivedMessage)] = []
            for try await (seq, id, body, sentAt, attempts, receipt) in rows.decode((Int64, String, ByteBuffer, Double, Int32, String).self) {
                received.append((seq, ReceivedMessage(id: id, queue: name, body: Data(body.readableBytesView), attempts: Int(attempts),
                                                      receipt: receipt, sentAt: Date(timeIntervalSince1970: sentAt))))
            }
            return received.sorted { $0.seq < $1.seq }.map(\.message)
        }
        if !received.isEmpty { CrashPoint.reach("queue.received", name) }
        return received
    }

    public func ack(queue name: String, receipt: String) async throws {
        try await database.connection { connection in
            guard try await Self.changed(connection.query("DELETE FROM aerie_queue_messages WHERE receipt = \(receipt) AND queue = \(name) RETURNING 1",
                                                          logger: logger)) else {
                _ = try await Self.existing(connection, name: name, logger: logger)
                throw Self.stale
            }
        }
        CrashPoint.reach("queue.acked", name)
    }

    /// Acknowledges several deliveries in one statement; returns the receipts that were stale.
    public func ack(queue name: String, receipts: [String]) async throws -> [String] {
        try await database.transaction { connection in
            _ = try await Self.existing(connection, name: name, logger: logger)
            var acked = Set<String>()
            let rows = try await connection.query("""
                DELETE FROM aerie_queue_messages WHERE queue = \(name) AND receipt = ANY(\(receipts)::text[]) RETURNING receipt
                """, logger: logger)
            for try await receipt in rows.decode(String.self) { acked.insert(receipt) }
            return receipts.filter { !acked.contains($0) }
        }
    }

    public func nack(queue name: String, receipt: String, error: String?, delay: Duration?, now: Date) async throws {
        try await database.transaction { connection in
            let configuration = try await Self.existing(connection, name: name, logger: logger)
            var found: (seq: Int64, attempts: Int32)?
            for try await row in try await connection.query("""
                SELECT seq, attempts FROM aerie_queue_messages WHERE receipt = \(receipt) AND queue = \(name) FOR UPDATE
                """, logger: logger).decode((Int64, Int32).self) {
                found = row
            }
            guard let (seq, attempts) = found else { throw Self.stale }
            if Int(attempts) >= configuration.maxAttempts {
                try await connection.query("UPDATE aerie_queue_messages SET last_error = \(error) WHERE seq = \(seq)", logger: logger)
                try await Self.kill(connection, seq: seq, now: now, logger: logger)
            } else {
                let visibleAt = now.adding(delay ?? configuration.backoff(afterAttempts: Int(attempts))).timeIntervalSince1970
                try await connection.query("""
                    UPDATE aerie_queue_messages SET receipt = NULL, last_error = \(error), visible_at = \(visibleAt) WHERE seq = \(seq)
                    """, logger: logger)
            }
        }
    }

    public func extendVisibility(queue name: String, receipt: String, by duration: Duration, now: Date) async throws {
        try await database.connection { connection in
            let visibleAt = now.adding(duration).timeIntervalSince1970
            guard try await Self.changed(connection.query("""
                UPDATE aerie_queue_messages SET visible_at = \(visibleAt) WHERE receipt = \(receipt) AND queue = \(name) RETURNING 1
                """, logger: logger)) else {
                _ = try await Self.existing(connection, name: name, logger: logger)
                throw Self.stale
            }
        }
    }

    // MARK: - Dead letters

    public func deadLetters(queue name: String, limit: Int, cursor: String?) async throws -> Page<DeadLetter> {
        let start = try DeadLetterCursor.decode(cursor)
        return try await database.connection { connection in
            _ = try await Self.existing(connection, name: name, logger: logger)
            let rows = try await connection.query("""
                SELECT seq, id, body, attempts, last_error, sent_at, dead_at FROM aerie_queue_dead_letters
                WHERE queue = \(name) AND seq > \(start) ORDER BY seq LIMIT \(Int64(limit + 1))
                """, logger: logger)
            var letters: [(seq: Int64, letter: DeadLetter)] = []
            for try await (seq, id, body, attempts, lastError, sentAt, deadAt) in rows.decode((Int64, String, ByteBuffer, Int32, String?, Double, Double).self) {
                letters.append((seq, DeadLetter(id: id, queue: name, body: Data(body.readableBytesView), attempts: Int(attempts), lastError: lastError,
                                                sentAt: Date(timeIntervalSince1970: sentAt), deadAt: Date(timeIntervalSince1970: deadAt))))
            }
            let page = letters.prefix(limit)
            let next = letters.count > limit ? page.last.map { DeadLetterCursor.encode(after: $0.seq) } : nil
            return Page(items: page.map(\.letter), nextCursor: next)
        }
    }

    @discardableResult
    public func redrive(queue name: String, ids: [String]?, now: Date) async throws -> Int {
        try await database.transaction { connection in
            _ = try await Self.existing(connection, name: name, logger: logger)
            let rows = try await connection.query("""
                WITH moved AS (
                    DELETE FROM aerie_queue_dead_letters
                    WHERE queue = \(name) AND (\(ids == nil) OR id = ANY(\(ids ?? [])::text[]))
                    RETURNING seq, queue, id, body, sent_at),
                inserted AS (
                    INSERT INTO aerie_queue_messages (queue, id, body, sent_at, visible_at, attempts)
                    SELECT queue, id, body, sent_at, \(now.timeIntervalSince1970), 0 FROM moved ORDER BY seq
                    RETURNING 1)
                SELECT count(*) FROM inserted
                """, logger: logger)
            var count: Int64 = 0
            for try await moved in rows.decode(Int64.self) { count = moved }
            return Int(count)
        }
    }

    // MARK: - Internals

    /// Moves a message to the dead-letter table.
    private static func kill(_ connection: PostgresConnection, seq: Int64, now: Date, logger: Logger) async throws {
        try await connection.query("""
            WITH gone AS (DELETE FROM aerie_queue_messages WHERE seq = \(seq) RETURNING queue, id, body, attempts, last_error, sent_at)
            INSERT INTO aerie_queue_dead_letters (queue, id, body, attempts, last_error, sent_at, dead_at)
            SELECT queue, id, body, attempts, last_error, sent_at, \(now.timeIntervalSince1970) FROM gone
            """, logger: logger)
    }

    /// Whether a statement with `RETURNING` touched a row.
    private static func changed(_ rows: PostgresRowSequence) async throws -> Bool {
        var any = false
        for try await _ in rows { any = true }
        return any
    }

    private static var stale: AerieError {
        AerieError.notFound("The receipt is stale: the message was acked, nacked or delivered again since. Receive it again to get a fresh receipt.")
    }

    private static func configuration(_ connection: PostgresConnection, name: String, logger: Logger) async throws -> QueueConfiguration? {
        for try await text in try await connection.query("SELECT config FROM aerie_queue_configs WHERE name = \(name)", logger: logger).decode(String.self) {
            return try decodeConfiguration(text)
        }
        return nil
    }

    private static func existing(_ connection: PostgresConnection, name: String, logger: Logger) async throws -> QueueConfiguration {
        guard let configuration = try await configuration(connection, name: name, logger: logger) else {
            throw AerieError.notFound("Queue \"\(name)\" does not exist. Create it first.")
        }
        return configuration
    }

    private static func decodeConfiguration(_ text: String) throws -> QueueConfiguration {
        try JSONCoding.decode(QueueConfiguration.self, from: Data(text.utf8))
    }
}
