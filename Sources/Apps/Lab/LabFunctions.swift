import AerieCore
import AerieFunctions
import AerieML
import Foundation

/// Function `lab-train` (the seed's Training service): trains a draft's model on the training split of its dataset,
/// stores it in bucket `lab` (`models/<id>/s<settings revision>.model`, the held-out rows in `.split.json` beside
/// it) and sends the result to the session service through queue `sessionRecord`. Progress events follow the fit.
struct TrainExperiment: Function {
    static let name = "lab-train"
    static let seed: UInt64 = 42

    struct Input: Codable, Sendable {
        var id: String
        var owner: String
        var settingsRevision: Int
        enum CodingKeys: String, CodingKey { case id, owner; case settingsRevision = "settings_revision" }
    }

    let service: LabService
    /// One retry: a failed training is recorded as data (the function returns a `failed` message, it does not
    /// throw), so a retry only follows a lost attempt. With none, a server killed mid-training left the experiment
    /// `queued` for good: its message's one attempt was spent and it went to the dead letters (the crash matrix found
    /// it).
    var configuration: FunctionConfiguration {
        FunctionConfiguration(concurrency: 2, timeout: .seconds(1800), retries: 1, description: "Lab: trains a draft experiment (→ queue sessionRecord).", adminOnly: true)
    }

    func handle(_ input: Input, state: Void, context: InvocationContext) async throws -> SessionRecordMessage {
        let store = service.store
        guard let draft = try await store.draft(input.id), draft.settingsRevision == input.settingsRevision else {
            await context.log("experiment \(input.id) changed or went before training; nothing to do")
            return SessionRecordMessage(id: input.id, owner: input.owner, settingsRevision: input.settingsRevision, status: .failed, error: "superseded")
        }
        try await store.updateDraft(input.id, from: .training, payload: "training_started") { experiment in
            guard experiment.settingsRevision == input.settingsRevision else { return false }
            experiment.status = .training
            return true
        }
        var message = SessionRecordMessage(id: input.id, owner: input.owner, settingsRevision: input.settingsRevision, status: .trained)
        do {
            message.modelKey = try await train(draft, context: context)
        } catch {
            message.status = .failed
            message.error = (error as? AerieError)?.message ?? (error as? MLError).map { "Training failed: \($0.message)." } ?? "Training failed: \(error)."
        }
        try await service.primitives.queues.send(queue: LabQueues.sessionRecord, body: try JSONCoding.encode(message))
        try await store.record("training", from: .training, to: .session, "send", payload: "train_data_record", data: .object(["experiment": .string(input.id)]))
        try await store.record("sessionRecord", from: .training, to: .session, "send", payload: "train_data_record", data: .object(["experiment": .string(input.id)]))
        return message
    }

    private func train(_ draft: Experiment, context: InvocationContext) async throws -> String {
        let store = service.store
        try await store.record("training", from: .training, to: .catalog, "send", payload: "training_catalog_req")
        try await store.record("catalog", from: .training, to: .catalog, "receive", payload: "training_catalog_req")
        let catalog = try await service.catalog()
        try await store.record("catalog", from: .catalog, to: .training, "send", payload: "training_catalog")
        try await store.record("training", from: .catalog, to: .training, "receive", payload: "training_catalog")
        let settings = draft.settings
        guard let dataset = catalog.dataset(settings.dataset), let model = catalog.model(settings.model), let kind = model.engineKind else {
            throw AerieError(.unprocessable, "The catalog no longer has dataset \(settings.dataset) or model \(settings.model); change the experiment's settings.")
        }
        let table = try await service.datasetTable(dataset)
        guard let labels = table.column(named: dataset.label)?.values else { throw AerieError(.internal, "The label column vanished.") }
        let classes = Array(Set((0..<table.rowCount).compactMap { labels.text($0) })).sorted()
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let usable = (0..<table.rowCount).filter { row in labels.text(row) != nil && !table.columns.contains { $0.values.isMissing(row) } }
        let split = DataSplit.stratified(labels: usable.map { index[labels.text($0) ?? ""] ?? 0 }, testFraction: settings.testSplit, seed: Self.seed)
        let trainRows = split.train.map { usable[$0] }
        let testRows = split.test.map { usable[$0] }
        var parameters: [String: String] = [:]
        for (name, value) in settings.hyperparameters.merging(settings.learningHyperparameters, uniquingKeysWith: { $1 }) {
            parameters[name] = Self.text(value)
        }
        if kind == .decisionTree || kind == .randomForest { parameters["criterion"] = settings.loss }
        let options = TrainingOptions(target: dataset.label, model: kind, task: .classification, parameters: parameters, testSize: 0, seed: Self.seed)
        await context.progress(0, "training \(settings.model) on \(trainRows.count) rows of \(dataset.name)")
        let (lines, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(8))
        let reporter = Task {
            for await line in lines { await context.progress(Self.fraction(of: line) ?? 0.5, line) }
        }
        let trainTable = table.selecting(rows: trainRows)
        let result: Result<(TabularModel, TrainingReport), any Error> = await withCheckedContinuation { done in
            DispatchQueue.global(qos: .userInitiated).async {
                done.resume(returning: Result { try Trainer.train(data: trainTable, options: options) { continuation.yield($0) } })
            }
        }
        continuation.finish()
        await reporter.value
        let (trained, _) = try result.get()
        let key = "models/\(draft.id)/s\(draft.settingsRevision).model"
        try await service.primitives.objects.put(bucket: LabService.bucket, key: key, data: Data(try trained.encoded()))
        try await service.primitives.objects.put(bucket: LabService.bucket, key: key + ".split.json",
                                                 data: try JSONCoding.encode(HeldOut(testRows: testRows, trainRows: trainRows.count)),
                                                 attributes: ObjectAttributes(contentType: "application/json"))
        await context.progress(1, "trained \(settings.model) on \(trainRows.count) rows; \(testRows.count) held out")
        return key
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        default: ""
        }
    }

    /// `done/total` in a progress line (`random-forest: 30/100 trees`) as a fraction.
    static func fraction(of line: String) -> Double? {
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "/")
            if parts.count == 2, let done = Double(parts[0]), let total = Double(parts[1]), total > 0 { return min(1, max(0, done / total)) }
        }
        return nil
    }
}

