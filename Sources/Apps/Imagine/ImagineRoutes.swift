import AerieAuth
import AerieCore
import AerieFunctions
import AerieHTTP
import AerieStreaming
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The Imagine API under `/v1/apps/imagine/`.
struct ImagineRoutes {
    let holder: ImagineApp.Holder
    let runtime: FunctionRuntime

    static let prefix = "/v1/apps/imagine"
    static let maxBody = 16 * 1024
    static let signedIn = Access.authenticated(keyScope: APIKeyScope.functionsInvoke)

    /// The failure of an invocation as a problem, with `Retry-After` on 429.
    static func problem(_ failure: FunctionInvocationError) -> HTTPProblem {
        var problem = HTTPProblem(failure.error)
        if failure.code == .rateLimited {
            problem.headers[.retryAfter] = String(max(1, failure.retryAfter ?? 1))
        }
        if let id = failure.record?.id {
            problem.headers[.imagineInvocationId] = id
        }
        return problem
    }

    /// Whether the request asks to skip the cache (`Cache-Control: no-cache` or `no-store`, or `Pragma: no-cache`).
    static func bypassesCache(_ request: Request) -> Bool {
        let directives = (request.headers[values: .cacheControl] + request.headers[values: .imaginePragma])
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return directives.contains("no-cache") || directives.contains("no-store")
    }

