import AerieCore
import AerieFunctions
import AerieML
import Foundation

/// The Lab's logic on the primitives, shared by the routes and the functions: the catalog (table `lab_settings`),
/// the datasets (bucket `lab`, `datasets/<name>.csv`), the experiments (``LabStore``) and the opaque ids.
final class LabService: Sendable {
    static let bucket = "lab"
    let primitives: Primitives
    let runtime: FunctionRuntime
    let store: LabStore
    let ids: ExperimentIDs
    let now: @Sendable () -> Date

    private init(primitives: Primitives, runtime: FunctionRuntime, store: LabStore, ids: ExperimentIDs, now: @escaping @Sendable () -> Date) {
        self.primitives = primitives
        self.runtime = runtime
        self.store = store
        self.ids = ids
        self.now = now
    }

    /// The service with its bucket, tables, queues, bundled datasets and catalog in place (idempotent).
    static func open(primitives: Primitives, runtime: FunctionRuntime, now: @escaping @Sendable () -> Date) async throws -> LabService {
        try await primitives.ensureAppBucket(bucket, app: LabApp.name)
        for queue in LabQueues.all {
            try await primitives.ensureAppQueue(QueueConfiguration(name: queue, visibilityTimeout: .seconds(60), maxAttempts: 3), app: LabApp.name)
        }
        let ids = try await ExperimentIDs.load(tables: primitives.tables)
        primitives.appResources.claim(.table, ExperimentIDs.settingsTable.name, by: "the \(LabApp.name) app")
        let store = LabStore(primitives: primitives, now: now)
        try await store.prepare()
        let service = LabService(primitives: primitives, runtime: runtime, store: store, ids: ids, now: now)
        let bundled = try LabCatalog.bundled()
        for dataset in bundled.datasets {
            let key = datasetKey(dataset.name)
            if try await primitives.objects.head(bucket: bucket, key: key) == nil {
                guard let url = LabCatalog.resource("datasets/\(dataset.name).csv") else {
                    throw AerieError(.internal, "The Lab app's dataset \(dataset.name).csv is missing from its resources; reinstall Aerie.")
                }
                try await primitives.objects.put(bucket: bucket, key: key, data: try Data(contentsOf: url),
                                                 attributes: ObjectAttributes(contentType: "text/csv"))
            }
        }
        if try await primitives.tables.get(table: ExperimentIDs.settingsTable.name, key: ItemKey(partition: .string("catalog"))) == nil {
            try await service.saveCatalog(bundled, condition: .absent)
        }
        return service
    }

    static func datasetKey(_ name: String) -> String { "datasets/\(name).csv" }

    // MARK: - Catalog

    func catalog() async throws -> LabCatalog {
        guard let stored = try await primitives.tables.get(table: ExperimentIDs.settingsTable.name, key: ItemKey(partition: .string("catalog"))),
              let value = stored.item["value"] else {
            return try LabCatalog.bundled()
        }
        return try JSONCoding.decode(LabCatalog.self, from: JSONCoding.encode(value))
    }

    func saveCatalog(_ catalog: LabCatalog, condition: WriteCondition = .none) async throws {
        let value = try JSONCoding.decode(JSONValue.self, from: JSONCoding.encode(catalog))
        do {
            _ = try await primitives.tables.put(table: ExperimentIDs.settingsTable.name, item: ["name": .string("catalog"), "value": value],
                                                owner: nil, condition: condition)
        } catch let error as AerieError where error.code == .conditionFailed && condition == .absent {}
    }

    /// Replaces the catalog after checking it (every problem at once) and that each dataset's CSV is in bucket `lab`.
    func replaceCatalog(_ new: LabCatalog) async throws -> LabCatalog {
        var errors = new.problems()
        for (index, dataset) in new.datasets.enumerated() {
            guard try await primitives.objects.head(bucket: Self.bucket, key: Self.datasetKey(dataset.name)) == nil else { continue }
            errors.append(LabFieldError(field: "datasets.\(index).name", rule: "catalog",
                                        detail: "Dataset \(dataset.name) has no data; register it with POST /v1/apps/lab/datasets first.",
                                        pointer: "/datasets/\(index)/name"))
        }
        guard errors.isEmpty else { throw ValidationFailure(errors: errors) }
        var catalog = new
        catalog.version = try await self.catalog().version + 1
        try await saveCatalog(catalog)
        return catalog
    }

