import Synchronization

/// In-process wake-ups for the readers of event-log topics. The primitives' front ends announce every append (an
/// object write announces ``ObjectEvent/topic``, whose event its driver appends in the same transaction), so a
/// reader in this process, such as a trigger dispatcher, starts at once instead of at its next poll. Readers in other
/// processes keep polling; an announcement is only ever a hint to read now.
public final class TopicSignals: Sendable {
    /// A registration, for ``unsubscribe(_:)``.
    public struct Subscription: Hashable, Sendable {
        let topic: String
        let id: UInt64
    }

    private struct State {
        var next: UInt64 = 0
        var handlers: [String: [UInt64: @Sendable () -> Void]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Calls `handler` after each append to `topic` in this process, until unsubscribed. Keep the handler short
    /// (it runs on the writer's task): signal a waiting reader, don't read.
    public func subscribe(_ topic: String, _ handler: @escaping @Sendable () -> Void) -> Subscription {
        state.withLock { state in
            state.next += 1
            state.handlers[topic, default: [:]][state.next] = handler
            return Subscription(topic: topic, id: state.next)
        }
    }

    public func unsubscribe(_ subscription: Subscription) {
        state.withLock { state in
            state.handlers[subscription.topic]?[subscription.id] = nil
            if state.handlers[subscription.topic]?.isEmpty == true { state.handlers[subscription.topic] = nil }
        }
    }

    /// The key under which sends to `queue` are announced (by the PostgreSQL queue driver, relayed from other nodes),
    /// for the queue's consumers to subscribe to. No topic name contains `:`, so it names no topic.
    public static func queueKey(_ queue: String) -> String { "queue:" + queue }

    /// Tells the readers of `topic` that something was appended.
    public func announce(_ topic: String) {
        let handlers = state.withLock { Array(($0.handlers[topic] ?? [:]).values) }
        for handler in handlers { handler() }
    }
}
