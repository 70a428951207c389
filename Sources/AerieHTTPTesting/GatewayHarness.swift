import AerieAuth
import AerieCore
import AerieFunctions
import AerieHTTP
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus

/// The one gateway test harness: a gateway on fresh primitives (in memory unless given), a functions runtime with
/// short test intervals recording into its own Prometheus registry, the apps set up on them, an admin
/// (`admin` / ``adminPassword``) and plain users with bearer tokens.
///
/// ```swift
/// let harness = try await GatewayHarness.make(apps: [PipelineApp()], users: ["ann", "bob"])
/// try await harness.test { client in
///     let response = try await client.send(.get, "/v1/apps/pipeline/datasets", token: harness.token("ann"))
///     #expect(response.status == .ok)
/// }
/// ```
/// Each user's password is `<name>-password`. Platform tests, the Pipeline, Imagine and every later app's tests
/// use it, so a change to how the gateway is assembled is made here once.
public struct GatewayHarness: Sendable {
    public static let adminPassword = "admin-password"

    public let gateway: AerieGateway
    public let primitives: Primitives
    public let runtime: FunctionRuntime
    public let registry: PrometheusCollectorRegistry
    public let adminToken: String
    /// Bearer tokens of the users made at start, by name.
    public let tokens: [String: String]

    /// The bearer token of a user made at start (`admin` included); an empty string for an unknown name, which the
    /// gateway refuses with 401.
    public func token(_ user: String) -> String {
        user == AuthService.adminUsername ? adminToken : tokens[user] ?? ""
    }

    /// The gateway's auth service (to make more users, keys or sessions).
    public var auth: AuthService { gateway.auth }

    /// Builds the harness.
    ///
    /// - Parameters:
    ///   - primitives: The storage (a fresh in-memory set by default; pass embedded storage to test on SQLite).
    ///   - configure: Changes to the gateway configuration (no rate limit, bcrypt cost 4, 64 KiB bodies by default).
    ///   - runtimeConfiguration: Changes to the runtime's (10 ms polls, 5 ms group commit by default).
    ///   - apps: Apps to set up before the gateway is built.
    ///   - users: Plain users to create, each with password `<name>-password`.
    ///   - registry: The Prometheus registry `/metrics` shows and the runtime records into (an app made with a
    ///     metrics factory on it records there too).
    ///   - functions: Registers extra functions on the runtime before the apps are set up.
    public static func make(
        primitives: Primitives = .memory(),
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        runtimeConfiguration: (inout RuntimeConfiguration) -> Void = { _ in },
        apps: [any AerieApp] = [],
        users: [String] = ["ann"],
        logger: Logger? = nil,
        functions register: (FunctionRuntime) throws -> Void = { _ in }
    ) async throws -> GatewayHarness {
        var configuration = GatewayConfiguration(maxBodySize: 64 * 1024, maxJSONBodySize: 16 * 1024, rateLimit: nil,
                                                 adminPassword: adminPassword, bcryptCost: 4)
        configure(&configuration)
        let logger = logger ?? {
            var quiet = Logger(label: "test")
            quiet.logLevel = .error
            return quiet
        }()
        // The runtime records into the same registry, as `aerie serve` arranges through MetricsSystem.
        var runtimeSettings = RuntimeConfiguration(
            pollInterval: .milliseconds(10), sweepInterval: .milliseconds(50), groupCommitInterval: .milliseconds(5),
            cancelWait: .seconds(5), metricsFactory: PrometheusMetricsFactory(registry: registry))
        runtimeConfiguration(&runtimeSettings)
        let runtime = FunctionRuntime(primitives: primitives, configuration: runtimeSettings, logger: logger)
        try register(runtime)
        for app in apps {
            try await app.setUp(primitives: primitives, runtime: runtime, logger: logger)
        }
        // Triggers start at the topic's end here: position them before a test writes anything.
        try await runtime.ready()
        let gateway = try await AerieGateway.build(primitives: primitives, runtime: runtime, configuration: configuration,
                                                   registry: registry, apps: apps, logger: logger)
        var tokens: [String: String] = [:]
        for user in users {
            _ = try await gateway.auth.createUser(user, password: "\(user)-password", role: .user)
            tokens[user] = try await gateway.auth.issueToken(for: user).token
        }
        return GatewayHarness(
            gateway: gateway, primitives: primitives, runtime: runtime, registry: registry,
            adminToken: try await gateway.auth.issueToken(for: AuthService.adminUsername).token, tokens: tokens)
    }

    /// Runs `test` against the gateway through Hummingbird's router test framework, with the runtime running.
    public func test<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await gateway.makeApplication(services: [runtime]).test(.router) { client in try await test(client) }
    }

    /// Runs `test` against the gateway on a real HTTP server on a free loopback port (`.live`), for what the router
    /// test framework does not exercise (streaming, the remote address).
    public func testLive<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await gateway.makeApplication(configuration: .init(address: .hostname("127.0.0.1", port: 0)), services: [runtime])
            .test(.live) { client in try await test(client) }
    }

    /// The admin's `/metrics` text.
    public func metricsText() -> String {
        var buffer = [UInt8]()
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