    static func prefersAsync(_ request: Request) -> Bool {
        request.headers[values: .imaginePrefer].flatMap { $0.split(separator: ",") }
            .contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "respond-async" }
    }

    /// A sync result with its cache headers.
    static func imageResponse(_ body: JSONValue) throws -> Response {
        let similarity = body["similarity"]?.numberValue.map { String(format: "%.4f", $0) } ?? "0"
        return try Response.json(body, headers: [
            .imagineCache: body["cache"]?.stringValue ?? "miss", .imagineCacheSimilarity: similarity, .cacheControl: "no-store",
        ])
    }

    var routes: [GatewayRoute] {
        [
            GatewayRoute(.post, "\(Self.prefix)/images",
                         summary: "Generate an image for a prompt, or return a stored one for a similar prompt (X-Cache: hit|miss); Prefer: respond-async gives 202 and an invocation",
                         tag: "imagine", access: Self.signedIn, request: .json("ImagineRequest"), response: .json("ImagineImage")) { [holder, runtime] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let body = try await request.decodeJSON(JSONValue.self, limit: Self.maxBody)
                let parameters = try service.parameters(body)
                let bypass = Self.bypassesCache(request)
                let trigger = TriggerInfo(kind: .http, source: "POST \(Self.prefix)/images")
                if Self.prefersAsync(request) {
                    let input = ImagineService.GenerateInput(parameters: parameters, bypass: bypass,
                                                             enqueuedAt: service.now().timeIntervalSince1970)
                    let (record, created): (InvocationRecord, Bool)
                    do {
                        (record, created) = try await runtime.invokeAsync(
                            GenerateFunction.name, input: try JSONCoding.encode(input), trigger: trigger, owner: identity.username,
                            idempotencyKey: request.headers[.imagineIdempotencyKey])
                    } catch let failure as FunctionInvocationError {
                        throw Self.problem(failure)
                    }
                    let accepted: JSONValue = .object([
                        "id": .string(record.id), "status": .string(record.status.rawValue), "function": .string(GenerateFunction.name),
                        "invocation_url": .string("/v1/invocations/\(record.id)"), "events_url": .string("/v1/invocations/\(record.id)/events"),
                    ])
                    return try Response.json(accepted, status: created ? .accepted : .ok, headers: [
                        .location: "/v1/invocations/\(record.id)", .imagineInvocationId: record.id, .imaginePreferenceApplied: "respond-async",
                    ])
                }
                let output = try await service.serve(parameters, owner: identity.username, bypass: bypass) { input in
                    do {
                        let (_, data) = try await runtime.invoke(GenerateFunction.name, input: try JSONCoding.encode(input),
                                                                 trigger: trigger, owner: identity.username)
                        return try JSONValue.parse(data)
                    } catch let failure as FunctionInvocationError {
                        throw Self.problem(failure)
                    }
                }
                return try Self.imageResponse(output)
            },
            GatewayRoute(.get, "\(Self.prefix)/images", summary: "Your images, newest first", tag: "imagine", access: Self.signedIn,
                         response: .json("ImagineImageList"),
                         query: [("limit", "1–100, default 20."), ("cursor", "From a previous page's next_cursor.")]) { [holder] request, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let page = try await service.list(owner: identity.username, limit: try request.queryInt("limit", default: 20, range: 1...100),
                                                  cursor: request.query("cursor"))
                return try Response.json(ListBody(items: page.items, nextCursor: page.next))
            },
            GatewayRoute(.get, "\(Self.prefix)/images/{id}",
                         summary: "One of your images as JSON, or `{id}.png` for the picture (with credentials, or the signed image_url without)",
                         tag: "imagine", access: .anyone, response: .json("ImagineImage"),
                         query: [("expires", "For {id}.png: from image_url."), ("signature", "For {id}.png: from image_url.")]) { [holder] request, context in
                let service = try holder.service()
                let name = try context.pathParameter("id")
                if name.hasSuffix(".png") {
                    return try await Self.picture(String(name.dropLast(4)), request: request, context: context, service: service)
                }
                try Self.signedIn.check(context.identity)
                let identity = try context.requireIdentity()
                guard let record = try await service.record(owner: identity.username, id: name) else {
                    throw AerieError.notFound("You have no image \(name); GET \(Self.prefix)/images lists yours.")
                }
                return try Response.json(try await service.body(record))
            },
            GatewayRoute(.delete, "\(Self.prefix)/images/{id}", summary: "Delete one of your images", tag: "imagine", access: Self.signedIn,
                         status: 204) { [holder] _, context in
                let identity = try context.requireIdentity()
                let service = try holder.service()
                let id = try context.pathParameter("id")
                guard try await service.delete(owner: identity.username, id: id) else {
                    throw AerieError.notFound("You have no image \(id); GET \(Self.prefix)/images lists yours.")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.get, "\(Self.prefix)/cache", summary: "The semantic cache: entries, bytes, limits, threshold, and hits and misses since start", tag: "imagine",
                         access: Self.signedIn, response: .json("ImagineCache")) { [holder] _, _ in
                let service = try holder.service()
                let statistics = await service.cache.statistics()
                let counts = service.requestCounts
                var body = try JSONValue.parse(try JSONCoding.encode(statistics))
                if case .object(var object) = body {
                    object["hits"] = .number(Double(counts.hits))
                    object["misses"] = .number(Double(counts.misses))
                    object["bypasses"] = .number(Double(counts.bypasses))
                    let served = counts.hits + counts.misses
                    object["hit_ratio"] = served > 0 ? .number(Double(counts.hits) / Double(served)) : .null
                    body = .object(object)
                }
                return try Response.json(body)
            },
        ]
    }

    /// The PNG of `id`: with a valid signature and expiry anyone may read it (403 otherwise); without them the caller
    /// must own it.
    static func picture(_ id: String, request: Request, context: AerieRequestContext, service: ImagineService) async throws -> Response {
        let record: ImagineService.ImageRecord?
        if request.query("signature") != nil || request.query("expires") != nil {
            guard let expiresText = request.query("expires"), let expires = Int64(expiresText), let signature = request.query("signature"),
                service.signer.verify(id: id, expires: expires, signature: signature, now: service.now())
            else {
                throw AerieError(.forbidden, "This image link is invalid or has expired; fetch the image again with GET \(Self.prefix)/images/\(id) for a fresh image_url.")
            }
            record = try await service.record(id: id)
        } else {
            try signedIn.check(context.identity)
            let identity = try context.requireIdentity()
            record = try await service.record(owner: identity.username, id: id)
        }
        guard let record else {
            throw AerieError.notFound("There is no image \(id); GET \(Self.prefix)/images lists yours.")
        }
        let png = try await service.png(of: record)
        return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, max-age=300", .contentLength: String(png.body.length)],
                        body: ResponseBody(object: png.body, on: context.eventLoop))
    }
}

extension HTTPField.Name {
    static let imagineCache = HTTPField.Name("X-Cache")!
    static let imagineCacheSimilarity = HTTPField.Name("X-Cache-Similarity")!
    static let imagineInvocationId = HTTPField.Name("X-Aerie-Invocation-Id")!
    static let imagineIdempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let imaginePrefer = HTTPField.Name("Prefer")!
    static let imaginePreferenceApplied = HTTPField.Name("Preference-Applied")!
    static let imaginePragma = HTTPField.Name("Pragma")!
}
