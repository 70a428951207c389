import AerieCore
import AerieFunctions
import AerieHTTP
import Foundation
import Logging

/// The Pipeline app: a CSV uploaded to `raw/` of bucket `pipeline` is preprocessed (`pipeline-preprocess`), a model
/// is trained on it (`pipeline-train`) and the latest ready version of each dataset serves predictions.
///
/// API under `/v1/apps/pipeline/` (datasets, models, predict), the page at `/pipeline/`; the stage of each dataset
/// version is a row of table `pipeline_datasets`. Datasets and models belong to the user who uploaded them.
public struct PipelineApp: AerieHTTPApp {
    public static let name = "pipeline"
    public var limits: PipelineLimits
    let cache = ModelCache()

    public init(limits: PipelineLimits = PipelineLimits()) {
        self.limits = limits
    }

    public func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
        try await primitives.ensureAppBucket(PipelineKeys.bucket, app: Self.name)
        try await primitives.ensureAppTable(DatasetStore.schema, app: Self.name)
        try runtime.register(Preprocess(limits: limits),
                             triggers: [.object(bucket: PipelineKeys.bucket, prefix: PipelineKeys.rawPrefix, suffix: ".csv")])
        try runtime.register(Train(),
                             triggers: [.object(bucket: PipelineKeys.bucket, prefix: PipelineKeys.preprocessedPrefix, suffix: ".csv")])
        logger.info("pipeline app ready: POST a CSV to /v1/apps/pipeline/datasets or open /pipeline/")
    }

    public func openAPISchemas() -> [String: JSONValue] {
        PipelineSchemas.all
    }

    public func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        let api = PipelineRoutes(primitives: gateway.primitives, runtime: gateway.runtime, limits: limits, cache: cache,
                                 maxJSONBodySize: gateway.configuration.maxJSONBodySize)
        return api.routes + (try PipelinePage.load().routes(kit: gateway.pageKit))
    }

    /// The page `/pipeline/` in the top bar.
    public func pageLinks() -> [PageLink] {
        [PipelinePage.link]
    }
}
