import AerieCore
import AerieText
import Crypto
import Foundation

/// The semantic cache and the stored images it points to.
///
/// Each generated PNG is stored once in bucket `imagine` under `images/<hash>.png` and described by a row of table
/// `imagine_cache` (keyed by the content hash). While the row's `state` is `cached`, its prompt embedding is in the
/// vector index and it can serve hits; eviction (LRU by count and bytes) and TTL move it to `stored` and drop the
/// vector. `refs` counts the user records pointing at the image: a stored image is deleted when it is no longer cached
/// and no record points at it, so eviction never takes an image from a user.
///
/// One actor per process owns the rows and the index, so reference counts need no conditional writes.
actor PromptCache {
    static let table = TableSchema(name: "imagine_cache", partitionKey: "hash",
                                   indexes: [TableSchema.Index(name: "by_state", partitionKey: "state", sortKey: "last_used")])
    static let bucket = "imagine"
    /// The prompt embeddings' collection in the Vectors primitive (cosine, the embedder's dimensions).
    static let collection = "imagine_prompts"

    /// One stored image, as its cache row says.
    struct Entry: Sendable, Hashable {
        var hash: String
        var prompt: String
        var parameters: ImageParameters
        var owner: String
        var cached: Bool
        var refs: Int
        var hits: Int
        var bytes: Int64
        var createdAt: Date
        var lastUsed: Date

        var objectKey: String { "images/\(hash).png" }

        var item: [String: JSONValue] {
            [
                "hash": .string(hash), "state": .string(cached ? "cached" : "stored"), "prompt": .string(prompt),
                "parameters": parameters.resolvedJSON, "parameters_key": .string(parameters.compatibilityKey),
                "seed_given": .bool(parameters.seedGiven), "owner": .string(owner), "refs": .number(Double(refs)),
                "hits": .number(Double(hits)), "bytes": .number(Double(bytes)), "object": .string(objectKey),
                "created_at": .string(RFC3339.string(from: createdAt)),
                "last_used": .number(lastUsed.timeIntervalSince1970),
            ]
        }

        init(hash: String, prompt: String, parameters: ImageParameters, owner: String, cached: Bool, refs: Int, hits: Int,
             bytes: Int64, createdAt: Date, lastUsed: Date) {
            self.hash = hash
            self.prompt = prompt
            self.parameters = parameters
            self.owner = owner
            self.cached = cached
            self.refs = refs
            self.hits = hits
            self.bytes = bytes
            self.createdAt = createdAt
            self.lastUsed = lastUsed
        }

        init?(item: [String: JSONValue]) {
            guard let hash = item["hash"]?.stringValue, let prompt = item["prompt"]?.stringValue,
                let owner = item["owner"]?.stringValue, let resolved = item["parameters"]?.objectValue,
                let parameters = ImageParameters(resolved: resolved, prompt: prompt, seedGiven: item["seed_given"] == .bool(true))
            else { return nil }
            self.init(
                hash: hash, prompt: prompt, parameters: parameters, owner: owner, cached: item["state"]?.stringValue == "cached",
                refs: Int(item["refs"]?.numberValue ?? 0), hits: Int(item["hits"]?.numberValue ?? 0),
                bytes: Int64(item["bytes"]?.numberValue ?? 0),
                createdAt: item["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) ?? Date(timeIntervalSince1970: 0),
                lastUsed: Date(timeIntervalSince1970: item["last_used"]?.numberValue ?? 0))
        }
    }

    /// The best cached image for a prompt, and whether it may serve it.
    struct Lookup: Sendable {
        var entry: Entry?
        var similarity: Float?
        var isHit: Bool
        /// The learned matcher's probability for `entry`, when it scored it.
        var probability: Double?
    }

    /// What the cache holds, for `GET /v1/apps/imagine/cache`.
    struct Statistics: Sendable, Encodable {
        var entries: Int
        var bytes: Int64
        var storedImages: Int
        var maxEntries: Int
        var maxBytes: Int64
        var matching: String
        var threshold: Float
        var scope: String
        var ttlSeconds: Double?
        enum CodingKeys: String, CodingKey {
            case entries, bytes, matching, threshold, scope
            case storedImages = "stored_images"
            case maxEntries = "max_entries"
            case maxBytes = "max_bytes"
            case ttlSeconds = "ttl_seconds"
        }
    }

    let primitives: Primitives
    let index: any Vectors
    let configuration: ImagineConfiguration
    let matcher: PromptMatcher
    let prompts: PromptEmbeddings
    let now: @Sendable () -> Date
    private var entries: [String: Entry] = [:]
    private var cachedBytes: Int64 = 0
    private var cachedCount = 0

    init(primitives: Primitives, index: any Vectors, configuration: ImagineConfiguration, matcher: PromptMatcher, prompts: PromptEmbeddings,
         now: @escaping @Sendable () -> Date) {
        self.primitives = primitives
        self.index = index
        self.configuration = configuration
        self.matcher = matcher
        self.prompts = prompts
        self.now = now
    }

    /// Creates the table and bucket and loads the rows; drops vectors whose row is gone or no longer cached.
    func open() async throws {
        try await primitives.ensureAppTable(Self.table, app: ImagineApp.name)
        try await primitives.ensureAppBucket(Self.bucket, app: ImagineApp.name)
        for state in ["cached", "stored"] {
            var cursor: String?
            repeat {
                let page = try await primitives.tables.query(table: Self.table.name, TableQuery(index: "by_state", partition: .string(state),
                                                                                               limit: 1000, cursor: cursor))
                for stored in page.items {
                    guard let entry = Entry(item: stored.item) else { continue }
                    entries[entry.hash] = entry
                }
                cursor = page.nextCursor
            } while cursor != nil
        }
        for entry in entries.values where entry.cached {
            if try await index.contains(entry.hash) {
                cachedCount += 1
                cachedBytes += entry.bytes
            } else {
                // The vector was lost (a crash between the row and the index write): the entry stops serving hits.
                var stored = entry
                stored.cached = false
                try await save(stored)
            }
        }
        try await enforceLimits()
    }

    func entry(_ hash: String) -> Entry? { entries[hash] }

    /// The PNG of a stored image, opened for streaming.
    func png(_ hash: String) async throws -> ObjectStream {
        guard let entry = entries[hash] else {
            throw AerieError.notFound("The image file is gone; generate the image again.")
        }
        return try await primitives.objects.read(bucket: Self.bucket, key: entry.objectKey, range: nil)
    }

    /// Searches the cached images compatible with `parameters` (same seed when the request gave one; the caller's
    /// own when the scope is per-user) for the prompts nearest to `query` and asks ``matcher`` whether one may serve
    /// it: the nearest live one that matches, with the highest probability for the learned method. Expired entries
    /// met are evicted.
    func lookup(_ query: TokenEmbeddings, parameters: ImageParameters, owner: String) async throws -> Lookup {
        let embedding = query.sentence
        var filter: [String: KeyValue] = ["key": .string(parameters.compatibilityKey)]
        if parameters.seedGiven { filter["seed"] = .string(String(parameters.seed)) }
        if configuration.scope == .perUser { filter["owner"] = .string(owner) }
        for _ in 0..<8 {
            let matches = try await index.search(embedding, k: 4, filter: .matching(filter), exact: true)
            guard let best = matches.first else { return Lookup(entry: nil, similarity: nil, isHit: false) }
            var expired = false
            var nearest: Lookup?
            var found: Lookup?
            for match in matches {
                guard let entry = entries[match.id], entry.cached else {
                    _ = try await index.remove(id: match.id)
                    expired = true
                    continue
                }
                if isExpired(entry) {
                    try await evict(entry.hash)
                    expired = true
                    continue
                }
                // Embeddings score "a cat" / "no cat" or "a red car" / "a blue car" close to 1: the matcher's rules
                // veto those, and its scorer weighs how the prompts' tokens align.
                let decision = try matcher.decide(entry.prompt, parameters.prompt, similarity: Double(match.score)) {
                    (try prompts.embeddings(entry.prompt), query)
                }
                let lookup = Lookup(entry: entry, similarity: match.score, isHit: decision.isMatch, probability: decision.probability)
                if nearest == nil { nearest = lookup }
                if decision.isMatch, (decision.probability ?? 0) > (found?.probability ?? -1) { found = lookup }
                if matcher.method != .learned { break }
            }
            if let result = found ?? nearest { return result }
            if !expired { return Lookup(entry: nil, similarity: best.score, isHit: false) }
        }
        return Lookup(entry: nil, similarity: nil, isHit: false)
    }

    /// Counts a hit on `hash` and a new record pointing at it.
    func recordHit(_ hash: String) async throws -> Entry {
        guard var entry = entries[hash] else {
            throw AerieError(.conflict, "The matched image was evicted meanwhile; send the request again.")
        }
        entry.hits += 1
        entry.refs += 1
        entry.lastUsed = max(now(), entry.lastUsed)
        try await save(entry)
        return entry
    }

    /// Stores a generated PNG for `owner` (one reference) and makes it a cache entry for `embedding`, evicting the
    /// least recently used entries beyond the limits.
    func store(png: Data, parameters: ImageParameters, embedding: [Float], owner: String) async throws -> Entry {
        let hash = Self.contentHash(png)
        let time = now()
        var entry: Entry
        if var existing = entries[hash] {
            existing.refs += 1
            existing.lastUsed = time
            entry = existing
        } else {
            try await primitives.objects.put(bucket: Self.bucket, key: "images/\(hash).png", data: png,
                                             attributes: ObjectAttributes(contentType: "image/png"))
            entry = Entry(hash: hash, prompt: parameters.prompt, parameters: parameters, owner: owner, cached: false, refs: 1, hits: 0,
                          bytes: Int64(png.count), createdAt: time, lastUsed: time)
        }
        let metadata: [String: KeyValue] = [
            "key": .string(parameters.compatibilityKey), "seed": .string(String(parameters.seed)), "owner": .string(entry.owner),
        ]
        try await index.upsert(id: hash, vector: embedding, metadata: metadata)
        if !entry.cached {
            entry.cached = true
            cachedCount += 1
            cachedBytes += entry.bytes
        }
        try await save(entry)
        try await enforceLimits(keeping: hash)
        return entries[hash] ?? entry
    }

    /// Drops one reference (a user deleted their record); deletes the image when nothing needs it any more.
    func release(_ hash: String) async throws {
        guard var entry = entries[hash] else { return }
        entry.refs = max(0, entry.refs - 1)
        try await save(entry)
        try await deleteIfUnused(hash)
    }

    func statistics() -> Statistics {
        Statistics(entries: cachedCount, bytes: cachedBytes, storedImages: entries.count, maxEntries: configuration.maxEntries,
                   maxBytes: configuration.maxBytes, matching: configuration.matching.rawValue, threshold: configuration.threshold, scope: configuration.scope.rawValue,
                   ttlSeconds: configuration.ttl.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 })
    }

    // MARK: Internals

    private func isExpired(_ entry: Entry) -> Bool {
        guard let ttl = configuration.ttl else { return false }
        let seconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        return now().timeIntervalSince(entry.createdAt) >= seconds
    }

    /// Takes an entry out of the cache (its vector goes; the image stays while records point at it).
    private func evict(_ hash: String) async throws {
        guard var entry = entries[hash], entry.cached else { return }
        _ = try await index.remove(id: hash)
        entry.cached = false
        cachedCount -= 1
        cachedBytes -= entry.bytes
        try await save(entry)
        try await deleteIfUnused(hash)
    }

    private func deleteIfUnused(_ hash: String) async throws {
        guard let entry = entries[hash], !entry.cached, entry.refs <= 0 else { return }
        try await primitives.objects.delete(bucket: Self.bucket, key: entry.objectKey)
        try await primitives.tables.delete(table: Self.table.name, key: ItemKey(partition: .string(hash)))
        entries[hash] = nil
    }

    private func enforceLimits(keeping kept: String? = nil) async throws {
        for entry in entries.values where entry.cached && isExpired(entry) && entry.hash != kept {
            try await evict(entry.hash)
        }
        while cachedCount > configuration.maxEntries || cachedBytes > configuration.maxBytes {
            let victim = entries.values.filter { $0.cached && $0.hash != kept }.min { $0.lastUsed < $1.lastUsed }
            guard let victim else { break }
            try await evict(victim.hash)
        }
    }

    private func save(_ entry: Entry) async throws {
        entries[entry.hash] = entry
        try await primitives.tables.put(table: Self.table.name, item: entry.item, owner: nil)
    }

    /// The SHA-256 of the PNG in hex: the stored image's id.
    static func contentHash(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
