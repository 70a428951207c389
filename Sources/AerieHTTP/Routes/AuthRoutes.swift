import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Sign-in (throttled per user name and address), optional self sign-up, password change, the caller's identity,
/// users and API keys (admin), and the page session helpers.
struct AuthRoutes {
    let auth: AuthService
    let configuration: GatewayConfiguration
    let throttle: LoginThrottle

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct PasswordChange: Decodable {
        var current: String
        var new: String
    }

    /// 429 with `Retry-After` while the name or the address is throttled.
    func checkThrottle(username: String?, address: String?) async throws {
        if let refusal = await throttle.check(username: username, address: address) {
            throw HTTPProblem.rateLimited(refusal.reason, retryAfter: refusal.retryAfter)
        }
    }

    /// Checks `username` and `password` through the throttle: 429 with `Retry-After` while the name or the address is
    /// throttled; otherwise the user, or nil for a wrong password (counted as a failure).
    func throttledVerify(username: String, password: String, address: String?) async throws -> UserRecord? {
        try await checkThrottle(username: username, address: address)
        guard let user = try await auth.verifyPassword(username: username, password: password) else {
            await throttle.recordFailure(username: username, address: address)
            return nil
        }
        await throttle.recordSuccess(username: user.username)
        return user
    }

    struct CreateUserRequest: Decodable {
        var username: String
        var password: String
        var role: Role?
    }

    struct CreateKeyRequest: Decodable {
        var name: String
        var owner: String?
        var scopes: [String]
    }

    struct Me: Encodable {
        var username: String
        var role: Role
        var credential: Identity.Credential
        var scopes: [String]?
        var keyId: String?

        enum CodingKeys: String, CodingKey {
            case username, role, credential, scopes
            case keyId = "key_id"
        }
    }

