import Synchronization

/// Why an invocation's task was cancelled.
enum CancelReason: Sendable {
    /// `cancel` was called (or the sync caller went away): the invocation ends `cancelled`.
    case user
    /// The runtime is shutting down: the attempt is abandoned and its message delivered again later.
    case shutdown
}

/// Lets `cancel` reach an invocation running on this node and wait until it has ended.
final class InvocationControl: Sendable {
    private struct State {
        var reason: CancelReason?
        var cancelTask: (@Sendable () -> Void)?
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var reason: CancelReason? { state.withLock { $0.reason } }

    /// Names the task to cancel; if a cancel was already requested it is cancelled at once.
    func attach(_ cancelTask: @escaping @Sendable () -> Void) {
        let cancelNow = state.withLock { state -> Bool in
            state.cancelTask = cancelTask
            return state.reason != nil
        }
        if cancelNow { cancelTask() }
    }

    /// Records the reason (the first one wins) and cancels the attached task.
    func requestCancel(_ reason: CancelReason) {
        let cancelTask = state.withLock { state -> (@Sendable () -> Void)? in
            if state.reason == nil { state.reason = reason }
            return state.cancelTask
        }
        cancelTask?()
    }

    func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.finished { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// Resolves once with whichever of several racers finishes first (the function, the timeout, a cancel).
final class RaceBox<Value: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<Value, Never>?, value: Value?)>((nil, nil))

    func resolve(_ value: Value) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: value)
    }

    func wait() async -> Value {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Fires callbacks at deadlines for every running attempt from one task, instead of a sleeping task per attempt.
///
/// A sync invoke used to start a timer task that slept for the function's timeout and was cancelled when the function
/// returned: a task spawn, a wake-up and a cancellation on every call. Here scheduling and cancelling a deadline is a
/// dictionary write under a lock; one loop looks at the deadlines every ``tick`` while any are pending and sleeps
/// without waking when there are none. Deadlines fire up to one tick late, which is nothing next to timeouts of
/// seconds.
final class DeadlineTimer: Sendable {
    static let shared = DeadlineTimer()
    static let tick: Duration = .milliseconds(10)

    private struct State {
        var entries: [UInt64: (deadline: ContinuousClock.Instant, fire: @Sendable () -> Void)] = [:]
        var nextID: UInt64 = 0
        var loopRunning = false
        var idle: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Calls `fire` once at `deadline` unless ``cancel(_:)`` comes first; returns the id to cancel it with.
    func schedule(at deadline: ContinuousClock.Instant, _ fire: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, start, wake) = state.withLock { state -> (UInt64, Bool, CheckedContinuation<Void, Never>?) in
            state.nextID += 1
            state.entries[state.nextID] = (deadline, fire)
            let start = !state.loopRunning
            state.loopRunning = true
            defer { state.idle = nil }
            return (state.nextID, start, state.idle)
        }
        wake?.resume()
        if start { Task.detached(priority: .high) { await self.run() } }
        return id
    }

    func cancel(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    private func run() async {
        while true {
            let now = ContinuousClock.now
            let (due, empty) = state.withLock { state -> ([@Sendable () -> Void], Bool) in
                var due: [@Sendable () -> Void] = []
                for (id, entry) in state.entries where entry.deadline <= now {
                    due.append(entry.fire)
                    state.entries[id] = nil
                }
                return (due, state.entries.isEmpty)
            }
            for fire in due { fire() }
            if empty {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.entries.isEmpty { return true }
                        state.idle = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } else {
                try? await Task.sleep(for: Self.tick)
            }
        }
    }
}
