import AerieCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

extension TestClientProtocol {
    /// Sends a request with an optional bearer token and a JSON text, raw bytes or a buffer as the body.
    /// `contentType` defaults to `application/json` for `json` and `application/octet-stream` for `body`/`buffer`.
    public func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
                     body: Data? = nil, buffer: ByteBuffer? = nil, contentType: String? = nil,
                     headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        var payload = buffer
        if let json {
            payload = ByteBuffer(string: json)
            if fields[.contentType] == nil { fields[.contentType] = contentType ?? "application/json" }
        }
        if let body {
            payload = ByteBuffer(bytes: body)
            if fields[.contentType] == nil { fields[.contentType] = contentType ?? "application/octet-stream" }
        }
        if buffer != nil, fields[.contentType] == nil, let contentType { fields[.contentType] = contentType }
        return try await executeRequest(uri: uri, method: method, headers: fields, body: payload)
    }

    /// Sends `value` encoded as JSON.
    public func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, jsonValue value: JSONValue,
                     headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(method, uri, token: token, json: String(decoding: value.encoded(), as: UTF8.self), headers: headers)
    }
}

extension TestResponse {
    /// The body as UTF-8 text.
    public var text: String { String(buffer: body) }

    /// The body parsed as JSON (throws when it is not).
    public func json() throws -> JSONValue {
        try JSONValue.parse(Data(text.utf8))
    }

    /// Checks that this is an RFC 9457 problem of `slug` with `status`, recording issues at the caller.
    public func expectProblem(_ slug: String, status: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(Int(self.status.code) == status, "status; body: \(text)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let body = try json()
        #expect(body["type"] == .string("/problems/\(slug)"), "body: \(text)", sourceLocation: sourceLocation)
        #expect(body["status"] == .number(Double(status)), sourceLocation: sourceLocation)
        #expect(body["title"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(body["detail"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(body["instance"]?.stringValue?.hasPrefix("/") == true, sourceLocation: sourceLocation)
    }

    /// The first `errors[].pointer` (or `parameter`) of a problem response.
    public func problemField() throws -> String? {
        let first = try json()["errors"]?.arrayValue?.first
        return first?["pointer"]?.stringValue ?? first?["parameter"]?.stringValue
    }
}
