import AerieCore
import AerieFaces
import AerieFunctions
import AerieHTTP
import AerieModels
import Foundation
import Logging

/// The Faces app: enrol known people from photos, recognize them in new photos (1:N against the caller's own people,
/// dlib's HOG detector and 128-d embeddings through AerieFaces), verify two photos, detect faces, group the unknown
/// faces recognize saw into clusters to name once, and notify watchers by email or webhook when a watched person is
/// recognized.
///
/// Storage: tables `faces_people`, `faces_faces` (enrolled faces with embeddings), `faces_sightings` (unknown faces,
/// expiring), `faces_watches`; vector collection `faces_embeddings` (Euclidean, 128-d); face crops in bucket
/// `faces`; queue `faces-notify` feeding function `faces-notify`. Without the models the app still starts and its
/// routes answer 503 naming `aerie models install faces`.
public struct FacesApp: AerieHTTPApp {
    typealias Holder = AppServiceHolder<FacesService>

    public static let name = "faces"

    public let configuration: FacesConfiguration
    let loader: @Sendable () throws -> FaceEngine
    let now: @Sendable () -> Date
    let holder = Holder(appName: "Faces")

    init(configuration: FacesConfiguration, now: @escaping @Sendable () -> Date = { Date() }, loader: @escaping @Sendable () throws -> FaceEngine) {
        self.configuration = configuration
        self.loader = loader
        self.now = now
    }

    /// The app on the models of the data directory (`<data>/models/faces`, from `aerie models install faces`).
    public init(configuration: FacesConfiguration, dataDirectory data: URL) {
        let detector = configuration.detector
        self.init(configuration: configuration) {
            do {
                return try FaceEngine(store: ModelStore(dataDirectory: data), options: FaceEngine.Options(detector: detector, loadCNN: detector == .cnn))
            } catch let error as AerieError {
                throw AerieError(.unavailable, "Faces needs its models: \(error.message) (`aerie models install faces --data \(data.path)`), then restart `aerie serve`.")
            }
        }
    }

    public func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
        let engine: FaceEngine
        do {
            engine = try loader()
        } catch {
            let message = (error as? AerieError)?.message ?? "Faces could not load its models: \(error)"
            logger.warning("faces app unavailable: \(message)")
            holder.setUnavailable(message)
            return
        }
        let service = try await FacesService.open(primitives: primitives, configuration: configuration, engine: engine, now: now)
        try runtime.register(NotifyWatchers(service: service), triggers: [.queue(FacesKeys.notifyQueue)])
        try runtime.register(SweepSightings(service: service), triggers: [.every(.seconds(3600))])
        holder.setReady(service)
        logger.info("faces app ready: POST /v1/apps/faces/recognize or open /faces/", metadata: [
            "threshold": "\(configuration.threshold)", "mail": "\(configuration.smtp?.description ?? "off")",
        ])
    }

    public func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        FacesRoutes(holder: holder).routes + (try FacesPage.load().routes(kit: gateway.pageKit))
    }

    public func pageLinks() -> [PageLink] {
        [FacesPage.link]
    }

    public func openAPISchemas() -> [String: JSONValue] {
        FacesSchemas.all
    }
}
