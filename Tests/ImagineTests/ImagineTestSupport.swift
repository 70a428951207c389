import AerieCore
import AerieDiffusion
import AerieFunctions
import AerieHTTP
import AerieHTTPTesting
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

/// The shared gateway harness with the Imagine app and two users, `ann` and `bob`.
struct ImagineHarness {
    let base: GatewayHarness
    let app: ImagineApp

    var gateway: AerieGateway { base.gateway }
    var runtime: FunctionRuntime { base.runtime }
    var registry: PrometheusCollectorRegistry { base.registry }
    var annToken: String { base.token("ann") }
    var bobToken: String { base.token("bob") }

    static func make(_ configuration: ImagineConfiguration = ImagineConfiguration(), clock: TestClock = TestClock(),
                     loader: @escaping ImagineApp.Loader) async throws -> ImagineHarness {
        let registry = PrometheusCollectorRegistry()
        let app = ImagineApp(configuration: configuration, metricsFactory: PrometheusMetricsFactory(registry: registry), now: clock.now,
                             loader: loader)
        let base = try await GatewayHarness.make(registry: registry, apps: [app], users: ["ann", "bob"])
        return ImagineHarness(base: base, app: app)
    }

/// A harness with the fake generator and the real MiniLM.
    static func fake(_ configuration: ImagineConfiguration = ImagineConfiguration(), generator: FakeGenerator = FakeGenerator(),
                     clock: TestClock = TestClock()) async throws -> ImagineHarness {
        let encoder = try TestModels.encoder()
        return try await make(configuration, clock: clock) { (generator, encoder) }
    }

    func service() throws -> ImagineService { try app.holder.service() }

    func test<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await base.test(test)
    }
}

extension TestClientProtocol {
    /// `POST /v1/apps/imagine/images` with a JSON object of `fields`.
    func imagine(_ fields: [String: JSONValue], token: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(.post, "/v1/apps/imagine/images", token: token, jsonValue: .object(fields), headers: headers)
    }
}

extension TestResponse {
    var cacheHeader: String? { headers[HTTPField.Name("X-Cache")!] }
}