/// The rows a model was not trained on.
struct HeldOut: Codable, Sendable {
    var testRows: [Int]
    var trainRows: Int
    enum CodingKeys: String, CodingKey { case testRows = "test_rows"; case trainRows = "train_rows" }
}

/// Queue `sessionRecord`'s message (training → session): the outcome of training a draft.
struct SessionRecordMessage: Codable, Sendable {
    var id: String
    var owner: String
    var settingsRevision: Int
    var status: Experiment.Status
    var modelKey: String?
    var error: String?
    enum CodingKeys: String, CodingKey {
        case id, owner, status, error
        case settingsRevision = "settings_revision"
        case modelKey = "model_key"
    }
}

/// Queue `sessionUpdate`'s message (evaluation → session): metrics for a draft's model.
struct SessionUpdateMessage: Codable, Sendable {
    var id: String
    var owner: String
    var modelKey: String
    var metrics: Experiment.Metrics?
    var error: String?
    enum CodingKeys: String, CodingKey {
        case id, owner, metrics, error
        case modelKey = "model_key"
    }
}

/// Function `lab-evaluate` (the seed's Evaluation service): predicts the held-out rows with a draft's model and sends
/// accuracy, macro precision, recall and F1 and the confusion matrix to the session service through `sessionUpdate`.
struct EvaluateExperiment: Function {
    static let name = "lab-evaluate"

    struct Input: Codable, Sendable {
        var id: String
        var owner: String
        var settingsRevision: Int
        var modelKey: String
        enum CodingKeys: String, CodingKey { case id, owner; case settingsRevision = "settings_revision"; case modelKey = "model_key" }
    }

    let service: LabService
    /// One retry, as training: a failed evaluation is recorded as data, so a retry only follows a lost attempt.
    var configuration: FunctionConfiguration {
        FunctionConfiguration(concurrency: 2, timeout: .seconds(600), retries: 1, description: "Lab: evaluates a trained draft on its held-out split (→ queue sessionUpdate).", adminOnly: true)
    }

    func handle(_ input: Input, state: Void, context: InvocationContext) async throws -> SessionUpdateMessage {
        var message = SessionUpdateMessage(id: input.id, owner: input.owner, modelKey: input.modelKey)
        do {
            message.metrics = try await evaluate(input, context: context)
        } catch {
            message.error = (error as? AerieError)?.message ?? (error as? MLError).map { "Evaluation failed: \($0.message)." } ?? "Evaluation failed: \(error)."
        }
        try await service.primitives.queues.send(queue: LabQueues.sessionUpdate, body: try JSONCoding.encode(message))
        try await service.store.record("evaluation", from: .evaluation, to: .session, "send", payload: "update_session", data: .object(["experiment": .string(input.id)]))
        try await service.store.record("sessionUpdate", from: .evaluation, to: .session, "send", payload: "update_session", data: .object(["experiment": .string(input.id)]))
        return message
    }