    var routes: [GatewayRoute] {
        let limit = configuration.maxJSONBodySize
        return [
            GatewayRoute(.post, "/v1/auth/login",
                         summary: "Sign in with a user name and password; returns a bearer token (429 after repeated failures)",
                         tag: "auth", access: .anyone, request: .json("LoginRequest"), response: .json("Token"),
                         statuses: [401, 429]) { [self] request, context in
                let login = try await request.decodeJSON(LoginRequest.self, limit: limit)
                guard let user = try await throttledVerify(username: login.username, password: login.password, address: context.remoteAddress) else {
                    throw AerieError(.unauthenticated, "The user name or password is wrong, or the user is disabled.")
                }
                return try Response.json(try await auth.issueToken(for: user.username))
            },
            GatewayRoute(.post, "/v1/auth/signup",
                         summary: "Create your own user (role user) when the server allows sign-up; the password needs at least 10 characters",
                         tag: "auth", access: .anyone, request: .json("LoginRequest"), status: 201, response: .json("User"),
                         statuses: [403, 409, 422, 429]) { [self] request, context in
                guard configuration.allowSignup else {
                    throw AerieError(.forbidden, "Sign-up is off on this server; ask an admin for a user, or start it with `aerie serve --allow-signup`.")
                }
                let address = context.remoteAddress
                try await checkThrottle(username: nil, address: address)
                await throttle.recordAttempt(address: address)
                let body = try await request.decodeJSON(LoginRequest.self, limit: limit)
                let user = try await auth.signUp(username: body.username, password: body.password)
                return try Response.json(user, status: .created, headers: [.location: "/v1/users/\(user.username)"])
            },
            GatewayRoute(.post, "/v1/auth/password",
                         summary: "Change your own password; tokens and sessions issued before stop working, the answer carries a new token",
                         tag: "auth", access: .authenticated(keyScope: nil), request: .json("PasswordChange"), response: .json("Token"),
                         statuses: [422]) { [auth, configuration] request, context in
                let identity = try context.requireIdentity()
                guard identity.credential != .apiKey else {
                    throw AerieError(.forbidden, "An API key cannot change its owner's password; sign in as the user.")
                }
                let body = try await request.decodeJSON(PasswordChange.self, limit: limit)
                try await auth.changePassword(username: identity.username, current: body.current, new: body.new)
                var response = try Response.json(try await auth.issueToken(for: identity.username))
                if identity.credential == .session {
                    // The old session ended with the change: a page keeps working on a fresh one.
                    SessionCookies(configuration: configuration.cookies).set(try await auth.createSession(for: identity.username), on: &response)
                }
                return response
            },
            GatewayRoute(.get, "/v1/auth/me", summary: "Who the caller is", tag: "auth", access: .authenticated(keyScope: nil),
                         response: .json("Me")) { _, context in
                let identity = try context.requireIdentity()
                return try Response.json(Me(username: identity.username, role: identity.role, credential: identity.credential,
                                            scopes: identity.scopes.map { $0.sorted() }, keyId: identity.keyId))
            },
            GatewayRoute(.post, "/v1/users", summary: "Create a user", tag: "auth", access: .admin, request: .json("CreateUser"),
                         status: 201, response: .json("User")) { [auth] request, _ in
                let body = try await request.decodeJSON(CreateUserRequest.self, limit: limit)
                let user = try await auth.createUser(body.username, password: body.password, role: body.role ?? .user)
                return try Response.json(user, status: .created, headers: [.location: "/v1/users/\(user.username)"])
            },
            GatewayRoute(.get, "/v1/users", summary: "List users", tag: "auth", access: .admin, response: .json("UserList"),
                         query: [("cursor", "From a previous page's next_cursor."), ("limit", "1–1000, default 100.")]) { [auth] request, _ in
                let page = try await auth.listUsers(limit: try request.queryInt("limit", default: 100, range: 1...1000), cursor: request.query("cursor"))
                return try Response.json(ListBody(items: page.items, nextCursor: page.nextCursor))
            },
            GatewayRoute(.post, "/v1/users/{name}/disable", summary: "Disable a user: its tokens, keys and sessions stop working (not yourself: 409)",
                         tag: "auth", access: .admin, response: .json("User"), statuses: [409]) { [auth] _, context in
                let name = try context.pathParameter("name")
                // An admin (or an automated client such as an API fuzzer acting as one) must not lock itself out.
                guard name != (try context.requireIdentity().username) else {
                    throw AerieError(.conflict, "You cannot disable yourself; another admin can disable \(name).")
                }
                return try Response.json(try await auth.setDisabled(name, true))
            },
            GatewayRoute(.post, "/v1/keys", summary: "Create an API key (its secret is shown only in this response)", tag: "auth",
                         access: .admin, request: .json("CreateKey"), status: 201, response: .json("CreatedKey")) { [auth] request, context in
                let body = try await request.decodeJSON(CreateKeyRequest.self, limit: limit)
                let owner = try body.owner ?? context.requireIdentity().username
                let created = try await auth.createKey(name: body.name, owner: owner, scopes: body.scopes)
                return try Response.json(created, status: .created)
            },
            GatewayRoute(.get, "/v1/keys", summary: "List API keys (without secrets)", tag: "auth", access: .admin, response: .json("KeyList"),
                         query: [("cursor", "From a previous page's next_cursor."), ("limit", "1–1000, default 100.")]) { [auth] request, _ in
                let page = try await auth.listKeys(limit: try request.queryInt("limit", default: 100, range: 1...1000), cursor: request.query("cursor"))
                return try Response.json(ListBody(items: page.items, nextCursor: page.nextCursor))
            },
            GatewayRoute(.delete, "/v1/keys/{id}", summary: "Revoke an API key", tag: "auth", access: .admin, status: 204) { [auth] _, context in
                try await auth.revokeKey(id: try context.pathParameter("id"))
                return Response.empty(.noContent)
            },
            GatewayRoute(.post, "/console/login", summary: "Page sign-in form: sets the session and CSRF cookies and redirects",
                         tag: "console", access: .anyone, request: .form, status: 303, statuses: [429]) { [self] request, context in
                let form = try await FormFields(request: request, limit: limit)
                try SessionCookies.verifyLoginCSRF(request: request, formToken: form["csrf_token"])
                let next = form["next"].flatMap(Self.localRedirect) ?? "/console"
                guard let username = form["username"], let password = form["password"],
                      let user = try await throttledVerify(username: username, password: password, address: context.remoteAddress) else {
                    return Response.empty(.seeOther, headers: [.location: "/console/login?error=1"])
                }
                let session = try await auth.createSession(for: user.username)
                var response = Response.empty(.seeOther, headers: [.location: next])
                SessionCookies(configuration: configuration.cookies).set(session, on: &response)
                return response
            },
            GatewayRoute(.post, "/console/logout", summary: "Page sign-out: ends the session and clears its cookies",
                         tag: "console", access: .authenticated(keyScope: nil), request: .form, status: 303) { [auth, configuration] request, context in
                let form = try await FormFields(request: request, limit: limit)
                try context.verifyCSRF(formToken: form["csrf_token"])
                if let token = request.cookies[configuration.cookies.sessionName]?.value {
                    try await auth.endSession(token)
                }
                var response = Response.empty(.seeOther, headers: [.location: "/console/login"])
                SessionCookies(configuration: configuration.cookies).clear(on: &response)
                return response
            },
        ]
    }
}

