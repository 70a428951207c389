import AerieCore
import AerieFunctions
import AerieML
import Foundation

/// Function `pipeline-train`: for an object `preprocessed/<owner>/<name>.csv` of bucket `pipeline`, trains the model
/// the dataset version asks for and writes `models/<owner>/<name>/v<version>.model` (the model file) and `.json`
/// (metrics, schema, parameters, version); the version then is `ready` and serves predictions.
///
/// Long fits report progress (random-forest trees built) as the invocation's progress events and in the record.
public struct Train: Function {
    public static let name = "pipeline-train"

    public struct Output: Codable, Sendable, Equatable {
        public var dataset: String
        public var version: Int
        public var stage: DatasetRecord.Stage
        public var error: String?
        public var modelKey: String?

        enum CodingKeys: String, CodingKey {
            case dataset, version, stage, error
            case modelKey = "model_key"
        }
    }

    public var configuration: FunctionConfiguration

    public init(configuration: FunctionConfiguration = FunctionConfiguration(
        concurrency: 1, timeout: .seconds(1800), retries: 1,
        description: "Trains the model of a preprocessed dataset of bucket pipeline (preprocessed/ → models/).", adminOnly: true)) {
        self.configuration = configuration
    }

    public func handle(_ event: ObjectEvent, state: Void, context: InvocationContext) async throws -> Output {
        guard event.bucket == PipelineKeys.bucket, let (owner, name) = PipelineKeys.parse(event.key, prefix: PipelineKeys.preprocessedPrefix) else {
            throw AerieError.invalid("pipeline-train takes objects preprocessed/<owner>/<name>.csv of bucket pipeline, not \(event.bucket)/\(event.key).", field: "/key")
        }
        guard let versionText = event.metadata?["version"], let version = Int(versionText) else {
            throw AerieError.invalid("\(event.key) has no version metadata; it must be written by pipeline-preprocess.", field: "/metadata/version")
        }
        let store = DatasetStore(tables: context.primitives.tables)
        guard var record = try await store.get(owner: owner, name: name, version: version)?.record else {
            await context.log("\(name) version \(version) was deleted before training; nothing to do")
            return Output(dataset: DatasetRecord.key(owner: owner, name: name), version: version, stage: .failed, error: "deleted")
        }
        guard record.stage == .training || record.stage == .preprocessing else {
            await context.log("\(record.dataset) v\(version) is \(record.stage.rawValue), not waiting for training; nothing to do")
            return Output(dataset: record.dataset, version: version, stage: record.stage, error: record.error, modelKey: record.model?.key)
        }
        do {
            return try await train(&record, event: event, store: store, context: context)
        } catch let error as PipelineInputError {
            return try await fail(record, store: store, because: error.message)
        } catch let error as MLError {
            return try await fail(record, store: store, because: "Training failed: \(error.message).")
        } catch {
            // Storage trouble: retried; on the last attempt the version is marked failed so it does not stay in training.
            if context.attempt > configuration.retries {
                _ = try? await fail(record, store: store, because: "Training failed: \(error). Upload the dataset again.")
            }
            throw error
        }
    }