    private func evaluate(_ input: Input, context: InvocationContext) async throws -> Experiment.Metrics {
        guard let draft = try await service.store.draft(input.id) else { throw AerieError.notFound("The draft is gone.") }
        let catalog = try await service.catalog()
        guard let dataset = catalog.dataset(draft.settings.dataset) else {
            throw AerieError(.unprocessable, "The catalog no longer has dataset \(draft.settings.dataset).")
        }
        await context.progress(0, "evaluating on the held-out rows of \(dataset.name)")
        let objects = service.primitives.objects
        let model = try TabularModel.decode([UInt8](try await objects.get(bucket: LabService.bucket, key: input.modelKey, range: nil).body))
        let heldOut = try JSONCoding.decode(HeldOut.self, from: try await objects.get(bucket: LabService.bucket, key: input.modelKey + ".split.json", range: nil).body)
        let test = try await service.datasetTable(dataset).selecting(rows: heldOut.testRows)
        let prediction = try model.predict(test)
        let classes = model.metadata.classes
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        guard let truthColumn = test.column(named: dataset.label)?.values else { throw AerieError(.internal, "The label column vanished.") }
        let truth = (0..<test.rowCount).map { index[truthColumn.text($0) ?? ""] ?? 0 }
        let predicted = prediction.labels.map { index[$0] ?? 0 }
        let metrics = ClassificationMetrics(truth: truth, predicted: predicted, labels: classes)
        await context.progress(1, "accuracy \(metrics.accuracy) on \(test.rowCount) held-out rows")
        return Experiment.Metrics(accuracy: metrics.accuracy, precision: metrics.precisionMacro, recall: metrics.recallMacro, f1: metrics.f1Macro,
                                  confusionMatrix: metrics.confusion, labels: metrics.labels)
    }
}

/// Function `lab-session-record` (the Session service on queue `sessionRecord`): writes a training outcome into the draft.
struct SessionRecordWriter: Function {
    static let name = "lab-session-record"
    let service: LabService
    var configuration: FunctionConfiguration { FunctionConfiguration(description: "Lab session service: training results from queue sessionRecord into the drafts.", adminOnly: true) }

    func handle(_ message: SessionRecordMessage, state: Void, context: InvocationContext) async throws -> Bool {
        try await service.store.record("sessionRecord", from: .training, to: .session, "receive", payload: "train_data_record", data: .object(["experiment": .string(message.id)]))
        let updated = try await service.store.updateDraft(message.id, from: .training, payload: "train_data_record") { draft in
            guard draft.settingsRevision == message.settingsRevision, draft.status == .training || draft.status == .queued else { return false }
            draft.status = message.status
            draft.modelKey = message.modelKey
            draft.error = message.error
            draft.metrics = nil
            return true
        }
        return updated != nil
    }
}

/// Function `lab-session-update` (the Session service on queue `sessionUpdate`): writes metrics into the draft.
struct SessionUpdateWriter: Function {
    static let name = "lab-session-update"
    let service: LabService
    var configuration: FunctionConfiguration { FunctionConfiguration(description: "Lab session service: metrics from queue sessionUpdate into the drafts.", adminOnly: true) }

    func handle(_ message: SessionUpdateMessage, state: Void, context: InvocationContext) async throws -> Bool {
        try await service.store.record("sessionUpdate", from: .evaluation, to: .session, "receive", payload: "update_session", data: .object(["experiment": .string(message.id)]))
        let updated = try await service.store.updateDraft(message.id, from: .evaluation, payload: "update_session") { draft in
            guard draft.modelKey == message.modelKey, draft.status == .evaluating else { return false }
            if let metrics = message.metrics {
                draft.status = .evaluated
                draft.metrics = metrics
                draft.error = nil
            } else {
                draft.status = .trained
                draft.error = message.error
            }
            return true
        }
        return updated != nil
    }
}

/// Function `lab-storage-record` (the Storage service on queue `storageRecord`): archives a draft as committed.
struct StorageRecordWriter: Function {
    static let name = "lab-storage-record"
    let service: LabService
    var configuration: FunctionConfiguration { FunctionConfiguration(description: "Lab storage service: drafts from queue storageRecord into the committed store.", adminOnly: true) }

    func handle(_ message: StorageRecordMessage, state: Void, context: InvocationContext) async throws -> Bool {
        try await service.store.record("storageRecord", from: .session, to: .storage, "receive", payload: "archive_data", data: .object(["experiment": .string(message.id)]))
        return try await service.store.archive(message.id) != nil
    }
}
