import Foundation
import Synchronization

/// Bearer credentials verified in the last moment, so a client that sends many requests with one token or key
/// does not cost a signature check, a user lookup and its decoding on every request (the largest share of a
/// sync invoke's CPU in the profile that issue 19 quotes).
///
/// A change this process makes to users or keys (disable, password, revoke) clears the cache before it returns, so
/// here it takes effect at once, as before. A change made by another node takes effect here within ``lifetime``.
final class CredentialCache: Sendable {
    /// How long a verified credential is trusted without looking again.
    static let lifetime: TimeInterval = 2
    static let maximumEntries = 10_000

    private struct Entry {
        var identity: Identity
        var validUntil: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Bumped by every invalidation; a verification that started before one must not store its result.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The current generation: pass it to ``store(_:for:until:generation:)`` after verifying.
    var generation: UInt64 { state.withLock { $0.generation } }

    func identity(for credential: String, now: Date) -> Identity? {
        state.withLock { state in
            guard let entry = state.entries[credential] else { return nil }
            if entry.validUntil > now { return entry.identity }
            state.entries[credential] = nil
            return nil
        }
    }

    /// Remembers a verified credential until `until` (at most ``lifetime`` from now), unless the cache was
    /// invalidated since `generation` was read.
    func store(_ identity: Identity, for credential: String, until: Date, generation: UInt64, now: Date) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= Self.maximumEntries { state.entries.removeAll(keepingCapacity: true) }
            state.entries[credential] = Entry(identity: identity, validUntil: min(until, now.addingTimeInterval(Self.lifetime)))
        }
    }

    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }
}
