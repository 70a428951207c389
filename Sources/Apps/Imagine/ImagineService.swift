import AerieCore
import AerieFunctions
import AerieText
import Foundation
import Synchronization

/// The Imagine app's logic: the semantic cache in front of generation, the user's image records and signed URLs.
///
/// Records live in table `imagine_images` (partition `owner`, sort `id`, index `by_id`); each points at a stored image
/// of ``PromptCache`` by its content hash. Generation runs as the platform function `imagine-generate`, so the
/// runtime's concurrency limit, wait queue (429 + Retry-After), async invocations, SSE progress and cancel apply.
final class ImagineService: Sendable {
    static let imagesTable = TableSchema(name: "imagine_images", partitionKey: "owner", sortKey: "id",
                                         indexes: [TableSchema.Index(name: "by_id", partitionKey: "id")])

    /// A user's image.
    struct ImageRecord: Sendable, Hashable {
        var id: String
        var owner: String
        var prompt: String
        var parameters: ImageParameters
        var hit: Bool
        var similarity: Float?
        /// The prompt that made the image, stored only when that image was the caller's own.
        var matchedPrompt: String?
        var hash: String
        var createdAt: Date

        var item: [String: JSONValue] {
            [
                "owner": .string(owner), "id": .string(id), "prompt": .string(prompt), "parameters": parameters.resolvedJSON,
                "seed_given": .bool(parameters.seedGiven), "cache": .string(hit ? "hit" : "miss"),
                "similarity": similarity.map { .number(Double($0)) } ?? .null, "matched_prompt": matchedPrompt.map(JSONValue.string) ?? .null,
                "image": .string(hash), "created_at": .string(RFC3339.string(from: createdAt)),
            ]
        }

        init(id: String, owner: String, prompt: String, parameters: ImageParameters, hit: Bool, similarity: Float?, matchedPrompt: String?,
             hash: String, createdAt: Date) {
            self.id = id
            self.owner = owner
            self.prompt = prompt
            self.parameters = parameters
            self.hit = hit
            self.similarity = similarity
            self.matchedPrompt = matchedPrompt
            self.hash = hash
            self.createdAt = createdAt
        }

