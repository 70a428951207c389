import AerieCore
import Foundation
import Logging
import PostgresNIO

extension PostgresDatabase {
    /// The channel on which the PostgreSQL drivers announce appends: the payload is the topic's name.
    static let topicsChannel = "aerie_topics"

    /// Relays every node's appends into this process's `signals`, so a reader here (a trigger dispatcher) starts at
    /// once when another node appends, as it does for appends made here. The drivers `NOTIFY` inside the appending
    /// transaction, so the announcement arrives only once the append is visible (an announcement is only ever a hint:
    /// the readers' polls still find the appends while the connection is down).
    public func relayAnnouncements(to signals: TopicSignals) -> Task<Void, Never> {
        listen(on: Self.topicsChannel) { payload in signals.announce(payload) }
    }

    /// Calls `handle` with the payload of every notification on `channel`, on one pooled connection, until the
    /// returned task is cancelled; a lost connection is listened on again after a second.
    func listen(on channel: String, _ handle: @escaping @Sendable (String) -> Void) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: channel) { notifications in
                            for try await notification in notifications { handle(notification.payload) }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("Listening on \(channel) failed; trying again", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Announces an append to `topic` to every node's relay when the caller's transaction commits.
    static func announce(_ connection: PostgresConnection, topic: String, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(topicsChannel), \(topic))", logger: logger)
    }
}
