import AerieAuth
import AerieCore
import HTTPTypes
import Hummingbird

/// Resolves the caller: `Authorization: Bearer <token or API key>`, else the page session cookie.
///
/// A bad bearer credential is a 401 at once; a stale session cookie is ignored (the request is anonymous).
/// Unsafe requests (POST, PUT, PATCH, DELETE) made with a session cookie must carry the CSRF token in
/// `X-CSRF-Token` (double-submit); form posts may instead send it in a `csrf_token` field, which their handler
/// checks with ``AerieRequestContext/verifyCSRF(formToken:)``.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AerieRequestContext

    let auth: AuthService
    let cookies: GatewayConfiguration.Cookies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            guard let credential = Self.bearerCredential(header) else {
                throw AerieError(.unauthenticated, "The Authorization header must be `Bearer <token or API key>`.")
            }
            context.identity = try await auth.authenticate(bearer: credential)
        } else if let token = request.cookies[cookies.sessionName]?.value,
                  let session = try? await auth.authenticate(session: token) {
            context.identity = session.identity
            context.expectedCSRFToken = session.csrfToken
            context.csrfHeaderVerified = request.headers[.csrfToken].map { Secrets.constantTimeEqual($0, session.csrfToken) } ?? false
        }
        if let identity = context.identity {
            context.logger[metadataKey: "user"] = .string(identity.username)
            context.accessLog.username = identity.username
        }
        return try await next(request, context)
    }
}

extension AuthenticationMiddleware {
    /// The credential of `Bearer <credential>` (scheme in any case, spaces and tabs around the credential ignored).
    static func bearerCredential(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let credential = parts[1].trimmingHeaderBlanks()
        return credential.isEmpty ? nil : String(credential)
    }
}

extension AerieRequestContext {
    /// For form posts made with a page session: checks the form's `csrf_token` field against the session's token;
    /// throws 403 when it does not match.
    public func verifyCSRF(formToken: String?) throws {
        guard identity?.credential == .session else { return }
        if csrfHeaderVerified { return }
        guard let expected = expectedCSRFToken, let formToken, Secrets.constantTimeEqual(formToken, expected) else {
            throw AerieError(.forbidden, "The form's CSRF token is missing or does not match the session; reload the page and submit again.")
        }
    }
}
