import AerieCore
import AerieDiffusion
import AerieFunctions
import AerieHTTP
import AerieModels
import AerieText
import AerieTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import Testing

@testable import Imagine

/// The repository's data directory (`./aerie-data`, as `make test` installs it) or `$AERIE_DATA`.
enum TestModels {
    static var repositoryRoot: URL { RepositoryPaths.root }

    static var dataDirectory: URL { RepositoryPaths.dataDirectory }

    static var store: ModelStore { ModelStore(dataDirectory: dataDirectory) }

    /// The real MiniLM, installed on first use (as the AerieText tests do), loaded once per process.
    private static let loadedEncoder: Result<SentenceEncoder, any Error> = Result {
        try SentenceEncoder(directory: SharedModels.directory(of: .minilm))
    }

    static func encoder() throws -> SentenceEncoder { try loadedEncoder.get() }

    /// The diffusion model registered as `imagine` (`make imagine-models`: the tiny random-weight one); when none is,
    /// generates `<data>/models/imagine-tiny` with `scripts/make-diffusion-model.py --preset tiny` and registers it.
    private static let loadedGenerator: Result<DiffusionImageGenerator, any Error> = Result {
        let models = DiffusionModelStore(dataDirectory: dataDirectory)
        let directory: URL
        if let registered = try? models.pipelineDirectory() {
            directory = registered
        } else {
            let tiny = store.directory(for: "imagine-tiny")
            if (try? DiffusionPipeline.validateLayout(directory: tiny)) == nil {
                let process = Process()
                process.executableURL = repositoryRoot.appendingPathComponent(".venv/bin/python")
                process.arguments = [repositoryRoot.appendingPathComponent("scripts/make-diffusion-model.py").path, "--preset", "tiny", tiny.path]
                try process.run()
                process.waitUntilExit()
            }
            directory = try models.use(tiny)
        }
        let library = try SharedModels.onnxRuntimeLibrary()
        return try DiffusionImageGenerator(directory: directory, onnxRuntimeLibrary: library.path, threads: 1)
    }

    static func diffusion() throws -> DiffusionImageGenerator { try loadedGenerator.get() }
}

/// A deterministic generator for tests: a gradient whose colours come from the prompt and the seed, one `progress`
/// call per step; it can be held at a gate (to coalesce or cancel) and counts its generations.
final class FakeGenerator: ImageGenerating {
    let defaultScheduler = SchedulerKind.pndm
    let sampleSize = 8
    private let state = Mutex((calls: 0, open: true))

    init(gated: Bool = false) {
        state.withLock { $0.open = !gated }
    }

    var calls: Int { state.withLock { $0.calls } }
    func openGate() { state.withLock { $0.open = true } }

    func generatePNG(_ request: DiffusionRequest, progress: @escaping @Sendable (Int, Int) -> Void) async throws -> Data {
        state.withLock { $0.calls += 1 }
        while !state.withLock({ $0.open }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        var hasher = Hasher()
        hasher.combine(request.prompt)
        hasher.combine(request.seed)
        hasher.combine(request.steps)
        let base = UInt64(bitPattern: Int64(hasher.finalize()))
        for step in 1...request.steps {
            try Task.checkCancellation()
            await Task.yield()
            progress(step, request.steps)
        }
        var rgb = [UInt8](repeating: 0, count: request.width * request.height * 3)
        for i in rgb.indices { rgb[i] = UInt8(truncatingIfNeeded: base >> UInt64((i % 3) * 8) &+ UInt64(i / 3)) }
        return DiffusedImage(width: request.width, height: request.height, rgb: rgb).png
    }
}

/// A clock the tests move forward (TTL, URL expiry).
final class TestClock: Sendable {
    private let offset = Mutex(0.0)
    func advance(seconds: Double) { offset.withLock { $0 += seconds } }
    var now: @Sendable () -> Date {
        { [self] in Date().addingTimeInterval(offset.withLock { $0 }) }
    }
}

/// A gateway on in-memory primitives with the Imagine app and two users, `ann` and `bob`.
struct ImagineHarness {
    let gateway: AerieGateway
    let runtime: FunctionRuntime
    let registry: PrometheusCollectorRegistry
    let app: ImagineApp
    let annToken: String
    let bobToken: String

    static func make(_ configuration: ImagineConfiguration = ImagineConfiguration(), clock: TestClock = TestClock(),
                     loader: @escaping ImagineApp.Loader) async throws -> ImagineHarness {
        let primitives = Primitives.memory()
        let registry = PrometheusCollectorRegistry()
        var quiet = Logger(label: "test")
        quiet.logLevel = .error
        let factory = PrometheusMetricsFactory(registry: registry)
        let runtime = FunctionRuntime(primitives: primitives, configuration: RuntimeConfiguration(
            pollInterval: .milliseconds(10), sweepInterval: .milliseconds(50), groupCommitInterval: .milliseconds(5),
            cancelWait: .seconds(5), metricsFactory: factory), logger: quiet)
        let app = ImagineApp(configuration: configuration, metricsFactory: factory, now: clock.now, loader: loader)
        try await app.setUp(primitives: primitives, runtime: runtime, logger: quiet)
        let gateway = try await AerieGateway.build(
            primitives: primitives, runtime: runtime,
            configuration: GatewayConfiguration(maxBodySize: 64 * 1024, maxJSONBodySize: 16 * 1024, rateLimit: nil,
                                                adminPassword: "admin-password", bcryptCost: 4),
            registry: registry, apps: [app], logger: quiet)
        _ = try await gateway.auth.createUser("ann", password: "ann-password", role: .user)
        _ = try await gateway.auth.createUser("bob", password: "bob-password", role: .user)
        return ImagineHarness(gateway: gateway, runtime: runtime, registry: registry, app: app,
                              annToken: try await gateway.auth.issueToken(for: "ann").token,
                              bobToken: try await gateway.auth.issueToken(for: "bob").token)
    }

    /// A harness with the fake generator and the real MiniLM.
    static func fake(_ configuration: ImagineConfiguration = ImagineConfiguration(), generator: FakeGenerator = FakeGenerator(),
                     clock: TestClock = TestClock()) async throws -> ImagineHarness {
        let encoder = try TestModels.encoder()
        return try await make(configuration, clock: clock) { (generator, encoder) }
    }

    func service() throws -> ImagineService { try app.holder.service() }

    func test<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await gateway.makeApplication(services: [runtime]).test(.router) { client in try await test(client) }
    }
}

extension TestClientProtocol {
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
              headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            fields[.contentType] = "application/json"
            body = ByteBuffer(string: json)
        }
        return try await executeRequest(uri: uri, method: method, headers: fields, body: body)
    }

    /// `POST /v1/apps/imagine/images` with a JSON object of `fields`.
    func imagine(_ fields: [String: JSONValue], token: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(.post, "/v1/apps/imagine/images", token: token,
                       json: String(decoding: JSONValue.object(fields).encoded(), as: UTF8.self), headers: headers)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    func json() throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }
    var cacheHeader: String? { headers[HTTPField.Name("X-Cache")!] }
}

/// Polls `condition` every 10 ms until it holds (30 s safety net).
func eventually(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for \(what)")
}

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
