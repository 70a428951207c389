import AerieCore
import Foundation

/// Slows down password guessing, apart from the request rate limit (it applies with `--rate-limit 0` too).
///
/// Failed sign-ins are counted per user name and per client address over a sliding window: past
/// ``Limits/perUser`` failures for one name, that name is refused with `rate-limited` (429, `Retry-After`) until the
/// window has passed, from every address; past the higher ``Limits/perAddress``, so is every attempt from that
/// address. A success clears the name's count. Sign-ups are counted per address like failures, so one address cannot
/// create accounts in bulk.
public actor LoginThrottle {
    public struct Limits: Sendable, Hashable {
        public var perUser: Int
        public var perAddress: Int
        public var window: Duration

        public init(perUser: Int = 10, perAddress: Int = 50, window: Duration = .seconds(300)) {
            self.perUser = perUser
            self.perAddress = perAddress
            self.window = window
        }
    }

    public let limits: Limits
    private let now: @Sendable () -> ContinuousClock.Instant
    private var failuresByUser: [String: [ContinuousClock.Instant]] = [:]
    private var attemptsByAddress: [String: [ContinuousClock.Instant]] = [:]

    public init(limits: Limits = Limits(), now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.limits = limits
        self.now = now
    }

    /// Why an attempt is refused now, and for how many more seconds.
    public struct Refusal: Sendable, Hashable {
        public var retryAfter: Int
        public var reason: String
    }

    /// The refusal when the name or the address is throttled, `nil` when the attempt may go ahead.
    public func check(username: String?, address: String?) -> Refusal? {
        let time = now()
        if let username, let wait = Self.wait(&failuresByUser, key: username.lowercased(), limit: limits.perUser, window: limits.window, at: time) {
            return Refusal(retryAfter: wait, reason: "Too many failed sign-ins for \"\(username)\"; try again in \(wait) s.")
        }
        if let address, let wait = Self.wait(&attemptsByAddress, key: address, limit: limits.perAddress, window: limits.window, at: time) {
            return Refusal(retryAfter: wait, reason: "Too many sign-in attempts from this address; try again in \(wait) s.")
        }
        return nil
    }

    /// Counts a failed sign-in for the name and the address.
    public func recordFailure(username: String?, address: String?) {
        let time = now()
        if let username { failuresByUser[username.lowercased(), default: []].append(time) }
        if let address { attemptsByAddress[address, default: []].append(time) }
        pruneIfLarge(at: time)
    }

    /// Counts an attempt that is not a failed password (a sign-up) against the address only.
    public func recordAttempt(address: String?) {
        guard let address else { return }
        let time = now()
        attemptsByAddress[address, default: []].append(time)
        pruneIfLarge(at: time)
    }

    /// A correct password clears the name's failures.
    public func recordSuccess(username: String) {
        failuresByUser[username.lowercased()] = nil
    }

    /// Drops `key`'s stamps older than the window (and the key once none is left); returns the seconds until the
    /// oldest counted one leaves the window when the count has reached `limit`.
    private static func wait(
        _ stamps: inout [String: [ContinuousClock.Instant]], key: String, limit: Int, window: Duration, at time: ContinuousClock.Instant
    ) -> Int? {
        guard var kept = stamps[key] else { return nil }
        kept.removeAll { time - $0 >= window }
        stamps[key] = kept.isEmpty ? nil : kept
        guard kept.count >= limit, let oldest = kept.first else { return nil }
        let remaining = window - (time - oldest)
        return max(1, Int(remaining.seconds.rounded(.up)))
    }

    /// Keeps memory bounded under a spray of names or addresses.
    private func pruneIfLarge(at time: ContinuousClock.Instant) {
        guard failuresByUser.count + attemptsByAddress.count > 10_000 else { return }
        let window = limits.window
        func recent(_ stamps: [ContinuousClock.Instant]) -> [ContinuousClock.Instant]? {
            let kept = stamps.filter { time - $0 < window }
            return kept.isEmpty ? nil : kept
        }
        failuresByUser = failuresByUser.compactMapValues(recent)
        attemptsByAddress = attemptsByAddress.compactMapValues(recent)
    }
}
