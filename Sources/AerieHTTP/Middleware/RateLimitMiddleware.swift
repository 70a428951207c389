import AerieCore
import HTTPTypes
import Hummingbird

/// Token buckets per caller. A caller with an empty bucket gets `429` with `Retry-After`.
actor RateLimiter {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let limit: GatewayConfiguration.RateLimit
    private var buckets: [String: Bucket] = [:]
    private let clock = ContinuousClock()

    init(limit: GatewayConfiguration.RateLimit) {
        self.limit = limit
    }

    /// Takes a token for `key`; returns nil when allowed, or the seconds to wait.
    func take(_ key: String) -> Double? {
        let now = clock.now
        var bucket = buckets[key] ?? Bucket(tokens: Double(limit.burst), updated: now)
        let refill = (now - bucket.updated).seconds * limit.perSecond
        bucket.tokens = min(Double(limit.burst), bucket.tokens + refill)
        bucket.updated = now
        defer {
            buckets[key] = bucket
            if buckets.count > 100_000 { prune(now: now) }
        }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        return limit.perSecond > 0 ? (1 - bucket.tokens) / limit.perSecond : 60
    }

    /// Drops buckets that are full again (their callers have been quiet).
    private func prune(now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            bucket.tokens + (now - bucket.updated).seconds * limit.perSecond < Double(limit.burst)
        }
    }
}

/// Applies the per-caller rate limit: per API key, else per user, else per client address.
/// `/health` and `/metrics` are not limited.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AerieRequestContext

    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/health" || path == "/metrics" { return try await next(request, context) }
        let key: String
        if let keyId = context.identity?.keyId {
            key = "key:\(keyId)"
        } else if let user = context.identity?.username {
            key = "user:\(user)"
        } else {
            key = "addr:\(context.remoteAddress ?? "unknown")"
        }
        if let wait = await limiter.take(key) {
            let seconds = Int(wait.rounded(.up))
            throw HTTPProblem.rateLimited("Too many requests from this caller; slow down and retry after \(max(1, seconds)) s.", retryAfter: seconds)
        }
        return try await next(request, context)
    }
}
