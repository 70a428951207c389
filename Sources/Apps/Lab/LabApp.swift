import AerieCore
import AerieFunctions
import AerieHTTP
import Foundation
import Logging

/// The Lab app (seed 002): machine-learning experiments checked against a catalog, trained and evaluated in the
/// background, kept as drafts until committed, with every message between its services recorded on the event log.
///
/// The seed's five services map onto functions and the log: Training is `lab-train`, Evaluation `lab-evaluate`,
/// Session and Storage are the consumers of queues `sessionRecord`, `sessionUpdate` (`lab-session-record`,
/// `lab-session-update`) and `storageRecord` (`lab-storage-record`); Catalog is the catalog in table `lab_settings`.
/// Behavioural records go to topics named after the seed's aggregators, and the draft and committed stores
/// (`lab_drafts`, `lab_committed`) are projections of topics `session` and `storage` (``LabStore``).
/// API under `/v1/apps/lab/`; pages `/lab/` and `/lab/admin`.
public struct LabApp: AerieHTTPApp {
    typealias Holder = AppServiceHolder<LabService>

    public static let name = "lab"
    let holder = Holder(appName: "Lab")
    let now: @Sendable () -> Date

    public init() {
        self.now = { Date() }
    }

    init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    public func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
        let service = try await LabService.open(primitives: primitives, runtime: runtime, now: now)
        try runtime.register(TrainExperiment(service: service))
        try runtime.register(EvaluateExperiment(service: service))
        try runtime.register(SessionRecordWriter(service: service), triggers: [.queue(LabQueues.sessionRecord)])
        try runtime.register(SessionUpdateWriter(service: service), triggers: [.queue(LabQueues.sessionUpdate)])
        try runtime.register(StorageRecordWriter(service: service), triggers: [.queue(LabQueues.storageRecord)])
        holder.setReady(service)
        logger.info("lab app ready: GET /v1/apps/lab/catalog or open /lab/")
    }

    public func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        LabRoutes(holder: holder, eventStreams: gateway.eventStreams).routes + (try LabPage.load().routes(kit: gateway.pageKit))
    }

    public func pageLinks() -> [PageLink] {
        [LabPage.link, LabPage.adminLink]
    }

    public func openAPISchemas() -> [String: JSONValue] {
        LabSchemas.all
    }
}
