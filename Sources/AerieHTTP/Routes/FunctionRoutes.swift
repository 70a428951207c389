import AerieAuth
import AerieCore
import AerieFunctions
import AerieStreaming
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Functions and their invocations: `/v1/functions/…`, `/v1/invocations/…`.
///
/// Any signed-in user may list and invoke functions (they are the apps' API); API keys need `functions:invoke`.
/// Invocations carry their caller as owner: a user sees only their own (another user's is a 404, so existence does
/// not leak); admins see all.
struct FunctionRoutes {
    let runtime: FunctionRuntime
    let configuration: GatewayConfiguration
    let eventStreams: EventStreamLimiter

    struct FunctionBody: Encodable {
        struct Stats: Encodable {
            var invocations: Int
            var errors: Int
            var coldStarts: Int
            var inFlight: Int
            var waiting: Int
            var p50Ms: Double?
            var p95Ms: Double?
            enum CodingKeys: String, CodingKey {
                case invocations, errors, waiting
                case coldStarts = "cold_starts"
                case inFlight = "in_flight"
                case p50Ms = "p50_ms"
                case p95Ms = "p95_ms"
            }
        }
        var name: String
        var description: String
        var concurrency: Int
        var maxWaiting: Int
        var timeout: Double
        var retries: Int
        var idempotencyWindow: Double
        var idleUnload: Double
        var triggers: [String]
        var warm: Bool
        var adminOnly: Bool
        var stats: Stats

        init(_ summary: FunctionSummary) {
            let configuration = summary.configuration
            name = summary.name
            description = configuration.description
            concurrency = configuration.concurrency
            maxWaiting = configuration.maxWaiting
            timeout = configuration.timeout.seconds
            retries = configuration.retries
            idempotencyWindow = configuration.idempotencyWindow.seconds
            idleUnload = configuration.idleUnload.seconds
            triggers = summary.triggers
            warm = summary.warm
            adminOnly = configuration.adminOnly
            let stats = summary.stats
            self.stats = Stats(invocations: stats.invocations, errors: stats.errors, coldStarts: stats.coldStarts, inFlight: stats.inFlight,
                               waiting: stats.waiting, p50Ms: stats.p50Ms, p95Ms: stats.p95Ms)
        }

        enum CodingKeys: String, CodingKey {
            case name, description, concurrency, timeout, retries, triggers, warm, stats
            case maxWaiting = "max_waiting"
            case idempotencyWindow = "idempotency_window"
            case idleUnload = "idle_unload"
            case adminOnly = "admin_only"
        }
    }

    struct InvocationBody: Encodable {
        var id: String
        var function: String
        var trigger: TriggerInfo
        var owner: String?
        var status: InvocationStatus
        var async: Bool
        var attempts: Int
        var idempotencyKey: String?
        var createdAt: Date
        var startedAt: Date?
        var finishedAt: Date?
        var durationMs: Double?
        var coldStart: Bool?
        var initMs: Double?
        var error: InvocationError?
        var progress: Double?
        var output: JSONValue?

        init(_ record: InvocationRecord) {
            id = record.id
            function = record.function
            trigger = record.trigger
            owner = record.owner
            status = record.status
            async = record.async
            attempts = record.attempts
            idempotencyKey = record.idempotencyKey
            createdAt = record.createdAt
            startedAt = record.startedAt
            finishedAt = record.finishedAt
            durationMs = record.durationMs
            coldStart = record.coldStart
            initMs = record.initMs
            error = record.error
            progress = record.progress
            output = record.output
        }

        enum CodingKeys: String, CodingKey {
            case id, function, trigger, owner, status, async, attempts, error, progress, output
            case idempotencyKey = "idempotency_key"
            case createdAt = "created_at"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
            case durationMs = "duration_ms"
            case coldStart = "cold_start"
            case initMs = "init_ms"
        }
    }

    struct EventBody: Encodable {
        var sequence: Int64
        var kind: InvocationEvent.Kind
        var data: JSONValue
        var time: Date
        init(_ event: InvocationEvent) {
            sequence = event.sequence
            kind = event.kind
            data = event.data
            time = event.time
        }
    }

    struct Accepted: Encodable {
        var id: String
        var status: InvocationStatus
    }

