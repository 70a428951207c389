import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into an RFC 9457 `application/problem+json` response; turns the router's "not found" into
/// `405 Method Not Allowed` (with `Allow`) when the path exists with other methods.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AerieRequestContext

    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = self.problem(for: error, request: request, context: context)
            return Response.problem(problem, instance: request.uri.path, requestId: context.requestId.isEmpty ? nil : context.requestId)
        }
    }

    func problem(for error: any Error, request: Request, context: Context) -> HTTPProblem {
        switch error {
        case let problem as HTTPProblem:
            return problem
        case let error as AerieError:
            if error.code == .internal {
                context.logger.error("Internal error", metadata: ["error": .string(error.message)])
            }
            return HTTPProblem(error)
        case let error as HTTPError where error.status == .notFound && (context.endpointPath == nil || context.endpointPath == "NotFound"):
            let allowed = routes.allowedMethods(forPath: request.uri.path)
            if !allowed.isEmpty {
                let names = allowed.map(\.rawValue).joined(separator: ", ")
                return HTTPProblem(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(names).",
                                   headers: [.allow: names])
            }
            return HTTPProblem(.notFound, "No route matches \(request.method.rawValue) \(request.uri.path); GET /openapi.json lists every route.")
        case let error as HTTPError:
            let type = ProblemType.forStatus(Int(error.status.code))
            return HTTPProblem(type, error.body ?? type.title, headers: error.headers)
        case let error as any HTTPResponseError:
            let type = ProblemType.forStatus(Int(error.status.code))
            return HTTPProblem(type, "\(error)")
        case let error as DecodingError:
            return HTTPProblem(AerieError.invalid(JSONCoding.describe(error), field: JSONCoding.pointer(of: error)))
        case is CancellationError:
            return HTTPProblem(.unavailable, "The request was cancelled while the server was shutting down; retry it.")
        default:
            context.logger.error("Unexpected error", metadata: ["error": .string(String(reflecting: error))])
            return HTTPProblem(.internal, "An unexpected error happened; the log line with request id \(context.requestId) has details.")
        }
    }
}
