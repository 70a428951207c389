import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// One invocation as the Runtime API hands it to a process.
struct RuntimeEvent: Sendable {
    var requestId: String
    var payload: Data
    /// Milliseconds since the epoch when the invocation times out (`Lambda-Runtime-Deadline-Ms`).
    var deadlineMs: Int64
    var functionArn: String
    var traceId: String
}

/// What the process side of the Runtime API does; ``RuntimeProcess`` implements it.
protocol RuntimeAPIBackend: Sendable {
    /// The next invocation for the process, waiting until there is one; nil once the process is being stopped.
    func next() async -> RuntimeEvent?
    /// The invocation's result; false when `requestId` is not the invocation in flight.
    func respond(_ requestId: String, _ body: Data) async -> Bool
    func fail(_ requestId: String, _ body: Data, errorType: String?) async -> Bool
    func initFailed(_ body: Data, errorType: String?) async
}

/// The AWS Lambda Runtime API (version 2018-06-01) for one process, on a loopback port of its own:
/// `GET /2018-06-01/runtime/invocation/next`, `POST …/invocation/{id}/response`, `POST …/invocation/{id}/error`,
/// `POST /2018-06-01/runtime/init/error`. A port per process tells which process calls, so a crash or an
/// `init/error` fails exactly the invocation that process had.
struct RuntimeAPIServer: Sendable {
    /// The largest response or error body a process may post (Lambda's synchronous payload limit).
    static let maxBody = 6 << 20

    static func router(_ backend: some RuntimeAPIBackend) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let base = "/2018-06-01/runtime"
        router.get(RouterPath("\(base)/invocation/next")) { _, _ -> Response in
            guard let event = await backend.next() else {
                return problem(.gone, "The runtime is shutting down.", type: "Runtime.Stopping")
            }
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!] = event.requestId
            headers[HTTPField.Name("Lambda-Runtime-Deadline-Ms")!] = String(event.deadlineMs)
            headers[HTTPField.Name("Lambda-Runtime-Invoked-Function-Arn")!] = event.functionArn
            headers[HTTPField.Name("Lambda-Runtime-Trace-Id")!] = event.traceId
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: event.payload)))
        }
        router.post(RouterPath("\(base)/invocation/{id}/response")) { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard let body = try await collect(request) else {
                _ = await backend.fail(id, Data(#"{"errorMessage":"The function's response is larger than 6 MiB.","errorType":"Runtime.ResponseTooLarge"}"#.utf8),
                                       errorType: "Runtime.ResponseTooLarge")
                return problem(.contentTooLarge, "The response is larger than \(maxBody) bytes.", type: "RequestEntityTooLarge")
            }
            guard await backend.respond(id, body) else { return unknown(id) }
            return accepted()
        }
        router.post(RouterPath("\(base)/invocation/{id}/error")) { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let body = try await collect(request) ?? Data()
            guard await backend.fail(id, body, errorType: request.headers[HTTPField.Name("Lambda-Runtime-Function-Error-Type")!]) else { return unknown(id) }
            return accepted()
        }
        router.post(RouterPath("\(base)/init/error")) { request, _ -> Response in
            let body = try await collect(request) ?? Data()
            await backend.initFailed(body, errorType: request.headers[HTTPField.Name("Lambda-Runtime-Function-Error-Type")!])
            return accepted()
        }
        return router
    }

    private static func collect(_ request: Request) async throws -> Data? {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: maxBody)
            return Data(buffer.readableBytesView)
        } catch {
            return nil
        }
    }

    private static func accepted() -> Response {
        Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"OK"}"#)))
    }

    private static func unknown(_ id: String) -> Response {
        problem(.badRequest, "No invocation \(id) is in flight on this runtime.", type: "InvalidRequestID")
    }

    /// The Runtime API's error body: `{"errorMessage", "errorType"}`.
    private static func problem(_ status: HTTPResponse.Status, _ message: String, type: String) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["errorMessage": message, "errorType": type])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Starts the Runtime API for `backend` on 127.0.0.1 with a free port; returns the port and the task serving it
    /// (cancel it to stop the server).
    static func start(_ backend: some RuntimeAPIBackend, logger: Logger) async throws -> (port: Int, task: Task<Void, Never>) {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        // Stopping a process's server (when it exits or is killed) makes HummingbirdCore log cancellations as errors.
        var quiet = logger
        quiet.logLevel = .critical
        let app = Application(router: router(backend), configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              }, logger: quiet)
        let task = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                logger.warning("The Runtime API server stopped", metadata: ["error": "\(error)"])
            }
            continuation.finish()
        }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw AerieError(.internal, "The Runtime API server could not listen on a loopback port.")
        }
        return (port, task)
    }
}
