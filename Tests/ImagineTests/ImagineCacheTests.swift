import AerieCore
import AerieTesting
import AerieFunctions
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Imagine

@Suite("Imagine semantic cache")
struct ImagineCacheTests {
    static let small: [String: JSONValue] = ["steps": 3]

    static func request(_ prompt: String, _ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        small.merging(extra) { $1 }.merging(["prompt": .string(prompt)]) { $1 }
    }

    @Test("a paraphrase of an earlier prompt is a hit with the same image; an unrelated prompt is a miss")
    func hitAndMiss() async throws {
        let generator = FakeGenerator()
        let harness = try await ImagineHarness.fake(generator: generator)
        try await harness.test { client in
            let first = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.cacheHeader == "miss")
            let firstBody = try first.json()
            #expect(firstBody["cache"] == "miss")
            #expect(firstBody["matched_prompt"] == .null)
            #expect(firstBody["parameters"]?["width"] == 64)
            #expect(firstBody["parameters"]?["scheduler"] == "pndm")
            #expect(firstBody["parameters"]?["seed"]?.numberValue != nil)

            let second = try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken)
            #expect(second.cacheHeader == "hit")
            let secondBody = try second.json()
            #expect(secondBody["cache"] == "hit")
            #expect(secondBody["matched_prompt"] == .string(Prompts.cat))
            #expect(secondBody["prompt"] == .string(Prompts.catParaphrase))
            #expect((secondBody["similarity"]?.numberValue ?? 0) >= 0.9)
            #expect(Double(second.headers[HTTPField.Name("X-Cache-Similarity")!] ?? "") ?? 0 >= 0.9)
            #expect(secondBody["parameters"]?["seed"] == firstBody["parameters"]?["seed"])
            #expect(secondBody["id"] != firstBody["id"])
            #expect(secondBody["hits"] == 1)

            // Both records show the same picture.
            let firstPNG = try await client.send(.get, "/v1/apps/imagine/images/\(firstBody["id"]?.stringValue ?? "").png", token: harness.annToken)
            let secondPNG = try await client.send(.get, "/v1/apps/imagine/images/\(secondBody["id"]?.stringValue ?? "").png", token: harness.annToken)
            #expect(firstPNG.status == .ok)
            #expect(firstPNG.headers[.contentType] == "image/png")
            #expect(firstPNG.body == secondPNG.body)