extension AuthRoutes {
    /// `target` when it is a path on this site (`/console/x`), nil for anything a browser could treat as another
    /// origin (`//evil.example`, `/\evil.example`, `https://…`), so the login form cannot be an open redirect.
    static func localRedirect(_ target: String) -> String? {
        guard target.hasPrefix("/"), !target.hasPrefix("//"), !target.contains("\\"),
              !target.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return target
    }
}

/// The fields of an `application/x-www-form-urlencoded` body.
struct FormFields {
    var fields: [String: String] = [:]

    init(request: Request, limit: Int) async throws {
        let data = try await request.collectData(limit: limit)
        for pair in String(decoding: data, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let name = parts.first else { continue }
            fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(_ name: String) -> String? { fields[name] }
}

/// Sets and clears the page session cookie (HttpOnly) and the readable CSRF cookie (double-submit).
public struct SessionCookies: Sendable {
    public var configuration: GatewayConfiguration.Cookies

    public init(configuration: GatewayConfiguration.Cookies) {
        self.configuration = configuration
    }

    /// Sets both cookies for a new session.
    public func set(_ session: PageSession, on response: inout Response) {
        let maxAge = Int(configuration.lifetime.seconds)
        response.setCookie(Cookie(name: configuration.sessionName, value: session.token, maxAge: maxAge, path: "/",
                                  secure: configuration.secure, httpOnly: true, sameSite: .lax))
        response.setCookie(Cookie(name: configuration.csrfName, value: session.csrfToken, maxAge: maxAge, path: "/",
                                  secure: configuration.secure, httpOnly: false, sameSite: .strict))
    }

    /// The cookie that carries the sign-in form's CSRF token (double submit): set when the form is shown, checked
    /// against the form's `csrf_token` field, so another site cannot sign a browser in to an account of its choosing.
    public static let loginCSRFName = "aerie_login_csrf"

    /// A fresh random token for the sign-in form.
    public static func newLoginCSRFToken() -> String {
        Secrets.hex(Secrets.randomBytes(24))
    }

    /// Sets the sign-in CSRF cookie; the same token goes into the form's hidden `csrf_token` field.
    public func setLoginCSRF(_ token: String, on response: inout Response) {
        response.setCookie(Cookie(name: Self.loginCSRFName, value: token, maxAge: 3600, path: "/console/login",
                                  secure: configuration.secure, httpOnly: true, sameSite: .strict))
    }

    /// Checks the sign-in form's `csrf_token` field against the cookie; throws `.forbidden` when they differ.
    public static func verifyLoginCSRF(request: Request, formToken: String?) throws {
        guard let expected = request.cookies[loginCSRFName]?.value, !expected.isEmpty, let formToken,
              Secrets.constantTimeEqual(formToken, expected) else {
            throw AerieError(.forbidden, "The sign-in form is missing its CSRF token or did not come from this site; reload /console/login and sign in again.")
        }
    }

    /// Expires both cookies.
    public func clear(on response: inout Response) {
        response.setCookie(Cookie(name: configuration.sessionName, value: "", maxAge: 0, path: "/", secure: configuration.secure, httpOnly: true, sameSite: .lax))
        response.setCookie(Cookie(name: configuration.csrfName, value: "", maxAge: 0, path: "/", secure: configuration.secure, httpOnly: false, sameSite: .strict))
    }
}
