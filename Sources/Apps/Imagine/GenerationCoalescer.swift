import AerieText
import Foundation

/// Joins concurrent cache misses for equivalent requests into one generation.
///
/// A miss either becomes the leader of a new generation, or — when a generation with the same compatibility key and
/// seed filter is already running for a prompt that ``PromptMatcher`` matches (the test a cache hit passes) — a
/// follower that waits for the leader's stored image.
actor GenerationCoalescer {
    /// What a miss should do.
    enum Role: Sendable {
        /// Generate; call ``finish(_:result:)`` with the token when done.
        case leader(UInt64)
        /// Wait with ``wait(for:)``; `similarity` to the leader's prompt, `owner` of the leader.
        case follower(UInt64, similarity: Float, prompt: String, owner: String)
    }

    private struct Flight {
        var key: String
        var seed: UInt32?
        var scopeOwner: String?
        var embeddings: TokenEmbeddings
        var prompt: String
        var owner: String
        var waiters: [CheckedContinuation<String, any Error>] = []
        var result: Result<String, any Error>?
    }

    let matcher: PromptMatcher
    private var flights: [UInt64: Flight] = [:]
    private var nextToken: UInt64 = 1
    private var finished: [UInt64] = []

    init(matcher: PromptMatcher) {
        self.matcher = matcher
    }

    /// The role of a miss for `parameters` with `embeddings`; `scopeOwner` restricts joining to one owner's flights
    /// (per-user scope).
    func join(parameters: ImageParameters, embeddings: TokenEmbeddings, owner: String, scopeOwner: String?) -> Role {
        let seed: UInt32? = parameters.seedGiven ? parameters.seed : nil
        var best: (token: UInt64, similarity: Float)?
        for (token, flight) in flights where flight.result == nil && flight.key == parameters.compatibilityKey {
            // A follower without a seed accepts any seed; with one, only a flight generating that seed.
            if let seed, flight.seed != seed { continue }
            if seed == nil, flight.seed != nil { continue }
            if let scopeOwner, flight.scopeOwner != scopeOwner { continue }
            let decision = matcher.decide(flight.prompt, flight.embeddings, parameters.prompt, embeddings)
            let similarity = Float(decision.similarity)
            if decision.isMatch, similarity > (best?.similarity ?? -2) { best = (token, similarity) }
        }
        if let best, let flight = flights[best.token] {
            return .follower(best.token, similarity: best.similarity, prompt: flight.prompt, owner: flight.owner)
        }
        let token = nextToken
        nextToken += 1
        flights[token] = Flight(key: parameters.compatibilityKey, seed: seed, scopeOwner: scopeOwner, embeddings: embeddings,
                                prompt: parameters.prompt, owner: owner)
        return .leader(token)
    }

    /// Waits for the leader of `token` and returns the hash of its stored image (or its error).
    func wait(for token: UInt64) async throws -> String {
        guard let flight = flights[token] else {
            throw CancellationError()
        }
        if let result = flight.result { return try result.get() }
        return try await withCheckedThrowingContinuation { continuation in
            flights[token]?.waiters.append(continuation)
        }
    }

    /// Ends the flight of `token`, waking its followers with `result`.
    func finish(_ token: UInt64, result: Result<String, any Error>) {
        guard let flight = flights[token], flight.result == nil else { return }
        flights[token]?.result = result
        flights[token]?.waiters = []
        for waiter in flight.waiters { waiter.resume(with: result) }
        // A follower that joined just before the end calls `wait` after it: keep recent results for it.
        finished.append(token)
        if finished.count > 64 { flights[finished.removeFirst()] = nil }
    }

    /// Followers waiting now (for tests).
    var waiting: Int { flights.values.reduce(0) { $0 + $1.waiters.count } }

    /// Flights running now (for tests).
    var inFlight: Int { flights.values.filter { $0.result == nil }.count }

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return -1 }
        var sum: Float = 0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }
}