            let third = try await client.imagine(Self.request(Prompts.unrelated), token: harness.annToken)
            #expect(third.cacheHeader == "miss")
        }
        #expect(generator.calls == 2)
    }

    @Test("Cache-Control: no-cache generates even when a cached image matches")
    func bypass() async throws {
        let generator = FakeGenerator()
        let harness = try await ImagineHarness.fake(generator: generator)
        try await harness.test { client in
            _ = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            let bypassed = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken, headers: [.cacheControl: "no-cache"])
            #expect(bypassed.status == .ok)
            #expect(bypassed.cacheHeader == "miss")
            let cached = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            #expect(cached.cacheHeader == "hit")
        }
        #expect(generator.calls == 2)
    }

    @Test("different size, steps, guidance or scheduler never match; an explicit seed matches only that seed")
    func parameterMismatch() async throws {
        let generator = FakeGenerator()
        let harness = try await ImagineHarness.fake(generator: generator)
        try await harness.test { client in
            let base = try await client.imagine(Self.request(Prompts.cat, ["seed": 7]), token: harness.annToken)
            #expect(base.cacheHeader == "miss")
            for change: [String: JSONValue] in [["width": 128], ["steps": 4], ["guidance": 3], ["scheduler": "ddim"], ["seed": 8]] {
                let response = try await client.imagine(Self.request(Prompts.catParaphrase, change), token: harness.annToken)
                #expect(response.cacheHeader == "miss", "change \(change)")
            }
            let sameSeed = try await client.imagine(Self.request(Prompts.catParaphrase, ["seed": 7]), token: harness.annToken)
            #expect(sameSeed.cacheHeader == "hit")
            // Without a seed any seed will do.
            let anySeed = try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken)
            #expect(anySeed.cacheHeader == "hit")
        }
        #expect(generator.calls == 6)
    }

    @Test("LRU eviction by count removes cache entries, never a user's records or their images")
    func eviction() async throws {
        let generator = FakeGenerator()
        let harness = try await ImagineHarness.fake(ImagineConfiguration(maxEntries: 2), generator: generator)
        try await harness.test { client in
            let cat = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken).json()
            _ = try await client.imagine(Self.request(Prompts.lighthouse), token: harness.annToken)
            // Using the cat entry makes the lighthouse the least recently used.
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken).cacheHeader == "hit")
            _ = try await client.imagine(Self.request(Prompts.unrelated), token: harness.annToken)
            let stats = try await client.send(.get, "/v1/apps/imagine/cache", token: harness.annToken).json()
            #expect(stats["entries"] == 2)
            #expect(stats["hits"] == 1)
            #expect(stats["misses"] == 3)
            #expect(stats["hit_ratio"] == 0.25)
            #expect(try await client.imagine(Self.request(Prompts.lighthouseParaphrase), token: harness.annToken).cacheHeader == "miss")
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken).cacheHeader == "miss",
                    "the cat entry was the least recently used once the lighthouse came back")
            // The user's first record keeps its picture.
            let list = try await client.send(.get, "/v1/apps/imagine/images?limit=100", token: harness.annToken).json()
            #expect(list["items"]?.arrayValue?.count == 6)
            let png = try await client.send(.get, "/v1/apps/imagine/images/\(cat["id"]?.stringValue ?? "").png", token: harness.annToken)
            #expect(png.status == .ok)
            #expect(png.headers[.contentType] == "image/png")
        }
    }

    @Test("byte limit evicts too; deleting the last record of an evicted image deletes the file")
    func bytesAndReferenceCounting() async throws {
        let harness = try await ImagineHarness.fake(ImagineConfiguration(maxBytes: 1))
        try await harness.test { client in
            let cat = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken).json()
            let id = cat["id"]?.stringValue ?? ""
            _ = try await client.imagine(Self.request(Prompts.lighthouse), token: harness.annToken)
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken).cacheHeader == "miss")
            let before = try await client.send(.get, "/v1/apps/imagine/cache", token: harness.annToken).json()
            #expect(before["entries"] == 1)
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id).png", token: harness.annToken).status == .ok)
            #expect(try await client.send(.delete, "/v1/apps/imagine/images/\(id)", token: harness.annToken).status == .noContent)
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id)", token: harness.annToken).status == .notFound)
            let after = try await client.send(.get, "/v1/apps/imagine/cache", token: harness.annToken).json()
            #expect((after["stored_images"]?.numberValue ?? 0) < (before["stored_images"]?.numberValue ?? 0))
        }
    }

    @Test("an entry older than the TTL no longer serves hits; the user's record stays")
    func ttl() async throws {
        let clock = TestClock()
        let generator = FakeGenerator()
        let harness = try await ImagineHarness.fake(ImagineConfiguration(ttl: .seconds(60)), generator: generator, clock: clock)
        try await harness.test { client in
            let first = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken).json()
            clock.advance(seconds: 30)
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken).cacheHeader == "hit")
            clock.advance(seconds: 31)
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken).cacheHeader == "miss")
            let record = try await client.send(.get, "/v1/apps/imagine/images/\(first["id"]?.stringValue ?? "")", token: harness.annToken)
            #expect(record.status == .ok)
        }
        #expect(generator.calls == 2)
    }

    @Test("concurrent misses for equivalent prompts are coalesced into one generation")
    func coalescing() async throws {
        let generator = FakeGenerator(gated: true)
        let harness = try await ImagineHarness.fake(generator: generator)
        let service = try harness.service()
        try await harness.test { client in
            let prompts = [Prompts.cat, Prompts.catParaphrase, Prompts.cat, Prompts.catParaphrase]
            let responses = try await withThrowingTaskGroup(of: (String, String?).self) { group in
                for (index, prompt) in prompts.enumerated() {
                    group.addTask {
                        let response = try await client.imagine(Self.request(prompt), token: index % 2 == 0 ? harness.annToken : harness.bobToken)
                        return (try response.json()["cache"]?.stringValue ?? response.text, response.cacheHeader)
                    }
                }
                try await eventually("one generation and three followers") {
                    let waiting = await service.coalescer.waiting
                    return generator.calls == 1 && waiting == 3
                }
                generator.openGate()
                var results: [(String, String?)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(responses.filter { $0.0 == "miss" }.count == 1)
            #expect(responses.filter { $0.0 == "hit" && $0.1 == "hit" }.count == 3)
        }
        #expect(generator.calls == 1)
    }

    @Test("colours swapped between two objects embed at >= 0.9 but the matcher's colour rule vetoes them: a miss")
    func guardVeto() async throws {
        let encoder = try TestModels.encoder()
        let red = "a black dog and a white cat"
        let blue = "a white dog and a black cat"
        let similarity = GenerationCoalescer.dot(encoder.embed(red), encoder.embed(blue))
        #expect(similarity >= 0.9, "the pair must be similar enough to hit without the guard (\(similarity))")
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            #expect(try await client.imagine(Self.request(red), token: harness.annToken).cacheHeader == "miss")
            let response = try await client.imagine(Self.request(blue), token: harness.annToken)
            #expect(response.cacheHeader == "miss")
            #expect((try response.json()["similarity"]?.numberValue ?? 0) >= 0.9)
        }
    }

    @Test("the page /imagine/ redirects to sign-in without a session")
    func page() async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            let page = try await client.send(.get, "/imagine/")
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/console/login?next=/imagine/")
            #expect(try await client.send(.get, "/imagine/static/imagine.js").status == .ok)
        }
    }

    @Test("the cache is shared across users; matched_prompt shows only the caller's own prompt")
    func sharing() async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            _ = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            let bob = try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.bobToken)
            #expect(bob.cacheHeader == "hit")
            #expect(try bob.json()["matched_prompt"] == .null)
            let ann = try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken)
            #expect(try ann.json()["matched_prompt"] == .string(Prompts.cat))
            // Bob's record is his: it lists for him, not for ann.
            let bobList = try await client.send(.get, "/v1/apps/imagine/images", token: harness.bobToken).json()
            #expect(bobList["items"]?.arrayValue?.count == 1)
            let annList = try await client.send(.get, "/v1/apps/imagine/images", token: harness.annToken).json()
            #expect(annList["items"]?.arrayValue?.count == 2)
        }
    }

    @Test("with scope per-user another user's image is never served")
    func perUserScope() async throws {
        let harness = try await ImagineHarness.fake(ImagineConfiguration(scope: .perUser))
        try await harness.test { client in
            _ = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.bobToken).cacheHeader == "miss")
            #expect(try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken).cacheHeader == "hit")
        }
    }

    @Test("hits and misses, similarity and generation time show on /metrics")
    func metrics() async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            _ = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            _ = try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken)
            var buffer = [UInt8]()
            harness.registry.emit(into: &buffer)
            let text = String(decoding: buffer, as: UTF8.self)
            #expect(text.contains("imagine_cache_hits_total 1"))
            #expect(text.contains("imagine_cache_misses_total 1"))
            #expect(text.contains("imagine_cache_similarity_count 1"), "a miss that found nothing records no similarity; the hit records one")
            #expect(text.contains("imagine_generation_seconds_count 1"))
            #expect(text.contains("imagine_step_seconds_count 3"))
            #expect(text.contains("imagine_queue_wait_seconds_count"))
        }
    }

    @Test("the console's Apps panel reports Imagine's hits, misses, hit ratio and histogram summaries")
    func consolePanel() async throws {
        let harness = try await ImagineHarness.fake()
        let adminToken = try await harness.gateway.auth.issueToken(for: "admin").token
        try await harness.test { client in
            _ = try await client.imagine(Self.request(Prompts.cat), token: harness.annToken)
            _ = try await client.imagine(Self.request(Prompts.catParaphrase), token: harness.annToken)
            let response = try await client.send(.get, "/console/api/apps", token: adminToken)
            #expect(response.status == .ok)
            guard case .array(let panels)? = try response.json()["panels"],
                  let panel = panels.first(where: { $0["app"] == .string("imagine") }),
                  case .array(let stats)? = panel["stats"], case .array(let histograms)? = panel["histograms"] else {
                Issue.record("expected an imagine panel in \(response.text)")
                return
            }
            func stat(_ label: String) -> Double? { stats.first { $0["label"] == .string(label) }?["value"]?.numberValue }
            func histogram(_ label: String) -> JSONValue? { histograms.first { $0["label"] == .string(label) } }
            #expect(stat("cache hits") == 1)
            #expect(stat("cache misses") == 1)
            #expect(stat("cache bypasses") == 0)
            #expect(stat("hit ratio") == 0.5)
            let similarity = try #require(histogram("best similarity per lookup"))
            #expect(similarity["count"]?.numberValue == 1)
            #expect(similarity["chart"] == .bool(true))
            // (This harness's factory keeps the default value buckets, so only the shape is checked here.)
            #expect(similarity["p50"]?.numberValue != nil)
            guard case .array(let buckets)? = similarity["buckets"] else {
                Issue.record("expected similarity buckets in \(response.text)")
                return
            }
            #expect(buckets.compactMap { $0["count"]?.numberValue }.reduce(0, +) == 1)
            #expect(histogram("generation")?["count"]?.numberValue == 1)
            #expect(histogram("generation")?["mean"]?.numberValue != nil)
            #expect(histogram("diffusion step")?["count"]?.numberValue == 3)
            #expect(histogram("queue wait")?["p95"]?.numberValue != nil)
        }
    }
}
