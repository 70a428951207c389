import AerieCore
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The session and CSRF cookies a sign-in through the page form set (the console and app pages use them).
public struct PageSession: Sendable {
    public var session: String
    public var csrf: String
    public var cookieHeader: String { "aerie_session=\(session); aerie_csrf=\(csrf)" }
}

/// The content type of a page form post.
public let pageFormType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

extension TestClientProtocol {
    /// Posts the sign-in form as a browser does: first the form page (its CSRF cookie and token), then the form.
    public func postLogin(_ fields: String) async throws -> TestResponse {
        let page = try await executeRequest(uri: "/console/login", method: .get, headers: [:], body: nil)
        let cookie = try #require(page.headers[values: .setCookie].first { $0.hasPrefix("aerie_login_csrf=") })
        let token = String(cookie.dropFirst("aerie_login_csrf=".count).prefix { $0 != ";" })
        var headers = pageFormType
        headers[.cookie] = "aerie_login_csrf=\(token)"
        return try await executeRequest(uri: "/console/login", method: .post, headers: headers,
                                        body: ByteBuffer(string: "\(fields)&csrf_token=\(token)"))
    }

    /// Signs in through the page form; the session and CSRF cookies it set.
    public func signIn(_ username: String, _ password: String) async throws -> PageSession {
        let response = try await postLogin("username=\(username)&password=\(password)")
        #expect(response.status == .seeOther)
        let cookies = response.headers[values: .setCookie]
        let session = try #require(cookies.first { $0.hasPrefix("aerie_session=") })
        let csrf = try #require(cookies.first { $0.hasPrefix("aerie_csrf=") })
        func value(_ cookie: String) -> String { String(cookie.split(separator: "=", maxSplits: 1)[1].prefix { $0 != ";" }) }
        return PageSession(session: value(session), csrf: value(csrf))
    }

    /// A GET with the page session's cookies.
    public func get(_ uri: String, session: PageSession? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let session { fields[.cookie] = session.cookieHeader }
        return try await executeRequest(uri: uri, method: .get, headers: fields, body: nil)
    }
}
