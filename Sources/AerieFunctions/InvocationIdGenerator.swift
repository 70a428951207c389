import Synchronization

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
