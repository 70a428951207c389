import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The body of an RFC 9457 `application/problem+json` response.
struct ProblemBody: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var instance: String
    var errors: [HTTPProblem.FieldError]?
    var requestId: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, errors
        case requestId = "request_id"
    }
}

extension HTTPFields {
    /// Media type of problem responses.
    static let problemContentType = "application/problem+json"
}

extension HTTPField.Name {
    static let requestId = HTTPField.Name("X-Request-Id")!
    static let invocationId = HTTPField.Name("X-Aerie-Invocation-Id")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    static let lastEventId = HTTPField.Name("Last-Event-ID")!
}

extension Response {
    /// A JSON response encoded with the shared coders (RFC 3339 times, sorted keys).
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try JSONCoding.encode(value)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An RFC 9457 problem response for `problem` at `path`.
    static func problem(_ problem: HTTPProblem, instance: String, requestId: String?) -> Response {
        let body = ProblemBody(
            type: problem.type.uri, title: problem.type.title, status: problem.type.status, detail: problem.detail,
            instance: instance, errors: problem.errors.isEmpty ? nil : problem.errors, requestId: requestId
        )
        let data = (try? JSONCoding.encode(body)) ?? Data(#"{"type":"/problems/internal","status":500}"#.utf8)
        var fields = problem.headers
        fields[.contentType] = HTTPFields.problemContentType
        return Response(status: .init(code: problem.type.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An empty response.
    public static func empty(_ status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        Response(status: status, headers: headers, body: .init())
    }
}
