import AerieCore
import AerieHTTPTesting
import AerieText
import Foundation
import Synchronization
import Testing

@testable import Imagine

/// Counts the prompts it embeds, around the real MiniLM.
final class CountingEmbedder: SentenceEmbedder {
    let base: any SentenceEmbedder
    private let count = Mutex(0)
    init(_ base: any SentenceEmbedder) { self.base = base }
    var modelName: String { base.modelName }
    var dimensions: Int { base.dimensions }
    var tokenizer: WordPieceTokenizer { base.tokenizer }
    var calls: Int { count.withLock { $0 } }
    func embed(_ texts: [String]) throws -> [[Float]] {
        count.withLock { $0 += texts.count }
        return try base.embed(texts)
    }
    func embedTokens(_ texts: [String]) throws -> [TokenEmbeddings] {
        count.withLock { $0 += texts.count }
        return try base.embedTokens(texts)
    }
}

@Suite("Imagine embeds each prompt once")
struct EmbedOnceTests {
    @Test("A miss embeds the prompt once (the route passes it to imagine-generate); a hit once too")
    func missEmbedsOnce() async throws {
        let embedder = CountingEmbedder(try TestModels.encoder())
        let harness = try await ImagineHarness.make { (FakeGenerator(), embedder) }
        try await harness.test { client in
            let miss = try await client.imagine(["prompt": .string(Prompts.cat), "steps": 2], token: harness.annToken)
            #expect(miss.status == .ok, "\(miss.text)")
            #expect(miss.cacheHeader == "miss")
            #expect(embedder.calls == 1)
            let hit = try await client.imagine(["prompt": .string(Prompts.catParaphrase), "steps": 2], token: harness.annToken)
            #expect(hit.cacheHeader == "hit", "\(hit.text)")
            #expect(embedder.calls == 2)
        }
    }

    @Test("The function embeds a prompt itself when its input carries no embedding, or one of the wrong length")
    func functionFallsBackToEmbedding() async throws {
        let embedder = CountingEmbedder(try TestModels.encoder())
        let harness = try await ImagineHarness.make { (FakeGenerator(), embedder) }
        let service = try harness.service()
        let parameters = PromptCacheTests.parameters(Prompts.cat)
        #expect(try service.embedding(for: .init(parameters: parameters, bypass: false, enqueuedAt: 0)).count == embedder.dimensions)
        #expect(embedder.calls == 1)
        _ = try service.embedding(for: .init(parameters: parameters, bypass: false, enqueuedAt: 0, embedding: [1, 2, 3]))
        #expect(embedder.calls == 2)
        let given = try service.embed(Prompts.cat)
        #expect(try service.embedding(for: .init(parameters: parameters, bypass: false, enqueuedAt: 0, embedding: given)) == given)
        #expect(embedder.calls == 3)
    }
}
