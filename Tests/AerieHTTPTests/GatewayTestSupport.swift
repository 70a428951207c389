import AerieCore
import AerieFunctions
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Testing

@testable import AerieHTTP

/// A gateway on in-memory primitives with an admin (`admin` / `admin-password`) and a plain user (`ann` / `ann-password`).
struct GatewayHarness {
    static let adminPassword = "admin-password"
    let gateway: AerieGateway
    let primitives: Primitives
    let runtime: FunctionRuntime
    let registry: PrometheusCollectorRegistry
    let adminToken: String
    let userToken: String

    static func make(_ configure: (inout GatewayConfiguration) -> Void = { _ in }, logger: Logger? = nil,
                     apps: [any AerieApp] = [],
                     functions register: (FunctionRuntime) throws -> Void = { _ in }) async throws -> GatewayHarness {
        var configuration = GatewayConfiguration(maxBodySize: 64 * 1024, maxJSONBodySize: 16 * 1024, rateLimit: nil,
                                                 adminPassword: adminPassword, bcryptCost: 4)
        configure(&configuration)
        let primitives = Primitives.memory()
        let registry = PrometheusCollectorRegistry()
        let logger = logger ?? {
            var quiet = Logger(label: "test")
            quiet.logLevel = .warning
            return quiet
        }()
        // The runtime records into the same registry, as `aerie serve` arranges through MetricsSystem.
        let runtime = FunctionRuntime(primitives: primitives, configuration: RuntimeConfiguration(
            pollInterval: .milliseconds(10), sweepInterval: .milliseconds(50), groupCommitInterval: .milliseconds(5),
            cancelWait: .seconds(5), metricsFactory: PrometheusMetricsFactory(registry: registry)), logger: logger)
        try register(runtime)
        for app in apps {
            try await app.setUp(primitives: primitives, runtime: runtime, logger: logger)
        }
        let gateway = try await AerieGateway.build(primitives: primitives, runtime: runtime, configuration: configuration,
                                                   registry: registry, apps: apps, logger: logger)
        _ = try await gateway.auth.createUser("ann", password: "ann-password", role: .user)
        return GatewayHarness(
            gateway: gateway, primitives: primitives, runtime: runtime, registry: registry,
            adminToken: try await gateway.auth.issueToken(for: "admin").token,
            userToken: try await gateway.auth.issueToken(for: "ann").token
        )
    }

    /// Runs `test` against the gateway through Hummingbird's router test framework.
    func test<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await gateway.makeApplication(services: [runtime]).test(.router) { client in try await test(client) }
    }
}

/// Runs a test against a fresh gateway.
func withGateway(_ configure: (inout GatewayConfiguration) -> Void = { _ in },
                 _ test: @Sendable (any TestClientProtocol, GatewayHarness) async throws -> Void) async throws {
    let harness = try await GatewayHarness.make(configure)
    try await harness.test { client in try await test(client, harness) }
}

extension TestClientProtocol {
    /// Sends a request with an optional bearer token and JSON (or raw) body.
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil, body: ByteBuffer? = nil,
              headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        var payload = body
        if let json {
            if fields[.contentType] == nil { fields[.contentType] = "application/json" }
            payload = ByteBuffer(string: json)
        }
        return try await executeRequest(uri: uri, method: method, headers: fields, body: payload)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body parsed as JSON (fails the test when it is not).
    func json() throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }

    /// Checks that this is a problem response of `slug` with `status`.
    func expectProblem(_ slug: String, status: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(Int(self.status.code) == status, "status; body: \(text)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let body = try json()
        #expect(body["type"] == .string("/problems/\(slug)"), "body: \(text)", sourceLocation: sourceLocation)
        #expect(body["status"] == .number(Double(status)), sourceLocation: sourceLocation)
        #expect(body["title"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(body["detail"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(body["instance"]?.stringValue?.hasPrefix("/") == true, sourceLocation: sourceLocation)
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}

/// The session and CSRF cookies a sign-in through the page form set (the console and app pages use them).
struct PageSession {
    var session: String
    var csrf: String
    var cookieHeader: String { "aerie_session=\(session); aerie_csrf=\(csrf)" }
}

let pageFormType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

extension TestClientProtocol {
    /// Posts the sign-in form as a browser does: first the form page (its CSRF cookie and token), then the form.
    func postLogin(_ fields: String) async throws -> TestResponse {
        let page = try await executeRequest(uri: "/console/login", method: .get, headers: [:], body: nil)
        let cookie = try #require(page.headers[values: .setCookie].first { $0.hasPrefix("aerie_login_csrf=") })
        let token = String(cookie.dropFirst("aerie_login_csrf=".count).prefix { $0 != ";" })
        var headers = pageFormType
        headers[.cookie] = "aerie_login_csrf=\(token)"
        return try await executeRequest(uri: "/console/login", method: .post, headers: headers,
                                        body: ByteBuffer(string: "\(fields)&csrf_token=\(token)"))
    }

    /// Signs in through the page form; the session and CSRF cookies it set.
    func signIn(_ username: String, _ password: String) async throws -> PageSession {
        let response = try await postLogin("username=\(username)&password=\(password)")
        #expect(response.status == .seeOther)
        let cookies = response.headers[values: .setCookie]
        let session = try #require(cookies.first { $0.hasPrefix("aerie_session=") })
        let csrf = try #require(cookies.first { $0.hasPrefix("aerie_csrf=") })
        func value(_ cookie: String) -> String { String(cookie.split(separator: "=", maxSplits: 1)[1].prefix { $0 != ";" }) }
        return PageSession(session: value(session), csrf: value(csrf))
    }

    /// A GET with the page session's cookies.
    func get(_ uri: String, session: PageSession? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let session { fields[.cookie] = session.cookieHeader }
        return try await executeRequest(uri: uri, method: .get, headers: fields, body: nil)
    }
}
