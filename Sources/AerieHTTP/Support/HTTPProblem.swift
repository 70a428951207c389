import AerieCore
import HTTPTypes

/// An error the gateway answers with an `application/problem+json` response.
///
/// Route handlers throw ``AerieError`` for domain failures; this type covers the HTTP-only ones
/// (405, 415, 416) and carries extra headers (`Allow`, `Retry-After`, `Content-Range`).
public struct HTTPProblem: Error, Sendable {
    public struct FieldError: Sendable, Hashable, Codable {
        /// JSON pointer of the field in the body (`/name`), when the error is about the body.
        public var pointer: String?
        /// Name of the path, query or header parameter, when the error is about one.
        public var parameter: String?
        public var detail: String
        public init(pointer: String? = nil, parameter: String? = nil, detail: String) {
            self.pointer = pointer
            self.parameter = parameter
            self.detail = detail
        }
    }

    public var type: ProblemType
    /// What went wrong and what to fix.
    public var detail: String
    public var errors: [FieldError]
    public var headers: HTTPFields

    public init(_ type: ProblemType, _ detail: String, errors: [FieldError] = [], headers: HTTPFields = [:]) {
        self.type = type
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    /// The problem for an ``AerieError``: its code picks the type, its field becomes an `errors` entry.
    public init(_ error: AerieError) {
        self.init(ProblemType.forCode(error.code), error.message)
        if let field = error.field {
            if field.hasPrefix("/") {
                errors = [FieldError(pointer: field, detail: error.message)]
            } else {
                errors = [FieldError(parameter: field, detail: error.message)]
            }
        }
        if error.code == .rateLimited {
            headers[.retryAfter] = "1"
        }
    }

    public static func rateLimited(_ detail: String, retryAfter seconds: Int) -> HTTPProblem {
        HTTPProblem(.rateLimited, detail, headers: [.retryAfter: String(max(1, seconds))])
    }
}
