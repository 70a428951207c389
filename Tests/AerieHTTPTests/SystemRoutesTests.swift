import AerieCore
import AerieHTTPTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AerieHTTP

@Suite("Health, metrics, OpenAPI, JSON logs")
struct SystemRoutesTests {
    @Test("GET /health answers ok without credentials")
    func health() async throws {
        try await withGateway { client, _ in
            let response = try await client.send(.get, "/health")
            #expect(response.status == .ok)
            #expect(try response.json() == .object(["status": "ok"]))
        }
    }

    @Test("GET /metrics exposes request counts per route pattern and queue depth gauges")
    func metrics() async throws {
        try await withGateway { client, harness in
            try await harness.primitives.queues.createQueue(QueueConfiguration(name: "jobs"))
            try await harness.primitives.queues.send(queue: "jobs", body: Data("{}".utf8))
            _ = try await client.send(.get, "/v1/buckets/photos/objects/x", token: harness.adminToken)
            _ = try await client.send(.get, "/health")
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            let text = response.text
            #expect(text.contains("aerie_http_requests_total"))
            #expect(text.contains(#"route="/health""#))
            #expect(text.contains(#"route="/v1/buckets/{bucket}/objects/**""#))
            #expect(text.contains(#"status="404""#))
            #expect(text.contains("aerie_http_request_duration_seconds_bucket"))
            #expect(text.contains(#"aerie_queue_messages_count{queue="jobs",state="visible"} 1"#))
        }
    }

    @Test("The OpenAPI document lists exactly the routes the router has")
    func openAPICompleteness() async throws {
        let harness = try await GatewayHarness.make()
        let router = harness.gateway.makeRouter()
        let registered = Set(router.routes.map { "\($0.method.rawValue.uppercased()) \(GatewayRoute.openAPIPath($0.path.description))" })
        let document = try await harness.test { client in try await client.send(.get, "/openapi.json").json() }
        #expect(document["openapi"] == "3.1.0")
        var documented = Set<String>()
        let paths = try #require(document["paths"]?.objectValue)
        for (path, operations) in paths {
            for (method, operation) in operations.objectValue ?? [:] {
                documented.insert("\(method.uppercased()) \(path)")
                #expect(operation["summary"]?.stringValue?.isEmpty == false, "\(method) \(path) has no summary")
                #expect(operation["responses"] != nil)
            }
        }
        #expect(!registered.isEmpty)
        #expect(registered.subtracting(documented).isEmpty, "routes missing from the document: \(registered.subtracting(documented))")
        #expect(documented.subtracting(registered).isEmpty, "documented routes the router lacks: \(documented.subtracting(registered))")
        // Every schema reference resolves.
        let schemas = try #require(document["components"]?["schemas"]?.objectValue)
        let text = String(decoding: document.encoded(), as: UTF8.self)
        let refs = text.components(separatedBy: "#/components/schemas/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(!refs.isEmpty)
        for ref in refs { #expect(schemas[ref] != nil, "dangling $ref \(ref)") }
    }

    @Test("Every log line of a request carries its request id")
    func requestIdInLogs() async throws {
        let lines = LockedLines()
        let logger = Logger(label: "aerie") { label in JSONLogHandler(label: label) { lines.append($0) } }
        let harness = try await GatewayHarness.make(logger: logger)
        let response = try await harness.test { client in
            try await client.send(.get, "/v1/buckets/none/objects/x", token: harness.adminToken, headers: [.requestId: "trace-42"])
        }
        #expect(response.headers[.requestId] == "trace-42")
        let records = try lines.all.map { try JSONValue.parse(Data($0.utf8)) }
        let access = try #require(records.first { $0["message"] == "request" && $0["request_id"] == "trace-42" })
        #expect(access["status"] == "404")
        #expect(access["method"] == "GET")
        #expect(access["route"] == "/v1/buckets/{bucket}/objects/**")
        #expect(access["user"] == "admin")
        for record in records where record["path"] != nil {
            #expect(record["request_id"] != nil, "a request log line without request_id: \(record)")
        }
    }

    @Test("JSONLogHandler writes one JSON object per line with the metadata")
    func jsonLogs() throws {
        let lines = LockedLines()
        var logger = Logger(label: "aerie") { label in JSONLogHandler(label: label) { lines.append($0) } }
        logger[metadataKey: "request_id"] = "r-1"
        logger.info("hello", metadata: ["status": .stringConvertible(200)])
        let written = lines.all
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try JSONValue.parse(Data(line.utf8))
        #expect(object["message"] == "hello")
        #expect(object["level"] == "info")
        #expect(object["request_id"] == "r-1")
        #expect(object["status"] == "200")
        #expect(object["time"]?.stringValue?.hasSuffix("Z") == true)
    }
}

/// Collects log lines across threads.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