    /// The invocation, when the caller may see it; a 404 otherwise (another user's invocation does not exist for them).
    func visibleInvocation(_ id: String, _ context: AerieRequestContext) async throws -> InvocationRecord {
        let identity = try context.requireIdentity()
        guard let record = try await runtime.invocation(id), identity.isAdmin || record.owner == identity.username else {
            throw AerieError.notFound("No invocation with id \(id). List yours with GET /v1/invocations.")
        }
        return record
    }

    /// The function input: the JSON body (an empty body is `null`).
    func input(_ request: Request) async throws -> Data {
        guard request.hasJSONContentType else {
            throw HTTPProblem(.unsupportedMediaType, "Function input is JSON; send it with `Content-Type: application/json`.")
        }
        let data = try await request.collectData(limit: Int(clamping: configuration.maxBodySize))
        if data.isEmpty { return Data("null".utf8) }
        _ = try JSONValue.parse(data)
        return data
    }

    /// Maps a runtime failure to a problem carrying `Retry-After` and the invocation id when there is one.
    static func problem(_ failure: FunctionInvocationError) -> HTTPProblem {
        var problem = HTTPProblem(failure.error)
        if failure.code == .rateLimited {
            problem.headers[.retryAfter] = String(max(1, failure.retryAfter ?? 1))
        }
        if let id = failure.record?.id {
            problem.headers[.invocationId] = id
        }
        return problem
    }

