import AerieAuth
import AerieCore
import AerieFunctions
import AerieHTTP
import AerieML
import Foundation
import HTTPTypes
import Hummingbird

/// The app's API: `/v1/apps/pipeline/datasets[/{name}]` and `/v1/apps/pipeline/models[/{name}[/predict]]`.
///
/// A caller sees only their own datasets (admins also those uploaded straight to `raw/<name>.csv`); anyone else's
/// is "not found", whether or not it exists.
struct PipelineRoutes {
    let primitives: Primitives
    let runtime: FunctionRuntime
    let limits: PipelineLimits
    let cache: ModelCache
    let maxJSONBodySize: Int

    var store: DatasetStore { DatasetStore(tables: primitives.tables) }

    var routes: [GatewayRoute] {
        let signedIn = Access.authenticated(keyScope: nil)
        let base = "/v1/apps/pipeline"
        return [
            GatewayRoute(.post, "\(base)/datasets", summary: "Upload a CSV (body, or multipart field `file`) to preprocess and train",
                         tag: "pipeline", access: signedIn, request: .binary, status: 202, response: .json("PipelineDataset"),
                         query: [("name", "The dataset's name (default: the uploaded file's name)."),
                                 ("target", "The target column (default: the last column)."),
                                 ("model", "random-forest (default), decision-tree, logistic-regression, svm, naive-bayes or knn."),
                                 ("task", "auto (default), classification or regression."),
                                 ("test_size", "Fraction held out for the metrics, default 0.2."),
                                 ("seed", "Random seed, default 0.")]) { [self] request, context in
                try await upload(request, context)
            },
            GatewayRoute(.get, "\(base)/datasets", summary: "The caller's datasets with the stage of each version", tag: "pipeline",
                         access: signedIn, response: .json("PipelineDatasetList")) { [self] _, context in
                let identity = try context.requireIdentity()
                var items: [JSONValue] = []
                for owner in owners(identity) {
                    for (_, versions) in try await store.all(owner: owner) { items.append(try view(versions)) }
                }
                return try Response.json(ListBody(items: items, nextCursor: nil))
            },
            GatewayRoute(.get, "\(base)/datasets/{name}", summary: "A dataset: its latest version's stage, timings, error and report, and every version",
                         tag: "pipeline", access: signedIn, response: .json("PipelineDataset")) { [self] _, context in
                let versions = try await find(try context.pathParameter("name"), context)
                return try Response.json(try view(versions))
            },
            GatewayRoute(.delete, "\(base)/datasets/{name}", summary: "Delete a dataset (every version, or ?version=N) and its models",
                         tag: "pipeline", access: signedIn, status: 204,
                         query: [("version", "Delete only this version.")]) { [self] request, context in
                try await delete(request, context)
            },
            GatewayRoute(.get, "\(base)/models", summary: "The caller's models: the serving (latest ready) version of each dataset with metrics and schema",
                         tag: "pipeline", access: signedIn, response: .json("PipelineModelList")) { [self] _, context in
                let identity = try context.requireIdentity()
                var items: [JSONValue] = []
                for owner in owners(identity) {
                    for (_, versions) in try await store.all(owner: owner) {
                        if let model = try modelView(versions) { items.append(model) }
                    }
                }
                return try Response.json(ListBody(items: items, nextCursor: nil))
            },
            GatewayRoute(.get, "\(base)/models/{name}", summary: "One model: the serving version's metrics, confusion matrix and schema",
                         tag: "pipeline", access: signedIn, response: .json("PipelineModel")) { [self] _, context in
                let name = try context.pathParameter("name")
                guard let model = try modelView(try await find(name, context)) else { throw noModel(name) }
                return try Response.json(model)
            },
            GatewayRoute(.post, "\(base)/models/{name}/predict", summary: "Predict rows with the latest ready model of a dataset",
                         tag: "pipeline", access: signedIn, request: .json("PipelinePredictRequest"),
                         response: .json("PipelinePrediction")) { [self] request, context in
                try await predict(request, context)
            },
        ]
    }

    // MARK: Ownership

    /// Whose datasets the caller sees: their own, and for admins those without an owner too.
    func owners(_ identity: Identity) -> [String] {
        identity.isAdmin ? [identity.username, ""] : [identity.username]
    }

