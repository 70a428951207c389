import AerieAuth
import AerieCore
import Synchronization

/// How many server-sent event streams each user may hold open at once (`aerie serve --max-event-streams-per-user`):
/// a stream holds a connection, a task and a subscription for as long as the client keeps it, so one user opening
/// thousands could starve everyone. The next one past the limit is refused with 429 and `Retry-After`.
public final class EventStreamLimiter: Sendable {
    public let maxPerUser: Int
    private let counts = Mutex<[String: Int]>([:])

    public init(maxPerUser: Int) {
        self.maxPerUser = max(1, maxPerUser)
    }

    /// Takes one of the user's streams; release it (the lease does, at the latest when it is freed) when the stream ends.
    public func open(for identity: Identity) throws -> EventStreamLease {
        let user = identity.username
        let granted = counts.withLock { counts -> Bool in
            let current = counts[user, default: 0]
            guard current < maxPerUser else { return false }
            counts[user] = current + 1
            return true
        }
        guard granted else {
            throw HTTPProblem.rateLimited("\(user) already has \(maxPerUser) event streams open; close one (or wait for one to end) and retry.",
                                          retryAfter: 5)
        }
        return EventStreamLease { [self] in
            counts.withLock { counts in
                let left = counts[user, default: 1] - 1
                counts[user] = left > 0 ? left : nil
            }
        }
    }

    /// Streams open now for `username` (for tests and the console).
    public func openStreams(of username: String) -> Int {
        counts.withLock { $0[username, default: 0] }
    }
}

/// One open stream's place in the user's count: given back once, by ``release()`` or when the lease is freed (a
/// response body that never ran still frees its lease).
public final class EventStreamLease: Sendable {
    private let onRelease: Mutex<(@Sendable () -> Void)?>

    init(onRelease: @escaping @Sendable () -> Void) {
        self.onRelease = Mutex(onRelease)
    }

    public func release() {
        let action = onRelease.withLock { action -> (@Sendable () -> Void)? in
            defer { action = nil }
            return action
        }
        action?()
    }

    deinit { release() }
}
