import Synchronization

/// Orders a consumer's shutdown: its loop stops receiving before its deliveries hand their messages back.
///
/// Without it a message made visible again by a stopping delivery can be taken by the same stopping loop (its
/// last receive was still in flight), which counts one more receive against the message's attempts and hands it
/// back a second time.
final class ReceiveFence: Sendable {
    private struct State {
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// The loop has received for the last time.
    func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `close()` was called (at once if it already was).
    func waitUntilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let closed = state.withLock { state -> Bool in
                if state.closed { return true }
                state.waiters.append(continuation)
                return false
            }
            if closed { continuation.resume() }
        }
    }
}