    /// Registers a CSV already in the object store as a dataset: checked, copied to bucket `lab` and added to the catalog.
    func registerDataset(name: String, task: String, bucket: String, key: String, label: String, description: String?) async throws -> LabCatalog.Dataset {
        try TableSchema.validateName(name, what: "Dataset name", field: "/name")
        var catalog = try await catalog()
        guard catalog.dataset(name) == nil else {
            throw AerieError(.alreadyExists, "The catalog already has a dataset \(name); pick another name.", field: "/name")
        }
        guard task == "classification" else {
            throw ValidationFailure(errors: [LabFieldError(field: "task", rule: "dataset", detail: "The Lab trains classification only; task must be classification.", pointer: "/task")])
        }
        let object: ObjectData
        do {
            object = try await primitives.objects.get(bucket: bucket, key: key, range: nil)
        } catch let error as AerieError where error.code == .notFound {
            throw ValidationFailure(errors: [LabFieldError(field: "key", rule: "dataset", detail: "There is no object \(bucket)/\(key); upload the CSV first.", pointer: "/key")])
        }
        let table: DataTable
        do {
            table = try DataTable.parse(csv: String(decoding: object.body, as: UTF8.self))
        } catch let error as MLError {
            throw ValidationFailure(errors: [LabFieldError(field: "key", rule: "dataset", detail: "\(bucket)/\(key) is not a readable CSV: \(error.message).", pointer: "/key")])
        }
        guard table.column(named: label) != nil else {
            throw ValidationFailure(errors: [LabFieldError(field: "label", rule: "dataset", detail: "\(bucket)/\(key) has no column \(label); its columns are \(table.columnNames.joined(separator: ", ")).", pointer: "/label")])
        }
        let features = table.columnNames.filter { $0 != label }
        guard !features.isEmpty, table.rowCount >= 10 else {
            throw ValidationFailure(errors: [LabFieldError(field: "key", rule: "dataset", detail: "A dataset needs a feature column besides \(label) and at least 10 rows.", pointer: "/key")])
        }
        try await primitives.objects.put(bucket: Self.bucket, key: Self.datasetKey(name), data: object.body, attributes: ObjectAttributes(contentType: "text/csv"))
        let dataset = LabCatalog.Dataset(
            name: name, task: task, description: description ?? "Registered from \(bucket)/\(key).", features: features, label: label,
            records: table.rowCount, preprocessing: catalog.datasets.first?.preprocessing ?? [])
        catalog.datasets.append(dataset)
        catalog.version += 1
        try await saveCatalog(catalog)
        return dataset
    }

    // MARK: - Ids

    func opaque(_ experiment: Experiment) -> String { ids.seal(id: experiment.id, owner: experiment.owner) }

    /// The experiment an opaque id names, if the caller may see it; otherwise 404 (forged, altered, another user's, gone).
    func visible(_ opaque: String, caller: String, isAdmin: Bool) async throws -> Experiment {
        guard let (id, owner) = ids.open(opaque), owner == caller || isAdmin,
              let experiment = try await store.experiment(id), experiment.owner == owner else {
            throw AerieError.notFound("There is no experiment \(opaque) of yours; GET /v1/apps/lab/experiments lists them.")
        }
        return experiment
    }

    func body(_ experiment: Experiment) -> JSONValue { experiment.body(id: opaque(experiment)) }

    // MARK: - Experiments

    /// Creates a draft for checked settings and queues its training.
    func create(owner: String, settings: ExperimentSettings) async throws -> Experiment {
        let time = now()
        let experiment = Experiment(id: TimeOrderedID.make(time), owner: owner, state: .draft, status: .queued, settings: settings, metrics: nil,
                                    error: nil, createdAt: time, updatedAt: time, revision: 1, settingsRevision: 1, modelKey: nil)
        try await store.record("training", from: .training, to: .client, "send", payload: "req_accepted", data: .object(["experiment": .string(experiment.id)]))
        try await store.create(experiment, from: .training, payload: "session_created")
        try await startTraining(experiment)
        return experiment
    }

    /// New settings for a draft: retrained from scratch, metrics cleared.
    func retrain(_ experiment: Experiment, settings: ExperimentSettings) async throws -> Experiment {
        guard let updated = try await store.updateDraft(experiment.id, from: .client, payload: "update_settings", { draft in
            draft.settings = settings
            draft.settingsRevision += 1
            draft.status = .queued
            draft.metrics = nil
            draft.error = nil
            draft.modelKey = nil
            return true
        }) else { throw AerieError.notFound("Experiment \(opaque(experiment)) is gone.") }
        try await startTraining(updated)
        return updated
    }

