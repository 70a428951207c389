import AerieCore
import AerieFunctions
import AerieHTTP
import AerieTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Pipeline
import Prometheus
import Testing

/// A gateway with the Pipeline app on in-memory primitives, an admin (`admin`) and two users (`ann`, `bob`).
struct PipelineHarness {
    let gateway: AerieGateway
    let primitives: Primitives
    let runtime: FunctionRuntime
    let adminToken: String
    let annToken: String
    let bobToken: String

    static func make(limits: PipelineLimits = PipelineLimits()) async throws -> PipelineHarness {
        var logger = Logger(label: "pipeline-test")
        logger.logLevel = .error
        let primitives = Primitives.memory()
        let runtime = FunctionRuntime(primitives: primitives, configuration: RuntimeConfiguration(
            pollInterval: .milliseconds(10), sweepInterval: .milliseconds(50), groupCommitInterval: .milliseconds(5)), logger: logger)
        let app = PipelineApp(limits: limits)
        try await app.setUp(primitives: primitives, runtime: runtime, logger: logger)
        let configuration = GatewayConfiguration(maxBodySize: 1 << 20, maxJSONBodySize: 64 * 1024, rateLimit: nil,
                                                 adminPassword: "admin-password", bcryptCost: 4)
        let gateway = try await AerieGateway.build(primitives: primitives, runtime: runtime, configuration: configuration,
                                                   registry: PrometheusCollectorRegistry(), apps: [app], logger: logger)
        _ = try await gateway.auth.createUser("ann", password: "ann-password", role: .user)
        _ = try await gateway.auth.createUser("bob", password: "bob-password", role: .user)
        return PipelineHarness(
            gateway: gateway, primitives: primitives, runtime: runtime,
            adminToken: try await gateway.auth.issueToken(for: "admin").token,
            annToken: try await gateway.auth.issueToken(for: "ann").token,
            bobToken: try await gateway.auth.issueToken(for: "bob").token)
    }

    func test<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await gateway.makeApplication(services: [runtime]).test(.router) { client in try await test(client) }
    }
}

enum Fixture {
    static func text(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try String(contentsOf: url, encoding: .utf8)
    }
}

extension TestClientProtocol {
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String?, json: String? = nil, body: Data? = nil,
              contentType: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var payload: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            payload = ByteBuffer(string: json)
        }
        if let body {
            headers[.contentType] = contentType ?? "text/csv"
            payload = ByteBuffer(bytes: body)
        }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: payload)
    }

    /// Uploads CSV text as the body of `POST /v1/apps/pipeline/datasets?<query>`.
    func upload(_ csv: String, query: String, token: String?) async throws -> TestResponse {
        try await send(.post, "/v1/apps/pipeline/datasets?\(query)", token: token, body: Data(csv.utf8))
    }

    /// Polls the dataset until its latest version is ready or failed, and returns it.
    func finished(_ name: String, token: String, version: Int? = nil) async throws -> JSONValue {
        var last = JSONValue.null
        try await eventually("dataset \(name) to finish") {
            let response = try await send(.get, "/v1/apps/pipeline/datasets/\(name)", token: token)
            guard response.status == .ok else { return false }
            last = try response.json()
            if let version, last["version"]?.numberValue != Double(version) { return false }
            let stage = last["stage"]?.stringValue
            return stage == "ready" || stage == "failed"
        }
        return last
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func json() throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }

    /// The first `errors[].pointer` (or `parameter`) of a problem response.
    func problemField() throws -> String? {
        let first = try json()["errors"].flatMap { if case .array(let items) = $0 { items.first } else { nil } }
        return first?["pointer"]?.stringValue ?? first?["parameter"]?.stringValue
    }
}

extension JSONValue {
    var array: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}
