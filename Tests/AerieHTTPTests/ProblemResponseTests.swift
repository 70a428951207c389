import AerieCore
import AerieHTTPTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AerieHTTP

@Suite("Problem responses, request ids, body limits")
struct ProblemResponseTests {
    @Test("An unknown route is a 404 problem naming the path")
    func unknownRoute() async throws {
        try await withGateway { client, _ in
            let response = try await client.send(.get, "/v1/nothing-here")
            try response.expectProblem("not-found", status: 404)
            #expect(try response.json()["instance"] == "/v1/nothing-here")
        }
    }

    @Test("A known path with the wrong method is a 405 problem with Allow")
    func wrongMethod() async throws {
        try await withGateway { client, harness in
            let response = try await client.send(.patch, "/v1/users", token: harness.adminToken)
            try response.expectProblem("method-not-allowed", status: 405)
            let allow = try #require(response.headers[.allow])
            #expect(allow.contains("GET") && allow.contains("POST"))
            let objectPath = try await client.send(.post, "/v1/buckets/photos/objects/a/b.jpg", token: harness.adminToken)
            try objectPath.expectProblem("method-not-allowed", status: 405)
        }
    }

    @Test("Malformed JSON is a 400 problem")
    func malformedJSON() async throws {
        try await withGateway { client, _ in
            let response = try await client.send(.post, "/v1/auth/login", json: #"{"username": "admin", "#)
            try response.expectProblem("invalid-argument", status: 400)
        }
    }

    @Test("A field of the wrong type is a 400 problem whose errors name the field")
    func wrongType() async throws {
        try await withGateway { client, _ in
            let response = try await client.send(.post, "/v1/auth/login", json: #"{"username": 42, "password": "x"}"#)
            try response.expectProblem("invalid-argument", status: 400)
            let errors = try #require(try response.json()["errors"]?.arrayValue)
            #expect(errors.first?["pointer"] == "/username")
            #expect(errors.first?["detail"]?.stringValue?.contains("string") == true)
            let missing = try await client.send(.post, "/v1/auth/login", json: #"{"username": "admin"}"#)
            try missing.expectProblem("invalid-argument", status: 400)
            #expect(try missing.json()["errors"]?.arrayValue?.first?["pointer"] == "/password")
        }
    }

    @Test("A JSON route with a non-JSON Content-Type is a 415 problem")
    func unsupportedMediaType() async throws {
        try await withGateway { client, _ in
            let response = try await client.send(.post, "/v1/auth/login", json: #"{"username": "a", "password": "b"}"#,
                                                 headers: [.contentType: "text/plain"])
            try response.expectProblem("unsupported-media-type", status: 415)
        }
    }

    @Test("A JSON body over the limit is a 413 problem")
    func oversizeJSON() async throws {
        try await withGateway({ $0.maxJSONBodySize = 100 }) { client, _ in
            let big = #"{"username": "\#(String(repeating: "a", count: 500))", "password": "x"}"#
            let response = try await client.send(.post, "/v1/auth/login", json: big)
            try response.expectProblem("too-large", status: 413)
        }
    }

    @Test("Every response carries X-Request-Id; a sane incoming one is kept, an odd one replaced")
    func requestIds() async throws {
        try await withGateway { client, _ in
            let fresh = try await client.send(.get, "/health")
            let generated = try #require(fresh.headers[.requestId])
            #expect(!generated.isEmpty)
            let next = try #require(try await client.send(.get, "/health").headers[.requestId])
            #expect(next != generated)
            #expect(RequestObservationMiddleware.isSane(generated) && RequestObservationMiddleware.isSane(next))
            let kept = try await client.send(.get, "/health", headers: [.requestId: "abc-123"])
            #expect(kept.headers[.requestId] == "abc-123")
            let odd = try await client.send(.get, "/nothing", headers: [.requestId: "bad id with spaces <>"])
            #expect(odd.headers[.requestId] != "bad id with spaces <>")
            #expect(try odd.json()["request_id"]?.stringValue == odd.headers[.requestId])
        }
    }

    @Test("AerieError codes map to their statuses")
    func codeMapping() {
        let expected: [(AerieError.Code, Int)] = [
            (.invalidArgument, 400), (.unauthenticated, 401), (.forbidden, 403), (.notFound, 404), (.alreadyExists, 409),
            (.conflict, 409), (.conditionFailed, 412), (.tooLarge, 413), (.rateLimited, 429), (.functionFailed, 502),
            (.unavailable, 503), (.timedOut, 504), (.insufficientStorage, 507), (.internal, 500),
        ]
        for (code, status) in expected {
            #expect(ProblemType.forCode(code).status == status, "\(code)")
        }
        #expect(HTTPProblem(AerieError(.rateLimited, "full")).headers[.retryAfter] != nil)
        #expect(ProblemType.forStatus(409) == .conflict)
    }

    @Test("docs/problems.md lists every problem type with its status")
    func publishedList() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/problems.md"), encoding: .utf8)
        for type in ProblemType.all {
            #expect(text.contains("| `\(type.slug)` | \(type.status) |"), "\(type.slug) missing from docs/problems.md")
        }
    }
}
