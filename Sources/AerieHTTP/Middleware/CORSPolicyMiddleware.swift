import HTTPTypes
import Hummingbird

/// Cross-origin requests from the configured origins: answers preflight `OPTIONS` requests and adds
/// `Access-Control-Allow-Origin` to responses. Requests from other origins get no CORS headers, so browsers
/// refuse them.
struct CORSPolicyMiddleware: RouterMiddleware {
    typealias Context = AerieRequestContext

    let origins: Set<String>

    static let allowedMethods = "GET, HEAD, PUT, POST, DELETE, PATCH"
    static let allowedHeaders = "Authorization, Content-Type, Range, If-Match, If-None-Match, Idempotency-Key, Last-Event-ID, X-Request-Id, X-CSRF-Token"
    static let exposedHeaders = "ETag, Location, Retry-After, Content-Range, X-Request-Id, X-Aerie-Invocation-Id"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) || origins.contains("*") else {
            return try await next(request, context)
        }
        let allowOrigin = origins.contains(origin) ? origin : "*"
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [
                .accessControlAllowOrigin: allowOrigin,
                .accessControlAllowMethods: Self.allowedMethods,
                .accessControlAllowHeaders: Self.allowedHeaders,
                .accessControlMaxAge: "600",
                .vary: "Origin",
            ]
            if allowOrigin != "*" { headers[.accessControlAllowCredentials] = "true" }
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allowOrigin
        response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        response.headers.append(HTTPField(name: .vary, value: "Origin"))
        if allowOrigin != "*" { response.headers[.accessControlAllowCredentials] = "true" }
        return response
    }
}
