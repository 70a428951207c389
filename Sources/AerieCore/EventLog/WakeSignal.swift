import Synchronization

/// Wakes one polling loop early (a trigger dispatcher, the vector follower): `wait(upTo:)` returns after the interval, on `signal()`, or on cancellation.
/// A signal sent while nobody waits is remembered once.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    private func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    public func wait(upTo interval: Duration) async {
        let consumed = state.withLock { state -> Bool in
            if state.pending {
                state.pending = false
                return true
            }
            return false
        }
        if consumed || Task.isCancelled { return }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: interval)
            self?.fire()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    if let previous = state.waiter {
                        // Only one loop waits on a signal; a stray earlier waiter is released.
                        previous.resume()
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.fire()
        }
        timer.cancel()
    }
}
