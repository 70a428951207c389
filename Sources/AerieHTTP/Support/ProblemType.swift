import AerieCore
import HTTPTypes

/// One entry of the published list of problem types (`docs/problems.md`): every error response's `type` is
/// `/problems/<slug>` of one of these.
public struct ProblemType: Sendable, Hashable {
    public var slug: String
    public var status: Int
    public var title: String
    /// What the problem means and what the caller should do, for the published list.
    public var meaning: String

    public init(slug: String, status: Int, title: String, meaning: String) {
        self.slug = slug
        self.status = status
        self.title = title
        self.meaning = meaning
    }

    /// The `type` URI of the problem.
    public var uri: String { "/problems/\(slug)" }

    public static let invalidArgument = ProblemType(slug: "invalid-argument", status: 400, title: "Invalid request",
        meaning: "The request failed validation: malformed JSON, a field of the wrong type, a missing field, an invalid name or key. `errors` lists each field by JSON pointer.")
    public static let unauthenticated = ProblemType(slug: "unauthenticated", status: 401, title: "Authentication required",
        meaning: "No credentials, or the token, API key or session is invalid, expired or revoked. Send `Authorization: Bearer <token or key>`.")
    public static let forbidden = ProblemType(slug: "forbidden", status: 403, title: "Forbidden",
        meaning: "The caller is authenticated but lacks the role or key scope the route needs, or a page form's CSRF token did not match.")
    public static let notFound = ProblemType(slug: "not-found", status: 404, title: "Not found",
        meaning: "No route, bucket, object, function, invocation, queue, table, item or user with that name, or one the caller may not see.")
    public static let methodNotAllowed = ProblemType(slug: "method-not-allowed", status: 405, title: "Method not allowed",
        meaning: "The path exists but not with this method; the `Allow` header lists the methods it accepts.")
    public static let alreadyExists = ProblemType(slug: "already-exists", status: 409, title: "Already exists",
        meaning: "Something with that name already exists.")
    public static let conflict = ProblemType(slug: "conflict", status: 409, title: "Conflict",
        meaning: "The request conflicts with the current state, e.g. deleting a non-empty bucket or cancelling a finished invocation.")
    public static let cancelled = ProblemType(slug: "cancelled", status: 409, title: "Cancelled",
        meaning: "The operation was cancelled before it finished.")
    public static let conditionFailed = ProblemType(slug: "condition-failed", status: 412, title: "Precondition failed",
        meaning: "A conditional write's condition (`If-None-Match: *`, `If-Match: <version>`) did not hold. Read the item again and retry.")
    public static let tooLarge = ProblemType(slug: "too-large", status: 413, title: "Content too large",
        meaning: "The request body is larger than the server accepts.")
    public static let unsupportedMediaType = ProblemType(slug: "unsupported-media-type", status: 415, title: "Unsupported media type",
        meaning: "The body's type is not one the route takes: a JSON route needs `Content-Type: application/json`; a photo must be a JPEG, PNG or WebP image (checked from its bytes, not its name).")
    public static let rangeNotSatisfiable = ProblemType(slug: "range-not-satisfiable", status: 416, title: "Range not satisfiable",
        meaning: "The `Range` header asks for bytes outside the object; `Content-Range` gives its size.")
    public static let unprocessable = ProblemType(slug: "unprocessable", status: 422, title: "Unprocessable content",
        meaning: "The request is well formed but cannot be applied as given, e.g. a vector whose length is not the collection's dimensions or a password shorter than 10 characters.")
    public static let rateLimited = ProblemType(slug: "rate-limited", status: 429, title: "Too many requests",
        meaning: "The caller's rate limit or a function's waiting line is full. Retry after the seconds in `Retry-After`.")
    public static let `internal` = ProblemType(slug: "internal", status: 500, title: "Internal error",
        meaning: "An unexpected failure inside Aerie. The log line with the same `X-Request-Id` has the details.")
    public static let functionFailed = ProblemType(slug: "function-failed", status: 502, title: "Function failed",
        meaning: "The function's own code threw an error; `detail` carries its message.")
    public static let unavailable = ProblemType(slug: "unavailable", status: 503, title: "Unavailable",
        meaning: "A dependency is not available right now. Retry later.")
    public static let timedOut = ProblemType(slug: "timed-out", status: 504, title: "Timed out",
        meaning: "The function or operation ran past its deadline.")
    public static let insufficientStorage = ProblemType(slug: "insufficient-storage", status: 507, title: "Insufficient storage",
        meaning: "The disk holding the data is full; nothing was stored. Writes succeed again once space is freed.")

    /// Every problem type the gateway uses, in status order.
    public static let all: [ProblemType] = [
        .invalidArgument, .unauthenticated, .forbidden, .notFound, .methodNotAllowed, .alreadyExists, .conflict, .cancelled,
        .conditionFailed, .tooLarge, .unsupportedMediaType, .rangeNotSatisfiable, .unprocessable, .rateLimited, .internal, .functionFailed,
        .unavailable, .timedOut, .insufficientStorage,
    ]

    /// The problem type for an ``AerieError`` code.
    public static func forCode(_ code: AerieError.Code) -> ProblemType {
        switch code {
        case .invalidArgument: .invalidArgument
        case .unauthenticated: .unauthenticated
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .conflict: .conflict
        case .conditionFailed: .conditionFailed
        case .tooLarge: .tooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unprocessable: .unprocessable
        case .rateLimited: .rateLimited
        case .timedOut: .timedOut
        case .cancelled: .cancelled
        case .functionFailed: .functionFailed
        case .unavailable: .unavailable
        case .insufficientStorage: .insufficientStorage
        default: .internal
        }
    }

    /// The problem type for a bare HTTP status (errors thrown by Hummingbird itself).
    public static func forStatus(_ status: Int) -> ProblemType {
        if status == 409 { return .conflict }
        return all.first { $0.status == status } ?? (status >= 500 ? .internal : .invalidArgument)
    }
}
