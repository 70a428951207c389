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
