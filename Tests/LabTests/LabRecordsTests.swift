import AerieCore
import AerieHTTPTesting
import AerieTesting
import Foundation
import HummingbirdTesting
import Testing

@testable import Lab

@Suite("Lab records and projections")
struct LabRecordsTests {
    static let prefix = "/v1/apps/lab"

    /// One committed experiment, one evaluated draft, one deleted draft and one patched draft of two users.
    func populate(_ client: some TestClientProtocol, _ harness: GatewayHarness) async throws -> (committed: String, draft: String) {
        let ann = harness.token("ann"), bob = harness.token("bob")
        let (committed, _) = try await client.trainAndEvaluate(["dataset": "iris", "model": "decision_tree"], token: ann)
        #expect(try await client.send(.post, "\(Self.prefix)/experiments/\(committed)/commit", token: ann).status == .ok)
        let (draft, _) = try await client.trainAndEvaluate(["dataset": "iris", "model": "naive_bayes"], token: bob)
        let deleted = try await client.train(["dataset": "iris", "model": "svm"], token: ann)
        _ = try await client.experiment(deleted, token: ann, reaching: ["trained"])
        #expect(try await client.send(.delete, "\(Self.prefix)/experiments/\(deleted)", token: ann).status == .noContent)
        let patched = try await client.train(["dataset": "iris", "model": "svm"], token: ann)
        _ = try await client.experiment(patched, token: ann, reaching: ["trained"])
        #expect(try await client.send(.patch, "\(Self.prefix)/experiments/\(patched)", token: ann, jsonValue: ["hyperparameters": ["C": 5]]).status == .accepted)
        _ = try await client.experiment(patched, token: ann, reaching: ["trained"])
        return (committed, draft)
    }


    @Test("the draft and committed stores are projections: dropped and rebuilt from the log alone, they are equal")
    func rebuild() async throws {
        let app = LabApp()
        let harness = try await LabHarness.make(app: app)
        try await harness.test { client in
            _ = try await populate(client, harness)
            let store = try app.holder.service().store
            let before = try await store.snapshot()
            #expect(before.keys.filter { $0.hasPrefix("committed:") }.count == 1)
            #expect(before.keys.filter { $0.hasPrefix("draft:") }.count == 2)
            try await store.rebuild()
            let after = try await store.snapshot()
            #expect(after == before)
            // The API reads the rebuilt stores.
            #expect(try await client.send(.get, "\(Self.prefix)/experiments", token: harness.adminToken).json()["items"]?.arrayValue?.count == 3)
        }
    }

