import AerieAuth
import AerieCore
import AerieHTTP
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The Lab API under `/v1/apps/lab/`: the catalog, datasets, experiments (each user sees their own; admins all) and,
/// for admins, the behavioural records and consumer offsets.
struct LabRoutes {
    let holder: LabApp.Holder
    let eventStreams: EventStreamLimiter
    static let prefix = "/v1/apps/lab"
    static let signedIn = Access.authenticated(keyScope: nil)
    static let maxJSONBody = 256 * 1024

    var routes: [GatewayRoute] {
        [
            GatewayRoute(.get, "\(Self.prefix)/catalog", summary: "The catalog: datasets, models with their hyperparameters, loss and algorithm pairs, metrics",
                         tag: "lab", access: Self.signedIn, response: .json("LabCatalog"), statuses: [503]) { [holder] _, context in
                _ = try context.requireIdentity()
                let service = try holder.service()
                try await service.store.record("catalog", from: .client, to: .catalog, "receive", payload: "training_catalog_req")
                let catalog = try await service.catalog()
                try await service.store.record("catalog", from: .catalog, to: .client, "send", payload: "training_catalog")
                return try Response.json(catalog)
            },
            GatewayRoute(.put, "\(Self.prefix)/catalog", summary: "Replace the catalog (checked: every problem is listed, 422); its version goes up by one",
                         tag: "lab", access: .admin, request: .json("LabCatalog"), response: .json("LabCatalog"), statuses: [422, 503]) { [holder] request, context in
                let service = try holder.service()
                let catalog = try await request.decodeJSON(LabCatalog.self, limit: Self.maxJSONBody)
                do {
                    return try Response.json(try await service.replaceCatalog(catalog))
                } catch let failure as ValidationFailure {
                    return Self.unprocessable(failure, "The catalog has \(failure.errors.count) problem(s); fix each one listed in errors.", request: request, context: context)
                }
            },
            GatewayRoute(.post, "\(Self.prefix)/datasets", summary: "Register a CSV already in the object store as a dataset (its label column and the other columns as features)",
                         tag: "lab", access: .admin, request: .json("LabDatasetRequest"), status: 201, response: .json("LabDataset"),
                         statuses: [409, 422, 503]) { [holder] request, context in
                let service = try holder.service()
                let body = try await request.decodeJSON(JSONValue.self, limit: Self.maxJSONBody)
                guard case .object(let fields) = body else { throw AerieError.invalid("The body must be a JSON object.", field: "/") }
                func string(_ name: String, required: Bool = true) throws -> String? {
                    switch fields[name] {
                    case .string(let text)?: return text
                    case nil, .null?:
                        if required { throw AerieError.invalid("\(name) is required.", field: "/\(name)") }
                        return nil
                    default: throw AerieError.invalid("\(name) must be a string.", field: "/\(name)")
                    }
                }
                let name = try string("name") ?? "", task = try string("task") ?? "", bucket = try string("bucket") ?? ""
                let key = try string("key") ?? "", label = try string("label") ?? ""
                let description = try string("description", required: false)
                do {
                    let dataset = try await service.registerDataset(name: name, task: task, bucket: bucket, key: key, label: label, description: description)
                    return try Response.json(dataset, status: .created)
                } catch let failure as ValidationFailure {
                    return Self.unprocessable(failure, "The dataset cannot be registered; see errors.", request: request, context: context)
                }
            },
            GatewayRoute(.post, "\(Self.prefix)/experiments",
                         summary: "Train a model: checked against the catalog (every broken rule listed, 422), then trained in the background (status queued → training → trained)",
                         tag: "lab", access: Self.signedIn, request: .json("LabExperimentRequest"), status: 202, response: .json("LabExperiment"),
                         statuses: [422, 503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let parsed: ExperimentRequest
                do {
                    parsed = try ExperimentRequest.parse(try await request.decodeJSON(JSONValue.self, limit: Self.maxJSONBody))
                } catch let error as AerieError {
                    try await service.store.record("training", from: .training, to: .client, "send", payload: "bad_request")
                    throw error
                }
                try await service.store.record("training", from: .client, to: .training, "receive", payload: "training_req")
                switch ExperimentValidator.resolve(parsed, catalog: try await service.catalog()) {
                case .failure(let failure):
                    try await service.store.record("training", from: .training, to: .client, "send", payload: "bad_request",
                                                   data: .object(["errors": .number(Double(failure.errors.count))]))
                    return Self.unprocessable(failure, "The request breaks \(failure.errors.count) catalog rule(s); GET \(Self.prefix)/catalog lists what is allowed.",
                                              request: request, context: context)
                case .success(let settings):
                    let experiment = try await service.create(owner: identity.username, settings: settings)
                    let id = service.opaque(experiment)
                    return try Response.json(JSONValue.object(["id": .string(id), "status": "queued", "state": "draft"]), status: .accepted,
                                             headers: [.location: "\(Self.prefix)/experiments/\(id)"])
                }
            },
            GatewayRoute(.get, "\(Self.prefix)/experiments", summary: "Your experiments (admins: everyone's), newest first, drafts then committed unless state is given",
                         tag: "lab", access: Self.signedIn, response: .json("LabExperimentList"),
                         query: [("state", "draft or committed; both when omitted."), ("limit", "1–200, default 50."), ("cursor", "From the previous page's next_cursor.")],
                         statuses: [503]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let states: [Experiment.State]
                switch request.query("state") {
                case nil, "": states = [.draft, .committed]
                case let text?:
                    guard let state = Experiment.State(rawValue: text) else {
                        throw AerieError.invalid("state must be draft or committed, not \"\(text)\".", field: "state")
                    }
                    states = [state]
                }
                let limit = try request.queryInt("limit", default: 50, range: 1...200)
                // The cursor names the store it continues in: "draft:<table cursor>" or "committed:<table cursor>".
                var index = 0
                var cursor: String?
                if let text = request.query("cursor"), !text.isEmpty {
                    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                    guard parts.count == 2, let state = Experiment.State(rawValue: parts[0]), let position = states.firstIndex(of: state) else {
                        throw AerieError.invalid("cursor is not one this list gave; start again without it.", field: "cursor")
                    }
                    index = position
                    cursor = parts[1].isEmpty ? nil : parts[1]
                }
                let owner = identity.isAdmin ? nil : identity.username
                try await service.store.record(states == [.committed] ? "storage" : "session", from: .client, to: states == [.committed] ? .storage : .session, "receive",
                                               payload: states == [.committed] ? "view_experiments" : "view_sessions")
                var items: [JSONValue] = []
                var next: String?
                while index < states.count {
                    let page = try await service.store.list(states[index], owner: owner, limit: limit - items.count, cursor: cursor)
                    items += page.items.map(service.body)
                    if let more = page.nextCursor {
                        next = "\(states[index].rawValue):\(more)"
                        break
                    }
                    index += 1
                    cursor = nil
                    if items.count >= limit {
                        if index < states.count { next = "\(states[index].rawValue):" }
                        break
                    }
                }
                return try Response.json(JSONValue.object(["items": .array(items), "next_cursor": next.map(JSONValue.string) ?? .null]))
            },
            GatewayRoute(.get, "\(Self.prefix)/experiments/{id}", summary: "One of your experiments (a forged or another user's id answers 404)",
                         tag: "lab", access: Self.signedIn, response: .json("LabExperiment"), statuses: [503]) { [holder] _, context in
                let (service, experiment) = try await Self.visible(holder, context)
                return try Response.json(service.body(experiment))
            },
            GatewayRoute(.get, "\(Self.prefix)/experiments/{id}/events",
                         summary: "Follow an experiment: server-sent `experiment` events (its body) at each change, until training or evaluation has finished",
                         tag: "lab", access: Self.signedIn, response: .eventStream, statuses: [503]) { [holder, eventStreams] _, context in
                let (service, experiment) = try await Self.visible(holder, context)
                let lease = try eventStreams.open(for: try context.requireIdentity())
                let body = ResponseBody { writer in
                    defer { lease.release() }
                    var last: Experiment?
                    var current: Experiment? = experiment
                    let clock = ContinuousClock()
                    let deadline = clock.now + .seconds(1800)
                    var sequence = 0
                    while let shown = current, clock.now < deadline {
                        if shown != last {
                            sequence += 1
                            let data = String(decoding: try JSONCoding.encode(service.body(shown)), as: UTF8.self)
                            try await writer.write(ByteBuffer(string: "id: \(sequence)\nevent: experiment\ndata: \(data)\n\n"))
                            last = shown
                        }
                        if shown.status.isSettled || shown.state == .committed { break }
                        try await Task.sleep(for: .milliseconds(100))
                        current = try await service.store.experiment(shown.id)
                    }
                    try await writer.write(ByteBuffer(string: "event: end\ndata: {}\n\n"))
                    try await writer.finish(nil)
                }
                return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
            },
            GatewayRoute(.post, "\(Self.prefix)/experiments/{id}/evaluate",
                         summary: "Evaluate a trained draft on its held-out split (status evaluating → evaluated with metrics); 409 when committed or not trained",
                         tag: "lab", access: Self.signedIn, status: 202, response: .json("LabExperiment"), statuses: [409, 503]) { [holder] _, context in
                let (service, experiment) = try await Self.visible(holder, context)
                try Self.requireDraft(experiment, service, "evaluated again")
                return try Response.json(service.body(try await service.evaluate(experiment)), status: .accepted)
            },
            GatewayRoute(.patch, "\(Self.prefix)/experiments/{id}",
                         summary: "Change a draft's settings (any subset of the training request); checked against the catalog, then retrained. 409 when committed",
                         tag: "lab", access: Self.signedIn, request: .json("LabExperimentPatch"), status: 202, response: .json("LabExperiment"),
                         statuses: [409, 422, 503]) { [holder] request, context in
                let (service, experiment) = try await Self.visible(holder, context)
                let patch = try ExperimentRequest.parse(try await request.decodeJSON(JSONValue.self, limit: Self.maxJSONBody))
                try Self.requireDraft(experiment, service, "changed")
                guard experiment.status.isSettled else {
                    throw AerieError(.conflict, "Experiment \(service.opaque(experiment)) is \(experiment.status.rawValue); change it once that has finished.")
                }
                let merged = experiment.settings.request.merged(with: patch)
                switch ExperimentValidator.resolve(merged, catalog: try await service.catalog()) {
                case .failure(let failure):
                    return Self.unprocessable(failure, "The change breaks \(failure.errors.count) catalog rule(s); GET \(Self.prefix)/catalog lists what is allowed.",
                                              request: request, context: context)
                case .success(let settings):
                    return try Response.json(service.body(try await service.retrain(experiment, settings: settings)), status: .accepted)
                }
            },
            GatewayRoute(.delete, "\(Self.prefix)/experiments/{id}", summary: "Delete a draft; 409 when committed",
                         tag: "lab", access: Self.signedIn, status: 204, statuses: [409, 503]) { [holder] _, context in
                let (service, experiment) = try await Self.visible(holder, context)
                try Self.requireDraft(experiment, service, "deleted")
                guard try await service.store.deleteDraft(experiment.id) else {
                    throw AerieError.notFound("There is no experiment \(service.opaque(experiment)) of yours.")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.post, "\(Self.prefix)/experiments/{id}/commit",
                         summary: "Commit a finished draft: moved into the committed store (same id) through queue storageRecord; immutable from then on",
                         tag: "lab", access: Self.signedIn, response: .json("LabExperiment"), statuses: [409, 503]) { [holder] _, context in
                let (service, experiment) = try await Self.visible(holder, context)
                try Self.requireDraft(experiment, service, "committed again")
                return try Response.json(service.body(try await service.commit(experiment)))
            },
        ] + LabAdminRoutes(holder: holder).routes
    }

    static func visible(_ holder: LabApp.Holder, _ context: AerieRequestContext) async throws -> (LabService, Experiment) {
        let identity = try context.requireIdentity()
        let service = try holder.service()
        return (service, try await service.visible(try context.pathParameter("id"), caller: identity.username, isAdmin: identity.isAdmin))
    }

    static func requireDraft(_ experiment: Experiment, _ service: LabService, _ action: String) throws {
        guard experiment.state == .draft else {
            throw AerieError(.conflict, "Experiment \(service.opaque(experiment)) is committed and cannot be \(action); train a new one instead.")
        }
    }

    /// A 422 problem whose `errors` are the broken rules (field, rule, detail, pointer).
    static func unprocessable(_ failure: ValidationFailure, _ detail: String, request: Request, context: AerieRequestContext) -> Response {
        struct Body: Encodable {
            var type = "/problems/unprocessable"
            var title = "Unprocessable content"
            var status = 422
            var detail: String
            var instance: String
            var errors: [LabFieldError]
            var requestId: String
            enum CodingKeys: String, CodingKey { case type, title, status, detail, instance, errors; case requestId = "request_id" }
        }
        let body = Body(detail: detail, instance: request.uri.path, errors: failure.errors, requestId: context.requestId)
        let data = (try? JSONCoding.encode(body)) ?? Data()
        return Response(status: .unprocessableContent, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