    private func startTraining(_ experiment: Experiment) async throws {
        let input = TrainExperiment.Input(id: experiment.id, owner: experiment.owner, settingsRevision: experiment.settingsRevision)
        _ = try await runtime.invokeAsync(TrainExperiment.name, input: try JSONCoding.encode(input), trigger: TriggerInfo(kind: .http, source: "lab"),
                                          owner: experiment.owner, idempotencyKey: "\(experiment.id)-train-\(experiment.settingsRevision)")
        try await store.record("training", from: .client, to: .training, "receive", payload: "training_req", data: .object(["experiment": .string(experiment.id)]))
    }

    /// Marks a trained draft as evaluating and queues its evaluation.
    func evaluate(_ experiment: Experiment) async throws -> Experiment {
        try await store.record("evaluation", from: .client, to: .evaluation, "receive", payload: "eval_req", data: .object(["experiment": .string(experiment.id)]))
        try await store.record("evaluation", from: .evaluation, to: .session, "send", payload: "query_record", data: .object(["experiment": .string(experiment.id)]))
        guard experiment.modelKey != nil, experiment.status == .trained || experiment.status == .evaluated else {
            try await store.record("evaluation", from: .evaluation, to: .client, "send", payload: "req_rejected")
            throw AerieError(.conflict, "Experiment \(opaque(experiment)) is \(experiment.status.rawValue); it can be evaluated once it is trained.")
        }
        guard let updated = try await store.updateDraft(experiment.id, from: .evaluation, payload: "query_record", { draft in
            guard draft.modelKey == experiment.modelKey else { return false }
            draft.status = .evaluating
            draft.error = nil
            return true
        }), let modelKey = updated.modelKey else {
            throw AerieError(.conflict, "Experiment \(opaque(experiment)) changed meanwhile; GET it and try again.")
        }
        try await store.record("evaluation", from: .session, to: .evaluation, "receive", payload: "eval_dto", data: .object(["experiment": .string(experiment.id)]))
        let input = EvaluateExperiment.Input(id: updated.id, owner: updated.owner, settingsRevision: updated.settingsRevision, modelKey: modelKey)
        _ = try await runtime.invokeAsync(EvaluateExperiment.name, input: try JSONCoding.encode(input), trigger: TriggerInfo(kind: .http, source: "lab"),
                                          owner: updated.owner, idempotencyKey: "\(updated.id)-evaluate-\(updated.revision)")
        try await store.record("evaluation", from: .evaluation, to: .client, "send", payload: "req_accepted")
        return updated
    }

    /// Moves a settled draft into the committed store through queue `storageRecord`; waits (up to `wait`) until the
    /// storage service has written it.
    func commit(_ experiment: Experiment, wait: Duration = .seconds(15)) async throws -> Experiment {
        try await store.record("session", from: .client, to: .session, "receive", payload: "save_session", data: .object(["experiment": .string(experiment.id)]))
        guard experiment.status.isSettled else {
            try await store.record("session", from: .session, to: .client, "send", payload: "req_rejected")
            throw AerieError(.conflict, "Experiment \(opaque(experiment)) is \(experiment.status.rawValue); commit it once training or evaluation has finished.")
        }
        let message = StorageRecordMessage(id: experiment.id, owner: experiment.owner)
        try await primitives.queues.send(queue: LabQueues.storageRecord, body: try JSONCoding.encode(message), deduplicationId: "\(experiment.id)-commit")
        try await store.record("session", from: .session, to: .storage, "send", payload: "archive_data", data: .object(["experiment": .string(experiment.id)]))
        try await store.record("storageRecord", from: .session, to: .storage, "send", payload: "archive_data", data: .object(["experiment": .string(experiment.id)]))
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        while clock.now < deadline {
            if let committed = try await store.committedExperiment(experiment.id) {
                try await store.record("session", from: .session, to: .client, "send", payload: "req_accepted")
                return committed
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw AerieError(.unavailable, "The storage service has not archived experiment \(opaque(experiment)) yet; GET it again in a moment.")
    }

    // MARK: - Training and evaluation data

    /// The dataset's table, with only its features and label.
    func datasetTable(_ dataset: LabCatalog.Dataset) async throws -> DataTable {
        let object = try await primitives.objects.get(bucket: Self.bucket, key: Self.datasetKey(dataset.name), range: nil)
        let table = try DataTable.parse(csv: String(decoding: object.body, as: UTF8.self))
        var columns: [Column] = []
        for name in dataset.features + [dataset.label] {
            guard let column = table.column(named: name) else {
                throw AerieError(.unprocessable, "Dataset \(dataset.name) has no column \(name) although the catalog lists it; fix the catalog.")
            }
            columns.append(column)
        }
        return DataTable(columns: columns)
    }
}

/// Queue `storageRecord`'s message: archive this draft.
struct StorageRecordMessage: Codable, Sendable {
    var id: String
    var owner: String
}