    /// The SSE chunks of `events`, with a `: keep-alive` comment after each `interval` without an event so proxies
    /// do not close a quiet stream. Ends when the events end; stops both producers when the client goes away.
    static func withKeepAlive(_ events: AsyncThrowingStream<InvocationEvent, any Error>, every interval: Duration)
        -> AsyncThrowingStream<ByteBuffer, any Error> {
        AsyncThrowingStream { continuation in
            let forward = Task {
                do {
                    for try await event in events { continuation.yield(sse(event)) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            let ping = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    continuation.yield(ByteBuffer(string: ": keep-alive\n\n"))
                }
            }
            continuation.onTermination = { _ in
                forward.cancel()
                ping.cancel()
            }
        }
    }

    static func sse(_ event: InvocationEvent) -> ByteBuffer {
        let data = (try? JSONCoding.encode(event.data)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return ByteBuffer(string: "id: \(event.sequence)\nevent: \(event.kind.rawValue)\ndata: \(data)\n\n")
    }

    /// 403 when a function only admins may invoke (``FunctionConfiguration/adminOnly``) is called by anyone else.
    func checkInvocable(_ name: String, by identity: Identity) async throws {
        guard let configuration = runtime.configuration(of: name), configuration.adminOnly, !identity.isAdmin else { return }
        throw AerieError(.forbidden, "Function \(name) is run by its triggers; only admins may invoke it directly.")
    }

    var routes: [GatewayRoute] {
        let invoke = Access.authenticated(keyScope: APIKeyScope.functionsInvoke)
        return [
            GatewayRoute(.get, "/v1/functions", summary: "List functions with live statistics", tag: "functions", access: invoke,
                         response: .json("FunctionList")) { [runtime] _, _ in
                try Response.json(ListBody(items: await runtime.functions().map(FunctionBody.init), nextCursor: nil))
            },
            GatewayRoute(.get, "/v1/functions/{name}", summary: "A function's configuration, triggers and statistics", tag: "functions",
                         access: invoke, response: .json("Function")) { [runtime] _, context in
                let name = try context.pathParameter("name")
                guard let summary = await runtime.function(name) else {
                    throw AerieError.notFound("No function named \(name); GET /v1/functions lists them.")
                }
                return try Response.json(FunctionBody(summary))
            },
            GatewayRoute(.post, "/v1/functions/{name}/invoke", summary: "Invoke a function and wait for its output", tag: "functions",
                         access: invoke, request: .json("FunctionInput"), response: .json("FunctionOutput")) { [self] request, context in
                let name = try context.pathParameter("name")
                let identity = try context.requireIdentity()
                try await checkInvocable(name, by: identity)
                let input = try await input(request)
                do {
                    let (record, output) = try await runtime.invoke(name, input: input, trigger: TriggerInfo(kind: .http, source: "POST /v1/functions/\(name)/invoke"),
                                                                    owner: identity.username)
                    return Response(status: .ok, headers: [.contentType: "application/json", .invocationId: record.id],
                                    body: .init(byteBuffer: ByteBuffer(bytes: output)))
                } catch let failure as FunctionInvocationError {
                    throw Self.problem(failure)
                }
            },
            GatewayRoute(.post, "/v1/functions/{name}/invocations", summary: "Start an invocation in the background (Idempotency-Key supported)",
                         tag: "functions", access: invoke, request: .json("FunctionInput"), status: 202,
                         response: .json("InvocationAccepted")) { [self] request, context in
                let name = try context.pathParameter("name")
                let identity = try context.requireIdentity()
                try await checkInvocable(name, by: identity)
                let input = try await input(request)
                let (record, created): (InvocationRecord, Bool)
                do {
                    (record, created) = try await runtime.invokeAsync(
                        name, input: input, trigger: TriggerInfo(kind: .http, source: "POST /v1/functions/\(name)/invocations"),
                        owner: identity.username, idempotencyKey: request.headers[.idempotencyKey])
                } catch let failure as FunctionInvocationError {
                    throw Self.problem(failure)
                }
                return try Response.json(Accepted(id: record.id, status: record.status), status: created ? .accepted : .ok,
                                         headers: [.location: "/v1/invocations/\(record.id)", .invocationId: record.id])
            },
            GatewayRoute(.get, "/v1/invocations", summary: "List invocations (yours; admins see all)", tag: "invocations", access: invoke,
                         response: .json("InvocationList"),
                         query: [("function", "Only this function's."), ("status", "queued, running, succeeded, failed, cancelled or timed_out."),
                                 ("cursor", "From a previous page's next_cursor."), ("limit", "1–1000, default 100.")]) { [runtime] request, context in
                let identity = try context.requireIdentity()
                var status: InvocationStatus?
                if let text = request.query("status") {
                    guard let parsed = InvocationStatus(rawValue: text) else {
                        throw AerieError.invalid("status must be one of \(InvocationStatus.allCases.map(\.rawValue).joined(separator: ", ")).", field: "status")
                    }
                    status = parsed
                }
                let page = try await runtime.invocations(function: request.query("function"), status: status,
                                                         owner: identity.isAdmin ? nil : identity.username,
                                                         limit: try request.queryInt("limit", default: 100, range: 1...1000), cursor: request.query("cursor"))
                return try Response.json(ListBody(items: page.items.map(InvocationBody.init), nextCursor: page.nextCursor))
            },
            GatewayRoute(.get, "/v1/invocations/{id}", summary: "An invocation's record", tag: "invocations", access: invoke,
                         response: .json("Invocation")) { [self] _, context in
                try Response.json(InvocationBody(try await visibleInvocation(try context.pathParameter("id"), context)))
            },
            GatewayRoute(.get, "/v1/invocations/{id}/events", summary: "Follow an invocation: server-sent progress, log, result and error events (Last-Event-ID resumes)",
                         tag: "invocations", access: invoke, response: .eventStream) { [self] request, context in
                let record = try await visibleInvocation(try context.pathParameter("id"), context)
                var after: Int64?
                if let last = request.headers[.lastEventId] {
                    guard let sequence = Int64(last.trimmingCharacters(in: .whitespaces)), sequence >= 0 else {
                        throw AerieError.invalid("Last-Event-ID must be the id of an event received before.", field: "Last-Event-ID")
                    }
                    after = sequence
                }
                let lease = try eventStreams.open(for: try context.requireIdentity())
                let stream = Self.withKeepAlive(runtime.events(record.id, after: after), every: configuration.eventStreamKeepAlive)
                // Paced: a long stored history replays as fast as it is read, and a slow follower must hold it back.
                let body = ResponseBody(pacedOn: context.eventLoop) { writer in
                    defer { lease.release() }
                    for try await chunk in stream {
                        try await writer.write(chunk)
                    }
                }
                return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
            },
            GatewayRoute(.get, "/v1/invocations/{id}/logs", summary: "The lines an invocation logged", tag: "invocations", access: invoke,
                         response: .json("InvocationEventList")) { [self] _, context in
                let record = try await visibleInvocation(try context.pathParameter("id"), context)
                return try Response.json(ListBody(items: try await runtime.logs(record.id).map(EventBody.init), nextCursor: nil))
            },
            GatewayRoute(.delete, "/v1/invocations/{id}", summary: "Cancel an invocation (409 when it already finished)", tag: "invocations",
                         access: invoke, response: .json("Invocation")) { [self] _, context in
                let record = try await visibleInvocation(try context.pathParameter("id"), context)
                return try Response.json(InvocationBody(try await runtime.cancel(record.id)))
            },
        ]
    }
}
