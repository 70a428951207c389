import AerieAuth
import AerieCore
import AerieHTTPTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AerieHTTP

@Suite("Authentication, users, keys, sessions, rate limits, CORS")
struct AuthTests {
    @Test("Login returns an expiring token that authenticates; a wrong password is 401")
    func login() async throws {
        try await withGateway { client, _ in
            let response = try await client.send(.post, "/v1/auth/login", json: #"{"username": "ann", "password": "ann-password"}"#)
            #expect(response.status == .ok)
            let body = try response.json()
            let token = try #require(body["token"]?.stringValue)
            let expires = try #require(body["expires_at"]?.stringValue)
            #expect(RFC3339.date(from: expires).map { $0 > Date() } == true)
            let me = try await client.send(.get, "/v1/auth/me", token: token)
            #expect(me.status == .ok)
            #expect(try me.json()["username"] == "ann")
            #expect(try me.json()["role"] == "user")

            let wrong = try await client.send(.post, "/v1/auth/login", json: #"{"username": "ann", "password": "nope-nope"}"#)
            try wrong.expectProblem("unauthenticated", status: 401)
            let nobody = try await client.send(.post, "/v1/auth/login", json: #"{"username": "zed", "password": "nope-nope"}"#)
            try nobody.expectProblem("unauthenticated", status: 401)
        }
    }

    @Test("Missing or bad credentials are 401; a plain user on admin and platform routes is 403")
    func accessRules() async throws {
        try await withGateway { client, harness in
            try await client.send(.get, "/v1/users").expectProblem("unauthenticated", status: 401)
            try await client.send(.get, "/v1/buckets").expectProblem("unauthenticated", status: 401)
            try await client.send(.get, "/v1/users", token: "garbage").expectProblem("unauthenticated", status: 401)
            try await client.send(.get, "/v1/users", headers: [.authorization: "Basic YTpi"]).expectProblem("unauthenticated", status: 401)
            try await client.send(.get, "/v1/users", token: harness.userToken).expectProblem("forbidden", status: 403)
            try await client.send(.post, "/v1/keys", token: harness.userToken, json: #"{"name":"k","scopes":["admin"]}"#)
                .expectProblem("forbidden", status: 403)
            for (method, path) in [(HTTPRequest.Method.get, "/v1/buckets"), (.get, "/v1/queues"), (.get, "/v1/tables"), (.get, "/v1/topics"),
                                   (.put, "/v1/buckets/mine")] {
                try await client.send(method, path, token: harness.userToken).expectProblem("forbidden", status: 403)
            }
            #expect(try await client.send(.get, "/v1/users", token: harness.adminToken).status == .ok)
        }
    }

    @Test("Admins create, list and disable users; a disabled user's token stops working")
    func users() async throws {
        try await withGateway { client, harness in
            let created = try await client.send(.post, "/v1/users", token: harness.adminToken,
                                                json: #"{"username": "bob", "password": "bob-password", "role": "user"}"#)
            #expect(created.status == .created)
            #expect(try created.json()["username"] == "bob")
            #expect(try created.json()["password_hash"] == nil)
            try await client.send(.post, "/v1/users", token: harness.adminToken, json: #"{"username": "bob", "password": "bob-password"}"#)
                .expectProblem("already-exists", status: 409)
            try await client.send(.post, "/v1/users", token: harness.adminToken, json: #"{"username": "Bad Name", "password": "bob-password"}"#)
                .expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "/v1/users", token: harness.adminToken, json: #"{"username": "carl", "password": "bob-password", "role": "king"}"#)
                .expectProblem("invalid-argument", status: 400)

            let list = try await client.send(.get, "/v1/users", token: harness.adminToken).json()
            let names = list["items"]?.arrayValue?.compactMap { $0["username"]?.stringValue } ?? []
            #expect(Set(names) == ["admin", "ann", "bob"])
            #expect(list["next_cursor"] == .null)

            let disabled = try await client.send(.post, "/v1/users/ann/disable", token: harness.adminToken)
            #expect(try disabled.json()["disabled"] == .bool(true))
            try await client.send(.get, "/v1/auth/me", token: harness.userToken).expectProblem("unauthenticated", status: 401)
            try await client.send(.post, "/v1/auth/login", json: #"{"username": "ann", "password": "ann-password"}"#)
                .expectProblem("unauthenticated", status: 401)
            try await client.send(.post, "/v1/users/nobody/disable", token: harness.adminToken).expectProblem("not-found", status: 404)
            // An admin cannot lock itself out (an API fuzzer acting as admin relies on it).
            try await client.send(.post, "/v1/users/admin/disable", token: harness.adminToken).expectProblem("conflict", status: 409)
            #expect(try await client.send(.get, "/v1/users", token: harness.adminToken).status == .ok)
        }
    }

    @Test("API keys: shown once, scoped, listed without secrets, revocable")
    func apiKeys() async throws {
        try await withGateway { client, harness in
            let created = try await client.send(.post, "/v1/keys", token: harness.adminToken,
                                                json: #"{"name": "reader", "owner": "ann", "scopes": ["objects:read"]}"#)
            #expect(created.status == .created)
            let body = try created.json()
            let key = try #require(body["key"]?.stringValue)
            let id = try #require(body["id"]?.stringValue)
            #expect(key.hasPrefix("aerie_"))
            #expect(body["owner"] == "ann")

            #expect(try await client.send(.get, "/v1/buckets", token: key).status == .ok)
            try await client.send(.put, "/v1/buckets/photos", token: key).expectProblem("forbidden", status: 403)
            try await client.send(.get, "/v1/queues", token: key).expectProblem("forbidden", status: 403)
            let me = try await client.send(.get, "/v1/auth/me", token: key).json()
            #expect(me["credential"] == "api_key")
            #expect(me["scopes"] == .array(["objects:read"]))

            let listed = try await client.send(.get, "/v1/keys", token: harness.adminToken)
            #expect(listed.status == .ok)
            #expect(!listed.text.contains(key))
            #expect(!listed.text.contains("hash"))
            #expect(try listed.json()["items"]?.arrayValue?.first?["id"] == .string(id))

            #expect(try await client.send(.delete, "/v1/keys/\(id)", token: harness.adminToken).status == .noContent)
            try await client.send(.get, "/v1/buckets", token: key).expectProblem("unauthenticated", status: 401)
            try await client.send(.delete, "/v1/keys/nope", token: harness.adminToken).expectProblem("not-found", status: 404)
            // A forged key with a real id but another secret fails.
            try await client.send(.get, "/v1/buckets", token: "aerie_\(id)_0000").expectProblem("unauthenticated", status: 401)

            let bad = try await client.send(.post, "/v1/keys", token: harness.adminToken, json: #"{"name": "x", "scopes": ["root"]}"#)
            try bad.expectProblem("invalid-argument", status: 400)
            #expect(try bad.json()["errors"]?.arrayValue?.first?["pointer"] == "/scopes/0")

            let admin = try await client.send(.post, "/v1/keys", token: harness.adminToken, json: #"{"name": "ops", "scopes": ["admin"]}"#).json()
            let adminKey = try #require(admin["key"]?.stringValue)
            #expect(try await client.send(.get, "/v1/users", token: adminKey).status == .ok)
        }
    }

    @Test("The rate limit answers 429 with Retry-After once a caller's burst is spent")
    func rateLimit() async throws {
        try await withGateway({ $0.rateLimit = .init(burst: 3, perSecond: 0.001) }) { client, harness in
            for _ in 0..<3 {
                #expect(try await client.send(.get, "/v1/auth/me", token: harness.userToken).status == .ok)
            }
            let limited = try await client.send(.get, "/v1/auth/me", token: harness.userToken)
            try limited.expectProblem("rate-limited", status: 429)
            let retry = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            #expect(retry >= 1)
            // Another caller has its own bucket.
            #expect(try await client.send(.get, "/v1/auth/me", token: harness.adminToken).status == .ok)
            // Health checks are never limited.
            #expect(try await client.send(.get, "/health").status == .ok)
        }
    }

    @Test("CORS: preflight and responses for allowed origins only")
    func cors() async throws {
        try await withGateway({ $0.corsOrigins = ["https://app.example"] }) { client, _ in
            let preflight = try await client.send(.options, "/v1/auth/login", headers: [
                .origin: "https://app.example", .accessControlRequestMethod: "POST",
            ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            let simple = try await client.send(.get, "/health", headers: [.origin: "https://app.example"])
            #expect(simple.headers[.accessControlAllowOrigin] == "https://app.example")
            let other = try await client.send(.get, "/health", headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let otherPreflight = try await client.send(.options, "/v1/auth/login", headers: [
                .origin: "https://evil.example", .accessControlRequestMethod: "POST",
            ])
            #expect(otherPreflight.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("Page sessions: login form sets an HttpOnly cookie; unsafe requests need the CSRF token")
    func sessions() async throws {
        try await withGateway { client, _ in
            // The sign-in form carries a CSRF token that must match its cookie.
            let form = try await client.send(.get, "/console/login")
            let loginCookie = try #require(form.headers[values: .setCookie].first { $0.hasPrefix("aerie_login_csrf=") })
            #expect(loginCookie.contains("HttpOnly"))
            let loginToken = String(loginCookie.dropFirst("aerie_login_csrf=".count).prefix { $0 != ";" })
            #expect(String(buffer: form.body).contains(#"name="csrf_token" value="\#(loginToken)""#))
            let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: "aerie_login_csrf=\(loginToken)"]
            let forged = try await client.send(.post, "/console/login", buffer: ByteBuffer(string: "username=admin&password=admin-password"),
                                               headers: [.contentType: "application/x-www-form-urlencoded"])
            try forged.expectProblem("forbidden", status: 403)
            let mismatched = try await client.send(.post, "/console/login", buffer: ByteBuffer(string: "username=admin&password=admin-password&csrf_token=other"),
                                                   headers: formHeaders)
            try mismatched.expectProblem("forbidden", status: 403)
            let login = try await client.send(.post, "/console/login",
                                              buffer: ByteBuffer(string: "username=admin&password=admin-password&next=%2Fconsole%2Ffunctions&csrf_token=\(loginToken)"),
                                              headers: formHeaders)
            #expect(login.status == .seeOther)
            #expect(login.headers[.location] == "/console/functions")
            let cookies = login.headers[values: .setCookie]
            let session = try #require(cookies.first { $0.hasPrefix("aerie_session=") })
            let csrf = try #require(cookies.first { $0.hasPrefix("aerie_csrf=") })
            #expect(session.contains("HttpOnly"))
            #expect(!csrf.contains("HttpOnly"))
            let sessionValue = String(session.dropFirst("aerie_session=".count).prefix { $0 != ";" })
            let csrfValue = String(csrf.dropFirst("aerie_csrf=".count).prefix { $0 != ";" })
            let cookieHeader = "aerie_session=\(sessionValue); aerie_csrf=\(csrfValue)"

            let me = try await client.send(.get, "/v1/auth/me", headers: [.cookie: cookieHeader])
            #expect(try me.json()["credential"] == "session")
            let keyBody = #"{"name": "k", "scopes": ["queues"]}"#
            try await client.send(.post, "/v1/keys", json: keyBody, headers: [.cookie: cookieHeader]).expectProblem("forbidden", status: 403)
            let withToken = try await client.send(.post, "/v1/keys", json: keyBody, headers: [.cookie: cookieHeader, .csrfToken: csrfValue])
            #expect(withToken.status == .created)

            let failed = try await client.send(.post, "/console/login", buffer: ByteBuffer(string: "username=admin&password=wrong&csrf_token=\(loginToken)"),
                                               headers: formHeaders)
            #expect(failed.status == .seeOther)
            #expect(failed.headers[.location] == "/console/login?error=1")
            #expect(failed.headers[.setCookie] == nil)

            let badLogout = try await client.send(.post, "/console/logout", buffer: ByteBuffer(string: "csrf_token=wrong"),
                                                  headers: [.cookie: cookieHeader, .contentType: "application/x-www-form-urlencoded"])
            try badLogout.expectProblem("forbidden", status: 403)
            let logout = try await client.send(.post, "/console/logout", buffer: ByteBuffer(string: "csrf_token=\(csrfValue)"),
                                               headers: [.cookie: cookieHeader, .contentType: "application/x-www-form-urlencoded"])
            #expect(logout.status == .seeOther)
            try await client.send(.get, "/v1/auth/me", headers: [.cookie: cookieHeader]).expectProblem("unauthenticated", status: 401)
        }
    }

    @Test("First start without a configured password writes a generated one to <data>/admin-password with mode 0600")
    func adminBootstrap() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-auth-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tables = MemoryTableStore()
        let auth = try await AuthService.open(tables: tables, options: .init(bcryptCost: 4), logger: Logger(label: "test"))
        let result = try await auth.bootstrapAdmin(password: nil, dataDirectory: directory)
        guard case .createdWithGeneratedPassword(let password, let file?) = result else {
            Issue.record("expected a generated password, got \(result)")
            return
        }
        let stored = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(stored == password)
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        #expect(try await auth.verifyPassword(username: "admin", password: password)?.role == .admin)
        #expect(try await auth.bootstrapAdmin(password: nil, dataDirectory: directory) == .existing)
        // A second service on the same tables shares the signing secret: its tokens verify here.
        let other = try await AuthService.open(tables: tables, options: .init(bcryptCost: 4), logger: Logger(label: "test"))
        let token = try await other.issueToken(for: "admin").token
        #expect(try await auth.authenticate(bearer: token).username == "admin")
    }

    @Test("The bearer credential is read from `Bearer <credential>` in any case, blanks around it ignored")
    func bearerHeader() {
        #expect(AuthenticationMiddleware.bearerCredential("Bearer abc") == "abc")
        #expect(AuthenticationMiddleware.bearerCredential("bEaReR   abc\t ") == "abc")
        for header in ["Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc", "Token abc", "", "Bearer\tabc"] {
            #expect(AuthenticationMiddleware.bearerCredential(header) == nil, "\(header)")
        }
    }

    @Test("The login form redirects only to paths on this site")
    func loginRedirects() {
        #expect(AuthRoutes.localRedirect("/console/functions") == "/console/functions")
        for target in ["//evil.example", "/\\evil.example", "https://evil.example", "/x\r\nSet-Cookie: a=b", "console"] {
            #expect(AuthRoutes.localRedirect(target) == nil, "\(target)")
        }
    }

    @Test("An expired token is refused")
    func expiredToken() async throws {
        try await withGateway { client, harness in
            let old = try await harness.gateway.auth.issueToken(for: "ann", now: Date(timeIntervalSinceNow: -86_400 * 2))
            try await client.send(.get, "/v1/auth/me", token: old.token).expectProblem("unauthenticated", status: 401)
        }
    }
}

@Suite("Sign-up, password change and sign-in throttling")
struct SignupAndThrottleTests {
    @Test("Sign-up is 403 unless allowed; then 201 with role user, 422 for a short password, 409 for a taken name")
    func signup() async throws {
        try await withGateway { client, _ in
            try await client.send(.post, "/v1/auth/signup", json: #"{"username": "zoe", "password": "long-enough-1"}"#)
                .expectProblem("forbidden", status: 403)
        }
        try await withGateway({ $0.allowSignup = true }) { client, harness in
            let created = try await client.send(.post, "/v1/auth/signup", json: #"{"username": "zoe", "password": "long-enough-1"}"#)
            #expect(created.status == .created, "\(created.text)")
            #expect(try created.json()["role"] == "user")
            try await client.send(.post, "/v1/auth/signup", json: #"{"username": "yan", "password": "too-short"}"#)
                .expectProblem("unprocessable", status: 422)
            try await client.send(.post, "/v1/auth/signup", json: #"{"username": "zoe", "password": "long-enough-2"}"#)
                .expectProblem("already-exists", status: 409)
            try await client.send(.post, "/v1/auth/signup", json: #"{"username": 7, "password": "long-enough-2"}"#)
                .expectProblem("invalid-argument", status: 400)
            let login = try await client.send(.post, "/v1/auth/login", json: #"{"username": "zoe", "password": "long-enough-1"}"#)
            let token = try #require(try login.json()["token"]?.stringValue)
            #expect(try await client.send(.get, "/v1/auth/me", token: token).json()["role"] == "user")
            // A signed-up user is a plain user: no admin routes.
            try await client.send(.get, "/v1/users", token: token).expectProblem("forbidden", status: 403)
            _ = harness
        }
    }

    @Test("Password change: the current password is checked, the new one has 10+ characters, old tokens stop working")
    func passwordChange() async throws {
        try await withGateway { client, harness in
            let old = harness.userToken
            try await client.send(.post, "/v1/auth/password", token: old, json: #"{"current": "wrong", "new": "brand-new-password"}"#)
                .expectProblem("forbidden", status: 403)
            try await client.send(.post, "/v1/auth/password", token: old, json: #"{"current": "ann-password", "new": "short"}"#)
                .expectProblem("unprocessable", status: 422)
            try await client.send(.post, "/v1/auth/password", json: #"{"current": "ann-password", "new": "brand-new-password"}"#)
                .expectProblem("unauthenticated", status: 401)
            // Tokens carry whole seconds: make sure the old one predates the change.
            try await Task.sleep(for: .milliseconds(1100))
            let changed = try await client.send(.post, "/v1/auth/password", token: old, json: #"{"current": "ann-password", "new": "brand-new-password"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            let fresh = try #require(try changed.json()["token"]?.stringValue)
            try await client.send(.get, "/v1/auth/me", token: old).expectProblem("unauthenticated", status: 401)
            #expect(try await client.send(.get, "/v1/auth/me", token: fresh).status == .ok)
            let login = try await client.send(.post, "/v1/auth/login", json: #"{"username": "ann", "password": "brand-new-password"}"#)
            #expect(login.status == .ok)
        }
    }

    @Test("Repeated wrong passwords for one name get 429 with Retry-After, also with the rate limit off; other users still sign in")
    func loginThrottle() async throws {
        try await withGateway({ $0.loginThrottle = .init(perUser: 3, perAddress: 100, window: .seconds(300)) }) { client, _ in
            for _ in 0..<3 {
                try await client.send(.post, "/v1/auth/login", json: #"{"username": "ann", "password": "wrong"}"#)
                    .expectProblem("unauthenticated", status: 401)
            }
            let throttled = try await client.send(.post, "/v1/auth/login", json: #"{"username": "ann", "password": "ann-password"}"#)
            try throttled.expectProblem("rate-limited", status: 429)
            #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 0)
            let admin = try await client.send(.post, "/v1/auth/login", json: #"{"username": "admin", "password": "admin-password"}"#)
            #expect(admin.status == .ok)
        }
    }
}
