import AerieCore
import AerieText
import Foundation

/// How the Imagine app caches and generates; `aerie serve` reads it from `AERIE_IMAGINE_*` environment variables.
public struct ImagineConfiguration: Sendable, Hashable {
    /// Who may be served an image generated for someone else.
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        /// Every user's images serve every user's requests (the default).
        case shared
        /// A user is served only images generated for them.
        case perUser = "per-user"
    }

    /// How a cached image is matched to a new prompt: ``PromptMatcher/Method/learned`` (the default: hard rules and a
    /// learned scorer on MiniLM's sentence and token-alignment signals), ``PromptMatcher/Method/guarded`` (cosine ≥
    /// ``threshold`` and ``PromptGuard``), or ``PromptMatcher/Method/similarity`` (cosine ≥ ``threshold``).
    public var matching: PromptMatcher.Method
    /// Cosine similarity of the prompts' MiniLM embeddings at or above which a stored image is returned by the
    /// `guarded` and `similarity` matching (the learned method has its own cut).
    public var threshold: Float
    public var scope: Scope
    /// Cache entries kept at most (least recently used evicted first).
    public var maxEntries: Int
    /// Bytes of PNG kept in the cache at most (least recently used evicted first).
    public var maxBytes: Int64
    /// A cache entry stops serving hits this long after it was generated; nil keeps entries until evicted.
    public var ttl: Duration?
    /// How long a signed `image_url` works.
    public var urlLifetime: Duration
    /// Generations that run at the same time (the `imagine-generate` function's concurrency).
    public var concurrency: Int
    /// Synchronous generation requests that may wait for a slot; beyond this the caller gets 429 with Retry-After.
    public var maxWaiting: Int
    /// A generation running longer is cancelled.
    public var timeout: Duration
    /// Intra-op threads per ONNX Runtime session (0: one per core).
    public var threads: Int

    public init(matching: PromptMatcher.Method = .learned, threshold: Float = 0.90, scope: Scope = .shared, maxEntries: Int = 10_000, maxBytes: Int64 = 1 << 30,
                ttl: Duration? = nil, urlLifetime: Duration = .seconds(900), concurrency: Int = 1, maxWaiting: Int = 16,
                timeout: Duration = .seconds(600), threads: Int = 0) {
        self.matching = matching
        self.threshold = threshold
        self.scope = scope
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.ttl = ttl
        self.urlLifetime = urlLifetime
        self.concurrency = concurrency
        self.maxWaiting = maxWaiting
        self.timeout = timeout
        self.threads = threads
    }

    /// The configuration from `AERIE_IMAGINE_MATCHING` (`learned`, `guarded` or `similarity`), `_THRESHOLD`, `_SCOPE` (`shared` or `per-user`), `_MAX_ENTRIES`,
    /// `_MAX_BYTES`, `_TTL_SECONDS` (0: none), `_URL_SECONDS`, `_CONCURRENCY`, `_MAX_WAITING`, `_TIMEOUT_SECONDS`
    /// and `_THREADS`; unset variables keep the defaults. Throws `invalid-argument` naming a bad variable.
    public static func fromEnvironment(_ environment: [String: String]) throws -> ImagineConfiguration {
        var configuration = ImagineConfiguration()
        func value(_ name: String) -> String? {
            environment["AERIE_IMAGINE_\(name)"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        func number<T: LosslessStringConvertible & Comparable>(_ name: String, _ range: ClosedRange<T>) throws -> T? {
            guard let text = value(name) else { return nil }
            guard let parsed = T(text.trimmingCharacters(in: .whitespaces)), range.contains(parsed) else {
                throw AerieError.invalid("AERIE_IMAGINE_\(name) must be a number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\".",
                                         field: "AERIE_IMAGINE_\(name)")
            }
            return parsed
        }
        if let text = value("MATCHING") {
            guard let matching = PromptMatcher.Method(rawValue: text.lowercased()) else {
                throw AerieError.invalid("AERIE_IMAGINE_MATCHING must be learned, guarded or similarity, not \"\(text)\".",
                                         field: "AERIE_IMAGINE_MATCHING")
            }
            configuration.matching = matching
        }
        if let threshold: Float = try number("THRESHOLD", 0...1) { configuration.threshold = threshold }
        if let text = value("SCOPE") {
            guard let scope = Scope(rawValue: text.lowercased()) else {
                throw AerieError.invalid("AERIE_IMAGINE_SCOPE must be shared or per-user, not \"\(text)\".", field: "AERIE_IMAGINE_SCOPE")
            }
            configuration.scope = scope
        }
        if let entries: Int = try number("MAX_ENTRIES", 1...100_000_000) { configuration.maxEntries = entries }
        if let bytes: Int64 = try number("MAX_BYTES", 1...Int64.max) { configuration.maxBytes = bytes }
        if let ttl: Int = try number("TTL_SECONDS", 0...Int(Int32.max)) { configuration.ttl = ttl == 0 ? nil : .seconds(ttl) }
        if let url: Int = try number("URL_SECONDS", 1...604_800) { configuration.urlLifetime = .seconds(url) }
        if let concurrency: Int = try number("CONCURRENCY", 1...64) { configuration.concurrency = concurrency }
        if let waiting: Int = try number("MAX_WAITING", 0...10_000) { configuration.maxWaiting = waiting }
        if let timeout: Int = try number("TIMEOUT_SECONDS", 1...86_400) { configuration.timeout = .seconds(timeout) }
        if let threads: Int = try number("THREADS", 0...256) { configuration.threads = threads }
        return configuration
    }
}
