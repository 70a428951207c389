import Synchronization

/// Wakes one polling loop early: `wait(upTo:)` returns after the interval, on `signal()`, or on cancellation.
/// A signal sent while nobody waits is remembered once.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
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

    func wait(upTo interval: Duration) async {
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

/// Generates invocation ids that sort by creation time: 12 hex digits of milliseconds since 1970, a per-process
/// counter within the millisecond, then random hex so ids from different nodes never collide.
final class InvocationIdGenerator: Sendable {
    private let state = Mutex<(lastMillis: UInt64, counter: UInt32)>((0, 0))

    func next(now: UInt64) -> String {
        let (millis, counter) = state.withLock { state -> (UInt64, UInt32) in
            if now > state.lastMillis {
                state = (now, 0)
            } else {
                state.counter &+= 1
            }
            return (state.lastMillis, state.counter)
        }
        let random = UInt64.random(in: 0..<(1 << 40))
        return "inv_" + hex(millis, digits: 12) + hex(UInt64(counter), digits: 6) + hex(random, digits: 10)
    }

    private func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
