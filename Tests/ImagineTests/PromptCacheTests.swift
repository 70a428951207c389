import AerieCore
import AerieText
import AerieVectors
import Foundation
import Testing

@testable import Imagine

@Suite("Imagine prompt cache")
struct PromptCacheTests {
    static func parameters(_ prompt: String) -> ImageParameters {
        ImageParameters(prompt: prompt, negativePrompt: "", width: 64, height: 64, steps: 3, guidance: 7.5, seed: 1, scheduler: "pndm",
                        seedGiven: false)
    }

    @Test("entries, reference counts and vectors survive a restart on the same storage and directory")
    func persistence() async throws {
        let encoder = try TestModels.encoder()
        let primitives = Primitives.memory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imagine-vectors-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Each open is a restart: a new file vector store on the same folder, the same tables and objects.
        func open() async throws -> ImagineService {
            var restarted = primitives
            restarted.vectors = try FileVectorStore(directory: directory)
            return try await ImagineService.open(primitives: restarted, configuration: ImagineConfiguration(), generator: FakeGenerator(),
                                                 embedder: encoder, metrics: ImagineMetrics(factory: nil), now: { Date() })
        }
        let first = try await open()
        let stored = try await first.cache.store(png: Data([1, 2, 3]), parameters: Self.parameters(Prompts.cat),
                                                 embedding: try first.embed(Prompts.cat), owner: "ann")
        #expect(stored.refs == 1)

        let second = try await open()
        let lookup = try await second.cache.lookup(try second.prompts.embeddings(Prompts.catParaphrase), parameters: Self.parameters(Prompts.catParaphrase),
                                                   owner: "bob")
        #expect(lookup.isHit)
        #expect(lookup.entry?.hash == stored.hash)
        #expect(lookup.entry?.refs == 1)
        #expect(try await second.cache.png(stored.hash).body.collect() == Data([1, 2, 3]))
    }

    @Test("the learned matcher (default) serves a compound spelling the old guard refused; matching=guarded keeps the old decision")
    func learnedMatching() async throws {
        let encoder = try TestModels.encoder()
        let stored = "a black-and-white photo of a harbour"
        let asked = "a black and white photo of a harbour"
        for (matching, hit) in [(PromptMatcher.Method.learned, true), (.guarded, false)] {
            let service = try await ImagineService.open(primitives: .memory(), configuration: ImagineConfiguration(matching: matching),
                                                        generator: FakeGenerator(), embedder: encoder, metrics: ImagineMetrics(factory: nil),
                                                        now: { Date() })
            _ = try await service.cache.store(png: Data([1]), parameters: Self.parameters(stored), embedding: try service.embed(stored), owner: "ann")
            let lookup = try await service.cache.lookup(try service.prompts.embeddings(asked), parameters: Self.parameters(asked), owner: "bob")
            #expect(lookup.entry?.prompt == stored)
            #expect(lookup.isHit == hit, "\(matching)")
            #expect((lookup.probability != nil) == (matching == .learned))
        }
    }

    @Test("configuration from AERIE_IMAGINE_* variables; a bad value names its variable")
    func environment() throws {
        let configuration = try ImagineConfiguration.fromEnvironment([
            "AERIE_IMAGINE_THRESHOLD": "0.85", "AERIE_IMAGINE_SCOPE": "per-user", "AERIE_IMAGINE_MAX_ENTRIES": "5",
            "AERIE_IMAGINE_MAX_BYTES": "1000", "AERIE_IMAGINE_TTL_SECONDS": "60", "AERIE_IMAGINE_CONCURRENCY": "2",
            "AERIE_IMAGINE_MATCHING": "guarded",
        ])
        #expect(configuration.matching == .guarded)
        #expect(ImagineConfiguration().matching == .learned)
        #expect(throws: AerieError.self) { try ImagineConfiguration.fromEnvironment(["AERIE_IMAGINE_MATCHING": "fuzzy"]) }
        #expect(configuration.threshold == 0.85)
        #expect(configuration.scope == .perUser)
        #expect(configuration.maxEntries == 5)
        #expect(configuration.maxBytes == 1000)
        #expect(configuration.ttl == .seconds(60))
        #expect(configuration.concurrency == 2)
        #expect(try ImagineConfiguration.fromEnvironment([:]) == ImagineConfiguration())
        let error = #expect(throws: AerieError.self) { try ImagineConfiguration.fromEnvironment(["AERIE_IMAGINE_THRESHOLD": "1.5"]) }
        #expect(error?.message.contains("AERIE_IMAGINE_THRESHOLD") == true)
    }
}
