import AerieCore
import AerieTesting
import AerieDiffusion
import AerieFunctions
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Imagine

@Suite("Imagine API")
struct ImagineAPITests {
    @Test("invalid fields get 400 problem+json naming the field", arguments: [
        (#"{}"#, "/prompt"),
        (#"{"prompt": ""}"#, "/prompt"),
        (#"{"prompt": 5}"#, "/prompt"),
        ("{\"prompt\": \"\(String(repeating: "a", count: 501))\"}", "/prompt"),
        (#"{"prompt": "a cat", "width": 100}"#, "/width"),
        (#"{"prompt": "a cat", "height": 2048}"#, "/height"),
        (#"{"prompt": "a cat", "width": 56}"#, "/width"),
        (#"{"prompt": "a cat", "steps": 0}"#, "/steps"),
        (#"{"prompt": "a cat", "steps": 101}"#, "/steps"),
        (#"{"prompt": "a cat", "steps": 2.5}"#, "/steps"),
        (#"{"prompt": "a cat", "guidance": 21}"#, "/guidance"),
        (#"{"prompt": "a cat", "seed": -1}"#, "/seed"),
        (#"{"prompt": "a cat", "seed": 4294967296}"#, "/seed"),
        (#"{"prompt": "a cat", "scheduler": "karras"}"#, "/scheduler"),
        (#"{"prompt": "a cat", "negative_prompt": 3}"#, "/negative_prompt"),
        (#"{"prompt": "a cat", "sise": 3}"#, "/sise"),
    ])
    func validation(body: String, field: String) async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            let response = try await client.send(.post, "/v1/apps/imagine/images", token: harness.annToken, json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.headers[.contentType] == "application/problem+json")
            let problem = try response.json()
            #expect(problem["type"] == "/problems/invalid-argument")
            #expect(problem["errors"]?.arrayValue?.first?["pointer"] == .string(field), "\(response.text)")
            #expect(problem["detail"]?.stringValue?.contains(field.dropFirst()) == true)
        }
    }

    @Test("a user sees only their own images; credentials are required")
    func ownership() async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            let created = try await client.imagine(["prompt": .string(Prompts.cat), "steps": 2], token: harness.annToken).json()
            let id = created["id"]?.stringValue ?? ""
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id)", token: harness.annToken).status == .ok)
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id)", token: harness.bobToken).status == .notFound)
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id).png", token: harness.bobToken).status == .notFound)
            #expect(try await client.send(.delete, "/v1/apps/imagine/images/\(id)", token: harness.bobToken).status == .notFound)
            let bobList = try await client.send(.get, "/v1/apps/imagine/images", token: harness.bobToken).json()
            #expect(bobList["items"]?.arrayValue?.isEmpty == true)
            #expect(try await client.send(.get, "/v1/apps/imagine/images").status == .unauthorized)
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id)").status == .unauthorized)
            #expect(try await client.send(.get, "/v1/apps/imagine/images/\(id).png").status == .unauthorized)
            #expect(try await client.imagine(["prompt": "a cat"], token: "nonsense").status == .unauthorized)
        }
    }

    @Test("image_url works without credentials until it expires; a tampered signature or id is 403")
    func signedURL() async throws {
        let clock = TestClock()
        let harness = try await ImagineHarness.fake(ImagineConfiguration(urlLifetime: .seconds(60)), clock: clock)
        try await harness.test { client in
            let ann = try await client.imagine(["prompt": .string(Prompts.cat), "steps": 2], token: harness.annToken).json()
            let other = try await client.imagine(["prompt": .string(Prompts.unrelated), "steps": 2], token: harness.annToken).json()
            let url = try #require(ann["image_url"]?.stringValue)
            #expect(url.hasPrefix("/v1/apps/imagine/images/\(ann["id"]?.stringValue ?? "").png?expires="))
            let image = try await client.send(.get, url)
            #expect(image.status == .ok)
            #expect(Array(image.body.readableBytesView.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])

            let components = try #require(URLComponents(string: url))
            let expires = components.queryItems?.first { $0.name == "expires" }?.value ?? ""
            let signature = components.queryItems?.first { $0.name == "signature" }?.value ?? ""
            let path = components.path
            var tampered = Array(signature)
            tampered[0] = tampered[0] == "A" ? "B" : "A"
            #expect(try await client.send(.get, "\(path)?expires=\(expires)&signature=\(String(tampered))").status == .forbidden)
            #expect(try await client.send(.get, "\(path)?expires=\((Int(expires) ?? 0) + 1000)&signature=\(signature)").status == .forbidden)
            let otherId = other["id"]?.stringValue ?? ""
            let wrongImage = try await client.send(.get, "/v1/apps/imagine/images/\(otherId).png?expires=\(expires)&signature=\(signature)")
            #expect(wrongImage.status == .forbidden)
            #expect(wrongImage.headers[.contentType] == "application/problem+json")
            #expect(try await client.send(.get, "\(path)?expires=\(expires)").status == .forbidden)

            clock.advance(seconds: 61)
            #expect(try await client.send(.get, url).status == .forbidden)
            // A fresh GET gives a fresh link.
            let fresh = try await client.send(.get, "/v1/apps/imagine/images/\(ann["id"]?.stringValue ?? "")", token: harness.annToken).json()
            #expect(try await client.send(.get, fresh["image_url"]?.stringValue ?? "").status == .ok)
        }
    }

    @Test("Prefer: respond-async returns 202 and an invocation whose events report each step and the image")
    func asyncProgress() async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            let accepted = try await client.imagine(["prompt": .string(Prompts.lighthouse), "steps": 4], token: harness.annToken,
                                                    headers: [HTTPField.Name("Prefer")!: "respond-async"])
            #expect(accepted.status == .accepted, "\(accepted.text)")
            let id = try #require(try accepted.json()["id"]?.stringValue)
            #expect(accepted.headers[.location] == "/v1/invocations/\(id)")
            try await eventually("the invocation finishes") {
                let record = try await client.send(.get, "/v1/invocations/\(id)", token: harness.annToken).json()
                return ["succeeded", "failed", "cancelled", "timed_out"].contains(record["status"]?.stringValue ?? "")
            }
            let record = try await client.send(.get, "/v1/invocations/\(id)", token: harness.annToken).json()
            #expect(record["status"] == "succeeded", "\(record)")
            #expect(record["output"]?["cache"] == "miss")
            #expect(record["output"]?["prompt"] == .string(Prompts.lighthouse))
            let events = try await client.send(.get, "/v1/invocations/\(id)/events", token: harness.annToken).text
            for step in 1...4 {
                #expect(events.contains("\"step\":\(step)"), "\(events)")
            }
            #expect(events.contains("event: result"))
            // The image is the caller's like a sync one, and now a cached prompt.
            let list = try await client.send(.get, "/v1/apps/imagine/images", token: harness.annToken).json()
            #expect(list["items"]?.arrayValue?.count == 1)
            #expect(try await client.imagine(["prompt": .string(Prompts.lighthouseParaphrase), "steps": 4], token: harness.annToken).cacheHeader == "hit")
        }
    }

    @Test("an async generation can be cancelled; nothing is stored")
    func asyncCancel() async throws {
        let generator = FakeGenerator(gated: true)
        let harness = try await ImagineHarness.fake(generator: generator)
        try await harness.test { client in
            let accepted = try await client.imagine(["prompt": .string(Prompts.cat), "steps": 4], token: harness.annToken,
                                                    headers: [HTTPField.Name("Prefer")!: "respond-async"])
            let id = try #require(try accepted.json()["id"]?.stringValue)
            try await eventually("the generation starts") { generator.calls == 1 }
            let cancelled = try await client.send(.delete, "/v1/invocations/\(id)", token: harness.annToken)
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            try await eventually("the invocation ends cancelled") {
                try await client.send(.get, "/v1/invocations/\(id)", token: harness.annToken).json()["status"] == "cancelled"
            }
            let list = try await client.send(.get, "/v1/apps/imagine/images", token: harness.annToken).json()
            #expect(list["items"]?.arrayValue?.isEmpty == true)
            generator.openGate()
            #expect(try await client.imagine(["prompt": .string(Prompts.cat), "steps": 4], token: harness.annToken).cacheHeader == "miss")
        }
    }

    @Test("a full wait queue answers 429 with Retry-After")
    func backPressure() async throws {
        let generator = FakeGenerator(gated: true)
        let harness = try await ImagineHarness.fake(ImagineConfiguration(maxWaiting: 0), generator: generator)
        try await harness.test { client in
            async let first = client.imagine(["prompt": .string(Prompts.cat), "steps": 2], token: harness.annToken)
            try await eventually("the first generation runs") { generator.calls == 1 }
            let second = try await client.imagine(["prompt": .string(Prompts.unrelated), "steps": 2], token: harness.bobToken)
            #expect(second.status == .tooManyRequests, "\(second.text)")
            #expect(second.headers[.retryAfter] != nil)
            generator.openGate()
            #expect(try await first.status == .ok)
        }
    }

    @Test("the OpenAPI document lists the Imagine routes and every schema they refer to")
    func openAPI() async throws {
        let harness = try await ImagineHarness.fake()
        try await harness.test { client in
            let document = try await client.send(.get, "/openapi.json")
            let text = document.text
            #expect(text.contains("/v1/apps/imagine/images/{id}"))
            let schemas = try document.json()["components"]?["schemas"]?.objectValue ?? [:]
            let references = Set(text.components(separatedBy: "#/components/schemas/").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) })
            for name in references {
                #expect(schemas[name] != nil, "no schema \(name)")
            }
            #expect(schemas["ImagineRequest"]?["required"] == .array(["prompt"]))
        }
    }

    @Test("without its models the app starts and its routes answer 503 naming the command to run")
    func unavailable() async throws {
        let harness = try await ImagineHarness.make {
            try ImagineApp.loadModels(dataDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("imagine-missing-\(UUID().uuidString)"),
                                      threads: 1)
        }
        try await harness.test { client in
            let response = try await client.imagine(["prompt": "a cat"], token: harness.annToken)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.text.contains("make imagine-models"))
        }
    }

    @Test("the real tiny diffusion model: a miss generates a PNG of the requested size, a paraphrase hits")
    func realModel() async throws {
        let generator = try TestModels.diffusion()
        let encoder = try TestModels.encoder()
        let harness = try await ImagineHarness.make { (generator, encoder) }
        try await harness.test { client in
            let first = try await client.imagine(["prompt": .string(Prompts.cat), "steps": 2, "seed": 42, "width": 64, "height": 72],
                                                 token: harness.annToken)
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.cacheHeader == "miss")
            let body = try first.json()
            #expect(body["parameters"]?["scheduler"] == .string(generator.defaultScheduler.rawValue))
            let png = try await client.send(.get, body["image_url"]?.stringValue ?? "")
            let bytes = Array(png.body.readableBytesView)
            #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            // IHDR: width and height, big-endian, at offsets 16 and 20.
            #expect(bytes.count > 24 && Array(bytes[16..<24]) == [0, 0, 0, 64, 0, 0, 0, 72])

            let second = try await client.imagine(["prompt": .string(Prompts.catParaphrase), "steps": 2, "width": 64, "height": 72],
                                                  token: harness.annToken)
            #expect(second.cacheHeader == "hit")
            #expect(try second.json()["parameters"]?["seed"] == 42)
        }
    }
}
