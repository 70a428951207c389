import Foundation
import Synchronization

/// Live fan-out of the events of invocations running on this node, for SSE followers.
final class InvocationEventHub: Sendable {
    enum Message: Sendable {
        case event(InvocationEvent)
        /// The attempt ended (after its last event); a non-terminal end means a retry follows, maybe elsewhere.
        case ended
    }

    private struct Entry {
        var events: [InvocationEvent] = []
        var subscribers: [UInt64: AsyncStream<Message>.Continuation] = [:]
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var nextSubscriber: UInt64 = 0
    }

    private let state = Mutex(State())

    func begin(_ id: String) {
        state.withLock { state in
            if state.entries[id] == nil { state.entries[id] = Entry() }
        }
    }

    func publish(_ id: String, _ event: InvocationEvent) {
        let subscribers = state.withLock { state -> [AsyncStream<Message>.Continuation] in
            guard state.entries[id] != nil else { return [] }
            state.entries[id]?.events.append(event)
            return Array(state.entries[id]?.subscribers.values ?? [:].values)
        }
        for subscriber in subscribers { subscriber.yield(.event(event)) }
    }

    func end(_ id: String) {
        let subscribers = state.withLock { state -> [AsyncStream<Message>.Continuation] in
            defer { state.entries[id] = nil }
            return Array(state.entries[id]?.subscribers.values ?? [:].values)
        }
        for subscriber in subscribers {
            subscriber.yield(.ended)
            subscriber.finish()
        }
    }

    /// Follows a running invocation: the events of its current attempt so far, then live ones. Nil when it does
    /// not run on this node.
    func subscribe(_ id: String) -> (events: [InvocationEvent], stream: AsyncStream<Message>)? {
        let (stream, continuation) = AsyncStream<Message>.makeStream()
        let result = state.withLock { state -> (events: [InvocationEvent], subscriber: UInt64)? in
            guard let entry = state.entries[id] else { return nil }
            let subscriber = state.nextSubscriber
            state.nextSubscriber += 1
            state.entries[id]?.subscribers[subscriber] = continuation
            return (entry.events, subscriber)
        }
        guard let result else {
            continuation.finish()
            return nil
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in _ = state.entries[id]?.subscribers.removeValue(forKey: result.subscriber) }
        }
        return (result.events, stream)
    }
}
