import AerieCore
import AerieHTTPTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import AerieHTTP

@Suite("Vectors over HTTP")
struct VectorRoutesTests {
    @Test("Collections: create (201), same again (200), different (409), describe, list, drop")
    func collections() async throws {
        try await withGateway { client, harness in
            let token = harness.adminToken
            let created = try await client.send(.put, "/v1/vectors/photos", token: token, json: #"{"dimensions": 3, "metric": "euclidean"}"#)
            #expect(created.status == .created, "\(created.text)")
            #expect(try created.json() == ["name": "photos", "dimensions": 3, "metric": "euclidean", "count": 0])
            let again = try await client.send(.put, "/v1/vectors/photos", token: token, json: #"{"dimensions": 3, "metric": "euclidean"}"#)
            #expect(again.status == .ok)
            try await client.send(.put, "/v1/vectors/photos", token: token, json: #"{"dimensions": 4, "metric": "euclidean"}"#)
                .expectProblem("conflict", status: 409)
            try await client.send(.put, "/v1/vectors/photos", token: token, json: #"{"dimensions": 3, "metric": "manhattan"}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.put, "/v1/vectors/Bad..Name", token: token, json: #"{"dimensions": 3}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.put, "/v1/vectors/zero", token: token, json: #"{"dimensions": 0}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.put, "/v1/vectors/text", token: token, json: #"{"dimensions": "three"}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.put, "/v1/vectors/text", token: token, json: #"{"dimensions": 3"#)
                .expectProblem("invalid-argument", status: 400)
            let cosine = try await client.send(.put, "/v1/vectors/notes", token: token, json: #"{"dimensions": 2}"#)
            #expect(try cosine.json()["metric"] == "cosine")

            let listed = try await client.send(.get, "/v1/vectors", token: token).json()
            #expect(listed["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["notes", "photos"])
            #expect(try await client.send(.get, "/v1/vectors/photos", token: token).json()["dimensions"] == 3)
            #expect(try await client.send(.delete, "/v1/vectors/photos", token: token).status == .noContent)
            try await client.send(.get, "/v1/vectors/photos", token: token).expectProblem("not-found", status: 404)
            try await client.send(.delete, "/v1/vectors/photos", token: token).expectProblem("not-found", status: 404)
        }
    }

    @Test("Items: put, get, query with filters and exact, delete; a wrong length is 422")
    func items() async throws {
        try await withGateway { client, harness in
            let token = harness.adminToken
            _ = try await client.send(.put, "/v1/vectors/docs", token: token, json: #"{"dimensions": 2, "metric": "dot"}"#)
            let items: [(String, String)] = [
                ("a", #"{"vector": [1, 0], "metadata": {"kind": "x", "year": 2001}}"#),
                ("b", #"{"vector": [0.9, 0.1], "metadata": {"kind": "y", "year": 2005, "public": true}}"#),
                ("c", #"{"vector": [0, 1], "metadata": {"kind": "y", "year": 2010}}"#),
            ]
            for (id, body) in items {
                let stored = try await client.send(.put, "/v1/vectors/docs/items/\(id)", token: token, json: body)
                #expect(stored.status == .ok, "\(stored.text)")
            }
            let a = try await client.send(.get, "/v1/vectors/docs/items/a", token: token).json()
            #expect(a == ["id": "a", "vector": [1, 0], "metadata": ["kind": "x", "year": 2001]])

            func query(_ body: String) async throws -> [String] {
                let response = try await client.send(.post, "/v1/vectors/docs/query", token: token, json: body)
                #expect(response.status == .ok, "\(response.text)")
                return try response.json()["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            }
            #expect(try await query(#"{"vector": [1, 0], "k": 3}"#) == ["a", "b", "c"])
            #expect(try await query(#"{"vector": [1, 0], "k": 1}"#) == ["a"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"kind": "y"}}"#) == ["b", "c"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"kind": {"$in": ["x", "z"]}}}"#) == ["a"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"year": {"$gte": 2005, "$lte": 2010}}, "exact": true}"#) == ["b", "c"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"year": {"$gt": 2005}}}"#) == ["c"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"public": {"$exists": true}}}"#) == ["b"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"public": true}}"#) == ["b"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"$or": [{"kind": "x"}, {"year": 2010}]}}"#) == ["a", "c"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"$not": {"kind": "y"}}}"#) == ["a"])
            #expect(try await query(#"{"vector": [1, 0], "filter": {"$and": [{"kind": "y"}, {"year": {"$lt": 2010}}]}}"#) == ["b"])
            let scored = try await client.send(.post, "/v1/vectors/docs/query", token: token, json: #"{"vector": [2, 0], "k": 1}"#).json()
            #expect(scored["items"]?.arrayValue?.first?["score"] == 2)

            let wrong = try await client.send(.put, "/v1/vectors/docs/items/d", token: token, json: #"{"vector": [1, 2, 3]}"#)
            try wrong.expectProblem("unprocessable", status: 422)
            try await client.send(.post, "/v1/vectors/docs/query", token: token, json: #"{"vector": [1]}"#)
                .expectProblem("unprocessable", status: 422)
            try await client.send(.post, "/v1/vectors/docs/query", token: token, json: #"{"vector": [1, 0], "filter": {"kind": {"$near": 1}}}"#)
                .expectProblem("invalid-argument", status: 400)
            let nested = try await client.send(.put, "/v1/vectors/docs/items/e", token: token, json: #"{"vector": [1, 0], "metadata": {"tags": ["a"]}}"#)
            try nested.expectProblem("invalid-argument", status: 400)
            #expect(try nested.problemField() == "/metadata/tags")
            try await client.send(.put, "/v1/vectors/docs/items/f", token: token, json: #"{"vector": ["x", 0]}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.put, "/v1/vectors/absent/items/a", token: token, json: #"{"vector": [1, 0]}"#)
                .expectProblem("not-found", status: 404)

            #expect(try await client.send(.delete, "/v1/vectors/docs/items/a", token: token).status == .noContent)
            try await client.send(.get, "/v1/vectors/docs/items/a", token: token).expectProblem("not-found", status: 404)
            try await client.send(.delete, "/v1/vectors/docs/items/a", token: token).expectProblem("not-found", status: 404)
            #expect(try await client.send(.get, "/v1/vectors/docs", token: token).json()["count"] == 2)
        }
    }

    @Test("Admins and keys with scope vectors only: users get 403, anonymous callers 401")
    func access() async throws {
        try await withGateway { client, harness in
            try await client.send(.get, "/v1/vectors").expectProblem("unauthenticated", status: 401)
            try await client.send(.get, "/v1/vectors", token: harness.userToken).expectProblem("forbidden", status: 403)
            try await client.send(.put, "/v1/vectors/mine", token: harness.userToken, json: #"{"dimensions": 2}"#)
                .expectProblem("forbidden", status: 403)
            let vectorsKey = try await harness.auth.createKey(name: "v", owner: "ann", scopes: ["vectors"]).key
            #expect(try await client.send(.put, "/v1/vectors/mine", token: vectorsKey, json: #"{"dimensions": 2}"#).status == .created)
            let tablesKey = try await harness.auth.createKey(name: "t", owner: "ann", scopes: ["tables"]).key
            try await client.send(.get, "/v1/vectors/mine", token: tablesKey).expectProblem("forbidden", status: 403)
        }
    }

    @Test("The OpenAPI document lists every vector route with its statuses and existing schemas")
    func openAPI() async throws {
        try await withGateway { client, _ in
            let document = try await client.send(.get, "/openapi.json").json()
            let paths = try #require(document["paths"])
            let schemas = try #require(document["components"]?["schemas"]?.objectValue)
            let create = try #require(paths["/v1/vectors/{collection}"]?["put"]?["responses"]?.objectValue)
            for status in ["200", "201", "400", "401", "403", "409", "413", "415"] {
                #expect(create[status] != nil, "PUT /v1/vectors/{collection} lacks \(status)")
            }
            #expect(paths["/v1/vectors/{collection}/items/{id}"]?["put"]?["responses"]?["422"] != nil)
            #expect(paths["/v1/vectors/{collection}/query"]?["post"]?["responses"]?["422"] != nil)
            // Every $ref anywhere in the document names a schema that exists.
            func refs(_ value: JSONValue) -> [String] {
                switch value {
                case .object(let fields):
                    return (fields["$ref"]?.stringValue.map { [$0] } ?? []) + fields.values.flatMap(refs)
                case .array(let items): return items.flatMap(refs)
                default: return []
                }
            }
            for ref in refs(document) {
                let name = String(ref.dropFirst("#/components/schemas/".count))
                #expect(schemas[name] != nil, "\(ref) is referenced but not defined")
            }
        }
    }
}