    /// The versions of the caller's dataset `name`, or 404.
    func find(_ name: String, _ context: AerieRequestContext) async throws -> [DatasetRecord] {
        let identity = try context.requireIdentity()
        try PipelineKeys.validateName(name, field: "name")
        for owner in owners(identity) {
            let versions = try await store.versions(owner: owner, name: name)
            if !versions.isEmpty { return versions }
        }
        throw AerieError.notFound("You have no dataset named \"\(name)\"; GET /v1/apps/pipeline/datasets lists yours.")
    }

    func noModel(_ name: String) -> AerieError {
        AerieError.notFound("Dataset \"\(name)\" has no ready model yet; GET /v1/apps/pipeline/datasets/\(name) shows its stage (wait for ready, or see why it failed).")
    }

    // MARK: Views

    /// A dataset as the API shows it: the latest version's record, with every version under `versions`.
    func view(_ versions: [DatasetRecord]) throws -> JSONValue {
        guard let latest = versions.last else { return .null }
        var object = try PipelineJSON.object(latest)
        object["versions"] = .array(try versions.reversed().map { try PipelineJSON.value($0) })
        object["serving_version"] = versions.last(where: { $0.stage == .ready }).map { .number(Double($0.version)) } ?? .null
        return .object(object)
    }

    /// The serving model of a dataset (its latest ready version), or nil.
    func modelView(_ versions: [DatasetRecord]) throws -> JSONValue? {
        guard let serving = versions.last(where: { $0.stage == .ready }), let summary = serving.model else { return nil }
        var object = try PipelineJSON.object(summary)
        object["versions"] = .array(versions.filter { $0.stage == .ready }.reversed().map { .number(Double($0.version)) })
        object["latest_stage"] = .string(versions.last?.stage.rawValue ?? "")
        object["trained_at"] = serving.timings.finishedAt.map { .string(RFC3339.string(from: $0)) } ?? .null
        return .object(object)
    }

    // MARK: Upload

    func upload(_ request: Request, _ context: AerieRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        var fields: [String: String] = [:]
        for element in request.uri.queryParameters { fields[String(element.key)] = String(element.value) }
        var filename: String?
        var csv: Data?
        let limit = Int(limits.maxDatasetBytes)
        let body: Data
        do {
            body = try await request.collectData(limit: MultipartForm.boundary(contentType: request.headers[.contentType] ?? "") == nil ? limit : limit + 64 * 1024)
        } catch let error as HTTPProblem where error.type == .tooLarge {
            try await recordTooLarge(owner: identity.username, fields: fields, size: request.headers[.contentLength].flatMap(Int64.init))
            throw error
        }
        if let boundary = MultipartForm.boundary(contentType: request.headers[.contentType] ?? "") {
            let form = try MultipartForm(data: body, boundary: boundary)
            for part in form.parts {
                if part.name == "file" || (part.filename != nil && csv == nil) {
                    csv = part.data
                    filename = part.filename
                } else {
                    fields[part.name] = String(decoding: part.data, as: UTF8.self)
                }
            }
            guard csv != nil else {
                throw AerieError.invalid("The form has no file part; send the CSV as field \"file\" (curl -F file=@data.csv).", field: "file")
            }
        } else {
            csv = body
        }
        if fields["name"] == nil, let filename {
            let base = (filename.split(separator: "/").last.map(String.init) ?? filename)
            fields["name"] = base.lowercased().hasSuffix(".csv") ? String(base.dropLast(4)) : base
        }
        guard let name = fields.removeValue(forKey: "name"), !name.isEmpty else {
            throw AerieError.invalid("Name the dataset: add ?name=<name> (or a form field \"name\", or upload a file with a name).", field: "name")
        }
        try PipelineKeys.validateName(name, field: "name")
        let options = try TrainingRequest.parse(fields: fields)
        let data = csv ?? Data()
        let owner = identity.username
        if data.count > limit {
            try await recordTooLarge(owner: owner, fields: fields.merging(["name": name]) { a, _ in a }, size: Int64(data.count))
            throw AerieError(.tooLarge, PipelineLimits.tooLargeMessage(size: Int64(data.count), limit: limits.maxDatasetBytes))
        }

        let record = try await store.allocate(owner: owner, name: name, options: options, source: nil)
        var metadata = options.metadata
        metadata["owner"] = owner
        metadata["version"] = String(record.version)
        do {
            try await primitives.objects.put(bucket: PipelineKeys.bucket, key: PipelineKeys.raw(owner: owner, name: name), data: data,
                                             attributes: ObjectAttributes(contentType: "text/csv", metadata: metadata),
                                             maxSize: limits.maxDatasetBytes)
        } catch {
            _ = try? await store.update(owner: owner, name: name, version: record.version) { $0.fail("The upload could not be stored: \(error)") }
            throw error
        }
        runtime.wake()
        let stored = try await store.get(owner: owner, name: name, version: record.version)?.record ?? record
        return try Response.json(try PipelineJSON.value(stored), status: .accepted,
                                 headers: [.location: "/v1/apps/pipeline/datasets/\(name)"])
    }

