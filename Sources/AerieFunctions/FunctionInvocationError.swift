import AerieCore

/// What ``FunctionRuntime/invoke(_:input:trigger:owner:)`` throws: the ``AerieError`` to map to an HTTP problem,
/// plus the invocation's record when one was created (so the response can name the invocation id) and, for
/// `.rateLimited`, how long the caller should wait (the `Retry-After` header).
///
/// Codes: `.notFound` (no such function, no record), `.rateLimited` (all slots and the wait queue are full, no
/// record), `.invalidArgument` (the input did not decode), `.functionFailed` (the function threw; the message is the
/// function's), `.timedOut`, `.cancelled`.
public struct FunctionInvocationError: Error, Sendable, CustomStringConvertible {
    public var error: AerieError
    public var record: InvocationRecord?
    /// Seconds to wait before retrying, for `.rateLimited`.
    public var retryAfter: Int?

    public init(_ error: AerieError, record: InvocationRecord? = nil, retryAfter: Int? = nil) {
        self.error = error
        self.record = record
        self.retryAfter = retryAfter
    }

    public var code: AerieError.Code { error.code }
    public var description: String { error.description }
}
