import AerieAuth
import AerieCore
import AerieHTTPTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AerieHTTP

@Suite("Queues, tables and topics over HTTP")
struct DataPlaneRoutesTests {
    @Test("Queues: create, send, receive, ack, nack to dead letters, redrive, stats, delete")
    func queues() async throws {
        try await withGateway { client, harness in
            let token = harness.adminToken
            let created = try await client.send(.post, "/v1/queues", token: token, json: #"{"name": "jobs", "max_attempts": 1, "visibility_timeout": 30}"#)
            #expect(created.status == .created)
            #expect(try created.json()["max_attempts"] == .number(1))
            try await client.send(.post, "/v1/queues", token: token, json: #"{"name": "jobs", "max_attempts": "one"}"#)
                .expectProblem("invalid-argument", status: 400)

            let sent = try await client.send(.post, "/v1/queues/jobs/messages", token: token,
                                             json: #"{"messages": [{"body": {"n": 1}}, {"body": "two"}]}"#)
            #expect(sent.status == .created)
            #expect(try sent.json()["ids"]?.arrayValue?.count == 2)

            let listed = try await client.send(.get, "/v1/queues", token: token).json()
            #expect(listed["items"]?.arrayValue?.first?["stats"]?["visible"] == .number(2))

            let received = try await client.send(.post, "/v1/queues/jobs/receive", token: token, json: #"{"max": 2}"#).json()
            let messages = try #require(received["items"]?.arrayValue)
            #expect(messages.count == 2)
            #expect(messages[0]["body"] == .object(["n": 1]))
            #expect(messages[1]["body"] == "two")
            let first = try #require(messages[0]["receipt"]?.stringValue)
            let second = try #require(messages[1]["receipt"]?.stringValue)
            #expect(try await client.send(.post, "/v1/queues/jobs/ack", token: token, json: #"{"receipt": "\#(first)"}"#).status == .noContent)
            try await client.send(.post, "/v1/queues/jobs/ack", token: token, json: #"{"receipt": "\#(first)"}"#).expectProblem("not-found", status: 404)
            #expect(try await client.send(.post, "/v1/queues/jobs/nack", token: token, json: #"{"receipt": "\#(second)", "error": "boom"}"#).status == .noContent)

            let dead = try await client.send(.get, "/v1/queues/jobs/dead-letters", token: token).json()
            #expect(dead["items"]?.arrayValue?.first?["last_error"] == "boom")
            let one = try await client.send(.get, "/v1/queues/jobs", token: token).json()
            #expect(one["name"] == "jobs" && one["stats"]?["in_flight"] == .number(0) && one["stats"]?["dead_letters"] == .number(1))
            try await client.send(.get, "/v1/queues/nope", token: token).expectProblem("not-found", status: 404)
            let redriven = try await client.send(.post, "/v1/queues/jobs/redrive", token: token, json: "{}").json()
            #expect(redriven["redriven"] == .number(1))
            #expect(try await client.send(.delete, "/v1/queues/jobs", token: token).status == .noContent)
            try await client.send(.delete, "/v1/queues/jobs", token: token).expectProblem("not-found", status: 404)
            try await client.send(.post, "/v1/queues/nope/receive", token: token, json: "{}").expectProblem("not-found", status: 404)
        }
    }

    @Test("A key with the queues scope may use queues, a plain user may not")
    func queueScopes() async throws {
        try await withGateway { client, harness in
            let created = try await harness.gateway.auth.createKey(name: "worker", owner: "ann", scopes: [APIKeyScope.queues])
            #expect(try await client.send(.post, "/v1/queues", token: created.key, json: #"{"name": "q1"}"#).status == .created)
            try await client.send(.post, "/v1/queues", token: harness.userToken, json: #"{"name": "q2"}"#).expectProblem("forbidden", status: 403)
            try await client.send(.post, "/v1/tables", token: created.key, json: #"{"name": "t", "partition_key": "id"}"#)
                .expectProblem("forbidden", status: 403)
        }
    }

    @Test("Tables: create, conditional put (412), get by key, query, delete")
    func tables() async throws {
        try await withGateway { client, harness in
            let token = harness.adminToken
            let created = try await client.send(.post, "/v1/tables", token: token,
                                                json: #"{"name": "notes", "partition_key": "user", "sort_key": "id"}"#)
            #expect(created.status == .created)
            try await client.send(.post, "/v1/tables", token: token, json: #"{"name": "bad name!", "partition_key": "id"}"#)
                .expectProblem("invalid-argument", status: 400)
            let listed = try await client.send(.get, "/v1/tables", token: token).json()
            #expect(listed["items"]?.arrayValue?.contains { $0["name"] == "notes" } == true)

            let put = try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"{"user": "ann", "id": 1, "text": "hi"}"#,
                                            headers: [.ifNoneMatch: "*"])
            #expect(put.status == .ok)
            #expect(try put.json()["version"] == .number(1))
            try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"{"user": "ann", "id": 1, "text": "again"}"#,
                                  headers: [.ifNoneMatch: "*"]).expectProblem("condition-failed", status: 412)
            try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"{"user": "ann", "id": 1, "text": "v"}"#,
                                  headers: [.ifMatch: "7"]).expectProblem("condition-failed", status: 412)
            let updated = try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"{"user": "ann", "id": 1, "text": "v2"}"#,
                                                headers: [.ifMatch: "\"1\""])
            #expect(try updated.json()["version"] == .number(2))
            _ = try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"{"user": "ann", "id": 2, "text": "second"}"#)
            try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"{"id": 3}"#).expectProblem("invalid-argument", status: 400)
            try await client.send(.put, "/v1/tables/notes/items", token: token, json: #"[1, 2]"#).expectProblem("invalid-argument", status: 400)

            let got = try await client.send(.get, "/v1/tables/notes/items/ann/1", token: token)
            #expect(try got.json()["item"]?["text"] == "v2")
            try await client.send(.get, "/v1/tables/notes/items/ann/9", token: token).expectProblem("not-found", status: 404)
            try await client.send(.get, "/v1/tables/notes/items/ann", token: token).expectProblem("invalid-argument", status: 400)

            let query = try await client.send(.post, "/v1/tables/notes/query", token: token,
                                              json: #"{"partition": "ann", "sort": {"op": "ge", "value": 2}}"#).json()
            #expect(query["items"]?.arrayValue?.compactMap { $0["item"]?["text"]?.stringValue } == ["second"])
            try await client.send(.post, "/v1/tables/notes/query", token: token, json: #"{"partition": "ann", "sort": {"op": "near", "value": 1}}"#)
                .expectProblem("invalid-argument", status: 400)

            #expect(try await client.send(.delete, "/v1/tables/notes/items/ann/1", token: token).status == .noContent)
            try await client.send(.get, "/v1/tables/notes/items/ann/1", token: token).expectProblem("not-found", status: 404)
            try await client.send(.get, "/v1/tables/nope/items/x", token: token).expectProblem("not-found", status: 404)
        }
    }

    @Test("The platform's own tables (users, keys, sessions) are out of reach of the tables API, even for admins and tables keys")
    func reservedTables() async throws {
        try await withGateway { client, harness in
            let key = try await harness.gateway.auth.createKey(name: "data", owner: "ann", scopes: [APIKeyScope.tables]).key
            for token in [harness.adminToken, key] {
                try await client.send(.get, "/v1/tables/aerie_users/items/admin", token: token).expectProblem("forbidden", status: 403)
                try await client.send(.put, "/v1/tables/aerie_users/items", token: token,
                                      json: #"{"username": "ann", "role": "admin", "kind": "user"}"#).expectProblem("forbidden", status: 403)
                try await client.send(.post, "/v1/tables/aerie_api_keys/query", token: token,
                                      json: #"{"index": "by_kind", "partition": "key"}"#).expectProblem("forbidden", status: 403)
                try await client.send(.delete, "/v1/tables/aerie_sessions/items/x", token: token).expectProblem("forbidden", status: 403)
                try await client.send(.post, "/v1/tables", token: token, json: #"{"name": "aerie_mine", "partition_key": "id"}"#)
                    .expectProblem("forbidden", status: 403)
                let names = try await client.send(.get, "/v1/tables", token: token).json()["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                #expect(!names.contains { $0.hasPrefix("aerie_") })
            }
            // Ann is still a plain user.
            #expect(try await harness.gateway.auth.user("ann")?.role == .user)
        }
    }

    @Test("Topics: append, read from an offset, list, consumer offsets")
    func topics() async throws {
        try await withGateway { client, harness in
            let token = harness.adminToken
            let appended = try await client.send(.post, "/v1/topics/orders/events", token: token,
                                                 json: #"{"events": [{"key": "o1", "payload": {"total": 5}}, {"payload": "x"}]}"#)
            #expect(appended.status == .created)
            #expect(try appended.json()["offsets"] == .array([0, 1]))
            let read = try await client.send(.get, "/v1/topics/orders/events?from=1", token: token).json()
            #expect(read["items"]?.arrayValue?.first?["payload"] == "x")
            #expect(read["items"]?.arrayValue?.first?["offset"] == .number(1))
            let page = try await client.send(.get, "/v1/topics/orders/events?limit=1", token: token).json()
            #expect(page["next_cursor"] == "1")
            // The platform's topics are read-only here: an append would fire triggers or change every node's vectors.
            for topic in ["aerie.objects", "aerie.vectors"] {
                try await client.send(.post, "/v1/topics/\(topic)/events", token: token, json: #"{"events": [{"payload": {}}]}"#)
                    .expectProblem("forbidden", status: 403)
            }
            // Reading them, or moving their consumer groups (the triggers), is for admins: a key with only the topics
            // scope would otherwise see every user's object events and vectors, and other functions' keys.
            let scoped = try await harness.gateway.auth.createKey(name: "reader", owner: "ann", scopes: [APIKeyScope.topics]).key
            #expect(try await client.send(.put, "/v1/buckets/platform-topic", token: token).status == .created)
            #expect(try await client.send(.put, "/v1/buckets/platform-topic/objects/a.txt", token: token, body: Data("a".utf8)).status == .created)
            #expect(try await client.send(.get, "/v1/topics/aerie.objects/events", token: token).status == .ok)
            try await client.send(.get, "/v1/topics/aerie.objects/events", token: scoped).expectProblem("forbidden", status: 403)
            try await client.send(.get, "/v1/topics/aerie.objects/consumers/fn.x", token: scoped).expectProblem("forbidden", status: 403)
            try await client.send(.put, "/v1/topics/aerie.objects/consumers/fn.x", token: scoped, json: #"{"offset": 0}"#)
                .expectProblem("forbidden", status: 403)
            #expect(try await client.send(.get, "/v1/topics/orders/events", token: scoped).status == .ok)
            let topics = try await client.send(.get, "/v1/topics", token: token).json()
            #expect(topics["items"]?.arrayValue?.contains { $0["name"] == "orders" && $0["next_offset"] == .number(2) } == true)

            try await client.send(.get, "/v1/topics/orders/consumers/billing", token: token).expectProblem("not-found", status: 404)
            let committed = try await client.send(.put, "/v1/topics/orders/consumers/billing", token: token, json: #"{"offset": 2}"#)
            #expect(committed.status == .ok)
            #expect(try await client.send(.get, "/v1/topics/orders/consumers/billing", token: token).json()["offset"] == .number(2))
            try await client.send(.put, "/v1/topics/orders/consumers/billing", token: token, json: #"{"offset": "two"}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.get, "/v1/topics/unknown/events", token: token).expectProblem("not-found", status: 404)
        }
    }
}