    /// Records a version that failed for being over the size limit, when the upload named the dataset.
    func recordTooLarge(owner: String, fields: [String: String], size: Int64?) async throws {
        guard let name = fields["name"], PipelineKeys.isValidName(name) else { return }
        let options = (try? TrainingRequest.parse(fields: fields.filter { $0.key != "name" })) ?? TrainingRequest()
        let record = try await store.allocate(owner: owner, name: name, options: options, source: nil)
        let reason = size.map { PipelineLimits.tooLargeMessage(size: $0, limit: limits.maxDatasetBytes) }
            ?? "The file is over the pipeline's limit of \(limits.maxDatasetBytes) bytes; upload a smaller sample of the data."
        try await store.update(owner: owner, name: name, version: record.version) { $0.fail(reason) }
    }

    // MARK: Delete

    func delete(_ request: Request, _ context: AerieRequestContext) async throws -> Response {
        let versions = try await find(try context.pathParameter("name"), context)
        guard let first = versions.first else { return Response.empty(.noContent) }
        let (owner, name) = (first.owner, first.name)
        var doomed = versions
        if let text = request.query("version") {
            guard let version = Int(text), let record = versions.first(where: { $0.version == version }) else {
                throw AerieError.notFound("Dataset \"\(name)\" has no version \(text); its versions are \(versions.map { String($0.version) }.joined(separator: ", ")).")
            }
            doomed = [record]
        }
        let objects = primitives.objects
        for record in doomed {
            try await objects.delete(bucket: PipelineKeys.bucket, key: PipelineKeys.model(owner: owner, name: name, version: record.version))
            try await objects.delete(bucket: PipelineKeys.bucket, key: PipelineKeys.modelDocument(owner: owner, name: name, version: record.version))
            try await store.delete(owner: owner, name: name, version: record.version)
        }
        if doomed.count == versions.count {
            for key in [PipelineKeys.raw(owner: owner, name: name), PipelineKeys.preprocessed(owner: owner, name: name),
                        PipelineKeys.report(owner: owner, name: name)] {
                try await objects.delete(bucket: PipelineKeys.bucket, key: key)
            }
        }
        await cache.forget(prefix: PipelineKeys.modelFolder(owner: owner, name: name))
        return Response.empty(.noContent)
    }

    // MARK: Predict

    func predict(_ request: Request, _ context: AerieRequestContext) async throws -> Response {
        let name = try context.pathParameter("name")
        let versions = try await find(name, context)
        guard let serving = versions.last(where: { $0.stage == .ready }), let summary = serving.model else { throw noModel(name) }
        let body = try await request.decodeJSON(JSONValue.self, limit: maxJSONBodySize)
        let model = try await cache.model(key: summary.key, objects: primitives.objects)
        let table = try PredictionInput.table(from: body, model: model, maxRows: limits.maxPredictRows)
        let prediction: TabularModel.Prediction
        do {
            prediction = try model.predict(table)
        } catch let error as MLError {
            throw AerieError.invalid(error.message, field: "/rows")
        }
        var result: [String: JSONValue] = ["model": .string(name), "version": .number(Double(serving.version))]
        if let values = prediction.values {
            result["predictions"] = .array(values.map { .number($0) })
        } else {
            result["predictions"] = .array(prediction.labels.map { .string($0) })
        }
        if let probabilities = prediction.probabilities {
            let classes = model.metadata.classes
            result["probabilities"] = .array((0..<probabilities.rows).map { row in
                .object(Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, .number(probabilities[row, $0])) }))
            })
        }
        return try Response.json(JSONValue.object(result))
    }
}
