import AerieCore
import AerieFunctions
import AerieHTTP
import AerieText
import Foundation
import Logging

/// The Gallery app: a photo gallery with automatic tags, search by meaning, duplicates, thumbnails and share links,
/// each user seeing only their own photos.
///
/// `POST /v1/apps/gallery/photos` checks an upload (type, size, a full decode) and stores the original in bucket
/// `gallery`; the write triggers `gallery-process` (thumbnails, the top-3 labels of EfficientNet-Lite0, a MiniLM vector
/// of labels and caption in collection `gallery_photos`). Records: table `gallery_photos`; share links `gallery_shares`;
/// quotas `gallery_usage`. When a model is missing the app still starts and its routes answer 503 naming the install
/// command.
public struct GalleryApp: AerieHTTPApp {
    typealias Holder = AppServiceHolder<GalleryService>

    public static let name = "gallery"

    /// Loads the tagger and the sentence embedder; throws with what to install when one is missing.
    typealias Loader = @Sendable () throws -> (tagger: any PhotoTagger, embedder: any SentenceEmbedder)

    public let configuration: GalleryConfiguration
    let loader: Loader
    let now: @Sendable () -> Date
    let holder = Holder(appName: "Gallery")

    init(configuration: GalleryConfiguration, now: @escaping @Sendable () -> Date = { Date() }, loader: @escaping Loader) {
        self.configuration = configuration
        self.loader = loader
        self.now = now
    }

    public func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
        let models: (tagger: any PhotoTagger, embedder: any SentenceEmbedder)
        do {
            models = try loader()
        } catch {
            let message = (error as? AerieError)?.message ?? "Gallery could not load its models: \(error)"
            logger.warning("gallery app unavailable: \(message)")
            holder.setUnavailable(message)
            return
        }
        let service = try await GalleryService.open(primitives: primitives, configuration: configuration, tagger: models.tagger,
                                                    embedder: models.embedder, now: now)
        try runtime.register(ProcessPhoto(service: service),
                             triggers: [.object(bucket: GalleryKeys.bucket, prefix: GalleryKeys.originalsPrefix)])
        holder.setReady(service)
        logger.info("gallery app ready: POST /v1/apps/gallery/photos or open /gallery/")
    }

    public func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        GalleryRoutes(holder: holder).routes + (try GalleryPage.load().routes(kit: gateway.pageKit))
    }

    public func pageLinks() -> [PageLink] {
        [GalleryPage.link]
    }

    public func openAPISchemas() -> [String: JSONValue] {
        GallerySchemas.all
    }
}