        init?(item: [String: JSONValue]) {
            guard let id = item["id"]?.stringValue, let owner = item["owner"]?.stringValue, let prompt = item["prompt"]?.stringValue,
                let hash = item["image"]?.stringValue, let resolved = item["parameters"]?.objectValue,
                let parameters = ImageParameters(resolved: resolved, prompt: prompt, seedGiven: item["seed_given"] == .bool(true))
            else { return nil }
            self.init(id: id, owner: owner, prompt: prompt, parameters: parameters, hit: item["cache"]?.stringValue == "hit",
                      similarity: item["similarity"]?.numberValue.map(Float.init), matchedPrompt: item["matched_prompt"]?.stringValue,
                      hash: hash, createdAt: item["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) ?? Date(timeIntervalSince1970: 0))
        }
    }

    /// The input of `imagine-generate`.
    struct GenerateInput: Codable, Sendable {
        var parameters: ImageParameters
        /// `Cache-Control: no-cache`: generate even when a cached image would match.
        var bypass: Bool
        /// When the request was accepted (seconds since 1970), for the queue-wait metric.
        var enqueuedAt: Double
        /// Whether the route already looked the cache up (and recorded the similarity) before invoking.
        var lookedUp: Bool = false
        /// The prompt's embedding when the route already computed it, so the function does not embed it again.
        var embedding: [Float]?

        enum CodingKeys: String, CodingKey {
            case parameters, bypass, embedding
            case enqueuedAt = "enqueued_at"
            case lookedUp = "looked_up"
        }

        init(parameters: ImageParameters, bypass: Bool, enqueuedAt: Double, lookedUp: Bool = false, embedding: [Float]? = nil) {
            self.parameters = parameters
            self.bypass = bypass
            self.enqueuedAt = enqueuedAt
            self.lookedUp = lookedUp
            self.embedding = embedding
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            parameters = try container.decode(ImageParameters.self, forKey: .parameters)
            bypass = try container.decodeIfPresent(Bool.self, forKey: .bypass) ?? false
            enqueuedAt = try container.decodeIfPresent(Double.self, forKey: .enqueuedAt) ?? 0
            lookedUp = try container.decodeIfPresent(Bool.self, forKey: .lookedUp) ?? false
            embedding = try container.decodeIfPresent([Float].self, forKey: .embedding)
        }
    }

    let primitives: Primitives
    let configuration: ImagineConfiguration
    let generator: any ImageGenerating
    let embedder: any SentenceEmbedder
    /// The prompts' sentence and token embeddings, kept for the recent ones (shared with ``cache``).
    let prompts: PromptEmbeddings
    let cache: PromptCache
    let coalescer: GenerationCoalescer
    let signer: ImageURLSigner
    let metrics: ImagineMetrics
    let now: @Sendable () -> Date
    private let counts = Mutex(Counts())

    /// Requests served since start, for `GET /v1/apps/imagine/cache`.
    struct Counts: Sendable, Encodable {
        var hits = 0
        var misses = 0
        var bypasses = 0
    }

    var requestCounts: Counts { counts.withLock { $0 } }

    enum Outcome { case hit, miss, bypass }

    /// Counts a request in the metrics and in ``requestCounts``.
    private func count(_ outcome: Outcome) {
        counts.withLock { counts in
            switch outcome {
            case .hit: counts.hits += 1
            case .miss: counts.misses += 1
            case .bypass: counts.bypasses += 1
            }
        }
        switch outcome {
        case .hit: metrics.hits.increment()
        case .miss: metrics.misses.increment()
        case .bypass: metrics.bypasses.increment()
        }
    }

    init(primitives: Primitives, configuration: ImagineConfiguration, generator: any ImageGenerating, embedder: any SentenceEmbedder,
         cache: PromptCache, signer: ImageURLSigner, metrics: ImagineMetrics, now: @escaping @Sendable () -> Date) {
        self.primitives = primitives
        self.configuration = configuration
        self.generator = generator
        self.embedder = embedder
        self.prompts = cache.prompts
        self.cache = cache
        self.coalescer = GenerationCoalescer(matcher: cache.matcher)
        self.signer = signer
        self.metrics = metrics
        self.now = now
    }

    /// Opens the tables, the bucket, the cache index and the URL secret.
    static func open(primitives: Primitives, configuration: ImagineConfiguration, generator: any ImageGenerating,
                     embedder: any SentenceEmbedder, metrics: ImagineMetrics,
                     now: @escaping @Sendable () -> Date) async throws -> ImagineService {
        try await primitives.ensureAppTable(imagesTable, app: ImagineApp.name)
        let index = try await primitives.ensureAppCollection(
            PromptCache.collection, dimensions: embedder.dimensions, metric: .cosine, app: ImagineApp.name)
        let matcher = try PromptMatcher.bundled(method: configuration.matching, threshold: Double(configuration.threshold))
        let cache = PromptCache(primitives: primitives, index: index, configuration: configuration, matcher: matcher,
                                prompts: PromptEmbeddings(embedder: embedder), now: now)
        try await cache.open()
        let signer = try await ImageURLSigner.load(tables: primitives.tables)
        primitives.appResources.claim(.table, ImageURLSigner.table.name, by: "the \(ImagineApp.name) app")
        return ImagineService(primitives: primitives, configuration: configuration, generator: generator, embedder: embedder, cache: cache,
                              signer: signer, metrics: metrics, now: now)
    }

    // MARK: Requests

    /// Parses a request body with the model's defaults.
    func parameters(_ body: JSONValue) throws -> ImageParameters {
        try ImageParameters.parse(body, sampleSize: generator.sampleSize, defaultScheduler: generator.defaultScheduler)
    }

    func embed(_ prompt: String) throws -> [Float] {
        guard let vector = try embedder.embed([prompt]).first else {
            throw AerieError(.internal, "The sentence encoder returned no embedding.")
        }
        return vector
    }

    /// The embedding the route passed along, when it has the embedder's length; otherwise the prompt embedded now.
    func embedding(for input: GenerateInput) throws -> [Float] {
        if let given = input.embedding, given.count == embedder.dimensions, given.allSatisfy(\.isFinite) { return given }
        return try embed(input.parameters.prompt)
    }

    /// Serves a synchronous request: a cache hit at once, a follower of an equivalent generation in flight, or a new
    /// generation through `generate` (which invokes `imagine-generate`). Returns the image's API body.
    func serve(_ parameters: ImageParameters, owner: String, bypass: Bool,
               generate: @Sendable (GenerateInput) async throws -> JSONValue) async throws -> JSONValue {
        var input = GenerateInput(parameters: parameters, bypass: bypass, enqueuedAt: now().timeIntervalSince1970)
        guard !bypass else { return try await generate(input) }
        input.lookedUp = true
        let query = try prompts.embeddings(parameters.prompt)
        input.embedding = query.sentence
        if let hit = try await lookupHit(parameters, query: query, owner: owner).record {
            return try await body(hit)
        }
        let scopeOwner = configuration.scope == .perUser ? owner : nil
        switch await coalescer.join(parameters: parameters, embeddings: query, owner: owner, scopeOwner: scopeOwner) {
        case .follower(let token, let similarity, let prompt, let leader):
            if let hash = try? await coalescer.wait(for: token), let entry = try? await cache.recordHit(hash) {
                count(.hit)
                metrics.recordSimilarity(similarity)
                let record = try await saveRecord(owner: owner, prompt: parameters.prompt, parameters: entry.parameters, hit: true,
                                                  similarity: similarity, matchedPrompt: leader == owner ? prompt : nil, hash: entry.hash)
                return try await body(record)
            }
            // The leader failed or its image is gone: generate for this caller.
            return try await generate(input)
        case .leader(let token):
            do {
                let output = try await generate(input)
                let hash = try await output["id"]?.stringValue.asyncMap { try await record(owner: owner, id: $0)?.hash }
                await coalescer.finish(token, result: hash.flatMap { $0 }.map { .success($0) } ?? .failure(CancellationError()))
                return output
            } catch {
                await coalescer.finish(token, result: .failure(error))
                throw error
            }
        }
    }

    /// A hit for the caller (recorded, counted), or nil on a miss (counted when a generation follows).
    private func lookupHit(_ parameters: ImageParameters, query: TokenEmbeddings, owner: String, recordSimilarity: Bool = true) async throws
        -> (record: ImageRecord?, similarity: Float?) {
        let lookup = try await cache.lookup(query, parameters: parameters, owner: owner)
        if recordSimilarity, let similarity = lookup.similarity { metrics.recordSimilarity(similarity) }
        guard lookup.isHit, let match = lookup.entry, let similarity = lookup.similarity,
            let entry = try? await cache.recordHit(match.hash)
        else { return (nil, lookup.similarity) }
        count(.hit)
        let record = try await saveRecord(owner: owner, prompt: parameters.prompt, parameters: entry.parameters, hit: true,
                                          similarity: similarity, matchedPrompt: entry.owner == owner ? entry.prompt : nil, hash: entry.hash)
        return (record, similarity)
    }

    /// The body of `imagine-generate`: looks the cache up again (an equivalent image may have been generated while this
    /// request waited), else generates with step progress and stores the image as a cache entry.
    func handleGeneration(_ input: GenerateInput, context: InvocationContext) async throws -> JSONValue {
        let started = now()
        metrics.queueWait.recordNanoseconds(Int64(max(0, started.timeIntervalSince1970 - input.enqueuedAt) * 1e9))
        guard let owner = context.owner else {
            throw AerieError.invalid("imagine-generate runs for a signed-in user; call it through POST /v1/apps/imagine/images.")
        }
        let parameters = input.parameters
        var embedding: [Float]
        var bestSimilarity: Float?
        if input.bypass {
            count(.bypass)
            embedding = try self.embedding(for: input)
        } else {
            // The route's embeddings when it ran in this process (kept by `prompts`), else the prompt embedded now.
            let query = try prompts.embeddings(parameters.prompt)
            embedding = query.sentence
            if let given = input.embedding, given.count == embedder.dimensions, given.allSatisfy(\.isFinite) { embedding = given }
            let lookup = try await lookupHit(parameters, query: query, owner: owner, recordSimilarity: !input.lookedUp)
            if let hit = lookup.record {
                await context.progress(1, "cache hit", details: .object(["cache": .string("hit")]))
                return try await body(hit)
            }
            bestSimilarity = lookup.similarity
        }
        count(.miss)
        let png = try await generateWithProgress(parameters, context: context)
        let entry = try await cache.store(png: png, parameters: parameters, embedding: embedding, owner: owner)
        let record = try await saveRecord(owner: owner, prompt: parameters.prompt, parameters: parameters, hit: false,
                                          similarity: bestSimilarity, matchedPrompt: nil, hash: entry.hash)
        return try await body(record)
    }

    private func generateWithProgress(_ parameters: ImageParameters, context: InvocationContext) async throws -> Data {
        let (steps, continuation) = AsyncStream.makeStream(of: (step: Int, of: Int, at: ContinuousClock.Instant).self)
        let clock = ContinuousClock()
        let start = clock.now
        let metrics = self.metrics
        let reporter = Task {
            var previous = start
            for await event in steps {
                metrics.step.recordNanoseconds(Self.nanoseconds(event.at - previous))
                previous = event.at
                await context.progress(Double(event.step) / Double(max(event.of, 1)), "step \(event.step)/\(event.of)",
                                       details: .object(["step": .number(Double(event.step)), "steps": .number(Double(event.of))]))
            }
        }
        defer { continuation.finish() }
        let png: Data
        do {
            png = try await generator.generatePNG(parameters.diffusionRequest) { step, of in
                continuation.yield((step, of, ContinuousClock.now))
            }
        } catch {
            continuation.finish()
            await reporter.value
            throw error
        }
        continuation.finish()
        await reporter.value
        metrics.generation.recordNanoseconds(Self.nanoseconds(clock.now - start))
        return png
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    // MARK: Records

    private func saveRecord(owner: String, prompt: String, parameters: ImageParameters, hit: Bool, similarity: Float?,
                            matchedPrompt: String?, hash: String) async throws -> ImageRecord {
        let time = now()
        let record = ImageRecord(id: TimeOrderedID.make(time), owner: owner, prompt: prompt, parameters: parameters, hit: hit,
                                 similarity: similarity, matchedPrompt: matchedPrompt, hash: hash, createdAt: time)
        try await primitives.tables.put(table: Self.imagesTable.name, item: record.item, owner: owner, condition: .absent)
        return record
    }

    func record(owner: String, id: String) async throws -> ImageRecord? {
        try await primitives.tables.get(table: Self.imagesTable.name, key: ItemKey(partition: .string(owner), sort: .string(id)))
            .flatMap { ImageRecord(item: $0.item) }
    }

    /// The record with `id` whoever owns it (for signed URLs).
    func record(id: String) async throws -> ImageRecord? {
        let page = try await primitives.tables.query(table: Self.imagesTable.name, TableQuery(index: "by_id", partition: .string(id), limit: 1))
        return page.items.first.flatMap { ImageRecord(item: $0.item) }
    }

    func list(owner: String, limit: Int, cursor: String?) async throws -> (items: [JSONValue], next: String?) {
        let page = try await primitives.tables.query(table: Self.imagesTable.name,
                                                     TableQuery(partition: .string(owner), descending: true, limit: limit, cursor: cursor))
        var items: [JSONValue] = []
        for stored in page.items {
            if let record = ImageRecord(item: stored.item) { items.append(try await body(record)) }
        }
        return (items, page.nextCursor)
    }

    /// Deletes the caller's record; the stored image goes when nothing else needs it.
    func delete(owner: String, id: String) async throws -> Bool {
        guard let record = try await record(owner: owner, id: id) else { return false }
        try await primitives.tables.delete(table: Self.imagesTable.name, key: ItemKey(partition: .string(owner), sort: .string(id)))
        try await cache.release(record.hash)
        return true
    }

    func png(of record: ImageRecord) async throws -> ObjectStream {
        try await cache.png(record.hash)
    }

    /// The API body of a record, with a fresh signed `image_url`.
    func body(_ record: ImageRecord) async throws -> JSONValue {
        let expires = Int64(now().timeIntervalSince1970 + Self.seconds(configuration.urlLifetime))
        let hits = await cache.entry(record.hash)?.hits ?? 0
        return .object([
            "id": .string(record.id), "prompt": .string(record.prompt), "image_url": .string(signer.url(id: record.id, expires: expires)),
            "cache": .string(record.hit ? "hit" : "miss"), "similarity": record.similarity.map { .number(Self.rounded($0)) } ?? .null,
            "matched_prompt": record.matchedPrompt.map(JSONValue.string) ?? .null, "parameters": record.parameters.resolvedJSON,
            "created_at": .string(RFC3339.string(from: record.createdAt)), "hits": .number(Double(hits)),
        ])
    }

    static func rounded(_ value: Float) -> Double {
        (Double(value) * 10_000).rounded() / 10_000
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
