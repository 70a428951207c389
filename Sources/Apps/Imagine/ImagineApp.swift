import AerieCore
import AerieDiffusion
import AerieFunctions
import AerieHTTP
import AerieModels
import AerieONNX
import AerieText
import CoreMetrics
import Foundation
import Logging

/// The Imagine app: text-to-image behind a semantic prompt cache.
///
/// `POST /v1/apps/imagine/images` embeds the prompt with MiniLM and returns a stored image when ``PromptMatcher`` finds
/// that a compatible earlier prompt may share it (`X-Cache: hit`; ``ImagineConfiguration/matching``); otherwise the function
/// `imagine-generate` runs the diffusion model (`X-Cache: miss`). Storage: table `imagine_images` (each user's
/// records), table `imagine_cache` (stored images and cache entries, reference-counted), table `imagine_settings`
/// (the URL-signing secret), bucket `imagine` (`images/<sha256>.png`) and the vector collection `imagine_prompts`
/// (``PromptCache/collection``) of the platform's Vectors primitive.
///
/// When the diffusion model or MiniLM is not installed the app still starts: its routes answer 503 problem+json
/// naming the command that installs what is missing.
public struct ImagineApp: AerieHTTPApp {
    typealias Holder = AppServiceHolder<ImagineService>

    public static let name = "imagine"

    /// Loads the generator and the sentence embedder (the models); throws with what to install when one is missing.
    public typealias Loader = @Sendable () throws -> (generator: any ImageGenerating, embedder: any SentenceEmbedder)

    public let configuration: ImagineConfiguration
    let loader: Loader
    let metricsFactory: (any MetricsFactory)?
    let now: @Sendable () -> Date
    let holder = Holder(appName: "Imagine")

    /// The app on the models of the data directory `data` (the pipeline registered as `imagine` with
    /// `aerie models use imagine DIR`, `<data>/models/minilm`, `<data>/models/onnxruntime`).
    public init(configuration: ImagineConfiguration, dataDirectory data: URL, metricsFactory: (any MetricsFactory)? = nil) {
        let threads = configuration.threads
        self.init(configuration: configuration, metricsFactory: metricsFactory) {
            try Self.loadModels(dataDirectory: data, threads: threads)
        }
    }

    /// The app with its models supplied by `loader` (tests pass a deterministic generator); `now` is the clock of TTLs
    /// and URL expiry.
    public init(configuration: ImagineConfiguration, metricsFactory: (any MetricsFactory)? = nil,
                now: @escaping @Sendable () -> Date = { Date() }, loader: @escaping Loader) {
        self.configuration = configuration
        self.loader = loader
        self.metricsFactory = metricsFactory
        self.now = now
    }

    /// The models of a data directory; errors name the command that installs what is missing.
    public static func loadModels(dataDirectory data: URL, threads: Int) throws -> (generator: any ImageGenerating, embedder: any SentenceEmbedder) {
        let store = ModelStore(dataDirectory: data)
        let modelDirectory: URL
        do {
            modelDirectory = try DiffusionModelStore(dataDirectory: data).pipelineDirectory()
            try DiffusionPipeline.validateLayout(directory: modelDirectory)
        } catch let error as AerieError {
            throw AerieError(.unavailable, "Imagine has no diffusion model: \(error.message) "
                + "(`make imagine-models DATA=\(data.path)` or `aerie models use imagine DIR --data \(data.path)`), then restart `aerie serve`.")
        }
        let library: URL
        let embedder: any SentenceEmbedder
        do {
            library = try store.onnxRuntimeLibrary()
            // The backend the neural benchmark chose (ONNX Runtime), falling back to the native encoder with a notice.
            var options = ONNXSession.Options()
            options.intraOpThreads = threads
            embedder = try SentenceEmbedderBackend.loadPreferred(store: store, options: options, logger: Logger(label: "aerie.apps.imagine")).embedder
        } catch let error as AerieError {
            throw AerieError(.unavailable, "Imagine needs MiniLM and ONNX Runtime: \(error.message) "
                + "(`aerie models install minilm` and `aerie models install onnxruntime`), then restart `aerie serve`.")
        }
        let generator = try DiffusionImageGenerator(directory: modelDirectory, onnxRuntimeLibrary: library.path, threads: threads)
        return (generator, embedder)
    }

    public func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
        let models: (generator: any ImageGenerating, embedder: any SentenceEmbedder)
        do {
            models = try loader()
        } catch {
            let message = (error as? AerieError)?.message ?? "Imagine could not load its models: \(error)"
            logger.warning("imagine app unavailable: \(message)")
            holder.setUnavailable(message)
            return
        }
        let service: ImagineService
        do {
            service = try await ImagineService.open(
                primitives: primitives, configuration: configuration, generator: models.generator, embedder: models.embedder,
                metrics: ImagineMetrics(factory: metricsFactory), now: now)
        } catch let error as AerieError where error.code == .unavailable {
            // Something installed outside Aerie is missing (WordNet for the learned matcher): the app answers 503 with
            // the message, the rest of the server runs.
            logger.warning("imagine app unavailable: \(error.message)")
            holder.setUnavailable(error.message)
            return
        }
        try runtime.register(GenerateFunction(service: service))
        holder.setReady(service)
        logger.info("imagine app ready: POST /v1/apps/imagine/images")
    }

    public func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        ImagineRoutes(holder: holder, runtime: gateway.runtime).routes + (try ImaginePage.load().routes(holder: holder, kit: gateway.pageKit))
    }

    /// The page `/imagine/` in the top bar.
    public func pageLinks() -> [PageLink] {
        [ImaginePage.link]
    }

    public func openAPISchemas() -> [String: JSONValue] {
        ImagineSchemas.all
    }

    /// The prompt cache and generation figures on the console's Apps page (from ``ImagineMetrics``).
    public func consolePanels() -> [ConsolePanel] {
        ImagineMetrics.consolePanels
    }
}
