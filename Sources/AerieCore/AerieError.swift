import Foundation

/// The one error type the primitives throw.
///
/// Like postgres-nio's `PSQLError`, it is a struct with a stable ``Code`` rather than a sprawling enum:
/// the gateway maps the code to an HTTP status and a problem type, the CLI prints the message.
/// `message` always says what to do next.
public struct AerieError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Input failed validation (HTTP 400).
        public static let invalidArgument = Code("invalid-argument")
        /// The input is well formed but cannot be processed as given (422), e.g. a vector of the wrong length.
        public static let unprocessable = Code("unprocessable")
        /// The caller is not authenticated (401).
        public static let unauthenticated = Code("unauthenticated")
        /// The caller may not do this (403).
        public static let forbidden = Code("forbidden")
        /// The named thing does not exist (404).
        public static let notFound = Code("not-found")
        /// The thing already exists (409).
        public static let alreadyExists = Code("already-exists")
        /// The request conflicts with the current state (409), e.g. deleting a non-empty bucket.
        public static let conflict = Code("conflict")
        /// A conditional write's condition did not hold (412).
        public static let conditionFailed = Code("condition-failed")
        /// The body or value is larger than allowed (413).
        public static let tooLarge = Code("too-large")
        /// The body is of a type the operation does not take (415), e.g. a PDF sent as a photo.
        public static let unsupportedMediaType = Code("unsupported-media-type")
        /// Too many requests or a full queue (429).
        public static let rateLimited = Code("rate-limited")
        /// The operation ran past its deadline (504).
        public static let timedOut = Code("timed-out")
        /// The operation was cancelled.
        public static let cancelled = Code("cancelled")
        /// A function's own code failed (502).
        public static let functionFailed = Code("function-failed")
        /// A dependency is not available right now (503).
        public static let unavailable = Code("unavailable")
        /// The disk holding the data is full (507): nothing was stored; writes succeed again once space is freed.
        public static let insufficientStorage = Code("insufficient-storage")
        /// A bug or an unexpected failure (500).
        public static let `internal` = Code("internal")
    }

    public var code: Code
    /// What went wrong and what to do next, written for the person who sees it.
    public var message: String
    /// For validation failures: the JSON pointer of the offending field (`/prompt`), or the parameter name.
    public var field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code): \(message)" }

    public static func invalid(_ message: String, field: String? = nil) -> AerieError {
        AerieError(.invalidArgument, message, field: field)
    }

    public static func notFound(_ message: String) -> AerieError {
        AerieError(.notFound, message)
    }

    /// Whether `error` is the file system saying it has no space left (ENOSPC, or Foundation's out-of-space error).
    public static func isOutOfSpace(_ error: any Error) -> Bool {
        let nsError = error as NSError
        if nsError.domain == NSPOSIXErrorDomain && nsError.code == Int(ENOSPC) { return true }
        if nsError.domain == NSCocoaErrorDomain && nsError.code == NSFileWriteOutOfSpaceError { return true }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? any Error { return isOutOfSpace(underlying) }
        return false
    }

    /// The error for a write refused because the disk under `path` is full.
    public static func diskFull(_ path: String) -> AerieError {
        AerieError(.insufficientStorage, "The disk holding \(path) is full; nothing was stored. Free some space there: writes succeed again without a restart.")
    }
}