    @Test("records on the seed's aggregators, filterable; consumers; rewind and re-emit on the running server change nothing projected")
    func recordsRewindReemit() async throws {
        let app = LabApp()
        let harness = try await LabHarness.make(app: app)
        try await harness.test { client in
            let (committed, _) = try await populate(client, harness)
            let store = try app.holder.service().store
            let before = try await store.snapshot()
            try await client.send(.get, "\(Self.prefix)/records", token: harness.token("ann")).expectProblem("forbidden", status: 403)

            for topic in ["training", "session", "sessionRecord", "sessionUpdate", "storage", "storageRecord", "evaluation", "catalog"] {
                let page = try await client.send(.get, "\(Self.prefix)/records?topic=\(topic)&limit=500", token: harness.adminToken).json()
                let items = try #require(page["items"]?.arrayValue)
                #expect(!items.isEmpty, "\(topic)")
                for item in items {
                    #expect(item["topic"] == .string(topic))
                    #expect(["send", "receive"].contains(item["message_type"]?.stringValue ?? ""))
                    #expect(["async", "sync"].contains(item["com_type"]?.stringValue ?? ""))
                    let other: String? = item["message_type"]?.stringValue == "send" ? item["destination_service"]?.stringValue : item["source_service"]?.stringValue
                    #expect(item["key"]?.stringValue == other)
                }
            }
            let queueRecords = try await client.send(.get, "\(Self.prefix)/records?topic=sessionRecord&service=training", token: harness.adminToken).json()
            let queueItems = queueRecords["items"]?.arrayValue ?? []
            #expect(!queueItems.isEmpty && queueItems.allSatisfy { $0["payload"]?.stringValue == "train_data_record" })
            let archived = try await client.send(.get, "\(Self.prefix)/records?topic=storageRecord", token: harness.adminToken).json()
            #expect(Set(archived["items"]?.arrayValue?.compactMap { $0["message_type"]?.stringValue } ?? []) == ["send", "receive"])
            // Paging: two records at a time over all topics reaches every record once.
            let all = try await client.send(.get, "\(Self.prefix)/records?limit=500&service=storage", token: harness.adminToken).json()["items"]?.arrayValue ?? []
            var paged: [JSONValue] = []
            var cursor: String?
            repeat {
                let query = "limit=2&service=storage" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.send(.get, "\(Self.prefix)/records?\(query)", token: harness.adminToken).json()
                paged += page["items"]?.arrayValue ?? []
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil && paged.count < 1000
            #expect(paged.count == all.count && !all.isEmpty)
            let future = try await client.send(.get, "\(Self.prefix)/records?since=2999-01-01T00:00:00Z", token: harness.adminToken).json()
            #expect(future["items"] == [])
            try await client.send(.get, "\(Self.prefix)/records?topic=kafka", token: harness.adminToken).expectProblem("invalid-argument", status: 400)

            let consumers = try await client.send(.get, "\(Self.prefix)/consumers", token: harness.adminToken).json()
            let projection = try #require(consumers["groups"]?.arrayValue?.first { $0["group"] == "lab-projection" && $0["topic"] == "session" })
            #expect(projection["lag"] == 0)

            // Rewind the projection to the start of session: it re-applies everything at once, and nothing changes.
            let rewound = try await client.send(.post, "\(Self.prefix)/consumers/lab-projection/rewind", token: harness.adminToken,
                                                jsonValue: ["topic": "session", "offset": 0])
            #expect(rewound.status == .ok, "\(rewound.text)")
            let rewoundBody = try rewound.json()
            #expect(rewoundBody["rewound_to"] == .number(0))
            #expect(rewoundBody["lag"] == .number(0))
            #expect(try await store.snapshot() == before)
            try await client.send(.post, "\(Self.prefix)/consumers/nobody/rewind", token: harness.adminToken, jsonValue: ["topic": "session", "offset": 0])
                .expectProblem("not-found", status: 404)
            try await client.send(.post, "\(Self.prefix)/consumers/lab-projection/rewind", token: harness.adminToken, jsonValue: ["topic": "session", "offset": 1_000_000])
                .expectProblem("unprocessable", status: 422)
            try await client.send(.post, "\(Self.prefix)/consumers/lab-projection/rewind", token: harness.adminToken, jsonValue: ["topic": "session", "offset": "0"])
                .expectProblem("invalid-argument", status: 400)

            // Re-emit the first session record (a draft's creation): appended again, the stores are unchanged, even for
            // the committed and the deleted experiments.
            let reemitted = try await client.send(.post, "\(Self.prefix)/records/session/0/reemit", token: harness.adminToken)
            #expect(reemitted.status == .created, "\(reemitted.text)")
            #expect(try reemitted.json()["reemitted_from"] == "session@0")
            #expect(try await store.snapshot() == before)
            #expect(try await client.send(.get, "\(Self.prefix)/experiments/\(committed)", token: harness.token("ann")).json()["state"] == "committed")
            try await client.send(.post, "\(Self.prefix)/records/session/999999/reemit", token: harness.adminToken).expectProblem("not-found", status: 404)
        }
    }

    @Test("every Lab route is in /openapi.json with its statuses; the events stream ends with the experiment settled")
    func documentedAndStreamed() async throws {
        let harness = try await LabHarness.make()
        try await harness.testLive { client in
            let document = try await client.send(.get, "/openapi.json").json()
            let paths = try #require(document["paths"]?.objectValue)
            let expected: [(String, String, [String])] = [
                ("/v1/apps/lab/catalog", "get", ["200", "401"]), ("/v1/apps/lab/catalog", "put", ["200", "400", "403", "422"]),
                ("/v1/apps/lab/datasets", "post", ["201", "400", "403", "409", "422"]),
                ("/v1/apps/lab/experiments", "post", ["202", "400", "401", "422"]), ("/v1/apps/lab/experiments", "get", ["200", "400"]),
                ("/v1/apps/lab/experiments/{id}", "get", ["200", "404"]), ("/v1/apps/lab/experiments/{id}", "patch", ["202", "400", "404", "409", "422"]),
                ("/v1/apps/lab/experiments/{id}", "delete", ["204", "404", "409"]), ("/v1/apps/lab/experiments/{id}/events", "get", ["200", "404"]),
                ("/v1/apps/lab/experiments/{id}/evaluate", "post", ["202", "404", "409"]), ("/v1/apps/lab/experiments/{id}/commit", "post", ["200", "404", "409"]),
                ("/v1/apps/lab/records", "get", ["200", "403"]), ("/v1/apps/lab/consumers", "get", ["200", "403"]),
                ("/v1/apps/lab/consumers/{group}/rewind", "post", ["200", "400", "404", "422"]),
                ("/v1/apps/lab/records/{topic}/{offset}/reemit", "post", ["201", "404"]),
            ]
            for (path, method, statuses) in expected {
                let responses = paths[path]?[method]?["responses"]
                #expect(responses != nil, "\(method) \(path)")
                for status in statuses { #expect(responses?[status] != nil, "\(method) \(path) \(status)") }
            }
            let schemas = document["components"]?["schemas"]
            #expect(schemas?["LabExperiment"] != nil)
            #expect(schemas?["LabCatalog"] != nil)

            let id = try await client.train(["dataset": "iris", "model": "svm"], token: harness.token("ann"))
            let stream = try await client.send(.get, "\(Self.prefix)/experiments/\(id)/events", token: harness.token("ann"))
            #expect(stream.status == .ok)
            #expect(stream.headers[.contentType] == "text/event-stream")
            let events = stream.text.components(separatedBy: "\n\n").filter { $0.contains("event: experiment") }
            #expect(!events.isEmpty)
            let last = try #require(events.last?.components(separatedBy: "\n").first { $0.hasPrefix("data: ") })
            let body = try JSONValue.parse(Data(last.dropFirst(6).utf8))
            #expect(body["status"] == .string("trained"))
            #expect(body["id"] == .string(id))
            #expect(stream.text.hasSuffix("event: end\ndata: {}\n\n"))
        }
    }

    @Test("a dataset registered from a CSV in the object store joins the catalog and trains")
    func registerDataset() async throws {
        let harness = try await LabHarness.make()
        try await harness.primitives.objects.ensureBucket("uploads")
        var csv = "x,y,colour\n"
        for index in 0..<60 { csv += "\(index % 10),\(index / 10),\(index % 10 < 5 ? "red" : "blue")\n" }
        _ = try await harness.primitives.objects.put(bucket: "uploads", key: "points.csv", data: Data(csv.utf8))
        try await harness.test { client in
            let request: JSONValue = ["name": "points", "task": "classification", "bucket": "uploads", "key": "points.csv", "label": "colour"]
            try await client.send(.post, "\(Self.prefix)/datasets", token: harness.token("ann"), jsonValue: request).expectProblem("forbidden", status: 403)
            let missing = try await client.send(.post, "\(Self.prefix)/datasets", token: harness.adminToken,
                                                jsonValue: ["name": "nope", "task": "classification", "bucket": "uploads", "key": "none.csv", "label": "colour"])
            try missing.expectProblem("unprocessable", status: 422)
            let created = try await client.send(.post, "\(Self.prefix)/datasets", token: harness.adminToken, jsonValue: request)
            #expect(created.status == .created, "\(created.text)")
            let createdBody = try created.json()
            #expect(createdBody["features"] == .array([.string("x"), .string("y")]))
            #expect(createdBody["records"] == .number(60))
            try await client.send(.post, "\(Self.prefix)/datasets", token: harness.adminToken, jsonValue: request).expectProblem("already-exists", status: 409)
            let catalog = try await client.send(.get, "\(Self.prefix)/catalog", token: harness.token("ann")).json()
            #expect(catalog["version"] == .number(2))
            #expect(catalog["datasets"]?.arrayValue?.contains { $0["name"]?.stringValue == "points" } == true)
            let (_, evaluated) = try await client.trainAndEvaluate(["dataset": "points", "model": "decision_tree"], token: harness.token("ann"))
            #expect(evaluated["metrics"]?["accuracy"] == 1)
        }
    }
}
