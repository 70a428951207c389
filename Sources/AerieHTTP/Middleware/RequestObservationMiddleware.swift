import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The outermost middleware: gives every request an `X-Request-Id` (the incoming one when sane, else a fresh one),
/// puts it in the logger's metadata so every log line carries it, echoes it on the response, writes one access log
/// line, and records request count and latency per route pattern and status.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = AerieRequestContext

    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        var context = context
        let id = request.headers[.requestId].flatMap { Self.isSane($0) ? $0 : nil } ?? Self.generate()
        context.requestId = id
        context.logger[metadataKey: "request_id"] = .string(id)
        context.logger[metadataKey: "hb.request.id"] = .string(id)

        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // The problem middleware turns errors into responses; anything that still escapes is a bug.
            context.logger.error("Unhandled error escaped the problem middleware", metadata: ["error": "\(String(reflecting: error))"])
            response = Response.problem(HTTPProblem(.internal, "An unexpected error happened; the log line with request id \(id) has details."),
                                        instance: request.uri.path, requestId: id)
        }
        response.headers[.requestId] = id
        let elapsed = clock.now - start
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: Int(response.status.code), duration: elapsed)
        // Built only when the info level is logged (the metadata argument is an autoclosure).
        context.logger.info("request", metadata: Self.accessMetadata(request, response, route: route, elapsed: elapsed,
                                                                        user: context.accessLog.username))
        return response
    }

    static func accessMetadata(_ request: Request, _ response: Response, route: String, elapsed: Duration, user: String?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "route": .string(route),
            "status": .stringConvertible(response.status.code), "duration_ms": .string(String(format: "%.3f", elapsed.seconds * 1000)),
        ]
        if let user { metadata["user"] = .string(user) }
        return metadata
    }

    /// 1–128 characters of letters, digits, `-`, `_`, `.`, `:`.
    static func isSane(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }
    }

    /// A fresh id: this process's random prefix and a counter (unique without a random draw per request;
    /// Foundation's `UUID()` opens and reads `/dev/urandom` on every call on Linux).
    static func generate() -> String {
        let count = requestCounter.add(1, ordering: .relaxed).newValue
        return processPrefix + "-" + String(count, radix: 16)
    }

    static let processPrefix = UUID().uuidString.lowercased()
    static let requestCounter = Atomic<UInt64>(0)
}