    private func train(_ record: inout DatasetRecord, event: ObjectEvent, store: DatasetStore, context: InvocationContext) async throws -> Output {
        let (owner, name, version) = (record.owner, record.name, record.version)
        let object = try await context.primitives.objects.get(bucket: PipelineKeys.bucket, key: event.key, range: nil)
        guard object.info.metadata["version"] == String(version) else {
            throw PipelineInputError("A newer upload of \(name) replaced this one before it was trained; see the newer version.")
        }
        let started = Date()
        record = try await store.update(owner: owner, name: name, version: version) { r in
            if !r.stage.isFinished { r.stage = .training }
            r.timings.trainStartedAt = started
            r.message = "training a \(r.options.model)"
            r.progress = 0
        }
        let text = String(decoding: object.body, as: UTF8.self)
        let table: DataTable
        do {
            table = try DataTable.parse(csv: text)
        } catch let error as MLError {
            throw PipelineInputError("The preprocessed CSV cannot be read: \(error.message).")
        }
        let request = record.options
        guard let kind = ModelKind(rawValue: request.model) else {
            throw PipelineInputError("Unknown model \"\(request.model)\".")
        }
        let options = TrainingOptions(
            target: request.target ?? table.columnNames.last ?? "", model: kind, task: MLTask(rawValue: request.task) ?? .auto,
            parameters: request.parameters, testSize: request.testSize, seed: request.seed)

        // Progress lines from the trainer become progress events and the record's message.
        let (lines, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(8))
        let reporter = Task {
            for await line in lines {
                let fraction = Self.fraction(of: line)
                await context.progress(fraction ?? 0, line)
                _ = try? await store.update(owner: owner, name: name, version: version) { r in
                    r.message = line
                    if let fraction { r.progress = fraction }
                }
            }
        }
        await context.progress(0, "training a \(kind.rawValue) on \(table.rowCount) rows")
        let clock = ContinuousClock()
        let t0 = clock.now
        let result = await Self.runTraining(data: table, options: options) { line in continuation.yield(line) }
        continuation.finish()
        await reporter.value
        let (model, report) = try result.get()
        let trainSeconds = Trainer.seconds(clock.now - t0)

        let bytes = try model.encoded()
        let modelKey = PipelineKeys.model(owner: owner, name: name, version: version)
        let summary = Self.summary(model: model, report: report, name: name, version: version, key: modelKey, size: bytes.count)
        try await context.primitives.objects.put(
            bucket: PipelineKeys.bucket, key: modelKey, data: Data(bytes),
            attributes: ObjectAttributes(contentType: "application/octet-stream", metadata: ["version": String(version)]))
        try await context.primitives.objects.put(
            bucket: PipelineKeys.bucket, key: PipelineKeys.modelDocument(owner: owner, name: name, version: version),
            data: JSONCoding.encode(summary),
            attributes: ObjectAttributes(contentType: "application/json", metadata: ["version": String(version)]))
        record = try await store.update(owner: owner, name: name, version: version) { r in
            r.stage = .ready
            r.model = summary
            r.message = nil
            r.progress = 1
            r.timings.trainSeconds = trainSeconds
            r.timings.fitSeconds = report.timings.fitSeconds
            r.timings.finishedAt = Date()
        }
        await context.log("trained \(record.dataset) v\(version): \(kind.rawValue), \(summary.metrics.accuracy.map { "accuracy \($0)" } ?? "r2 \(summary.metrics.r2 ?? 0)")")
        return Output(dataset: record.dataset, version: version, stage: .ready, modelKey: modelKey)
    }

    /// Runs the (CPU-bound, synchronous) trainer on a dispatch thread, off the cooperative pool.
    static func runTraining(data: DataTable, options: TrainingOptions, progress: @escaping @Sendable (String) -> Void) async
        -> Result<(TabularModel, TrainingReport), any Error> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: Result { try Trainer.train(data: data, options: options, progress: progress) })
            }
        }
    }

    /// `done/total` in a progress line (`random-forest: 30/100 trees`) as a fraction.
    static func fraction(of line: String) -> Double? {
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "/")
            if parts.count == 2, let done = Double(parts[0]), let total = Double(parts[1]), total > 0 {
                return min(1, max(0, done / total))
            }
        }
        return nil
    }

    static func summary(model: TabularModel, report: TrainingReport, name: String, version: Int, key: String, size: Int) -> ModelSummary {
        let meta = model.metadata
        let features = meta.preprocessor.features.map { feature in
            ModelSummary.Feature(name: feature.name, type: feature.kind.rawValue,
                                 categories: feature.kind == .categorical ? feature.categories : nil)
        }
        var metrics = ModelSummary.Metrics(evaluatedOn: report.metrics.evaluatedOn)
        if let c = report.metrics.classification {
            metrics.accuracy = c.accuracy
            metrics.precisionMacro = c.precisionMacro
            metrics.recallMacro = c.recallMacro
            metrics.f1Macro = c.f1Macro
            metrics.confusion = c.confusion
        }
        if let r = report.metrics.regression {
            metrics.r2 = r.r2
            metrics.mae = r.mae
            metrics.rmse = r.rmse
        }
        return ModelSummary(
            name: name, version: version, key: key, size: size, kind: meta.kind.rawValue, task: meta.task.rawValue,
            target: meta.target, classes: meta.task == .classification ? meta.classes : nil, features: features,
            parameters: meta.parameters, trainRows: report.trainRows, testRows: report.testRows, metrics: metrics,
            formatVersion: Int(TabularModel.formatVersion))
    }

    private func fail(_ record: DatasetRecord, store: DatasetStore, because reason: String) async throws -> Output {
        let failed = try await store.update(owner: record.owner, name: record.name, version: record.version) { $0.fail(reason) }
        return Output(dataset: failed.dataset, version: failed.version, stage: .failed, error: reason)
    }
}

extension ModelSummary.Metrics {
    init(evaluatedOn: String) {
        self.init(evaluatedOn: evaluatedOn, accuracy: nil, precisionMacro: nil, recallMacro: nil, f1Macro: nil, confusion: nil,
                  r2: nil, mae: nil, rmse: nil)
    }
}
