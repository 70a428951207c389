import AerieCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A named counter every node of a deployment sees move: a row of `aerie_counters`, announced on the channel
/// `aerie_counters` when it moves. The auth service uses one (`auth-changes`) so that a key revoked or a user disabled
/// on one node stops working on every node: each node trusts its cached credentials only while the counter stands
/// where it stood when they were verified.
///
/// Reading ``current()`` costs an atomic load (it is on every request's path): each node keeps the last value it saw,
/// raised by the announcements and, should one be lost with a dropped connection, by a read of the row every
/// ``pollInterval``. So another node's change takes effect here within the announcement's delay (milliseconds), and
/// at worst within one poll interval.
public final class PostgresChangeCounter: Sendable {
    static let channel = "aerie_counters"
    /// How often the row is read in case an announcement was missed.
    public static let pollInterval: Duration = .seconds(1)

    public let name: String
    private let database: PostgresDatabase
    private let seen = Atomic<UInt64>(0)
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    public static let migrations = [
        PostgresDatabase.Migration("counters-v1", [
            "CREATE TABLE aerie_counters (name text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL)",
        ]),
    ]

    /// Opens the counter `name` (creating its row at 0) and starts following it until ``close()``.
    public static func open(name: String, database: PostgresDatabase) async throws -> PostgresChangeCounter {
        let counter = PostgresChangeCounter(name: name, database: database)
        try await database.connection { connection in
            try await connection.query("INSERT INTO aerie_counters (name, value) VALUES (\(name), 0) ON CONFLICT (name) DO NOTHING",
                                       logger: database.logger)
        }
        try await counter.poll()
        counter.watcher.withLock { $0 = counter.follow() }
        return counter
    }

    private init(name: String, database: PostgresDatabase) {
        self.name = name
        self.database = database
    }

    /// Stops following the row.
    public func close() {
        watcher.withLock { $0?.cancel() }
    }

    /// The last value this node saw.
    public func current() -> UInt64 { seen.load(ordering: .acquiring) }

    /// Moves the counter forward for every node. When the database cannot be reached the failure is logged and the
    /// value seen here still moves (this node's caches are reset; the others' follow once the database is back).
    public func advance() async {
        do {
            let value = try await database.transaction { connection -> Int64 in
                var value: Int64 = 0
                for try await next in try await connection.query(
                    "UPDATE aerie_counters SET value = value + 1 WHERE name = \(name) RETURNING value", logger: database.logger).decode(Int64.self) {
                    value = next
                }
                try await connection.query("SELECT pg_notify(\(Self.channel), \(name + ":" + String(value)))", logger: database.logger)
                return value
            }
            raise(to: UInt64(value))
        } catch {
            database.logger.error("Could not announce an auth change to the other nodes; they see it within a second of the database's return",
                                  metadata: ["counter": "\(name)", "error": "\(error)"])
            seen.add(1, ordering: .releasing)
        }
    }

    /// Keeps the largest value seen: announcements and polls may arrive out of order.
    private func raise(to value: UInt64) {
        var current = seen.load(ordering: .relaxed)
        while current < value {
            let (exchanged, original) = seen.compareExchange(expected: current, desired: value, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    private func poll() async throws {
        let value = try await database.connection { connection in
            var value: Int64 = 0
            for try await stored in try await connection.query("SELECT value FROM aerie_counters WHERE name = \(name)",
                                                              logger: database.logger).decode(Int64.self) {
                value = stored
            }
            return value
        }
        raise(to: UInt64(value))
    }

    /// Listens for announcements on one pooled connection, and polls the row, until ``close()``.
    private func follow() -> Task<Void, Never> {
        let prefix = name + ":"
        return Task {
            let listener = database.listen(on: Self.channel) { payload in
                if payload.hasPrefix(prefix), let value = UInt64(payload.dropFirst(prefix.count)) { self.raise(to: value) }
            }
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.pollInterval)
                try? await self.poll()
            }
            listener.cancel()
        }
    }
}
